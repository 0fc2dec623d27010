"""The insured register: persons, their special identities, personal accounts, the
annual cumulative figures and the postings that moved them.

Figures and balances are kept as whole hundredths (``…_e2``: fen for money, a count ×
100) and changed by SQL arithmetic (``cum_e2 = cum_e2 + :delta``), so parallel
settlements of one person never lose an update and a reversal lands exactly where
the figures were, on PostgreSQL and SQLite alike (SQLite's NUMERIC would add in
floating point).  Every change is a row of ``insured_postings`` with its deltas.

The register is national: a person insured anywhere may be treated in any
institution, so persons are not scoped rows; bureau pages limit themselves to
the persons insured under the user's region (``repository``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, Money, TZDateTime
from yibao.kit.timeutil import utcnow


class InsuredPerson(Base):
    """One insured person and their current insurance (1101 baseinfo + insuinfo)."""

    __tablename__ = "insured_persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    psn_no: Mapped[str] = mapped_column(String(30), unique=True)
    psn_cert_type: Mapped[str] = mapped_column(String(2), default="01")
    certno: Mapped[str] = mapped_column(String(18), unique=True)
    psn_name: Mapped[str] = mapped_column(String(50))
    gend: Mapped[str] = mapped_column(String(1))
    brdy: Mapped[date] = mapped_column(Date)
    naty: Mapped[str] = mapped_column(String(2), default="01")
    insutype: Mapped[str] = mapped_column(String(3))
    psn_type: Mapped[str] = mapped_column(String(4))
    psn_insu_stas: Mapped[str] = mapped_column(String(1), default="1")
    psn_insu_date: Mapped[date] = mapped_column(Date)
    paus_insu_date: Mapped[date | None] = mapped_column(Date)
    insuplc_admdvs: Mapped[str] = mapped_column(String(6), index=True)
    emp_name: Mapped[str] = mapped_column(String(100), default="")
    cvlserv_flag: Mapped[str] = mapped_column(String(1), default="0")
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class InsuredIdentity(Base):
    """A special identity of a person (1101 idetinfo): 低保, 特困 … for medical aid."""

    __tablename__ = "insured_identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("insured_persons.id"), index=True)
    psn_idet_type: Mapped[str] = mapped_column(String(4))
    psn_type_lv: Mapped[str | None] = mapped_column(String(3))
    begntime: Mapped[date] = mapped_column(Date)
    endtime: Mapped[date | None] = mapped_column(Date)
    memo: Mapped[str] = mapped_column(String(100), default="")


class InsuredAccount(Base):
    """The personal account (个人账户) of an employee-insured person."""

    __tablename__ = "insured_accounts"

    person_id: Mapped[int] = mapped_column(ForeignKey("insured_persons.id"), primary_key=True)
    balc_e2: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)

    @property
    def balc(self) -> Decimal:
        return Decimal(self.balc_e2) / 100


class InsuredCumulative(Base):
    """One annual figure of a person (5206 cum_type_code / cum)."""

    __tablename__ = "insured_cumulatives"
    __table_args__ = (
        UniqueConstraint(
            "person_id", "year", "cum_type", name="uq_insured_cumulatives_person_year_type"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("insured_persons.id"))
    year: Mapped[int] = mapped_column(Integer)
    cum_type: Mapped[str] = mapped_column(String(20))
    cum_e2: Mapped[int] = mapped_column(BigInteger)


class InsuredPosting(Base):
    """One change of a person's figures: ``opening`` (carried over when the register
    was loaded), ``settle`` (a settlement) or ``reverse`` (its reversal, same ``ref``).
    Unique per kind and ref: a settlement is counted once and reversed once."""

    __tablename__ = "insured_postings"
    __table_args__ = (UniqueConstraint("kind", "ref", name="uq_insured_postings_kind_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("insured_persons.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    ref: Mapped[str] = mapped_column(String(50))
    cause: Mapped[str | None] = mapped_column(String(50))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("insured_postings.id"))
    hospital_id: Mapped[int | None] = mapped_column(ForeignKey("hospitals.id"))
    deltas: Mapped[dict[str, Any]] = mapped_column(JSON)
    acct_pay: Mapped[Decimal] = mapped_column(Money())
    balc_after: Mapped[Decimal | None] = mapped_column(Money())
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
