"""Read models of findings shared by the API and the pages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.engines.audit.rules import family_name
from yibao.settlement.models import SettlementAuditDeduction
from yibao.supervision.findings import attachments, repository
from yibao.supervision.findings.models import Finding
from yibao.supervision.findings.service import overdue, side_of, state_text
from yibao.supervision.findings.states import ACTION_LABELS, allowed


def finding_row(row: Finding) -> dict[str, Any]:
    return {
        "id": row.id,
        "jr_id": row.jr_id,
        "source": row.source,
        "rule_id": row.rule_id,
        "rule_version": row.rule_version,
        "rule_name": row.rule_name,
        "family": row.family,
        "family_name": family_name(row.family),
        "result_type": row.result_type,
        "sev_deg": row.sev_deg,
        "hospital_code": row.hospital_code,
        "period": row.period,
        "psn_no": row.psn_no,
        "mdtrt_id": row.mdtrt_id,
        "vola_cont": row.vola_cont,
        "vola_amt": row.vola_amt,
        "state": row.state,
        "state_label": state_text(row),
        "overdue": overdue(row),
        "deadline": row.deadline,
        "final_amount": row.final_amount,
        "deducted_period": row.deducted_period,
    }


def finding_detail(session: Session, row: Finding, user: User) -> dict[str, Any]:
    events = repository.events_of(session, row.id)
    files = attachments.attachments_of(session, row.id)
    actions = [] if overdue(row) else [a.value for a in allowed(row.state, side_of(user))]
    deducted = session.scalar(
        select(SettlementAuditDeduction.amount).where(SettlementAuditDeduction.finding_id == row.id)
    )
    return {
        **finding_row(row),
        "deducted_amount": deducted,
        "vola_evid": row.vola_evid,
        "lines": row.lines or [],
        "published_at": row.published_at,
        "answer_reason": row.answer_reason,
        "first_amount": row.first_amount,
        "first_reason": row.first_reason,
        "first_by": row.first_by,
        "second_request": row.second_request,
        "second_amount": row.second_amount,
        "second_reason": row.second_reason,
        "second_by": row.second_by,
        "final_kind": row.final_kind,
        "final_on": row.final_on,
        "actions": actions,
        "events": [
            {
                "id": e.id,
                "action": e.action,
                "action_label": ACTION_LABELS.get(e.action, e.action),
                "from_state": e.from_state,
                "to_state": e.to_state,
                "side": e.side,
                "reason": e.reason,
                "amount": e.amount,
                "details": e.details,
                "actor_name": e.actor_name,
                "created_at": e.created_at,
            }
            for e in events
        ],
        "attachments": [
            {
                "id": a.id,
                "event_id": a.event_id,
                "name": a.name,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
                "uploaded_by": a.uploaded_by,
                "uploaded_at": a.uploaded_at,
            }
            for a in files
        ],
    }
