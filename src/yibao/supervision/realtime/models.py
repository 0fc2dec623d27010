"""Every real-time audit request and its findings, and the doctors' feedback (ADR 0023).

Written with Core inserts on the hot path (:mod:`yibao.supervision.realtime.store`);
the ORM classes serve reads, the feedback and Alembic.  The rows belong to the
institution that asked (:class:`~yibao.db.scoping.ScopedRow`), so a hospital sees its
own and a bureau its region's.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, Money, TZDateTime
from yibao.db.scoping import ScopedRow


class AuditRequest(ScopedRow, Base):
    """One 3101 / 3102 request and the answer it got.

    ``task_id`` (32 hex digits, unique) is the id the answer gives the HIS in every
    finding (``task_id``) and 3103 quotes; ``region_code`` is the institution's region,
    ``admdvs`` the pooling region whose rule set was used (``rule_set_id`` / version,
    ``knowledge_id``).  ``request`` is the input as received, ``result`` the output as
    answered.  ``msgid`` / ``message_id``: the gateway message, when it came through
    the envelope (``via`` exchange / api)."""

    __tablename__ = "audit_requests"
    __table_args__ = (
        Index("ix_audit_requests_hospital_received", "hospital_id", "received_at"),
        Index("ix_audit_requests_region_received", "region_code", "received_at"),
        Index("ix_audit_requests_psn_no", "psn_no"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(String(32), unique=True)
    via: Mapped[str] = mapped_column(String(10))
    infno: Mapped[str] = mapped_column(String(4))
    stage: Mapped[str] = mapped_column(String(4))
    trig_scen: Mapped[int | None] = mapped_column(Integer)
    rule_ids: Mapped[list[str] | None] = mapped_column(JSON)
    syscode: Mapped[str | None] = mapped_column(String(20))
    psn_no: Mapped[str] = mapped_column(String(50))
    mdtrt_id: Mapped[str] = mapped_column(String(50))
    admdvs: Mapped[str] = mapped_column(String(6))
    rule_set_id: Mapped[int] = mapped_column(Integer)
    rule_set_version: Mapped[int] = mapped_column(Integer)
    knowledge_id: Mapped[int | None] = mapped_column(Integer)
    findings: Mapped[int] = mapped_column(Integer)
    vola_amt: Mapped[Decimal] = mapped_column(Money())
    request: Mapped[Any] = mapped_column(JSON, deferred=True)
    result: Mapped[Any] = mapped_column(JSON, deferred=True)
    received_at: Mapped[datetime] = mapped_column(TZDateTime())
    answered_at: Mapped[datetime] = mapped_column(TZDateTime())
    msgid: Mapped[str | None] = mapped_column(String(50))
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("exchange_messages.id", ondelete="SET NULL")
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class AuditFinding(ScopedRow, Base):
    """One finding of a request (``result[]``), with the columns later analysis
    filters on; ``lines`` are its ``judge_result_detail_dtos`` (rx_id, type, amount).
    ``jr_id`` is deterministic (ADR 0020): the same finding on a resent claim has the
    same id, so it is unique per request, not overall."""

    __tablename__ = "audit_findings"
    __table_args__ = (
        Index("ix_audit_findings_request", "request_id"),
        Index("ix_audit_findings_hospital_jr", "hospital_id", "jr_id"),
        Index("ix_audit_findings_region_rule", "region_code", "rule_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("audit_requests.id", ondelete="CASCADE"))
    jr_id: Mapped[str] = mapped_column(String(32))
    rule_id: Mapped[str] = mapped_column(String(40))
    rule_version: Mapped[int] = mapped_column(Integer)
    rule_name: Mapped[str] = mapped_column(String(100))
    vola_bhvr_type: Mapped[str] = mapped_column(String(20))
    result_type: Mapped[str] = mapped_column(String(12))
    sev_deg: Mapped[int] = mapped_column(Integer)
    vola_amt: Mapped[Decimal] = mapped_column(Money())
    vola_cont: Mapped[str] = mapped_column(String(2000))
    stage: Mapped[str] = mapped_column(String(4))
    psn_no: Mapped[str] = mapped_column(String(50))
    mdtrt_id: Mapped[str] = mapped_column(String(50))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(TZDateTime())


class AuditFeedback(ScopedRow, Base):
    """The doctor's handling of one finding (3103): ``dspo_way`` 1 continue with a
    reason (``reason`` required), 2 go back and change the order (accepted).  Every
    feedback is kept; the newest counts."""

    __tablename__ = "audit_feedback"
    __table_args__ = (Index("ix_audit_feedback_finding", "finding_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("audit_requests.id", ondelete="CASCADE"))
    finding_id: Mapped[int] = mapped_column(ForeignKey("audit_findings.id", ondelete="CASCADE"))
    jr_id: Mapped[str] = mapped_column(String(32))
    warn_type: Mapped[str] = mapped_column(String(1))
    dspo_way: Mapped[str] = mapped_column(String(1))
    reason: Mapped[str] = mapped_column(String(500))
    opter: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(TZDateTime())
    via: Mapped[str] = mapped_column(String(10))
    msgid: Mapped[str | None] = mapped_column(String(50))
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("exchange_messages.id", ondelete="SET NULL")
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
