"""A settlement list's history as its hospital and the bureau read it: the received
versions, every state-machine step with its reason, the current adjustment and the
confirmation record."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.kit.errors import NotFound
from yibao.settlement.models import (
    SettlementConfirmation,
    SettlementList,
    SettlementListEvent,
    SettlementListVersion,
)
from yibao.settlement.review import (
    ADJUST_KINDS,
    action_label,
    adjustment_view,
    list_adjustments,
    state_label,
)


# long: the events of every source (versions, steps, decisions) merged into one timeline
def list_history(
    session: Session,
    list_id: int,
    *,
    loaded: tuple[SettlementList, list[SettlementListVersion]] | None = None,
) -> dict[str, Any]:
    """A list's state history (received versions and every machine step), the reason
    of its latest return / adjustment, its adjustment and its confirmation.  ``loaded``:
    the list and its versions when the caller has read them already (the list page)."""
    if loaded is not None:
        row, known_versions = loaded
    else:
        found = session.scalar(select(SettlementList).where(SettlementList.id == list_id))
        if found is None:
            raise NotFound(f"结算清单 {list_id} 不存在 / not found")
        row, known_versions = found, None
    events = list(
        session.scalars(
            select(SettlementListEvent)
            .where(SettlementListEvent.list_id == row.id)
            .order_by(SettlementListEvent.id)
        )
    )
    versions = (
        sorted(known_versions, key=lambda v: v.id)
        if known_versions is not None
        else session.scalars(
            select(SettlementListVersion)
            .where(SettlementListVersion.list_id == row.id)
            .order_by(SettlementListVersion.id)
        )
    )
    items: list[dict[str, Any]] = [
        {
            "at": v.received_at.isoformat(),
            "action": "receive",
            "action_label": action_label("receive"),
            "from_state": None,
            "to_state": v.state,
            "to_state_label": state_label(v.state),
            "version": v.version,
            "reason": None,
            "actor": v.received_by,
            "role": None,
            "details": None,
        }
        for v in versions
    ]
    items += [
        {
            "at": e.created_at.isoformat(),
            "action": e.action,
            "action_label": action_label(e.action),
            "from_state": e.from_state,
            "to_state": e.to_state,
            "to_state_label": state_label(e.to_state),
            "version": e.version,
            "reason": e.reason,
            "actor": e.actor_name,
            "role": e.role,
            "details": e.details,
        }
        for e in events
    ]
    items.sort(key=lambda item: item["at"])
    with_reason = [e for e in events if e.reason and e.to_state == row.state]
    latest = with_reason[-1] if with_reason else None
    adj, pending = list_adjustments(session, row)
    conf = session.scalar(
        select(SettlementConfirmation).where(SettlementConfirmation.list_id == row.id)
    )
    return {
        "list_id": row.id,
        "setl_id": row.setl_id,
        "hospital_code": row.hospital_code,
        "version": row.version,
        "state": row.state,
        "state_label": state_label(row.state),
        "reason": None
        if latest is None
        else {
            "action": latest.action,
            "action_label": action_label(latest.action),
            "text": latest.reason,
            "at": latest.created_at.isoformat(),
            "actor": latest.actor_name,
        },
        "adjustment": None
        if adj is None
        else {
            "original_payment": str(adj.original_payment),
            "adjusted_payment": str(adj.adjusted_payment),
            "original_fund": str(adj.original_fund),
            "adjusted_fund": str(adj.adjusted_fund),
            "reason": adj.reason,
            "at": adj.created_at.isoformat(),
            "kind": adj.kind,
            "kind_label": ADJUST_KINDS.get(adj.kind, adj.kind),
            "second_reviewer": adj.decided_by_name,
        },
        "pending_adjustment": None if pending is None else adjustment_view(pending),
        "confirmation": None
        if conf is None
        else {
            "period": conf.period_code,
            "batch_id": conf.batch_id,
            "amount_paid": str(conf.amount_paid),
            "fund_amount": str(conf.fund_amount),
            "adjusted": conf.adjusted,
            "confirmed_at": conf.confirmed_at.isoformat(),
        },
        "events": items,
    }
