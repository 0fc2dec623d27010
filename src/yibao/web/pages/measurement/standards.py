"""Payment standards (支付标准): published sets, publish from a rate plan, import a file."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from yibao.accounts.models import User
from yibao.api.deps import Db, PostedForm, registry_of, request_actor
from yibao.api.inline import light_read
from yibao.grouping.plans import list_plans, plan_payload
from yibao.kit.bounds import DbId
from yibao.kit.errors import DomainError, ValidationFailed
from yibao.kit.paging import clamp_page
from yibao.measurement import service as svc
from yibao.web.forms import page_arg, text
from yibao.web.pages.measurement.common import (
    CSRF,
    MEASURE,
    again,
    as_date,
    as_int,
    base_context,
    failure,
    prefix_of,
    required_date,
    rules_of,
    rules_text,
    values_of,
)
from yibao.web.render import render

router = APIRouter(prefix="/measurement")


def split_rows(message: str) -> tuple[str, list[str]]:
    """``head：row | row`` (the import's row-level errors) → (head, rows)."""
    if " | " not in message and "：第 " not in message:
        return message, []
    head, _sep, rest = message.partition("：第 ")
    return head, ["第 " + r.removeprefix("第 ") for r in rest.split(" | ")]


def standards_view(request: Request, db: Db, user: User, **extra: Any) -> Response:
    prefix = prefix_of(user)
    sets = svc.list_standard_sets(db, prefix)
    published = svc.list_weight_plans(db, prefix, status="published")
    ids = {p.id for p in published}
    rate_rows = [r for r in svc.list_rate_plans(db, prefix) if r.weight_plan_id in ids]
    qp = request.query_params
    ctx = base_context(
        sets=sets,
        counts=svc.standard_item_counts(db, [s.id for s in sets]),
        published=published,
        plan_labels={p.id: f"{p.code} v{p.version}" for p in svc.list_weight_plans(db, prefix)},
        rate_rows=rate_rows,
        plans=[plan_payload(i) for i in list_plans(registry_of(request))],
        sources=svc.STANDARD_SOURCES,
        form={
            "weight_plan_id": qp.get("weight_plan_id") or "",
            "rate_plan_id": qp.get("rate_plan_id") or "",
        },
        import_form={},
    )
    ctx.update(extra)
    return render(request, "measurement/standards.html", ctx)


@router.get("/standards")
@light_read
def standards_page(request: Request, db: Db, user: User = MEASURE) -> Response:
    return standards_view(request, db, user)


@router.post("/standards", dependencies=CSRF)
def publish(request: Request, form: PostedForm, db: Db, user: User = MEASURE) -> Response:
    """Publish the standards of a published weight plan and one of its rate plans."""
    prefix = prefix_of(user)
    try:
        wp_raw, rp_raw = text(form, "weight_plan_id"), text(form, "rate_plan_id")
        if not wp_raw:
            raise ValidationFailed("权重方案：请选择已发布的权重方案", field="weight_plan_id")
        if not rp_raw:
            raise ValidationFailed("费率方案：请选择费率方案", field="rate_plan_id")
        plan = svc.get_weight_plan(db, as_int(wp_raw, "weight_plan_id", "权重方案"), prefix)
        rate_row = svc.get_rate_plan(db, as_int(rp_raw, "rate_plan_id", "费率方案"), prefix)
        run = svc.get_run(db, plan.run_id, prefix)
        row = svc.publish_standards(
            db,
            weight_plan=plan,
            rate_row=rate_row,
            run=run,
            name=text(form, "name"),
            valid_from=required_date(text(form, "valid_from"), "valid_from", "生效日期"),
            valid_to=as_date(text(form, "valid_to"), "valid_to", "失效日期"),
            actor=request_actor(request, user),
            four_eyes=request.app.state.settings.publish_four_eyes,
            registry=registry_of(request),
            budget_tolerance=Decimal(str(request.app.state.settings.budget_tolerance)),
            confirm_budget_gap=text(form, "confirm_budget_gap") == "1",
            rules=rules_of(form) or None,
        )
    except DomainError as exc:
        err = failure(db, exc)
        err["budget_gap"] = isinstance(exc, svc.BudgetMissed)

        def page(**kw: Any) -> Response:
            return standards_view(request, db, user, **kw)

        return again(page, err, "publish", form=values_of(form))
    return RedirectResponse(f"/measurement/standards/{row.id}", status_code=303)


@router.post("/standards/import", dependencies=CSRF)
def import_file(request: Request, form: PostedForm, db: Db, user: User = MEASURE) -> Response:
    """Import a bureau's existing table (xlsx / csv); all or nothing, row errors shown."""
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed("文件：请选择要导入的 .xlsx 或 .csv 文件", field="file")
        upload.file.seek(0)
        content = upload.file.read()
        row = svc.import_standards(
            db,
            registry_of(request),
            region_code=user.region_code or "",
            plan_id=text(form, "plan_id") or "chs-drg-1.1",
            content=content,
            filename=upload.filename,
            name=text(form, "name"),
            valid_from=required_date(text(form, "valid_from"), "valid_from", "生效日期"),
            valid_to=as_date(text(form, "valid_to"), "valid_to", "失效日期"),
            actor=request_actor(request, user),
            four_eyes=request.app.state.settings.publish_four_eyes,
            rules=rules_of(form) or None,
        )
    except DomainError as exc:
        err = failure(db, exc)
        err["head"], err["rows"] = split_rows(err["message"])

        def page(**kw: Any) -> Response:
            return standards_view(request, db, user, **kw)

        return again(page, err, "import", import_form=values_of(form))
    return RedirectResponse(f"/measurement/standards/{row.id}", status_code=303)


@router.post("/standards/{set_id}/approve", dependencies=CSRF)
def approve(
    set_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MEASURE
) -> Response:
    """批准发布 a pending table (four-eyes: another user than the one who submitted it)."""
    row = svc.get_standard_set(db, set_id, prefix_of(user))
    try:
        svc.do_approve_standards(db, row, actor=request_actor(request, user))
    except DomainError as exc:
        err = failure(db, exc)
        return standard_set_page(set_id, request, db, user, error=err, status_code=err["status"])
    return RedirectResponse(f"/measurement/standards/{set_id}", status_code=303)


@router.get("/standards/{set_id}")
def standard_set_page(
    set_id: DbId,
    request: Request,
    db: Db,
    user: User = MEASURE,
    error: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """One published set: its items (filter by DRG / level, paged) and downloads."""
    row = svc.get_standard_set(db, set_id, prefix_of(user))
    frame = svc.standards_frame(db, row.id)
    names = svc.drg_names(registry_of(request), row.plan_id)
    qp = request.query_params
    q, level = (qp.get("q") or "").strip(), qp.get("level") or ""
    if q:
        named = [d for d, n in names.items() if q in n]
        frame = frame.filter(
            pl.col("drg").str.contains(q.upper(), literal=True) | pl.col("drg").is_in(named)
        )
    if level:
        frame = frame.filter(pl.col("hospital_level") == level)
    page, size = clamp_page(page_arg(request), None, default_size=50)
    ctx = base_context(
        row=row,
        items=svc.page_rows(frame, page, size),
        drg_names=names,
        q=q,
        level=level,
        sources=svc.STANDARD_SOURCES,
        total=svc.standard_item_counts(db, [row.id]).get(row.id, 0),
        approve_error=error,
        can_approve=row.status == "pending" and row.created_by != user.username,
        rules_summary=rules_text(row.payment_rules),
    )
    return render(request, "measurement/standard_set.html", ctx, status_code=status_code)
