"""Special cases (特例单议, domain.md §1.6) and appeals (申诉) of settlement lists.

* A hospital applies for one of its ``priced`` / ``under_review`` / ``approved`` lists
  with a reason and optional attachments, until the end of the ``window_months``-th
  month after the discharge month (default 1: an April discharge may be applied for
  until 31 May).  Eligibility and the quota (5 ‰ of the hospital's DRG cases of the
  discharge month, ADR 0006) are the engine's :func:`special_case_quota`, served in
  order of application (``order="applied"``) so an admitted application never loses
  its slot to a later one.  A refusal is a 409 naming the rule and the quota figures.
* A reviewer records the expert panel's decision (the machine's ``expert`` role):
  approve with a payment method — ``items`` (按项目付费: the case's total cost becomes
  the DRG payment) or ``amount`` (a given amount) — or reject with a reason.  The
  approval re-prices the list on the application row; the case pricing is kept.
* A hospital appeals an ``adjusted`` list or a ``special_rejected`` one with a reason
  until ``appeal_days`` (default 15) days after the decision (business date, inclusive).
  A reviewer upholds it (adjusted → approved, paid its pricing again; special → special
  approved with a payment method) or rejects it with a reason.

Every step goes through the state machine (409 before anything is written) and adds a
list event and an audit row in the caller's transaction; nothing here commits.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from yibao.accounts.roles import Permission, has_permission
from yibao.audit.service import Actor
from yibao.cases.models import Case
from yibao.engines.settlement import Action, Role, State, transition
from yibao.engines.settlement.params import QuotaParams
from yibao.engines.settlement.quota import special_case_quota
from yibao.engines.settlement.states import allowed_actions
from yibao.kit.errors import DomainError, Forbidden, NotFound, ValidationFailed
from yibao.kit.paging import Page
from yibao.kit.timeutil import local, utcnow
from yibao.settlement.models import (
    CasePricing,
    SettlementAppeal,
    SettlementList,
    SettlementListEvent,
    SpecialCaseApplication,
)
from yibao.settlement.review import (
    Step,
    _apply,
    _lock_list,
    adjusted_fund,
    parse_amount,
    reviewer_role,
    state_label,
)

#: The clock (tests replace it); business dates are taken in Asia/Shanghai.
CLOCK: Callable[[], datetime] = utcnow
METHODS = {"items": "按项目付费（病例总费用）", "amount": "按核定金额"}


class SpecialRules(BaseSettings):
    """Configurable limits (environment ``YIBAO_SPECIAL_*``)."""

    model_config = SettingsConfigDict(env_prefix="YIBAO_SPECIAL_")

    window_months: int = 1
    appeal_days: int = 15
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_attachments: int = 10


class Refused(DomainError):
    http_status = 409
    code = "refused"


#: applications are admitted to the quota in the order they were filed
QUOTA_PARAMS = QuotaParams(order="applied")


def appeal_deadline(decided_at: datetime, rules: SpecialRules) -> date:
    """The last day to appeal a decision taken at ``decided_at`` (business dates, inclusive)."""
    return local(decided_at).date() + timedelta(days=rules.appeal_days)


def _today() -> date:
    return local(CLOCK()).date()


def month_end(day: date, months_after: int) -> date:
    """The last day of the month ``months_after`` months after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months_after + 1
    return date(index // 12, index % 12 + 1, 1) - timedelta(days=1)


def hospital_role(user_role: str) -> Role:
    if not has_permission(user_role, Permission.SUBMIT_LISTS):
        raise Forbidden("只有医疗机构用户可以申请特例单议或申诉（需要 submit_lists 权限）")
    return Role.HOSPITAL


def bureau_role(user_role: str, state: str, action: Action) -> Role:
    """The machine role a reviewer takes for ``action``: ``reviewer`` where the machine
    allows it, else ``expert`` (recording the panel's decision), else ``bureau``."""
    reviewer_role(user_role)
    for t in allowed_actions(state):
        if t.action == action:
            for role in (Role.REVIEWER, Role.EXPERT, Role.BUREAU):
                if role in t.roles:
                    return role
    return Role.REVIEWER


def _text(value: str | None, what: str, limit: int, *, required: bool = True) -> str | None:
    text = (value or "").strip() or None
    if text is None and required:
        raise ValidationFailed(f"原因 reason 不能为空：{what}必须填写原因", field="reason")
    if text is not None and len(text) > limit:
        raise ValidationFailed(
            f"原因 reason 最多 {limit} 字（收到 {len(text)} 字）", field="reason"
        )
    return text


_UNSAFE = re.compile(r"[^\w.\-\u4e00-\u9fff]+")


def _check_files(files: list[tuple[str, bytes]], rules: SpecialRules) -> None:
    if len(files) > rules.max_attachments:
        raise ValidationFailed(
            f"附件 files 最多 {rules.max_attachments} 个（收到 {len(files)} 个）", field="files"
        )
    for name, data in files:
        if len(data) > rules.max_attachment_bytes:
            raise ValidationFailed(
                f"附件 {name} 为 {len(data)} 字节，超过上限 {rules.max_attachment_bytes} 字节",
                field="files",
            )


def _store_files(files: list[tuple[str, bytes]], folder: Path) -> list[dict[str, Any]]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, (name, data) in enumerate(files, start=1):
        original = Path(name.replace("\\", "/")).name or f"附件{i}"
        stored = f"{i:02d}_{_UNSAFE.sub('_', original)[:120]}"
        (folder / stored).write_bytes(data)
        out.append({"name": original, "stored_as": stored, "size": len(data)})
    return out


# --------------------------------------------------------------------------- apply


def _quota_frames(
    session: Session, row: SettlementList, start: date, end: date
) -> tuple[pl.DataFrame, list[SpecialCaseApplication]]:
    cases = session.execute(
        select(
            SettlementList.setl_id,
            Case.total_cost,
            CasePricing.payment_standard,
            CasePricing.payment_class,
            Case.los_days,
        )
        .join(Case, Case.id == SettlementList.case_id)
        .join(CasePricing, CasePricing.case_id == Case.id)
        .where(
            SettlementList.hospital_id == row.hospital_id,
            Case.discharge_date >= start,
            Case.discharge_date <= end,
        )
    ).all()
    frame = pl.DataFrame(
        {
            "setl_id": [c[0] for c in cases],
            "hospital_code": [row.hospital_code] * len(cases),
            "total_cost": [c[1] for c in cases],
            "payment_standard": [c[2] for c in cases],
            "payment_class": [c[3] for c in cases],
            "los_days": [c[4] for c in cases],
        },
        schema_overrides={
            "total_cost": pl.Decimal(18, 2),
            "payment_standard": pl.Decimal(18, 2),
            "setl_id": pl.String,
            "hospital_code": pl.String,
            "payment_class": pl.String,
            "los_days": pl.Int32,
        },
    )
    earlier = list(
        session.scalars(
            select(SpecialCaseApplication)
            .where(
                SpecialCaseApplication.hospital_id == row.hospital_id,
                SpecialCaseApplication.period_code == start.strftime("%Y-%m"),
            )
            .order_by(SpecialCaseApplication.id)
        )
    )
    return frame, earlier


def _admit(
    session: Session, row: SettlementList, case: Case, new_tech: bool, now: datetime
) -> dict[str, Any]:
    """The engine's verdict on the application (raises :class:`Refused` in Chinese)."""
    period = case.discharge_date.strftime("%Y-%m")
    start = case.discharge_date.replace(day=1)
    cases, earlier = _quota_frames(session, row, start, month_end(start, 0))
    if any(a.list_id == row.id for a in earlier):
        raise Refused(f"结算清单 {row.setl_id} 本期已申请过特例单议（重复申请，规则 DUPLICATE）")
    apps = pl.DataFrame(
        {
            "setl_id": [a.setl_id for a in earlier] + [row.setl_id],
            "hospital_code": [row.hospital_code] * (len(earlier) + 1),
            "applied_at": [f"{i:09d}" for i in range(len(earlier) + 1)],
            "new_tech": [a.new_tech for a in earlier] + [new_tech],
        }
    )
    result = special_case_quota(cases, apps, QUOTA_PARAMS)
    mine = result.decisions.filter(pl.col("setl_id") == row.setl_id).row(0, named=True)
    summary = result.quotas.filter(pl.col("hospital_code") == row.hospital_code)
    drg_cases = int(summary["drg_cases"][0]) if summary.height else 0
    quota = int(summary["quota"][0]) if summary.height else 0
    figures = {
        "period": period,
        "drg_cases": drg_cases,
        "rate": str(QUOTA_PARAMS.rate),
        "quota": quota,
        "used_before": len(earlier),
        "rank": mine["rank"],
        "rule": mine["reason_code"],
        "message": mine["reason"],
    }
    if not mine["accepted"]:
        raise Refused(
            f"特例单议申请未受理：{mine['reason']}（规则 {mine['reason_code']}；"
            f"本院 {period} DRG 结算病例 {drg_cases} 例，名额比例 {QUOTA_PARAMS.rate}，"
            f"名额 {quota} 个，已受理 {len(earlier)} 个）"
        )
    return figures


def do_apply_special_case(
    session: Session,
    list_id: int,
    *,
    reason: str | None,
    new_tech: bool,
    files: list[tuple[str, bytes]],
    user_role: str,
    actor: Actor,
    var_dir: Path,
    rules: SpecialRules | None = None,
) -> SpecialCaseApplication:
    """申请特例单议 (hospital): window, eligibility and quota, then the machine step."""
    rules = rules or SpecialRules()
    role = hospital_role(user_role)
    text = _text(reason, "申请特例单议", 1000)
    _check_files(files, rules)
    row = _lock_list(session, list_id)
    target = transition(row.state, Action.APPLY_SPECIAL, role)
    case = session.get(Case, row.case_id) if row.case_id else None
    pricing = session.get(CasePricing, row.case_id) if row.case_id else None
    if case is None or pricing is None:
        raise Refused(f"结算清单 {row.setl_id} 没有计价结果，不能申请特例单议")
    deadline = month_end(case.discharge_date, rules.window_months)
    now = CLOCK()
    if local(now).date() > deadline:
        raise Refused(
            f"已超过特例单议申请期限：出院日期 {case.discharge_date}，"
            f"须在出院次月末（{deadline}）前申请，今天是 {local(now).date()}"
        )
    figures = _admit(session, row, case, new_tech, now)
    app = SpecialCaseApplication(
        list_id=row.id,
        case_id=row.case_id,
        hospital_id=row.hospital_id,
        region_code=row.region_code,
        setl_id=row.setl_id,
        hospital_code=row.hospital_code,
        period_code=figures["period"],
        version=row.version,
        status="applied",
        reason=text or "",
        new_tech=new_tech,
        quota=figures,
        attachments=[],
        from_state=row.state,
        applied_by=actor.name,
        applied_at=now,
        original_payment=pricing.drg_payment,
        original_fund=pricing.fund_amount,
    )
    session.add(app)
    session.flush()
    folder = var_dir / "attachments" / str(app.id)
    try:
        app.attachments = _store_files(files, folder) if files else []
        details = {"special_id": app.id, "quota": figures, "attachments": len(files)}
        step = Step(State(row.state), Action.APPLY_SPECIAL, target)
        _apply(session, row, [step], role=role, actor=actor, reason=text, details=details)
        session.flush()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return app


# --------------------------------------------------------------------------- decide


def _lock_special(session: Session, special_id: int) -> SpecialCaseApplication:
    app = session.scalar(
        select(SpecialCaseApplication)
        .where(SpecialCaseApplication.id == special_id)
        .with_for_update()
    )
    if app is None:
        raise NotFound(f"特例单议申请 {special_id} 不存在或不在您的辖区 / not found")
    return app


def _reprice(
    session: Session, app: SpecialCaseApplication, method: str | None, amount: Any
) -> dict[str, Any]:
    if method not in METHODS:
        raise ValidationFailed(
            f"支付方式 method 必填：items（按项目付费）或 amount（按核定金额）（收到 {method!r}）",
            field="method",
        )
    case = session.get(Case, app.case_id) if app.case_id else None
    pricing = session.get(CasePricing, app.case_id) if app.case_id else None
    if case is None or pricing is None:
        raise Refused(f"结算清单 {app.setl_id} 没有计价结果，不能重新计价")
    paid = case.total_cost if method == "items" else parse_amount(amount, "amount")
    app.method = method
    app.original_payment = pricing.drg_payment
    app.original_fund = pricing.fund_amount
    app.new_payment = Decimal(paid).quantize(Decimal("0.01"))
    app.new_fund = adjusted_fund(pricing.fund_amount, pricing.drg_payment, app.new_payment)
    return {
        "special_id": app.id,
        "method": method,
        "method_label": METHODS[method],
        "original_payment": str(app.original_payment),
        "new_payment": str(app.new_payment),
        "original_fund": str(app.original_fund),
        "new_fund": str(app.new_fund),
    }


def do_decide_special_case(
    session: Session,
    special_id: int,
    *,
    approve: bool,
    method: str | None,
    amount: Any,
    reason: str | None,
    user_role: str,
    actor: Actor,
) -> SpecialCaseApplication:
    """特例单议评审: approve (re-price) or reject (reason required)."""
    reviewer_role(user_role)
    action = Action.APPROVE_SPECIAL if approve else Action.REJECT_SPECIAL
    text = _text(reason, "特例单议评审不通过", 500, required=not approve)
    app = _lock_special(session, special_id)
    row = _lock_list(session, app.list_id)
    role = bureau_role(user_role, row.state, action)
    target = transition(row.state, action, role, reason=text)
    details = _reprice(session, app, method, amount) if approve else {"special_id": app.id}
    app.status = "approved" if approve else "rejected"
    app.decision_reason = text
    app.decided_by = actor.name
    app.decided_at = CLOCK()
    step = Step(State(row.state), action, target)
    _apply(session, row, [step], role=role, actor=actor, reason=text, details=details)
    return app


# --------------------------------------------------------------------------- appeals


def _decision_event(session: Session, row: SettlementList) -> SettlementListEvent:
    event = session.scalar(
        select(SettlementListEvent)
        .where(SettlementListEvent.list_id == row.id, SettlementListEvent.to_state == row.state)
        .order_by(SettlementListEvent.id.desc())
        .limit(1)
    )
    if event is None:
        raise Refused(f"结算清单 {row.setl_id} 没有可申诉的审核决定")
    return event


def do_file_appeal(
    session: Session,
    list_id: int,
    *,
    reason: str | None,
    user_role: str,
    actor: Actor,
    rules: SpecialRules | None = None,
) -> SettlementAppeal:
    """提出申诉 (hospital) against an adjustment or a rejected special case."""
    rules = rules or SpecialRules()
    role = hospital_role(user_role)
    text = _text(reason, "申诉", 1000)
    row = _lock_list(session, list_id)
    target = transition(row.state, Action.FILE_APPEAL, role, reason=text)
    event = _decision_event(session, row)
    deadline = appeal_deadline(event.created_at, rules)
    now = CLOCK()
    if local(now).date() > deadline:
        raise Refused(
            f"已超过申诉期限：审核决定日期 {local(event.created_at).date()}，"
            f"须在 {rules.appeal_days} 天内（{deadline} 前）申诉，今天是 {local(now).date()}"
        )
    special = None
    if row.state == State.SPECIAL_REJECTED:
        special = session.scalar(
            select(SpecialCaseApplication.id)
            .where(SpecialCaseApplication.list_id == row.id)
            .order_by(SpecialCaseApplication.id.desc())
            .limit(1)
        )
    appeal = SettlementAppeal(
        list_id=row.id,
        special_id=special,
        hospital_id=row.hospital_id,
        region_code=row.region_code,
        setl_id=row.setl_id,
        hospital_code=row.hospital_code,
        version=row.version,
        contested_state=row.state,
        decision_at=event.created_at,
        deadline=deadline,
        status="pending",
        reason=text or "",
        filed_by=actor.name,
        filed_at=now,
    )
    session.add(appeal)
    session.flush()
    details = {"appeal_id": appeal.id, "deadline": deadline.isoformat()}
    step = Step(State(row.state), Action.FILE_APPEAL, target)
    _apply(session, row, [step], role=role, actor=actor, reason=text, details=details)
    return appeal


def do_decide_appeal(
    session: Session,
    appeal_id: int,
    *,
    uphold: bool,
    reason: str | None,
    method: str | None,
    amount: Any,
    user_role: str,
    actor: Actor,
) -> SettlementAppeal:
    """申诉成立 (adjusted → approved; special → special approved, re-priced) or
    驳回申诉 (reason required)."""
    reviewer_role(user_role)
    action = Action.UPHOLD_APPEAL if uphold else Action.REJECT_APPEAL
    text = _text(reason, "驳回申诉", 500, required=not uphold)
    appeal = session.scalar(
        select(SettlementAppeal).where(SettlementAppeal.id == appeal_id).with_for_update()
    )
    if appeal is None:
        raise NotFound(f"申诉 {appeal_id} 不存在或不在您的辖区 / not found")
    row = _lock_list(session, appeal.list_id)
    role = bureau_role(user_role, row.state, action)
    target = transition(row.state, action, role, reason=text)
    details: dict[str, Any] = {"appeal_id": appeal.id}
    if uphold and target == State.SPECIAL_APPROVED and appeal.special_id is not None:
        app = _lock_special(session, appeal.special_id)
        details |= _reprice(session, app, method, amount)
        app.status = "approved"
        app.decision_reason = text
        app.decided_by = actor.name
        app.decided_at = CLOCK()
    appeal.status = "upheld" if uphold else "rejected"
    appeal.decision_reason = text
    appeal.decided_by = actor.name
    appeal.decided_at = CLOCK()
    step = Step(State(row.state), action, target)
    _apply(session, row, [step], role=role, actor=actor, reason=text, details=details)
    return appeal


# --------------------------------------------------------------------------- reading


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def special_out(app: SpecialCaseApplication, list_state: str | None = None) -> dict[str, Any]:
    return {
        "id": app.id,
        "list_id": app.list_id,
        "setl_id": app.setl_id,
        "hospital_code": app.hospital_code,
        "period": app.period_code,
        "status": app.status,
        "status_label": app.status_label,
        "list_state": list_state,
        "list_state_label": state_label(list_state) if list_state else None,
        "reason": app.reason,
        "new_tech": app.new_tech,
        "quota": app.quota,
        "attachments": [{"name": a["name"], "size": a["size"]} for a in app.attachments or []],
        "applied_by": app.applied_by,
        "applied_at": app.applied_at.isoformat(),
        "decision": None
        if app.decided_at is None
        else {
            "method": app.method,
            "method_label": METHODS.get(app.method or ""),
            "original_payment": _money(app.original_payment),
            "new_payment": _money(app.new_payment),
            "original_fund": _money(app.original_fund),
            "new_fund": _money(app.new_fund),
            "reason": app.decision_reason,
            "by": app.decided_by,
            "at": app.decided_at.isoformat(),
        },
    }


def appeal_out(appeal: SettlementAppeal, list_state: str | None = None) -> dict[str, Any]:
    return {
        "id": appeal.id,
        "list_id": appeal.list_id,
        "special_id": appeal.special_id,
        "setl_id": appeal.setl_id,
        "hospital_code": appeal.hospital_code,
        "contested_state": appeal.contested_state,
        "contested_state_label": state_label(appeal.contested_state),
        "decision_at": appeal.decision_at.isoformat(),
        "deadline": appeal.deadline.isoformat(),
        "status": appeal.status,
        "status_label": appeal.status_label,
        "list_state": list_state,
        "reason": appeal.reason,
        "filed_by": appeal.filed_by,
        "filed_at": appeal.filed_at.isoformat(),
        "decision_reason": appeal.decision_reason,
        "decided_by": appeal.decided_by,
        "decided_at": appeal.decided_at.isoformat() if appeal.decided_at else None,
    }


def _page(
    session: Session, stmt: Select[Any], model: Any, page: int, size: int
) -> list[tuple[Any, str]]:
    rows = session.execute(
        stmt.add_columns(SettlementList.state)
        .join(SettlementList, SettlementList.id == model.list_id)
        .order_by(model.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    return [(r[0], r[1]) for r in rows]


def list_special_cases(
    session: Session,
    *,
    status: str | None,
    hospital: str | None,
    period: str | None,
    page: int,
    size: int,
) -> Page[dict[str, Any]]:
    """Special-case applications in the session's scope, newest first."""
    stmt = select(SpecialCaseApplication)
    if status:
        stmt = stmt.where(SpecialCaseApplication.status == status.strip())
    if hospital:
        stmt = stmt.where(SpecialCaseApplication.hospital_code == hospital.strip())
    if period:
        stmt = stmt.where(SpecialCaseApplication.period_code == period.strip())
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = _page(session, stmt, SpecialCaseApplication, page, size)
    return Page([special_out(a, s) for a, s in rows], total, page, size)


def list_appeals(
    session: Session, *, status: str | None, hospital: str | None, page: int, size: int
) -> Page[dict[str, Any]]:
    """Appeals in the session's scope, newest first."""
    stmt = select(SettlementAppeal)
    if status:
        stmt = stmt.where(SettlementAppeal.status == status.strip())
    if hospital:
        stmt = stmt.where(SettlementAppeal.hospital_code == hospital.strip())
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = _page(session, stmt, SettlementAppeal, page, size)
    return Page([appeal_out(a, s) for a, s in rows], total, page, size)
