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
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, TypeVar

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
from yibao.kit.timeutil import utcnow
from yibao.regions.models import Hospital
from yibao.settlement.models import (
    CasePricing,
    SettlementAdjustment,
    SettlementList,
    SettlementListEvent,
)

#: a select statement of any shape (the queue's rows, its count)
SelectT = TypeVar("SelectT", bound=Select[Any])
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999999999.99")
MAX_BULK = 5_000
#: The default review queue: lists waiting for a decision.
QUEUE_STATES: tuple[str, ...] = (State.PRICED, State.UNDER_REVIEW)
#: States in which a list is paid its latest adjustment instead of its pricing.
ADJUSTED_STATES = frozenset({State.ADJUSTED, State.APPEAL_REJECTED})
REASON_REQUIRED = {
    Action.RETURN: "退回医院",
    Action.ADJUST: "调整支付",
    Action.REVERT_ADJUST: "撤销调整",
}
#: adjustment kinds: a deduction lowers the payment, an addition raises it
ADJUST_KINDS = {"deduct": "调整扣减", "add": "调增"}
#: only effective adjustments are paid (pending ones wait for a second reviewer)
EFFECTIVE = "effective"
PENDING = "pending"
ADJUST_STATUS_LABELS = {
    "effective": "已生效",
    "pending": "待复核",
    "rejected": "复核不同意",
    "reverted": "已撤销",
}


def state_label(state: str) -> str:
    try:
        return STATE_LABELS[State(state)]
    except ValueError:
        return state


#: events that record a step outside the state machine (the list's state stays)
NOTE_LABELS = {
    "receive": "接收清单",
    "request_adjust": "提出调整（待复核）",
    "reject_adjust": "复核不同意调整",
    "withdraw_adjust": "撤回待复核的调整",
    "carry_over": "结转到下一结算期间",
}


def action_label(action: str) -> str:
    try:
        return ACTION_LABELS[Action(action)]
    except ValueError:
        return NOTE_LABELS.get(action, action)


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
    #: a settlement id, or its beginning (at least 4 characters)
    setl_id: str | None = None

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
    return _by_setl_id(stmt, flt)


def _by_setl_id(stmt: SelectT, flt: ReviewFilter) -> SelectT:
    """Exact settlement id, or ids beginning with at least 4 given characters."""
    text = (flt.setl_id or "").strip()
    if not text:
        return stmt
    if len(text) > 40:
        raise ValidationFailed(
            f"结算ID setl_id 最长 40 个字符（收到 {len(text)} 个）", field="setl_id"
        )
    if len(text) < 4:
        return stmt.where(SettlementList.setl_id == text)
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return stmt.where(SettlementList.setl_id.like(escaped + "%", escape="\\"))


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
    CasePricing.plan_id,
    CasePricing.drg,
    CasePricing.payment_class,
    CasePricing.payment_standard,
    CasePricing.drg_payment,
    CasePricing.fund_amount,
    Hospital.name,
)


def _queue_count(session: Session, flt: ReviewFilter) -> int:
    """The queue's size; the case and pricing joins only when a filter needs them."""
    if flt.drg or flt.payment_class or flt.period or flt.setl_id:
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
    waiting = pending_adjustments(
        session, [r.id for r in rows if r.state == State.UNDER_REVIEW.value]
    )
    items = []
    for r in rows:
        adj = adjusted.get(r.id)
        pending = waiting.get(r.id)
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
                "plan_id": r.plan_id,
                "drg": r.drg,
                "payment_class": r.payment_class,
                "payment_standard": _money(r.payment_standard),
                "drg_payment": _money(r.drg_payment),
                "fund_amount": _money(r.fund_amount),
                "adjusted_payment": _money(adj),
                "warnings": r.warnings,
                "pending_adjustment": None if pending is None else adjustment_view(pending),
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
        .where(
            SettlementAdjustment.list_id.in_(list(case_of)),
            SettlementAdjustment.status == EFFECTIVE,
        )
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
            .where(
                SettlementAdjustment.list_id.in_(ids[start : start + 1000]),
                SettlementAdjustment.status == EFFECTIVE,
            )
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


def _reason_text(reason: str | None, *, missing: str | None = None) -> str | None:
    """The trimmed reason (at most 500 characters); ``missing``: the message when a
    reason is required and none was given."""
    text = (reason or "").strip() or None
    if text is None and missing is not None:
        raise ValidationFailed(missing, field="reason")
    if text is not None and len(text) > 500:
        raise ValidationFailed(f"原因 reason 最多 500 字（收到 {len(text)} 字）", field="reason")
    return text


def _clean_reason(action: Action, reason: str | None) -> str | None:
    required = REASON_REQUIRED.get(action)
    missing = (
        f"原因 reason 不能为空：{required}必须填写原因（将告知医疗机构）" if required else None
    )
    return _reason_text(reason, missing=missing)


def _step(
    session: Session,
    row: SettlementList,
    action: Action,
    role: Role,
    *,
    actor: Actor,
    reason: str | None,
) -> State:
    """One machine step on ``row`` (the machine decides), with its event and audit row."""
    target = transition(row.state, action, role, reason=reason)
    _apply(
        session,
        row,
        [Step(State(row.state), action, target)],
        role=role,
        actor=actor,
        reason=reason,
    )
    return target


def do_start_review(session: Session, list_id: int, *, user_role: str, actor: Actor) -> State:
    """priced → under_review (提交审核)."""
    role = reviewer_role(user_role)
    row = _lock_list(session, list_id)
    return _step(session, row, Action.SUBMIT_REVIEW, role, actor=actor, reason=None)


def do_approve_list(
    session: Session, list_id: int, *, user_role: str, actor: Actor, reason: str | None = None
) -> State:
    """审核通过 (under_review, or priced via submit_review → approved)."""
    role = reviewer_role(user_role)
    text = _clean_reason(Action.APPROVE, reason)
    row = _lock_list(session, list_id)
    steps = plan_steps(row.state, Action.APPROVE, role, text)
    _refuse_if_pending(session, row)
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
    _refuse_if_pending(session, row)
    _apply(session, row, steps, role=role, actor=actor, reason=text)
    return steps[-1].target


def do_withdraw_list(
    session: Session, list_id: int, *, reason: str | None, user_role: str, actor: Actor
) -> State:
    """撤回清单 by its hospital before review (held, grouped, priced or returned), with a
    reason; it is no longer reviewed or settled, and may be sent again later."""
    if not has_permission(user_role, Permission.SUBMIT_LISTS):
        raise Forbidden("只有医疗机构用户可以撤回本机构的结算清单")
    text = _reason_text(reason, missing="撤回原因 reason 不能为空（审核人员可见）")
    row = _lock_list(session, list_id)
    return _step(session, row, Action.WITHDRAW, Role.HOSPITAL, actor=actor, reason=text)


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


@dataclass(frozen=True)
class AdjustPolicy:
    """The bureau's bounds on adjustments (settings ``YIBAO_ADJUST_*``, ADR 0010).

    ``second_review_share``: an adjustment that changes the payment by more than this
    share of the list's priced payment waits for a second reviewer (0 = every one,
    1 = only deductions to below nothing, i.e. none); ``max_increase_share``: an
    addition raises the payment by at most this share of it."""

    second_review_share: Decimal = Decimal("0.50")
    max_increase_share: Decimal = Decimal("0.50")

    @classmethod
    def of(cls, settings: Any) -> AdjustPolicy:
        return cls(
            Decimal(str(settings.adjust_second_review_share)),
            Decimal(str(settings.adjust_max_increase_share)),
        )

    def ceiling(self, original: Decimal | str) -> Decimal:
        """The highest payment an addition may set."""
        base = Decimal(str(original))
        return (base * (1 + self.max_increase_share)).quantize(CENT, rounding=ROUND_DOWN)

    def needs_second_review(self, original: Decimal, adjusted: Decimal) -> bool:
        return abs(adjusted - original) > original * self.second_review_share


def _parse_kind(kind: Any) -> str:
    text = str(kind or "deduct").strip()
    if text not in ADJUST_KINDS:
        raise ValidationFailed(
            f"调整类型 kind 应为 deduct（调整扣减）或 add（调增）（收到 {text[:20]!r}）",
            field="kind",
        )
    return text


def _check_bounds(kind: str, original: Decimal, amount: Decimal, policy: AdjustPolicy) -> None:
    """A deduction lowers the payment and never raises it; an addition raises it,
    within :attr:`AdjustPolicy.max_increase_share` (Chinese 422 otherwise)."""
    if kind == "deduct" and amount >= original:
        raise ValidationFailed(
            f"调整扣减后的 DRG 支付金额须低于原支付金额 {original} 元（收到 {amount} 元）；"
            "需要提高支付时请用“调增”并说明原因",
            field="drg_payment",
        )
    if kind == "add":
        ceiling = policy.ceiling(original)
        if amount <= original:
            raise ValidationFailed(
                f"调增后的 DRG 支付金额须高于原支付金额 {original} 元（收到 {amount} 元）；"
                "降低支付请用“调整扣减”",
                field="drg_payment",
            )
        if amount > ceiling:
            share = (policy.max_increase_share * 100).normalize()
            raise ValidationFailed(
                f"调增后的 DRG 支付金额最多为原支付金额的 {100 + share:f}%，即 {ceiling} 元"
                f"（收到 {amount} 元）；更高的支付请走特例单议",
                field="drg_payment",
            )


def pending_adjustment(session: Session, list_id: int) -> SettlementAdjustment | None:
    """The list's adjustment waiting for a second reviewer, if any."""
    return session.scalar(
        select(SettlementAdjustment)
        .where(SettlementAdjustment.list_id == list_id, SettlementAdjustment.status == PENDING)
        .order_by(SettlementAdjustment.id.desc())
        .limit(1)
    )


def pending_adjustments(
    session: Session, list_ids: Iterable[int]
) -> dict[int, SettlementAdjustment]:
    """{list id: its pending adjustment} for ``list_ids``."""
    ids = list(list_ids)
    out: dict[int, SettlementAdjustment] = {}
    for start in range(0, len(ids), 1000):
        for adj in session.scalars(
            select(SettlementAdjustment).where(
                SettlementAdjustment.list_id.in_(ids[start : start + 1000]),
                SettlementAdjustment.status == PENDING,
            )
        ):
            out[adj.list_id] = adj
    return out


def waiting_adjustments(session: Session, limit: int = 500) -> list[SettlementAdjustment]:
    """Pending adjustments in the session's scope, oldest first."""
    return list(
        session.scalars(
            select(SettlementAdjustment)
            .where(SettlementAdjustment.status == PENDING)
            .order_by(SettlementAdjustment.id)
            .limit(limit)
        )
    )


def adjustment_view(adj: SettlementAdjustment) -> dict[str, Any]:
    """An adjustment as the API and the pages show it."""
    return {
        "id": adj.id,
        "list_id": adj.list_id,
        "kind": adj.kind,
        "kind_label": ADJUST_KINDS.get(adj.kind, adj.kind),
        "status": adj.status,
        "status_label": ADJUST_STATUS_LABELS.get(adj.status, adj.status),
        "original_payment": str(adj.original_payment),
        "adjusted_payment": str(adj.adjusted_payment),
        "change": str(adj.change),
        "original_fund": str(adj.original_fund),
        "adjusted_fund": str(adj.adjusted_fund),
        "reason": adj.reason,
        "actor": adj.actor_name,
        "actor_id": adj.actor_id,
        "at": adj.created_at.isoformat() if adj.created_at else None,
        "decided_by": adj.decided_by_name,
        "decided_at": adj.decided_at.isoformat() if adj.decided_at else None,
        "decision_reason": adj.decision_reason,
    }


def _refuse_if_pending(session: Session, row: SettlementList) -> None:
    adj = pending_adjustment(session, row.id)
    if adj is not None:
        raise IllegalTransition(
            f"结算清单 {row.setl_id} 有一项待复核的调整（{ADJUST_KINDS.get(adj.kind, adj.kind)}"
            f"至 {adj.adjusted_payment} 元，{adj.actor_name} 提出）：请先由另一位审核员复核，"
            "或撤回该调整",
            state=row.state,
            action=Action.ADJUST.value,
            role=Role.REVIEWER.value,
        )


def _note(
    session: Session,
    row: SettlementList,
    action: str,
    *,
    role: Role,
    actor: Actor,
    reason: str | None,
    details: dict[str, Any],
) -> None:
    """An event that does not move the list (a pending adjustment asked for, refused,
    withdrawn) and its audit row."""
    session.add(
        SettlementListEvent(
            list_id=row.id,
            hospital_id=row.hospital_id,
            region_code=row.region_code,
            version=row.version,
            action=action,
            from_state=row.state,
            to_state=row.state,
            role=role.value,
            reason=reason,
            details=details,
            actor_id=actor.user_id,
            actor_name=actor.name,
        )
    )
    record(
        session,
        actor,
        f"settlement.{action}",
        "settlement_list",
        row.id,
        before={"state": row.state},
        after={"state": row.state, "setl_id": row.setl_id, "reason": reason, **details},
        region_code=row.region_code,
        hospital_id=row.hospital_id,
    )


def _adjust_details(adj: SettlementAdjustment) -> dict[str, Any]:
    return {
        "adjustment_id": adj.id,
        "kind": adj.kind,
        "original_payment": str(adj.original_payment),
        "adjusted_payment": str(adj.adjusted_payment),
        "original_fund": str(adj.original_fund),
        "adjusted_fund": str(adj.adjusted_fund),
        "status": adj.status,
    }


def do_adjust_list(
    session: Session,
    list_id: int,
    *,
    reason: str | None,
    drg_payment: Any,
    user_role: str,
    actor: Actor,
    kind: Any = "deduct",
    policy: AdjustPolicy | None = None,
) -> SettlementAdjustment:
    """调整扣减 / 调增: a new DRG payment with a reason; the original pricing is kept.

    A deduction must lower the payment, an addition raise it within the policy's
    limit.  A change beyond :attr:`AdjustPolicy.second_review_share` of the payment
    is recorded as ``pending``: the list stays under review until a second reviewer
    approves (:func:`do_decide_adjustment`); other decisions on it wait."""
    policy = policy or AdjustPolicy()
    role = reviewer_role(user_role)
    how = _parse_kind(kind)
    text = _clean_reason(Action.ADJUST, reason)
    amount = parse_amount(drg_payment)
    row = _lock_list(session, list_id)
    steps = plan_steps(row.state, Action.ADJUST, role, text)
    _refuse_if_pending(session, row)
    pricing = (
        session.scalar(select(CasePricing).where(CasePricing.case_id == row.case_id))
        if row.case_id
        else None
    )
    if pricing is None:
        raise ValidationFailed(
            f"结算清单 {row.setl_id} 没有计价结果，不能调整支付金额", field="drg_payment"
        )
    _check_bounds(how, pricing.drg_payment, amount, policy)
    second = policy.needs_second_review(pricing.drg_payment, amount)
    adj = SettlementAdjustment(
        list_id=row.id,
        case_id=row.case_id,
        hospital_id=row.hospital_id,
        region_code=row.region_code,
        version=row.version,
        kind=how,
        status=PENDING if second else EFFECTIVE,
        original_payment=pricing.drg_payment,
        adjusted_payment=amount,
        original_fund=pricing.fund_amount,
        adjusted_fund=adjusted_fund(pricing.fund_amount, pricing.drg_payment, amount),
        reason=text or "",
        actor_id=actor.user_id,
        actor_name=actor.name,
    )
    session.add(adj)
    session.flush()
    if second:  # up to under review only; the adjustment itself waits
        if len(steps) > 1:
            _apply(session, row, steps[:-1], role=role, actor=actor, reason=None)
        _note(
            session,
            row,
            "request_adjust",
            role=role,
            actor=actor,
            reason=text,
            details=_adjust_details(adj),
        )
    else:
        _apply(
            session, row, steps, role=role, actor=actor, reason=text, details=_adjust_details(adj)
        )
    return adj


def _lock_adjustment(session: Session, adjustment_id: int) -> SettlementAdjustment:
    adj = session.scalar(
        select(SettlementAdjustment)
        .where(SettlementAdjustment.id == adjustment_id)
        .with_for_update()
    )
    if adj is None:
        raise NotFound(f"调整记录 {adjustment_id} 不存在或不在您的辖区 / not found")
    return adj


def do_decide_adjustment(
    session: Session,
    adjustment_id: int,
    *,
    approve: bool,
    reason: str | None,
    user_role: str,
    actor: Actor,
) -> SettlementAdjustment:
    """The second reviewer's decision on a pending adjustment (双人复核): approve →
    the list moves to ``adjusted`` and is paid the adjustment; refuse (with a reason)
    → the list stays under review at its priced payment.  The reviewer who asked for
    the adjustment cannot decide it."""
    role = reviewer_role(user_role)
    missing = None if approve else "不同意调整时必须填写原因 reason（将告知提出调整的审核员）"
    text = _reason_text(reason, missing=missing)
    adj = _lock_adjustment(session, adjustment_id)
    row = _lock_list(session, adj.list_id)
    if adj.status != PENDING:
        raise IllegalTransition(
            f"调整记录 {adj.id} 当前不是待复核状态（{adj.status}），不能再复核",
            state=row.state,
            action=Action.ADJUST.value,
            role=role.value,
        )
    if adj.actor_id is not None and adj.actor_id == actor.user_id:
        raise Forbidden("调整须由另一位审核员复核：不能复核自己提出的调整 / four-eyes")
    adj.decided_by_id = actor.user_id
    adj.decided_by_name = actor.name
    adj.decided_at = utcnow()
    adj.decision_reason = text
    if not approve:
        adj.status = "rejected"
        _note(
            session,
            row,
            "reject_adjust",
            role=role,
            actor=actor,
            reason=text,
            details=_adjust_details(adj),
        )
        return adj
    if adj.case_id != row.case_id or adj.version != row.version:
        raise IllegalTransition(
            f"结算清单 {row.setl_id} 在提出调整后已重新上传或重新计价，该调整不再适用，"
            "请撤回后重新调整",
            state=row.state,
            action=Action.ADJUST.value,
            role=role.value,
        )
    steps = plan_steps(row.state, Action.ADJUST, role, adj.reason)
    adj.status = EFFECTIVE
    details = {**_adjust_details(adj), "second_reviewer": actor.name}
    _apply(session, row, steps, role=role, actor=actor, reason=adj.reason, details=details)
    return adj


def do_revert_adjustment(
    session: Session, list_id: int, *, reason: str | None, user_role: str, actor: Actor
) -> SettlementAdjustment:
    """撤销调整 before confirmation: a pending adjustment is withdrawn (the list stays
    under review); an effective one is reverted (adjusted / appeal_rejected → under
    review, paid its pricing again until a new decision).  A reason is required."""
    role = reviewer_role(user_role)
    text = _clean_reason(Action.REVERT_ADJUST, reason)
    row = _lock_list(session, list_id)
    pending = pending_adjustment(session, row.id)
    now = utcnow()
    if pending is not None:
        pending.status = "reverted"
        pending.decided_by_id, pending.decided_by_name = actor.user_id, actor.name
        pending.decided_at, pending.decision_reason = now, text
        _note(
            session,
            row,
            "withdraw_adjust",
            role=role,
            actor=actor,
            reason=text,
            details=_adjust_details(pending),
        )
        return pending
    target = transition(row.state, Action.REVERT_ADJUST, role, reason=text)
    adj = latest_adjustments(session, [row]).get(row.id)
    if adj is None:
        raise ValidationFailed(
            f"结算清单 {row.setl_id} 没有生效的调整记录，无需撤销", field="list_id"
        )
    adj.status = "reverted"
    adj.decided_by_id, adj.decided_by_name = actor.user_id, actor.name
    adj.decided_at, adj.decision_reason = now, text
    _apply(
        session,
        row,
        [Step(State(row.state), Action.REVERT_ADJUST, target)],
        role=role,
        actor=actor,
        reason=text,
        details=_adjust_details(adj),
    )
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
    waiting = pending_adjustments(session, rows)
    results: list[BulkResult] = []
    for list_id in wanted:
        row = rows.get(list_id)
        if row is None:
            results.append(
                BulkResult(list_id, False, message=f"结算清单 {list_id} 不存在或不在您的辖区")
            )
            continue
        if list_id in waiting:
            results.append(
                BulkResult(
                    list_id,
                    False,
                    row.setl_id,
                    row.state,
                    row.state,
                    "有待复核的调整，请先复核或撤回该调整",
                )
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
    approved = [r for r in results if r.ok]
    # one row for the whole action (the audit page shows it instead of one per list)
    record(
        session,
        actor,
        "settlement.bulk_approve",
        "settlement_list_batch",
        None,
        after={
            "requested": len(wanted),
            "approved": len(approved),
            "refused": len(results) - len(approved),
            "reason": text,
            "setl_ids": [r.setl_id for r in approved[:10]],
        },
    )
    return results
