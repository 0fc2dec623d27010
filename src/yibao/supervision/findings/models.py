"""Stored findings of intelligent audit (智能审核疑点) and their workflow (ADR 0024).

A finding is one row of the rule engine's or the DRG detectors' output, stored by its
deterministic ``jr_id`` (a rerun of the post-audit finds the same row), scoped to its
hospital.  Every step of its workflow is an event; answers and appeals may carry
attachments, kept in the database with their size, type and checksum.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, Money, TZDateTime
from yibao.db.scoping import ScopedRow
from yibao.kit.timeutil import utcnow
from yibao.supervision.findings.states import STATE_LABELS, State


class Finding(ScopedRow, Base):
    """One finding of a post-audit run, in its workflow state (:mod:`.states`)."""

    __tablename__ = "supervision_findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    jr_id: Mapped[str] = mapped_column(String(40), unique=True)
    source: Mapped[str] = mapped_column(String(10))  # rule / detector
    rule_id: Mapped[str] = mapped_column(String(40))
    rule_version: Mapped[int] = mapped_column(Integer)
    rule_name: Mapped[str] = mapped_column(String(200))
    family: Mapped[str] = mapped_column(String(30))
    result_type: Mapped[str] = mapped_column(String(12))
    sev_deg: Mapped[int] = mapped_column(SmallInteger)
    hospital_code: Mapped[str] = mapped_column(String(12))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    psn_no: Mapped[str] = mapped_column(String(30), default="")
    mdtrt_id: Mapped[str] = mapped_column(String(40), default="")
    vola_cont: Mapped[str] = mapped_column(Text)
    vola_evid: Mapped[str] = mapped_column(Text)
    vola_amt: Mapped[Decimal] = mapped_column(Money())
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default=State.NEW.value)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    found_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    last_seen_job_id: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    published_by: Mapped[str | None] = mapped_column(String(100))
    #: last day (business date, inclusive) to answer a publication / ask for 复审
    deadline: Mapped[date | None] = mapped_column(Date)
    answer_reason: Mapped[str | None] = mapped_column(String(2000))
    answered_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    answered_by: Mapped[str | None] = mapped_column(String(100))
    first_amount: Mapped[Decimal | None] = mapped_column(Money())
    first_reason: Mapped[str | None] = mapped_column(String(1000))
    first_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    first_by_id: Mapped[int | None] = mapped_column(Integer)
    first_by: Mapped[str | None] = mapped_column(String(100))
    second_request: Mapped[str | None] = mapped_column(String(2000))
    second_requested_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    second_amount: Mapped[Decimal | None] = mapped_column(Money())
    second_reason: Mapped[str | None] = mapped_column(String(1000))
    second_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    second_by: Mapped[str | None] = mapped_column(String(100))
    #: the final decision: upheld amount (0 when dismissed), how and when (ADR 0024)
    final_amount: Mapped[Decimal | None] = mapped_column(Money())
    final_kind: Mapped[str | None] = mapped_column(String(16))
    final_on: Mapped[date | None] = mapped_column(Date)
    deducted_period: Mapped[str | None] = mapped_column(String(7))
    updated_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint("vola_amt >= 0", name="vola_amt"),
        CheckConstraint(
            "final_amount is null or (final_amount >= 0 and final_amount <= vola_amt)",
            name="final_amount",
        ),
        Index("ix_supervision_findings_region_period", "region_code", "period", "state"),
        Index("ix_supervision_findings_hospital_state", "hospital_id", "state"),
        Index("ix_supervision_findings_deadline", "state", "deadline"),
    )

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)


class FindingEvent(ScopedRow, Base):
    """One step of a finding's workflow: who, when, from and to which state, why."""

    __tablename__ = "supervision_finding_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(
        ForeignKey("supervision_findings.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    side: Mapped[str] = mapped_column(String(10))  # bureau / hospital / system
    reason: Mapped[str | None] = mapped_column(String(2000))
    amount: Mapped[Decimal | None] = mapped_column(Money())
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class FindingAttachment(ScopedRow, Base):
    """A file the hospital attached to its answer or its request for 复审."""

    __tablename__ = "supervision_finding_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(
        ForeignKey("supervision_findings.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(
        ForeignKey("supervision_finding_events.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
