"""Settlement storage: periods (结算期间), received settlement lists with their versions
and QC findings, and the pricing of each accepted case."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, Money, TZDateTime
from yibao.db.scoping import ScopedRow
from yibao.kit.timeutil import utcnow

PERIOD_STATUSES = {"open": "未结算", "closed": "已结算（期间关闭）"}


class SettlementPeriod(Base):
    __tablename__ = "settlement_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), ForeignKey("regions.code"))
    code: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")
    #: how the period was closed by hand (do_close_period): who, when, why, and how
    #: many open lists were carried to the next period or closed out
    closed_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(100))
    closed_reason: Mapped[str | None] = mapped_column(String(500))
    carried: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    closed_out: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (UniqueConstraint("region_code", "code"),)

    @property
    def status_label(self) -> str:
        return PERIOD_STATUSES.get(self.status, self.status)


# --------------------------------------------------------------------------- intake


class SettlementList(ScopedRow, Base):
    """A hospital's settlement list (结算清单) as received: current version and state.

    Re-submitting the same ``setl_id`` makes a new version (history in
    :class:`SettlementListVersion`); a list in a confirmed settlement can't be replaced.
    """

    __tablename__ = "settlement_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    setl_id: Mapped[str] = mapped_column(String(40), index=True)  # looked up on intake
    hospital_code: Mapped[str] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(20))
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    blocking: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(10))
    #: YYYY-MM of the message's dscg_time as sent (periods of held lists, which have no case)
    discharge_month: Mapped[str | None] = mapped_column(String(7))
    received_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    #: YYYY-MM of the period the list settles in when its discharge month's period was
    #: closed with the list still open (carried over); None: its discharge month
    carried_to: Mapped[str | None] = mapped_column(String(7), index=True)

    __table_args__ = (
        UniqueConstraint("hospital_id", "setl_id"),
        # the list pages show the newest first; the periods the latest month
        Index("ix_settlement_lists_received_at", "received_at", "id"),
        Index("ix_settlement_lists_discharge_month", "discharge_month"),
    )


class SettlementListVersion(Base):
    __tablename__ = "settlement_list_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(
        ForeignKey("settlement_lists.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    # the message as received (kept for audit and export; pages list versions without it)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    state: Mapped[str] = mapped_column(String(20))
    received_by: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class QcFinding(Base):
    __tablename__ = "qc_findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(
        ForeignKey("settlement_lists.id", ondelete="CASCADE"), index=True
    )
    rule_id: Mapped[str] = mapped_column(String(10))
    severity: Mapped[str] = mapped_column(String(10))
    field: Mapped[str] = mapped_column(String(100))
    value: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(String(1000))


class CasePricing(ScopedRow, Base):
    """The DRG payment of a case with the standard used and the formula terms."""

    __tablename__ = "case_pricings"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    plan_id: Mapped[str | None] = mapped_column(String(40))
    standard_set_id: Mapped[int | None] = mapped_column(Integer)
    drg: Mapped[str] = mapped_column(String(400))  # a DRG, or a DIP group code
    payment_class: Mapped[str] = mapped_column(String(20))
    payment_standard: Mapped[Decimal | None] = mapped_column(Money())
    drg_payment: Mapped[Decimal] = mapped_column(Money())
    fund_amount: Mapped[Decimal] = mapped_column(Money())
    explanation: Mapped[str] = mapped_column(String(1000))
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)
    priced_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


# ------------------------------------------------------------------ review and confirmation

CONFIRM_BATCH_STATUSES = {"running": "确认中", "done": "已完成"}


class SettlementListEvent(ScopedRow, Base):
    """One step of a list's lifecycle taken through the state machine (审核、退回、
    调整、确认 …): the state history a hospital reads.  The audit log keeps the
    same facts for the bureau."""

    __tablename__ = "settlement_list_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(
        ForeignKey("settlement_lists.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(500))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class SettlementAdjustment(ScopedRow, Base):
    """A reviewer's adjustment of a list's DRG payment: a deduction (调整扣减, ``kind``
    ``deduct``, lower than the pricing) or an addition (调增, ``add``, higher, within a
    limit).  The case's pricing stays as it was; a list in state ``adjusted`` (or
    ``appeal_rejected``) is paid ``adjusted_payment`` of its latest *effective*
    adjustment.

    ``status``: ``effective`` (in force), ``pending`` (beyond the second-review share:
    waits for a second reviewer, the list stays under review), ``rejected`` (the
    second reviewer refused it), ``reverted`` (withdrawn or reverted before
    confirmation).  Nothing is deleted: every row stays as the record of who did what.
    """

    __tablename__ = "settlement_adjustments"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(
        ForeignKey("settlement_lists.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer)
    original_payment: Mapped[Decimal] = mapped_column(Money())
    adjusted_payment: Mapped[Decimal] = mapped_column(Money())
    original_fund: Mapped[Decimal] = mapped_column(Money())
    adjusted_fund: Mapped[Decimal] = mapped_column(Money())
    reason: Mapped[str] = mapped_column(String(500))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(10), default="deduct", server_default="deduct")
    status: Mapped[str] = mapped_column(
        String(10), default="effective", server_default="effective", index=True
    )
    #: the second reviewer's decision (pending → effective / rejected), or who reverted it
    decided_by_id: Mapped[int | None] = mapped_column(Integer)
    decided_by_name: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    decision_reason: Mapped[str | None] = mapped_column(String(500))

    @property
    def change(self) -> Decimal:
        """adjusted − original payment: negative for a deduction, positive for an addition."""
        return self.adjusted_payment - self.original_payment


class SettlementConfirmBatch(ScopedRow, Base):
    """One run (and its resumptions) of a period's settlement confirmation (确认结算).

    ``running_key`` is ``<region>:<period>`` while the batch runs and NULL when done,
    so one period of one region has at most one running batch (unique); a re-run
    resumes it.  Counters move in the same transaction as each confirmed chunk.
    """

    __tablename__ = "settlement_confirm_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int | None] = mapped_column(ForeignKey("hospitals.id"))  # type: ignore[assignment]
    period_id: Mapped[int] = mapped_column(ForeignKey("settlement_periods.id"), index=True)
    period_code: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(10), default="running")
    running_key: Mapped[str | None] = mapped_column(String(20), unique=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    chunk_size: Mapped[int] = mapped_column(Integer)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    confirmed: Mapped[int] = mapped_column(Integer, default=0)
    amount_total: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    fund_total: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    pending: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_by: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(TZDateTime())

    __table_args__ = (
        CheckConstraint("status in ('running','done')", name="status"),
        Index("ix_settlement_confirm_batches_region_period", "region_code", "period_code"),
    )

    @property
    def status_label(self) -> str:
        return CONFIRM_BATCH_STATUSES.get(self.status, self.status)


class SettlementConfirmation(ScopedRow, Base):
    """The settlement record of one confirmed list: what the fund pays for it in the
    period.  ``list_id`` is unique: a list is confirmed at most once."""

    __tablename__ = "settlement_confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("settlement_lists.id"), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("settlement_confirm_batches.id"), index=True)
    setl_id: Mapped[str] = mapped_column(String(40))
    hospital_code: Mapped[str] = mapped_column(String(12))
    period_code: Mapped[str] = mapped_column(String(7))
    drg: Mapped[str] = mapped_column(String(400))  # a DRG, or a DIP group code
    payment_class: Mapped[str] = mapped_column(String(20))
    drg_payment: Mapped[Decimal] = mapped_column(Money())
    adjusted: Mapped[bool] = mapped_column(Boolean, default=False)
    amount_paid: Mapped[Decimal] = mapped_column(Money())
    fund_amount: Mapped[Decimal] = mapped_column(Money())
    confirmed_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_settlement_confirmations_region_period", "region_code", "period_code"),
    )


# ------------------------------------------------------------ special cases and appeals

SPECIAL_STATUSES = {"applied": "评审中", "approved": "评审通过", "rejected": "评审不通过"}
APPEAL_STATUSES = {"pending": "申诉中", "upheld": "申诉成立", "rejected": "申诉驳回"}


class SpecialCaseApplication(ScopedRow, Base):
    """A hospital's special-case application (特例单议申请) for one list, with the
    quota figures it was admitted under, its attachments and the experts' decision.
    An approval re-prices the list: ``new_payment`` (``method`` ``items``: the case's
    total cost; ``amount``: the given amount); ``original_*`` keep the pricing."""

    __tablename__ = "special_case_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(
        ForeignKey("settlement_lists.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    setl_id: Mapped[str] = mapped_column(String(40))
    hospital_code: Mapped[str] = mapped_column(String(12))
    period_code: Mapped[str] = mapped_column(String(7))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="applied")
    reason: Mapped[str] = mapped_column(String(1000))
    new_tech: Mapped[bool] = mapped_column(Boolean, default=False)
    quota: Mapped[dict[str, Any]] = mapped_column(JSON)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    from_state: Mapped[str] = mapped_column(String(20))
    applied_by: Mapped[str] = mapped_column(String(100))
    applied_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    method: Mapped[str | None] = mapped_column(String(10))
    original_payment: Mapped[Decimal | None] = mapped_column(Money())
    original_fund: Mapped[Decimal | None] = mapped_column(Money())
    new_payment: Mapped[Decimal | None] = mapped_column(Money())
    new_fund: Mapped[Decimal | None] = mapped_column(Money())
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(TZDateTime())

    __table_args__ = (
        CheckConstraint("status in ('applied','approved','rejected')", name="status"),
        Index("ix_special_case_applications_hospital_period", "hospital_id", "period_code"),
    )

    @property
    def status_label(self) -> str:
        return SPECIAL_STATUSES.get(self.status, self.status)


class SettlementAppeal(ScopedRow, Base):
    """A hospital's appeal (申诉) against an adjustment or a rejected special case,
    filed before ``deadline`` (a business date, inclusive), and its decision."""

    __tablename__ = "settlement_appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(
        ForeignKey("settlement_lists.id", ondelete="CASCADE"), index=True
    )
    special_id: Mapped[int | None] = mapped_column(
        ForeignKey("special_case_applications.id", ondelete="SET NULL")
    )
    setl_id: Mapped[str] = mapped_column(String(40))
    hospital_code: Mapped[str] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(Integer)
    contested_state: Mapped[str] = mapped_column(String(20))
    decision_at: Mapped[datetime] = mapped_column(TZDateTime())
    deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    reason: Mapped[str] = mapped_column(String(1000))
    filed_by: Mapped[str] = mapped_column(String(100))
    filed_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(TZDateTime())

    __table_args__ = (CheckConstraint("status in ('pending','upheld','rejected')", name="status"),)

    @property
    def status_label(self) -> str:
        return APPEAL_STATUSES.get(self.status, self.status)


class SettlementClearing(Base):
    """A saved year-end clearing (年终清算) of a region: its inputs (budget, method,
    assessment scores, parameters) and its result per hospital, as computed from the
    confirmations when it was saved.  Each save is a new row (a bureau may clear again
    after a late correction); the latest is the one in force."""

    __tablename__ = "settlement_clearings"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    year: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(10))
    budget: Mapped[Decimal] = mapped_column(Money())
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)
    final_value: Mapped[str] = mapped_column(String(40))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    hospitals: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    clearing_total: Mapped[Decimal] = mapped_column(Money())
    #: why it was saved (清算说明); required from ADR 0008's 2026-12-07 amendment
    note: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class SettlementAuditDeduction(ScopedRow, Base):
    """An intelligent-audit deduction (智能审核扣款): the upheld amount of one decided
    finding of the supervision domain, entered in the monthly statement of
    ``period_code`` for its hospital, shown apart from the review deductions (ADR 0024).

    ``finding_id`` is unique: a finding is deducted exactly once, in one month.
    ``lines`` keeps what the deduction took on each fee line of the finding
    (``[{"rx_id", "amount"}]``, amounts as strings; empty for a finding without fee
    lines and for the rows written before ADR 0041): the room left on a line is its
    cap minus what the stored rows took on it."""

    __tablename__ = "settlement_audit_deductions"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(
        ForeignKey("supervision_findings.id", ondelete="RESTRICT"), unique=True
    )
    jr_id: Mapped[str] = mapped_column(String(40))
    rule_id: Mapped[str] = mapped_column(String(40))
    hospital_code: Mapped[str] = mapped_column(String(12))
    period_code: Mapped[str] = mapped_column(String(7))
    amount: Mapped[Decimal] = mapped_column(Money())
    reason: Mapped[str] = mapped_column(String(500))
    lines: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list, server_default="[]")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        Index("ix_settlement_audit_deductions_period", "region_code", "period_code"),
    )
