"""Closing of a period (结算期间关闭) whose confirmable lists are all confirmed.

:func:`do_close_period` carries the lists still open in the period to the next one
or closes them out (terminal, the reason told to the hospital), one event per list
and one audit row, and records on the period who closed it, when, why and the
counts.  It runs in the caller's transaction; nothing here commits.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.engines.settlement import Action, State, transition
from yibao.kit.errors import Conflict, ValidationFailed
from yibao.kit.timeutil import local, utcnow
from yibao.settlement.confirm.repository import pending_lists, remaining_count
from yibao.settlement.confirm.service import ConcurrentChange, _check_region, _period_row
from yibao.settlement.confirm.states import (
    CLOSABLE,
    CLOSE_WAYS,
    confirm_role,
    next_period,
    running_key,
)
from yibao.settlement.models import (
    SettlementConfirmBatch,
    SettlementList,
    SettlementListEvent,
    SettlementPeriod,
)
from yibao.settlement.review import parse_period, state_label


# Long: the close's checks, the flip of its open lists, their events and the audit, in order.
def do_close_period(
    session: Session,
    *,
    region_code: str,
    period_code: str,
    how: str,
    reason: str | None,
    actor: Actor,
) -> dict[str, Any]:
    """Close a period whose confirmable lists are all confirmed (结算期间关闭).

    The lists still open in it (held by QC, returned, priced or under review) are
    either carried to the next period (``carry``: they settle there when decided) or
    closed out (``close_out``: terminal, the reason told to the hospital).  A reason is
    required; lists in a special-case or appeal track must be decided first (409).
    One event per list, one audit row; the period records who, when, why and counts."""
    parse_period(period_code)
    _check_region(session, region_code)
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed("关闭结算期间须填写原因 reason（记入审计日志）", field="reason")
    if len(text) > 500:
        raise ValidationFailed(f"原因 reason 最多 500 字（收到 {len(text)} 字）", field="reason")
    if how not in CLOSE_WAYS:
        raise ValidationFailed(
            f"处理方式 how 应为 carry（结转到下一期间）或 close_out（关闭，不予结算）"
            f"（收到 {str(how)[:20]!r}）",
            field="how",
        )
    _, end = parse_period(period_code)
    if end >= local(utcnow()).date():
        raise ValidationFailed(
            f"结算期间 {period_code} 尚未结束（截至 {end.isoformat()}），不能关闭", field="period"
        )
    row = _period_row(session, region_code, period_code)
    period = session.scalar(
        select(SettlementPeriod).where(SettlementPeriod.id == row.id).with_for_update()
    )
    assert period is not None
    if period.status == "closed":
        raise Conflict(f"结算期间 {period_code}（区划 {region_code}）已关闭", field="period")
    if session.scalar(
        select(SettlementConfirmBatch.id).where(
            SettlementConfirmBatch.running_key == running_key(region_code, period_code)
        )
    ):
        raise Conflict(f"结算期间 {period_code} 正在确认中：请等确认完成后再关闭", field="period")
    left = remaining_count(session, region_code, period_code)
    if left:
        raise Conflict(
            f"结算期间 {period_code} 还有 {left} 份清单可以确认结算：请先确认结算，再关闭期间",
            field="period",
        )
    rows = pending_lists(session, region_code, period_code)
    role = confirm_role(actor)
    # whichever way (ADR 0012): a list in a special-case or appeal track is decided in
    # the period it is in, not carried past its decision
    blocked = [r for r in rows if r.state not in CLOSABLE]
    if blocked:
        named = "、".join(f"{r.setl_id}（{state_label(r.state)}）" for r in blocked[:10])
        raise Conflict(
            f"结算期间 {period_code} 有 {len(blocked)} 份清单在特例单议、申诉中或医院申诉期内，"
            f"须处理完毕（申诉期满后确认结算）才能关闭：{named}",
            field="period",
        )
    target = next_period(period_code) if how == "carry" else None
    if target is not None:
        _period_row(session, region_code, target)
    now = utcnow()
    by_state: dict[str, list[int]] = {}
    for r in rows:
        by_state.setdefault(r.state, []).append(r.id)
    for state, ids in by_state.items():
        if how == "close_out":
            transition(state, Action.CLOSE_OUT, role, reason=text)  # the machine decides
        values: dict[str, Any] = (
            {"carried_to": target} if how == "carry" else {"state": State.CLOSED_OUT.value}
        )
        result = session.execute(
            update(SettlementList)
            .where(SettlementList.id.in_(ids), SettlementList.state == state)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult[Any], result).rowcount != len(ids):
            raise ConcurrentChange(
                "关闭期间时有清单的状态已被其他操作改变，本次未做任何修改，请刷新后重试"
            )
    details = {"period": period_code, "how": how, "to_period": target}
    lists = session.execute(
        select(
            SettlementList.id,
            SettlementList.hospital_id,
            SettlementList.region_code,
            SettlementList.version,
        ).where(SettlementList.id.in_([r.id for r in rows] or [-1]))
    ).all()
    state_of = {r.id: r.state for r in rows}
    events = [
        {
            "list_id": lst.id,
            "hospital_id": lst.hospital_id,
            "region_code": lst.region_code,
            "version": lst.version,
            "action": "carry_over" if how == "carry" else Action.CLOSE_OUT.value,
            "from_state": state_of[lst.id],
            "to_state": state_of[lst.id] if how == "carry" else State.CLOSED_OUT.value,
            "role": role.value,
            "reason": text,
            "details": details,
            "actor_id": actor.user_id,
            "actor_name": actor.name,
            "created_at": now,
        }
        for lst in lists
    ]
    if events:
        session.execute(insert(SettlementListEvent), events)
    period.status = "closed"
    period.closed_at, period.closed_by, period.closed_reason = now, actor.name, text
    period.carried = len(rows) if how == "carry" else 0
    period.closed_out = len(rows) if how == "close_out" else 0
    record(
        session,
        actor,
        "settlement.period.close",
        "settlement_period",
        period.id,
        before={"status": "open"},
        after={
            "status": "closed",
            "period": period_code,
            "region": region_code,
            "how": how,
            "reason": text,
            "carried": period.carried,
            "closed_out": period.closed_out,
            "to_period": target,
            "list_ids": [r.id for r in rows][:1000],
        },
        region_code=region_code,
    )
    return {
        "region": region_code,
        "period": period_code,
        "status": period.status,
        "status_label": period.status_label,
        "how": how,
        "how_label": CLOSE_WAYS[how],
        "carried": period.carried,
        "closed_out": period.closed_out,
        "to_period": target,
        "reason": text,
    }
