"""结算审核 (bureau reviewers): the queue with its filters, per-list approve / return /
adjust, bulk approve of the ticked lists (or of the whole filter) with a result per
list.  Decisions call the review services the JSON API calls; a refused decision (an
illegal state move, a missing reason, a bad amount) shows the service's Chinese
message on the page and changes nothing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from yibao.accounts.models import User
from yibao.api.deps import Db, PostedForm, request_actor
from yibao.api.inline import light_read
from yibao.engines.settlement import CLASS_NAMES, Action, State
from yibao.grouping.plans import plan_registry
from yibao.kit.bounds import INT4_MAX, DbId
from yibao.kit.errors import DomainError, NotFound, ValidationFailed
from yibao.kit.paging import Page, clamp_page
from yibao.regions.repository import hospital_choices
from yibao.settlement.review import (
    MAX_BULK,
    QUEUE_STATES,
    AdjustPolicy,
    ReviewFilter,
    adjustment_list_id,
    bulk_ids,
    do_adjust_list,
    do_approve_list,
    do_bulk_approve_lists,
    do_decide_adjustment,
    do_return_list,
    do_revert_adjustment,
    get_list,
    review_queue,
    state_label,
)
from yibao.web.forms import failure, flash, int_param, take_flash, text
from yibao.web.pages.settlement import lists
from yibao.web.pages.settlement.common import CSRF, REVIEW, with_query
from yibao.web.render import render

router = APIRouter()
QUEUE = "/settlement/review"
WARNING_CHOICES = {"": "全部", "1": "有质控提示", "0": "无质控提示"}
DECISIONS = {
    "approve": Action.APPROVE,
    "return": Action.RETURN,
    "adjust": Action.ADJUST,
    "increase": Action.ADJUST,
    "revert": Action.REVERT_ADJUST,
}
DECISION_LABELS = {
    "approve": "审核通过",
    "return": "退回医院",
    "adjust": "调整扣减",
    "increase": "调增",
    "revert": "撤销调整",
}


def queue_filter(params: Any) -> ReviewFilter:
    """The queue's filter from the query string (``state`` empty: 待审核)."""
    state = (params.get("state") or "").strip()
    warnings = params.get("warnings") or ""
    return ReviewFilter(
        hospital=(params.get("hospital") or "").strip() or None,
        drg=(params.get("drg") or "").strip() or None,
        payment_class=(params.get("payment_class") or "").strip() or None,
        states=(state,) if state else (),
        has_warnings={"1": True, "0": False}.get(warnings),
        period=(params.get("period") or "").strip() or None,
        setl_id=(params.get("setl_id") or "").strip() or None,
    )


def queue_context(request: Request, db: Db, **extra: Any) -> dict[str, Any]:
    qp = request.query_params
    page, size = clamp_page(int_param(qp.get("page"), "page"), int_param(qp.get("size"), "size"))
    flt = queue_filter(qp)
    filter_error = None
    try:
        result = review_queue(db, flt, page, size)
    except DomainError as exc:  # a bad filter value: the page says which, the table is empty
        filter_error = {"message": exc.message, "field": exc.field}
        result = Page([], 0, page, size)
    ctx: dict[str, Any] = {
        "flt": flt,
        "qp": qp,
        "result": result,
        "filter_error": filter_error,
        "hospitals": hospital_choices(db, cache_s=request.app.state.settings.figures_cache_s),
        "class_names": CLASS_NAMES,
        "states": [(s.value, state_label(s.value)) for s in State],
        "queue_states": QUEUE_STATES,
        "warning_choices": WARNING_CHOICES,
        "badges": lists.STATE_BADGES,
        "state_label": state_label,
        "action_labels": DECISION_LABELS,
        "adjust_policy": AdjustPolicy.of(request.app.state.settings),
        "drg_names": _drg_names(request, result.items),
        "here": with_query(request, QUEUE),
        "query_string": request.url.query,
        "max_bulk": MAX_BULK,
        "flash": take_flash(request),
        "error": None,
        "form": {},
        "bulk": None,
    }
    ctx.update(extra)
    return ctx


def _drg_names(request: Request, items: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """{(plan, DRG): name} for the rows shown (names from the grouping plans)."""
    registry = plan_registry(request.app.state.settings)
    out: dict[tuple[str, str], str] = {}
    for plan_id in {r["plan_id"] for r in items if r.get("plan_id")}:
        try:
            drgs = registry.get(plan_id).plan.drgs
        except Exception:  # an unknown plan only loses the names
            continue
        for r in items:
            if r.get("plan_id") == plan_id and r.get("drg") in drgs:
                out[(plan_id, r["drg"])] = drgs[r["drg"]].name
    return out


def queue_page(request: Request, db: Db, status_code: int = 200, **extra: Any) -> Response:
    ctx = queue_context(request, db, **extra)
    if request.headers.get("hx-request") and not extra:
        # 200 even for a bad filter: HTMX swaps only successful responses, and the
        # partial carries the error message
        return render(request, "settlement/_review_table.html", ctx)
    if ctx["filter_error"] and status_code == 200:
        status_code = 422
    return render(request, "settlement/review.html", ctx, status_code=status_code)


@router.get(QUEUE)
@light_read
def queue(request: Request, db: Db, user: User = REVIEW) -> Response:
    return queue_page(request, db)


def _decide(db: Db, request: Request, user: User, list_id: int, action: str, form: Any) -> str:
    """Run one decision through the review service; the list's new state."""
    actor = request_actor(request, user)
    reason = text(form, "reason") or None
    if action == "approve":
        return do_approve_list(db, list_id, user_role=user.role, actor=actor, reason=reason)
    if action == "return":
        return do_return_list(db, list_id, reason=reason, user_role=user.role, actor=actor)
    if action == "revert":
        do_revert_adjustment(db, list_id, reason=reason, user_role=user.role, actor=actor)
        reverted = get_list(db, list_id)
        return reverted.state if reverted is not None else ""
    adj = do_adjust_list(
        db,
        list_id,
        reason=reason,
        drg_payment=text(form, "drg_payment"),
        kind="add" if action == "increase" else "deduct",
        user_role=user.role,
        actor=actor,
        policy=AdjustPolicy.of(request.app.state.settings),
    )
    if adj.status == "pending":
        return "pending"
    return State.ADJUSTED.value


@router.post(QUEUE + "/{list_id}/{action}", dependencies=CSRF)
def decide(
    list_id: DbId, action: str, request: Request, form: PostedForm, db: Db, user: User = REVIEW
) -> Response:
    """审核通过 / 退回医院 / 调整扣减 / 调增 / 撤销调整 of one list (from the queue or the
    list's page)."""
    if action not in DECISIONS:
        raise NotFound(f"没有审核操作 {action}（可选：{'、'.join(DECISIONS)}）")
    from_detail = text(form, "back") == "detail"
    try:
        state = _decide(db, request, user, list_id, action, form)
        db.flush()
    except DomainError as exc:
        err = failure(db, exc, list_id=list_id, action=action)
        shown = {"reason": text(form, "reason"), "drg_payment": text(form, "drg_payment")}
        if from_detail:
            return lists.detail_page(
                request, db, user, list_id, status_code=err["status"], error=err, form=shown
            )
        return queue_page(request, db, status_code=err["status"], error=err, form=shown)
    decided = get_list(db, list_id)
    setl_id = decided.setl_id if decided is not None else None
    if state == "pending":
        flash(
            request,
            f"结算清单 {setl_id}：{DECISION_LABELS[action]}已提交，变动较大，"
            "须由另一位审核员复核同意后生效",
        )
    else:
        flash(
            request,
            f"结算清单 {setl_id}：{DECISION_LABELS[action]}，当前状态为{state_label(state)}",
        )
    target = f"/settlement/lists/{list_id}" if from_detail else with_query(request, QUEUE)
    return RedirectResponse(target, status_code=303)


@router.post(QUEUE + "/adjustments/{adjustment_id}/{verdict}", dependencies=CSRF)
def decide_adjustment(
    adjustment_id: DbId,
    verdict: str,
    request: Request,
    form: PostedForm,
    db: Db,
    user: User = REVIEW,
) -> Response:
    """复核同意 / 不同意 a pending adjustment (on the list's page)."""
    if verdict not in ("approve", "reject"):
        raise NotFound(f"没有复核操作 {verdict}（可选：approve、reject）")
    list_id = adjustment_list_id(db, adjustment_id)
    if list_id is None:
        raise NotFound(f"调整记录 {adjustment_id} 不存在或不在您的辖区")
    try:
        do_decide_adjustment(
            db,
            adjustment_id,
            approve=verdict == "approve",
            reason=text(form, "reason") or None,
            user_role=user.role,
            actor=request_actor(request, user),
        )
        db.flush()
    except DomainError as exc:
        err = failure(db, exc, list_id=list_id, action=f"second-{verdict}")
        return lists.detail_page(
            request,
            db,
            user,
            list_id,
            status_code=err["status"],
            error=err,
            form={"reason": text(form, "reason")},
        )
    row = get_list(db, list_id)
    assert row is not None
    word = "复核同意，调整生效" if verdict == "approve" else "复核不同意，调整未生效"
    flash(request, f"结算清单 {row.setl_id}：{word}，当前状态为{state_label(row.state)}")
    return RedirectResponse(f"/settlement/lists/{list_id}", status_code=303)


def _ticked(form: Any) -> list[int]:
    ids = []
    for raw in form.getlist("ids"):
        try:
            number = int(raw)
        except (TypeError, ValueError):
            number = 0
        if not 1 <= number <= INT4_MAX:
            raise ValidationFailed(f"清单 ids：应为清单编号（收到 {raw!r}）", field="ids")
        ids.append(number)
    if not ids:
        raise ValidationFailed("请先勾选要批量审核通过的清单（ids）", field="ids")
    return ids


@router.post(QUEUE + "/bulk-approve", dependencies=CSRF)
def bulk_approve(request: Request, form: PostedForm, db: Db, user: User = REVIEW) -> Response:
    """批量审核通过: the ticked lists, or every list of the current filter; one
    transaction, each list reported on its own (refused ones are left as they were)."""
    try:
        if text(form, "mode") == "filter":
            ids = bulk_ids(db, queue_filter(request.query_params))
            if not ids:
                raise ValidationFailed("当前筛选条件下没有可审核的清单", field="filter")
        else:
            ids = _ticked(form)
        results = do_bulk_approve_lists(
            db,
            ids,
            user_role=user.role,
            actor=request_actor(request, user),
            reason=text(form, "reason") or None,
        )
        db.flush()
    except DomainError as exc:
        err = failure(db, exc, action="bulk")
        return queue_page(request, db, status_code=err["status"], error=err)
    approved = sum(r.ok for r in results)
    bulk = {
        "requested": len(results),
        "approved": approved,
        "refused": len(results) - approved,
        "results": results,
    }
    return queue_page(request, db, bulk=bulk)
