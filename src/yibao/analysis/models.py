"""Decision-analysis summary tables (决策分析, issue 15 items 2 and 6, ADR 0037).

Reports and dashboards read these small tables instead of scanning every case, audit
and settlement on each request.  A refresh (:mod:`yibao.analysis.refresh`, a job)
rebuilds a region's rows from the source tables in one transaction and records what it
covered in :class:`AnalysisState` — for cases the highest case id, so a reader adds the
few cases stored since (:mod:`yibao.analysis.figures`) and the figures stay current
between refreshes.  Every row belongs to one hospital (:class:`ScopedRow`): a hospital
user reads its own rows, a district bureau its district's."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Index, Integer, Numeric, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, Money, TZDateTime
from yibao.db.scoping import ScopedRow
from yibao.kit.timeutil import utcnow


class AnalysisState(Base):
    """What the last refresh of a region covered, and when."""

    __tablename__ = "analysis_states"

    region_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    refreshed_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    refreshed_by: Mapped[str] = mapped_column(String(100))
    #: the highest case id the case months cover (later cases are added by readers)
    case_watermark: Mapped[int] = mapped_column(Integer, default=0)
    audit_watermark: Mapped[int] = mapped_column(Integer, default=0)
    confirmation_watermark: Mapped[int] = mapped_column(Integer, default=0)
    weight_plan_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CaseMonth(ScopedRow, Base):
    """Discharged cases of one hospital, month and insurance type."""

    __tablename__ = "analysis_case_months"
    __table_args__ = (
        UniqueConstraint("hospital_id", "month", "insutype"),
        Index("ix_analysis_case_months_region_month", "region_code", "month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_code: Mapped[str] = mapped_column(String(12))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM of discharge
    insutype: Mapped[str] = mapped_column(String(3))
    cases: Mapped[int] = mapped_column(Integer)
    deaths: Mapped[int] = mapped_column(Integer)
    los_days: Mapped[int] = mapped_column(Integer)
    total_cost: Mapped[Decimal] = mapped_column(Money())
    fund_payment: Mapped[Decimal] = mapped_column(Money())
    self_pay: Mapped[Decimal] = mapped_column(Money())  # 全自费 + 先自付
    drug_cost: Mapped[Decimal] = mapped_column(Money())  # 西药 + 中草药 + 中成药
    material_cost: Mapped[Decimal] = mapped_column(Money())
    exam_cost: Mapped[Decimal] = mapped_column(Money())  # 检查 + 化验


class AuditMonth(ScopedRow, Base):
    """Real-time audits (事前/事中) and post-audit findings of a hospital and month."""

    __tablename__ = "analysis_audit_months"
    __table_args__ = (UniqueConstraint("hospital_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_code: Mapped[str] = mapped_column(String(12))
    month: Mapped[str] = mapped_column(String(7))
    audits: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[int] = mapped_column(Integer, default=0)
    rt_findings: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    vola_amt: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    findings: Mapped[int] = mapped_column(Integer, default=0)  # post-audit (事后)
    finding_amt: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    deducted: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))


class FundMonth(ScopedRow, Base):
    """A hospital's monthly settlement statement figures (from the confirmations)."""

    __tablename__ = "analysis_fund_months"
    __table_args__ = (UniqueConstraint("hospital_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_code: Mapped[str] = mapped_column(String(12))
    period: Mapped[str] = mapped_column(String(7))
    cases: Mapped[int] = mapped_column(Integer)
    fund_total: Mapped[Decimal] = mapped_column(Money())
    deductions: Mapped[Decimal] = mapped_column(Money())
    audit_deductions: Mapped[Decimal] = mapped_column(Money())
    settlement_amount: Mapped[Decimal] = mapped_column(Money())


class DrgYear(ScopedRow, Base):
    """A hospital's DRG performance in a year under a weight plan (CMI, consumption
    indices, low-risk mortality, 入组率)."""

    __tablename__ = "analysis_drg_years"
    __table_args__ = (UniqueConstraint("hospital_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_code: Mapped[str] = mapped_column(String(12))
    year: Mapped[int] = mapped_column(SmallInteger)
    plan_id: Mapped[str] = mapped_column(String(40))
    weight_plan_id: Mapped[int] = mapped_column(Integer)
    cases_all: Mapped[int] = mapped_column(Integer)
    grouped: Mapped[int] = mapped_column(Integer)  # in a DRG (not 0000 / QY), of eligible
    #: 入组率's denominator: cases less the data exclusions (LOS outside 1–60 days,
    #: cost below 5 yuan; domain.md §1.2, S14); None in rows before it was kept
    eligible: Mapped[int | None] = mapped_column(Integer)
    cases: Mapped[int] = mapped_column(Integer)  # with a weight: the indices' base
    drgs: Mapped[int] = mapped_column(Integer)
    total_weight: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    cmi: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    cost_index: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    time_index: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    low_risk_cases: Mapped[int] = mapped_column(Integer)
    low_risk_deaths: Mapped[int] = mapped_column(Integer)


class DipYear(ScopedRow, Base):
    """A hospital's cases priced under DIP in a year: 入组率, points, the cost against
    the DIP payment, and the cases by DIP class."""

    __tablename__ = "analysis_dip_years"
    __table_args__ = (UniqueConstraint("hospital_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_code: Mapped[str] = mapped_column(String(12))
    year: Mapped[int] = mapped_column(SmallInteger)
    cases: Mapped[int] = mapped_column(Integer)
    grouped: Mapped[int] = mapped_column(Integer)  # in a DIP group (not dip_items)
    groups: Mapped[int] = mapped_column(Integer)
    total_score: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    low: Mapped[int] = mapped_column(Integer)
    high: Mapped[int] = mapped_column(Integer)
    extreme: Mapped[int] = mapped_column(Integer)
    total_cost: Mapped[Decimal] = mapped_column(Money())
    payment: Mapped[Decimal] = mapped_column(Money())


class ItemYear(ScopedRow, Base):
    """Drug, service item and material use of a hospital in a year (gateway fee lines)."""

    __tablename__ = "analysis_item_years"
    __table_args__ = (Index("ix_analysis_item_years_region_year", "region_code", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_code: Mapped[str] = mapped_column(String(12))
    year: Mapped[int] = mapped_column(SmallInteger)
    item_code: Mapped[str] = mapped_column(String(30))
    item_type: Mapped[str] = mapped_column(String(6))  # med_chrgitm_type
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    amount: Mapped[Decimal] = mapped_column(Money())
    lines: Mapped[int] = mapped_column(Integer)


class FundBudget(Base):
    """The year's fund budget of a region, set by the bureau (fund-run analysis)."""

    __tablename__ = "analysis_fund_budgets"
    __table_args__ = (UniqueConstraint("region_code", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6))
    year: Mapped[int] = mapped_column(SmallInteger)
    amount: Mapped[Decimal] = mapped_column(Money())
    reason: Mapped[str] = mapped_column(String(500))
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
