"""Payment adjustments of settlement lists (调整扣减 / 调增) and their second review.

The rules (an amount in yuan, the fund part at the new payment by the case's own
formula (:mod:`.repricing`), the bureau's :class:`AdjustPolicy` bounds) and the
operations: ask for an adjustment (effective at once, or pending a second reviewer
beyond the policy's share), decide a pending one (双人复核), and withdraw or revert
one before confirmation.  Each writes its events and audit row in the caller's
transaction; nothing here commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor
from yibao.cases.models import Case
from yibao.engines.settlement import Action, IllegalTransition, State, transition
from yibao.kit.errors import Forbidden, NotFound, ValidationFailed
from yibao.kit.timeutil import utcnow
from yibao.settlement.models import CasePricing, SettlementAdjustment
from yibao.settlement.review.repository import (
    latest_adjustments,
    lock_list,
    pending_adjustment,
)
from yibao.settlement.review.repricing import adjusted_fund
from yibao.settlement.review.service import _note, _refuse_if_pending, apply_steps
from yibao.settlement.review.states import (
    ADJUST_KINDS,
    EFFECTIVE,
    PENDING,
    Step,
    clean_reason,
    plan_steps,
    reason_text,
    reviewer_role,
)

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999999999.99")


#: an amount written with thousands separators, as every amount on the pages is shown
_GROUPED = re.compile(r"^[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$")


def parse_amount(
    value: Any, field_name: str = "drg_payment", label: str = "调整后支付金额"
) -> Decimal:
    """A money amount ≥ 0 with at most 2 decimals (422 in Chinese otherwise, naming
    ``label``); ``20,000.00`` as the pages show amounts is read as 20000.00."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationFailed(f"{label} {field_name} 必填（元，最多 2 位小数）", field=field_name)
    if isinstance(value, bool):
        value = "x"
    text = str(value).strip()
    if _GROUPED.match(text):
        text = text.replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite():
        raise ValidationFailed(
            f"{label} {field_name} 应为数字（元）（收到 {value!r}）", field=field_name
        )
    if amount < 0 or amount > MAX_AMOUNT:
        raise ValidationFailed(
            f"{label} {field_name} 须在 0 到 {MAX_AMOUNT} 元之间（收到 {amount}）",
            field=field_name,
        )
    if amount != amount.quantize(CENT):
        raise ValidationFailed(
            f"{label} {field_name} 最多 2 位小数（收到 {amount}）", field=field_name
        )
    return amount.quantize(CENT)


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


# Long: its checks, the adjustment row and both outcomes (effective, or pending) in order.
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
    text = clean_reason(Action.ADJUST, reason)
    amount = parse_amount(drg_payment)
    row = lock_list(session, list_id)
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
    case = session.get(Case, row.case_id) if row.case_id else None
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
        adjusted_fund=adjusted_fund(session, case, pricing, amount),
        reason=text or "",
        actor_id=actor.user_id,
        actor_name=actor.name,
    )
    session.add(adj)
    session.flush()
    if second:  # up to under review only; the adjustment itself waits
        if len(steps) > 1:
            apply_steps(session, row, steps[:-1], role=role, actor=actor, reason=None)
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
        apply_steps(
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
    text = reason_text(reason, missing=missing)
    adj = _lock_adjustment(session, adjustment_id)
    row = lock_list(session, adj.list_id)
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
    apply_steps(session, row, steps, role=role, actor=actor, reason=adj.reason, details=details)
    return adj


def do_revert_adjustment(
    session: Session, list_id: int, *, reason: str | None, user_role: str, actor: Actor
) -> SettlementAdjustment:
    """撤销调整 before confirmation: a pending adjustment is withdrawn (the list stays
    under review); an effective one is reverted (adjusted / appeal_rejected → under
    review, paid its pricing again until a new decision).  A reason is required."""
    role = reviewer_role(user_role)
    text = clean_reason(Action.REVERT_ADJUST, reason)
    row = lock_list(session, list_id)
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
    apply_steps(
        session,
        row,
        [Step(State(row.state), Action.REVERT_ADJUST, target)],
        role=role,
        actor=actor,
        reason=text,
        details=_adjust_details(adj),
    )
    return adj
