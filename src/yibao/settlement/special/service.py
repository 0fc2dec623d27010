"""Operations on special cases and appeals: apply, decide, file an appeal, decide it.

A hospital applies for a special case (window, eligibility and quota by the engine,
attachments stored under the var directory) or files an appeal (within the deadline);
a reviewer records the expert panel's decision on either, re-pricing the list on the
application row when approved.  Each step goes through the state machine and writes
a list event and an audit row in the caller's transaction; nothing here commits.
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor
from yibao.cases.models import Case
from yibao.engines.settlement import Action, State, transition
from yibao.engines.settlement.quota import special_case_quota
from yibao.kit.errors import Conflict, NotFound, ValidationFailed
from yibao.kit.timeutil import local
from yibao.settlement.models import (
    CasePricing,
    SettlementAppeal,
    SettlementList,
    SpecialCaseApplication,
)
from yibao.settlement.review import (
    Step,
    apply_steps,
    latest_adjustments,
    lock_list,
    parse_amount,
    priced_special,
    reviewer_role,
)
from yibao.settlement.review.states import OVERTURNED
from yibao.settlement.special.repository import _decision_event, _quota_frames
from yibao.settlement.special.rules import (
    METHODS,
    QUOTA_PARAMS,
    Refused,
    SpecialRules,
    _now,
    _text,
    appeal_deadline,
    bureau_role,
    hospital_role,
    month_end,
)

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


def _admit(
    session: Session, row: SettlementList, case: Case, new_tech: bool, now: datetime
) -> dict[str, Any]:
    """The engine's verdict on the application (raises :class:`Refused` in Chinese)."""
    period = case.discharge_date.strftime("%Y-%m")
    start = case.discharge_date.replace(day=1)
    cases, earlier = _quota_frames(session, row, start, month_end(start, 0))
    if any(a.list_id == row.id for a in earlier):
        raise Refused(f"结算清单 {row.setl_id} 本期已申请过特例单议（重复申请）")
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
        per_mille = f"{(QUOTA_PARAMS.rate * 1000).normalize():f}‰"
        raise Refused(
            f"特例单议申请未受理：{mine['reason']}（本院 {period} DRG 结算病例 {drg_cases} 例，"
            f"名额比例 {per_mille}，名额 {quota} 个，已受理 {len(earlier)} 个）"
        )
    return figures


# Long: window, quota, the application row and its stored files, rolled back together.
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
    row = lock_list(session, list_id)
    target = transition(row.state, Action.APPLY_SPECIAL, role)
    case = session.get(Case, row.case_id) if row.case_id else None
    pricing = session.get(CasePricing, row.case_id) if row.case_id else None
    if case is None or pricing is None:
        raise Refused(f"结算清单 {row.setl_id} 没有计价结果，不能申请特例单议")
    deadline = month_end(case.discharge_date, rules.window_months)
    now = _now()
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
        apply_steps(session, row, [step], role=role, actor=actor, reason=text, details=details)
        session.flush()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return app


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
        got = "未填写" if not method else f"收到“{str(method)[:20]}”"
        raise ValidationFailed(
            f"支付方式 method 必填：items（按项目付费）或 amount（按核定金额）（{got}）",
            field="method",
        )
    case = session.get(Case, app.case_id) if app.case_id else None
    pricing = session.get(CasePricing, app.case_id) if app.case_id else None
    if case is None or pricing is None:
        raise Refused(f"结算清单 {app.setl_id} 没有计价结果，不能重新计价")
    paid = case.total_cost if method == "items" else parse_amount(amount, "amount", "核定金额")
    if paid > case.total_cost:
        raise ValidationFailed(
            f"核定金额 amount：{paid} 元超过该病例的医疗总费用 {case.total_cost} 元，"
            "特例单议按核定金额支付不应高于实际发生的费用",
            field="amount",
        )
    priced = priced_special(session, case, pricing, None if method == "items" else paid)
    app.method = method
    app.original_payment = pricing.drg_payment
    app.original_fund = pricing.fund_amount
    app.new_payment = priced.drg_payment
    app.new_fund = priced.fund_amount
    return {
        "special_id": app.id,
        "method": method,
        "method_label": METHODS[method],
        "original_payment": str(app.original_payment),
        "new_payment": str(app.new_payment),
        "original_fund": str(app.original_fund),
        "new_fund": str(app.new_fund),
        "fund_explanation": priced.explanation,
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
    """特例单议评审: approve (re-price) or reject; a reason either way (the decision
    moves money)."""
    reviewer_role(user_role)
    action = Action.APPROVE_SPECIAL if approve else Action.REJECT_SPECIAL
    what = "特例单议评审通过" if approve else "特例单议评审不通过"
    text = _text(reason, what, 500, required=True)
    app = _lock_special(session, special_id)
    if app.status != "applied":
        shown = {"approved": "评审通过", "rejected": "评审不通过"}.get(app.status, app.status)
        raise Conflict(
            f"特例单议申请 {special_id} 已处理（{shown}），不能再次评审", field="special"
        )
    row = lock_list(session, app.list_id)
    role = bureau_role(user_role, row.state, action)
    target = transition(row.state, action, role, reason=text)
    details = _reprice(session, app, method, amount) if approve else {"special_id": app.id}
    app.status = "approved" if approve else "rejected"
    app.decision_reason = text
    app.decided_by = actor.name
    app.decided_at = _now()
    step = Step(State(row.state), action, target)
    apply_steps(session, row, [step], role=role, actor=actor, reason=text, details=details)
    return app


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
    row = lock_list(session, list_id)
    target = transition(row.state, Action.FILE_APPEAL, role, reason=text)
    event = _decision_event(session, row)
    deadline = appeal_deadline(event.created_at, rules)
    now = _now()
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
    apply_steps(session, row, [step], role=role, actor=actor, reason=text, details=details)
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
    驳回申诉; a reason either way, and once only."""
    reviewer_role(user_role)
    action = Action.UPHOLD_APPEAL if uphold else Action.REJECT_APPEAL
    text = _text(reason, "申诉成立" if uphold else "驳回申诉", 500, required=True)
    appeal = session.scalar(
        select(SettlementAppeal).where(SettlementAppeal.id == appeal_id).with_for_update()
    )
    if appeal is None:
        raise NotFound(f"申诉 {appeal_id} 不存在或不在您的辖区 / not found")
    if appeal.status != "pending":
        shown = {"upheld": "申诉成立", "rejected": "驳回申诉"}.get(appeal.status, appeal.status)
        raise Conflict(f"申诉 {appeal_id} 已处理（{shown}），不能再次处理", field="appeal")
    row = lock_list(session, appeal.list_id)
    role = bureau_role(user_role, row.state, action)
    target = transition(row.state, action, role, reason=text)
    details: dict[str, Any] = {"appeal_id": appeal.id}
    if uphold and target == State.SPECIAL_APPROVED and appeal.special_id is not None:
        app = _lock_special(session, appeal.special_id)
        details |= _reprice(session, app, method, amount)
        app.status = "approved"
        app.decision_reason = text
        app.decided_by = actor.name
        app.decided_at = _now()
    if uphold and target == State.APPROVED:
        overturned = _overturn_adjustment(session, row, text, actor)
        if overturned is not None:
            details["overturned_adjustment_id"] = overturned
    appeal.status = "upheld" if uphold else "rejected"
    appeal.decision_reason = text
    appeal.decided_by = actor.name
    appeal.decided_at = _now()
    step = Step(State(row.state), action, target)
    apply_steps(session, row, [step], role=role, actor=actor, reason=text, details=details)
    return appeal


def _overturn_adjustment(
    session: Session, row: SettlementList, reason: str | None, actor: Actor
) -> int | None:
    """An upheld appeal against an adjustment takes it out of force (``overturned``,
    申诉成立): the list is paid its pricing, now and if it later ends in an adjusted
    state for another reason (a rejected special case's appeal)."""
    adj = latest_adjustments(session, [row]).get(row.id)
    if adj is None:
        return None
    adj.status = OVERTURNED
    adj.decided_by_id, adj.decided_by_name = actor.user_id, actor.name
    adj.decided_at, adj.decision_reason = _now(), reason
    return adj.id
