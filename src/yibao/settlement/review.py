"""Bureau review of settlement lists (结算清单审核): queue, approve, return, adjust.

Every move goes through the pure state machine
(:func:`yibao.engines.settlement.states.transition`); an illegal one raises its
:class:`~yibao.engines.settlement.IllegalTransition` (409) before anything is written.
Each step adds a :class:`SettlementListEvent` (the history the hospital reads) and an
audit row in the caller's transaction; nothing here commits.

A decision on a list that is still ``priced`` first takes the machine's
``submit_review`` step (priced → under_review), recorded as its own event, so a
reviewer can approve straight from the queue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from yibao.accounts.roles import Permission, has_permission
from yibao.audit.service import Actor, record
from yibao.cases.models import Case
from yibao.engines.settlement import (
    ACTION_LABELS,
    STATE_LABELS,
    Action,
    IllegalTransition,
    Role,
    State,
    transition,
)
from yibao.kit.errors import Forbidden, NotFound, ValidationFailed
from yibao.kit.paging import Page
from yibao.regions.models import Hospital
from yibao.settlement.models import (
    CasePricing,
    SettlementAdjustment,
    SettlementList,
    SettlementListEvent,
)

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999999999.99")
MAX_BULK = 5_000
#: The default review queue: lists waiting for a decision.
QUEUE_STATES: tuple[str, ...] = (State.PRICED, State.UNDER_REVIEW)
#: States in which a list is paid its latest adjustment instead of its pricing.
ADJUSTED_STATES = frozenset({State.ADJUSTED, State.APPEAL_REJECTED})
REASON_REQUIRED = {
    Action.RETURN: "退回医院",
    Action.ADJUST: "调整扣减",
}


def state_label(state: str) -> str:
    try:
        return STATE_LABELS[State(state)]
    except ValueError:
        return state


def action_label(action: str) -> str:
    try:
        return ACTION_LABELS[Action(action)]
    except ValueError:
        return {"receive": "接收清单"}.get(action, action)


def reviewer_role(user_role: str) -> Role:
    """The machine role of an application user who reviews lists (403 without the right)."""
    if not has_permission(user_role, Permission.REVIEW_SETTLEMENT):
        raise Forbidden("当前角色不能审核结算清单（需要 review_settlement 权限）")
    return Role.REVIEWER


# --------------------------------------------------------------------------- queue


def parse_period(code: str, *, field_name: str = "period") -> tuple[date, date]:
    """``YYYY-MM`` → first and last day of the month (422 in Chinese otherwise)."""
    text = (code or "").strip()
    try:
        year, month = text.split("-")
        if len(year) != 4 or len(month) != 2 or not (year + month).isdigit():
            raise ValueError
        if not 1900 <= int(year) <= 2999:
            raise ValueError
        start = date(int(year), int(month), 1)
    except ValueError:
        raise ValidationFailed(
            f"结算期间 {field_name} 应为 YYYY-MM 格式的年月（1900–2999 年，收到 {code[:20]!r}）",
            field=field_name,
        ) from None
    nxt = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, date.fromordinal(nxt.toordinal() - 1)


@dataclass(frozen=True)
class ReviewFilter:
    """Filters of the review queue; ``states`` empty means :data:`QUEUE_STATES`,
    ``("all",)`` every state.  ``period`` is ``YYYY-MM`` of the discharge date."""

    hospital: str | None = None
    drg: str | None = None
    payment_class: str | None = None
    states: tuple[str, ...] = ()
    has_warnings: bool | None = None
    period: str | None = None

    def effective_states(self) -> tuple[str, ...] | None:
        if not self.states:
            return QUEUE_STATES
        if "all" in self.states:
            return None
        for s in self.states:
            if s not in {m.value for m in State}:
                allowed = "、".join(m.value for m in State)
                raise ValidationFailed(
                    f"状态 state：不认识的取值 {s!r}（可选：all、{allowed}）", field="state"
                )
        return self.states


def _queue_select(flt: ReviewFilter) -> Select[*tuple[Any, ...]]:
    stmt = (
        select(SettlementList, Case.discharge_date, CasePricing, Hospital.name)
        .outerjoin(Case, Case.id == SettlementList.case_id)
        .outerjoin(CasePricing, CasePricing.case_id == SettlementList.case_id)
        .join(Hospital, Hospital.id == SettlementList.hospital_id)
    )
    states = flt.effective_states()
    if states is not None:
        stmt = stmt.where(SettlementList.state.in_(states))
    if flt.hospital:
        stmt = stmt.where(SettlementList.hospital_code == flt.hospital.strip())
    if flt.drg:
        stmt = stmt.where(CasePricing.drg == flt.drg.strip().upper())
    if flt.payment_class:
        stmt = stmt.where(CasePricing.payment_class == flt.payment_class.strip())
    if flt.has_warnings is True:
        stmt = stmt.where(SettlementList.warnings > 0)
    elif flt.has_warnings is False:
        stmt = stmt.where(SettlementList.warnings == 0)
    if flt.period:
        start, end = parse_period(flt.period)
        stmt = stmt.where(Case.discharge_date >= start, Case.discharge_date <= end)
    return stmt


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


_QUEUE_COLUMNS = (
    SettlementList.id,
    SettlementList.setl_id,
    SettlementList.hospital_code,
    SettlementList.state,
    SettlementList.version,
    SettlementList.case_id,
    SettlementList.warnings,
    Case.discharge_date,
    CasePricing.drg,
    CasePricing.payment_class,
    CasePricing.payment_standard,
    CasePricing.drg_payment,
    CasePricing.fund_amount,
    Hospital.name,
)


def _queue_count(session: Session, flt: ReviewFilter) -> int:
    """The queue's size; the case and pricing joins only when a filter needs them."""
    if flt.drg or flt.payment_class or flt.period:
        stmt = _queue_select(flt).with_only_columns(func.count(SettlementList.id))
    else:
        stmt = select(func.count(SettlementList.id))
        states = flt.effective_states()
        if states is not None:
            stmt = stmt.where(SettlementList.state.in_(states))
        if flt.hospital:
            stmt = stmt.where(SettlementList.hospital_code == flt.hospital.strip())
        if flt.has_warnings is True:
            stmt = stmt.where(SettlementList.warnings > 0)
        elif flt.has_warnings is False:
            stmt = stmt.where(SettlementList.warnings == 0)
    return int(session.scalar(stmt) or 0)


def review_queue(session: Session, flt: ReviewFilter, page: int, size: int) -> Page[dict[str, Any]]:
    """One page of the queue (in the session's scope), oldest list first.

    Reads plain columns (no ORM objects): the queue is the reviewers' most used page."""
    total = _queue_count(session, flt)
    rows = session.execute(
        _queue_select(flt)
        .with_only_columns(*_QUEUE_COLUMNS)
        .order_by(SettlementList.id)
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    adjusted = _adjusted_payments(
        session, [(r.id, r.case_id) for r in rows if r.state in ADJUSTED_STATES]
    )
    items = []
    for r in rows:
        adj = adjusted.get(r.id)
        items.append(
            {
                "id": r.id,
                "setl_id": r.setl_id,
                "hospital_code": r.hospital_code,
                "hospital_name": r.name,
                "state": r.state,
                "state_label": state_label(r.state),
                "version": r.version,
                "discharge_date": r.discharge_date.isoformat() if r.discharge_date else None,
                "drg": r.drg,
                "payment_class": r.payment_class,
                "payment_standard": _money(r.payment_standard),
                "drg_payment": _money(r.drg_payment),
                "fund_amount": _money(r.fund_amount),
                "adjusted_payment": _money(adj),
                "warnings": r.warnings,
            }
        )
    return Page(items, total, page, size)


def _adjusted_payments(session: Session, lists: list[tuple[int, int | None]]) -> dict[int, Decimal]:
    """The latest adjusted payment of each (list id, current case id)."""
    if not lists:
        return {}
    case_of = dict(lists)
    out: dict[int, Decimal] = {}
    for list_id, case_id, amount in session.execute(
        select(
            SettlementAdjustment.list_id,
            SettlementAdjustment.case_id,
            SettlementAdjustment.adjusted_payment,
        )
        .where(SettlementAdjustment.list_id.in_(list(case_of)))
        .order_by(SettlementAdjustment.id)
    ):
        if case_id == case_of[list_id]:
            out[list_id] = amount
    return out


def latest_adjustments(
    session: Session, lists: Iterable[SettlementList]
) -> dict[int, SettlementAdjustment]:
    """The latest adjustment of each list's current case."""
    by_id = {lst.id: lst for lst in lists}
    if not by_id:
        return {}
    out: dict[int, SettlementAdjustment] = {}
    ids = list(by_id)
    for start in range(0, len(ids), 1000):
        for adj in session.scalars(
            select(SettlementAdjustment)
            .where(SettlementAdjustment.list_id.in_(ids[start : start + 1000]))
            .order_by(SettlementAdjustment.id)
        ):
            if adj.case_id == by_id[adj.list_id].case_id:
                out[adj.list_id] = adj
    return out


# --------------------------------------------------------------------------- decisions


@dataclass
class Step:
    source: State
    action: Action
    target: State


def plan_steps(state: str, action: Action, role: Role, reason: str | None) -> list[Step]:
    """The machine's steps for ``action`` from ``state`` (with the implicit
    ``submit_review`` of a priced list).  Raises :class:`IllegalTransition`; pure."""
    steps: list[Step] = []
    current = State(state)
    if current == State.PRICED and action in (Action.APPROVE, Action.RETURN, Action.ADJUST):
        nxt = transition(current, Action.SUBMIT_REVIEW, role)
        steps.append(Step(State.PRICED, Action.SUBMIT_REVIEW, nxt))
        current = nxt
    target = transition(current, action, role, reason=reason)
    steps.append(Step(current, action, target))
    return steps


def _apply(
    session: Session,
    row: SettlementList,
    steps: list[Step],
    *,
    role: Role,
    actor: Actor,
    reason: str | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Move ``row`` along ``steps``: one event per step, one audit row for the whole."""
    before = row.state
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        session.add(
            SettlementListEvent(
                list_id=row.id,
                hospital_id=row.hospital_id,
                region_code=row.region_code,
                version=row.version,
                action=step.action.value,
                from_state=step.source.value,
                to_state=step.target.value,
                role=role.value,
                reason=reason if last else None,
                details=details if last else {"implicit": True},
                actor_id=actor.user_id,
                actor_name=actor.name,
            )
        )
        row.state = step.target.value
    record(
        session,
        actor,
        f"settlement.{steps[-1].action.value}",
        "settlement_list",
        row.id,
        before={"state": before},
        after={
            "state": row.state,
            "setl_id": row.setl_id,
            "steps": [s.action.value for s in steps],
            "reason": reason,
            **(details or {}),
        },
        region_code=row.region_code,
        hospital_id=row.hospital_id,
    )


def _lock_list(session: Session, list_id: int) -> SettlementList:
    row = session.scalar(
        select(SettlementList).where(SettlementList.id == list_id).with_for_update()
    )
    if row is None:
        raise NotFound(f"结算清单 {list_id} 不存在或不在您的辖区 / not found")
    return row


def _clean_reason(action: Action, reason: str | None) -> str | None:
    text = (reason or "").strip() or None
    if text is None and action in REASON_REQUIRED:
        raise ValidationFailed(
            f"原因 reason 不能为空：{REASON_REQUIRED[action]}必须填写原因（将告知医疗机构）",
            field="reason",
        )
    if text is not None and len(text) > 500:
        raise ValidationFailed(f"原因 reason 最多 500 字（收到 {len(text)} 字）", field="reason")
    return text


def do_start_review(session: Session, list_id: int, *, user_role: str, actor: Actor) -> State:
    """priced → under_review (提交审核)."""
    role = reviewer_role(user_role)
    row = _lock_list(session, list_id)
    target = transition(row.state, Action.SUBMIT_REVIEW, role)
    _apply(
        session,
        row,
        [Step(State(row.state), Action.SUBMIT_REVIEW, target)],
        role=role,
        actor=actor,
        reason=None,
    )
    return target


def do_approve_list(
    session: Session, list_id: int, *, user_role: str, actor: Actor, reason: str | None = None
) -> State:
    """审核通过 (under_review, or priced via submit_review → approved)."""
    role = reviewer_role(user_role)
    text = _clean_reason(Action.APPROVE, reason)
    row = _lock_list(session, list_id)
    steps = plan_steps(row.state, Action.APPROVE, role, text)
    _apply(session, row, steps, role=role, actor=actor, reason=text)
    return steps[-1].target


def do_return_list(
    session: Session, list_id: int, *, reason: str | None, user_role: str, actor: Actor
) -> State:
    """退回医院 with a required reason; the hospital corrects and resubmits."""
    role = reviewer_role(user_role)
    text = _clean_reason(Action.RETURN, reason)
    row = _lock_list(session, list_id)
    steps = plan_steps(row.state, Action.RETURN, role, text)
    _apply(session, row, steps, role=role, actor=actor, reason=text)
    return steps[-1].target


def parse_amount(value: Any, field_name: str = "drg_payment") -> Decimal:
    """A money amount ≥ 0 with at most 2 decimals (422 in Chinese otherwise)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationFailed(
            f"调整后支付金额 {field_name} 必填（元，最多 2 位小数）", field=field_name
        )
    if isinstance(value, bool):
        value = "x"
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite():
        raise ValidationFailed(
            f"调整后支付金额 {field_name} 应为数字（元）（收到 {value!r}）", field=field_name
        )
    if amount < 0 or amount > MAX_AMOUNT:
        raise ValidationFailed(
            f"调整后支付金额 {field_name} 须在 0 到 {MAX_AMOUNT} 元之间（收到 {amount}）",
            field=field_name,
        )
    if amount != amount.quantize(CENT):
        raise ValidationFailed(
            f"调整后支付金额 {field_name} 最多 2 位小数（收到 {amount}）", field=field_name
        )
    return amount.quantize(CENT)


def adjusted_fund(fund: Decimal, original: Decimal, adjusted: Decimal) -> Decimal:
    """The fund part scaled like the payment, half up to the fen (the pricing engine's
    rule for a hospital paid less than its basis: × payment ÷ basis, ADR 0006)."""
    if original == 0:
        return fund
    return (fund * adjusted / original).quantize(CENT, rounding=ROUND_HALF_UP)


def do_adjust_list(
    session: Session,
    list_id: int,
    *,
    reason: str | None,
    drg_payment: Any,
    user_role: str,
    actor: Actor,
) -> SettlementAdjustment:
    """调整扣减: a new DRG payment with a reason; the original pricing is kept."""
    role = reviewer_role(user_role)
    text = _clean_reason(Action.ADJUST, reason)
    amount = parse_amount(drg_payment)
    row = _lock_list(session, list_id)
    steps = plan_steps(row.state, Action.ADJUST, role, text)
    pricing = (
        session.scalar(select(CasePricing).where(CasePricing.case_id == row.case_id))
        if row.case_id
        else None
    )
    if pricing is None:
        raise ValidationFailed(
            f"结算清单 {row.setl_id} 没有计价结果，不能调整支付金额", field="drg_payment"
        )
    adj = SettlementAdjustment(
        list_id=row.id,
        case_id=row.case_id,
        hospital_id=row.hospital_id,
        region_code=row.region_code,
        version=row.version,
        original_payment=pricing.drg_payment,
        adjusted_payment=amount,
        original_fund=pricing.fund_amount,
        adjusted_fund=adjusted_fund(pricing.fund_amount, pricing.drg_payment, amount),
        reason=text or "",
        actor_id=actor.user_id,
        actor_name=actor.name,
    )
    session.add(adj)
    details = {
        "original_payment": str(adj.original_payment),
        "adjusted_payment": str(adj.adjusted_payment),
        "original_fund": str(adj.original_fund),
        "adjusted_fund": str(adj.adjusted_fund),
    }
    _apply(session, row, steps, role=role, actor=actor, reason=text, details=details)
    return adj


@dataclass
class BulkResult:
    id: int
    ok: bool
    setl_id: str | None = None
    state_before: str | None = None
    state: str | None = None
    message: str | None = None
    steps: list[str] = field(default_factory=list)


def bulk_ids(session: Session, flt: ReviewFilter) -> list[int]:
    """Ids of the lists matching ``flt`` (at most :data:`MAX_BULK`)."""
    stmt = _queue_select(flt).with_only_columns(SettlementList.id).order_by(SettlementList.id)
    ids = list(session.scalars(stmt.limit(MAX_BULK + 1)))
    if len(ids) > MAX_BULK:
        raise ValidationFailed(
            f"筛选结果超过一次批量审核上限 {MAX_BULK} 份，请缩小筛选范围", field="filter"
        )
    return ids


def do_bulk_approve_lists(
    session: Session,
    ids: list[int],
    *,
    user_role: str,
    actor: Actor,
    reason: str | None = None,
) -> list[BulkResult]:
    """Approve many lists in the caller's transaction; each id gets its own result.

    A list that the machine refuses (or that is not in the caller's scope) is reported
    with the Chinese reason and left as it was; the others are approved.
    """
    role = reviewer_role(user_role)
    text = _clean_reason(Action.APPROVE, reason)
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        raise ValidationFailed("请给出要审核通过的清单 ids 或筛选条件 filter", field="ids")
    if len(wanted) > MAX_BULK:
        raise ValidationFailed(
            f"一次最多批量审核 {MAX_BULK} 份清单（收到 {len(wanted)} 份）", field="ids"
        )
    rows: dict[int, SettlementList] = {}
    for start in range(0, len(wanted), 1000):
        for found in session.scalars(
            select(SettlementList)
            .where(SettlementList.id.in_(wanted[start : start + 1000]))
            .with_for_update()
        ):
            rows[found.id] = found
    results: list[BulkResult] = []
    for list_id in wanted:
        row = rows.get(list_id)
        if row is None:
            results.append(
                BulkResult(list_id, False, message=f"结算清单 {list_id} 不存在或不在您的辖区")
            )
            continue
        before = row.state
        try:
            steps = plan_steps(row.state, Action.APPROVE, role, text)
        except IllegalTransition as exc:
            results.append(BulkResult(list_id, False, row.setl_id, before, before, exc.message))
            continue
        _apply(session, row, steps, role=role, actor=actor, reason=text, details={"bulk": True})
        results.append(
            BulkResult(
                list_id,
                True,
                row.setl_id,
                before,
                row.state,
                steps=[s.action.value for s in steps],
            )
        )
    return results
