"""The shared case model: one inpatient settlement list (结算清单) per row.

Column names equal :mod:`yibao.engines.caseframe`, so the table exports to Parquet
and Polars reads it directly.  Rows are scoped: a hospital user only ever sees rows
with its ``hospital_id``, a bureau user only rows under its region (see
:mod:`yibao.db.scoping`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from yibao.db.base import Base, Money, TZDateTime
from yibao.db.scoping import ScopedRow
from yibao.engines.caseframe import FEE_CATEGORIES
from yibao.kit.timeutil import utcnow
from yibao.regions.models import Hospital


class Case(ScopedRow, Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the hospital's settlement id: unique per hospital (each hospital its own namespace)
    setl_id: Mapped[str] = mapped_column(String(30), index=True)
    mdtrt_id: Mapped[str] = mapped_column(String(30))
    hospital_code: Mapped[str] = mapped_column(String(12))
    psn_no: Mapped[str] = mapped_column(String(30), index=True)
    psn_name: Mapped[str] = mapped_column(String(50))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date | None] = mapped_column(Date)
    age_years: Mapped[int | None] = mapped_column(SmallInteger)
    age_days: Mapped[int | None] = mapped_column(Integer)
    birth_weight_g: Mapped[int | None] = mapped_column(Integer)
    insutype: Mapped[str] = mapped_column(String(3))
    insured_region_code: Mapped[str] = mapped_column(String(6))
    admission_time: Mapped[datetime] = mapped_column(TZDateTime())
    discharge_time: Mapped[datetime] = mapped_column(TZDateTime())
    discharge_date: Mapped[date] = mapped_column(Date)
    los_days: Mapped[int] = mapped_column(Integer)
    admission_dept: Mapped[str | None] = mapped_column(String(10))
    discharge_dept: Mapped[str | None] = mapped_column(String(10))
    discharge_way: Mapped[str] = mapped_column(String(1))
    #: hours in intensive care (4101A icuinfo durations; read by regional plans)
    icu_hours: Mapped[int | None] = mapped_column(Integer)
    total_cost: Mapped[Decimal] = mapped_column(Money())
    fee_bed: Mapped[Decimal] = mapped_column(Money())
    fee_consultation: Mapped[Decimal] = mapped_column(Money())
    fee_examination: Mapped[Decimal] = mapped_column(Money())
    fee_laboratory: Mapped[Decimal] = mapped_column(Money())
    fee_treatment: Mapped[Decimal] = mapped_column(Money())
    fee_surgery: Mapped[Decimal] = mapped_column(Money())
    fee_nursing: Mapped[Decimal] = mapped_column(Money())
    fee_materials: Mapped[Decimal] = mapped_column(Money())
    fee_western_medicine: Mapped[Decimal] = mapped_column(Money())
    fee_herbal_pieces: Mapped[Decimal] = mapped_column(Money())
    fee_chinese_patent_medicine: Mapped[Decimal] = mapped_column(Money())
    fee_general_service: Mapped[Decimal] = mapped_column(Money())
    fee_registration: Mapped[Decimal] = mapped_column(Money())
    fee_other: Mapped[Decimal] = mapped_column(Money())
    fund_payment: Mapped[Decimal] = mapped_column(Money())
    account_payment: Mapped[Decimal] = mapped_column(Money())
    cash_payment: Mapped[Decimal] = mapped_column(Money())
    self_pay_full: Mapped[Decimal] = mapped_column(Money())
    self_pay_first: Mapped[Decimal] = mapped_column(Money())
    source: Mapped[str] = mapped_column(String(10), default="upload")
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)

    hospital: Mapped[Hospital] = relationship(lazy="joined", innerjoin=True)
    diagnoses: Mapped[list[CaseDiagnosis]] = relationship(
        order_by="CaseDiagnosis.seq", cascade="all, delete-orphan", lazy="selectin"
    )
    procedures: Mapped[list[CaseProcedure]] = relationship(
        order_by="CaseProcedure.seq", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        UniqueConstraint("hospital_id", "setl_id"),
        Index("ix_cases_hospital_discharge", "hospital_id", "discharge_date"),
        Index("ix_cases_region_discharge", "region_code", "discharge_date"),
        Index("ix_cases_discharge_date", "discharge_date"),
    )

    def fee_items(self) -> list[tuple[str, str, Decimal]]:
        """(code, Chinese name, amount) of the 14 bill categories."""
        return [(code, name, getattr(self, col)) for col, code, name in FEE_CATEGORIES]

    @property
    def principal_dx(self) -> CaseDiagnosis | None:
        return next((d for d in self.diagnoses if d.is_principal), None)

    @property
    def principal_procedure(self) -> CaseProcedure | None:
        return next((p for p in self.procedures if p.is_principal), None)


class CaseDiagnosis(Base):
    __tablename__ = "case_diagnoses"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(30), index=True)
    is_principal: Mapped[bool] = mapped_column(Boolean)


class CaseProcedure(Base):
    __tablename__ = "case_procedures"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(30))
    is_principal: Mapped[bool] = mapped_column(Boolean)
    procedure_date: Mapped[date | None] = mapped_column(Date)
