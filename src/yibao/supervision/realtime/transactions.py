"""3101 / 3102 / 3103 as gateway transactions (registered in
:mod:`yibao.exchange.transactions`): the envelope's institution, actor, msgid and
journal row go with the request; warnings join the answer's ``warn_msg``."""

from __future__ import annotations

from yibao.engines.audit.messages import AuditIn, AuditOut, FeedbackIn, FeedbackOut
from yibao.exchange.registry import Call
from yibao.supervision.realtime.service import Asker, answer_audit, do_feedback


def _asker(call: Call) -> Asker:
    return Asker(
        institution=call.institution,
        actor=call.actor,
        user_id=call.actor.user_id,
        via="exchange",
        received_at=call.received_at,
        msgid=call.envelope.msgid,
        message_id=call.message_id,
        opter=f"{call.envelope.opter} {call.envelope.opter_name}".strip(),
    )


def audit(call: Call, data: AuditIn, infno: str) -> AuditOut:
    """3101 明细审核事前分析 / 3102 事中分析."""
    asker = _asker(call)
    out = answer_audit(call.session, infno, data, asker, call.settings)
    call.warnings.extend(asker.warnings)
    return out


def feedback(call: Call, data: FeedbackIn) -> FeedbackOut:
    """3103 事前事中服务反馈."""
    return do_feedback(call.session, data, _asker(call))
