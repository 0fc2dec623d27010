"""The gateway's tables: the journal of every message and its response, the sign-ins
(9001) whose sign_no later messages carry, visits, fees, settlements, and the
institutions' message-signing keys."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, Money, TZDateTime
from yibao.db.scoping import ScopedRow


class ExchangeMessage(ScopedRow, Base):
    """One message received from an institution's system and the response it got.

    ``msgid`` is the institution's message id: unique per institution, so a retry of
    the same id finds this row and gets ``response`` again, and of parallel retries
    only one can insert it (the others wait for it, fail on the constraint and answer
    the winner's response).  It is empty when the message had no readable id, and
    when its processing failed for a reason a retry may not meet again (an internal
    error, a conflict with a parallel transaction): then the id stays free.

    The row is written in the transaction of the message's business effect, so both
    exist or neither.  ``request`` is the message as received (ID numbers in full:
    masked when shown, :func:`yibao.engines.exchange.mask_ids`)."""

    __tablename__ = "exchange_messages"
    __table_args__ = (
        UniqueConstraint("hospital_id", "msgid"),
        Index("ix_exchange_messages_received_at", "received_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    msgid: Mapped[str | None] = mapped_column(String(50))
    infno: Mapped[str | None] = mapped_column(String(10))
    sign_no: Mapped[str | None] = mapped_column(String(30))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    infcode: Mapped[int] = mapped_column(Integer)
    inf_refmsgid: Mapped[str] = mapped_column(String(30))
    err_msg: Mapped[str | None] = mapped_column(String(200))
    warn_msg: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(TZDateTime())
    answered_at: Mapped[datetime] = mapped_column(TZDateTime())
    request: Mapped[Any] = mapped_column(JSON, deferred=True)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)


class SignIn(ScopedRow, Base):
    """A sign-in (9001 签到) of an institution's operator: its ``sign_no`` admits the
    institution's messages until ``expires_at`` or the sign-out (9002)."""

    __tablename__ = "exchange_sign_ins"

    id: Mapped[int] = mapped_column(primary_key=True)
    sign_no: Mapped[str] = mapped_column(String(30), unique=True)
    opter_no: Mapped[str] = mapped_column(String(20))
    mac: Mapped[str] = mapped_column(String(20))
    ip: Mapped[str] = mapped_column(String(45))
    signed_in_at: Mapped[datetime] = mapped_column(TZDateTime())
    expires_at: Mapped[datetime] = mapped_column(TZDateTime())
    signed_out_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("exchange_messages.id", ondelete="SET NULL")
    )


class Identified(ScopedRow, Base):
    """An insured person an institution has identified (1101): only such persons may
    be admitted, registered or settled by it (issue 12 item 8)."""

    __tablename__ = "exchange_identified"
    __table_args__ = (UniqueConstraint("hospital_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("insured_persons.id"))
    first_at: Mapped[datetime] = mapped_column(TZDateTime())
    last_at: Mapped[datetime] = mapped_column(TZDateTime())


class Visit(ScopedRow, Base):
    """One visit (就诊) registered through the gateway: an inpatient stay (2401) or an
    outpatient visit (2201).  ``mdtrt_id`` is the platform's id the HIS quotes after.

    ``state``: ``open`` (admitted / registered), ``discharged`` (2402), ``settled``
    (2304 / 2207; back to ``discharged`` / ``open`` when the settlement is reversed),
    ``cancelled`` (2404 / 2202).  ``insuplc_admdvs`` is the insured place,
    ``mdtrtarea_admvs`` the treating place (the institution's pooling region)."""

    __tablename__ = "exchange_visits"
    __table_args__ = (
        Index("ix_exchange_visits_hospital_begntime", "hospital_id", "begntime"),
        Index("ix_exchange_visits_psn_no_begntime", "psn_no", "begntime"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mdtrt_id: Mapped[str] = mapped_column(String(30), unique=True)
    kind: Mapped[str] = mapped_column(String(3))
    person_id: Mapped[int] = mapped_column(ForeignKey("insured_persons.id"), index=True)
    psn_no: Mapped[str] = mapped_column(String(30))
    insutype: Mapped[str] = mapped_column(String(6))
    med_type: Mapped[str] = mapped_column(String(6))
    ipt_otp_no: Mapped[str] = mapped_column(String(30))
    mdtrt_cert_type: Mapped[str] = mapped_column(String(3))
    insuplc_admdvs: Mapped[str] = mapped_column(String(6))
    mdtrtarea_admvs: Mapped[str] = mapped_column(String(6))
    begntime: Mapped[datetime] = mapped_column(TZDateTime())
    endtime: Mapped[datetime | None] = mapped_column(TZDateTime())
    dept_code: Mapped[str] = mapped_column(String(30), default="")
    dept_name: Mapped[str] = mapped_column(String(100), default="")
    diag_code: Mapped[str] = mapped_column(String(30), default="")
    diag_name: Mapped[str] = mapped_column(String(200), default="")
    dscg_way: Mapped[str | None] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(12))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("exchange_messages.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(TZDateTime())


class Fee(ScopedRow, Base):
    """One fee detail line of a visit (2301 / 2204) as classified against the treating
    place's catalogue when it was uploaded.  ``state``: ``open`` (to be settled),
    ``settled`` (by ``settlement_id``), ``cancelled`` (2302 / 2205 / 2601)."""

    __tablename__ = "exchange_fees"
    __table_args__ = (UniqueConstraint("visit_id", "feedetl_sn"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("exchange_visits.id"))
    feedetl_sn: Mapped[str] = mapped_column(String(30))
    #: 原费用流水号: the charge a refund line takes back (its split mirrors the
    #: charge's, ADR 0045)
    init_feedetl_sn: Mapped[str | None] = mapped_column(String(30))
    chrg_bchno: Mapped[str | None] = mapped_column(String(30))
    med_list_codg: Mapped[str] = mapped_column(String(30))
    medins_list_codg: Mapped[str | None] = mapped_column(String(150))
    fee_ocur_time: Mapped[datetime] = mapped_column(TZDateTime())
    cnt: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    pric: Mapped[Decimal] = mapped_column(Numeric(18, 6))
    det_item_fee_sumamt: Mapped[Decimal] = mapped_column(Money())
    fulamt_ownpay_amt: Mapped[Decimal] = mapped_column(Money())
    overlmt_amt: Mapped[Decimal] = mapped_column(Money())
    preselfpay_amt: Mapped[Decimal] = mapped_column(Money())
    inscp_scp_amt: Mapped[Decimal] = mapped_column(Money())
    chrgitm_lv: Mapped[str] = mapped_column(String(3))
    med_chrgitm_type: Mapped[str] = mapped_column(String(6))
    selfpay_prop: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    pric_uplmt_amt: Mapped[Decimal | None] = mapped_column(Numeric(18, 6))
    #: 用药周期天数 as the HIS sent it (2204 / 2301 ``prd_days``): the days a drug
    #: line lasts, read by real-time audit (ADR 0023)
    prd_days: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    #: 开单科室编码 as the HIS sent it (``bilg_dept_codg``): the department a specialty
    #: rule reads for the line, as 3102 reads ``drord_dept_codg`` (None: the visit's)
    bilg_dept_codg: Mapped[str | None] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(10))
    #: indexed: a reversal (2305 / 2208 / 2601) reopens its settlement's lines, and
    #: the settlement pages list them
    settlement_id: Mapped[int | None] = mapped_column(
        ForeignKey("exchange_settlements.id"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("exchange_messages.id", ondelete="SET NULL")
    )


class Settlement(ScopedRow, Base):
    """A settlement (2304 / 2207) and, once reversed (2305 / 2208 / 2601), its
    reversal.  At most one live (``settled``) settlement per inpatient stay: a partial
    unique index makes a second one fail, whatever races.  An outpatient visit may be
    settled once per charge batch (门诊分次结算, ADR 0044): each fee line is settled
    once, under the visit's row lock.  Money columns repeat the
    figures reconciliation and clearing sum; ``setlinfo`` / ``setldetail`` are the
    output as sent.  ``insuplc_admdvs`` ≠ ``mdtrtarea_admvs`` pool: a cross-region
    settlement, cleared monthly between the two places (``clr_month``)."""

    __tablename__ = "exchange_settlements"
    __table_args__ = (
        Index(
            "uq_exchange_settlements_live_visit",
            "visit_id",
            unique=True,
            sqlite_where=text("state = 'settled' AND kind = 'ipt'"),
            postgresql_where=text("state = 'settled' AND kind = 'ipt'"),
        ),
        Index("ix_exchange_settlements_hospital_time", "hospital_id", "setl_time"),
        Index("ix_exchange_settlements_clearing", "clr_month", "insuplc_admdvs"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    setl_id: Mapped[str] = mapped_column(String(30), unique=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("exchange_visits.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("insured_persons.id"), index=True)
    psn_no: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(3))
    insutype: Mapped[str] = mapped_column(String(6))
    clr_type: Mapped[str] = mapped_column(String(6))
    insuplc_admdvs: Mapped[str] = mapped_column(String(6))
    mdtrtarea_admvs: Mapped[str] = mapped_column(String(6))
    scope: Mapped[str] = mapped_column(String(20))
    policy_key: Mapped[str] = mapped_column(String(60))
    msgid: Mapped[str | None] = mapped_column(String(50))
    setl_time: Mapped[datetime] = mapped_column(TZDateTime())
    clr_month: Mapped[str] = mapped_column(String(6))
    medfee_sumamt: Mapped[Decimal] = mapped_column(Money())
    fund_pay_sumamt: Mapped[Decimal] = mapped_column(Money())
    hifp_pay: Mapped[Decimal] = mapped_column(Money())
    psn_part_amt: Mapped[Decimal] = mapped_column(Money())
    acct_pay: Mapped[Decimal] = mapped_column(Money())
    psn_cash_pay: Mapped[Decimal] = mapped_column(Money())
    setlinfo: Mapped[dict[str, Any]] = mapped_column(JSON)
    setldetail: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(10))
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("exchange_messages.id", ondelete="SET NULL")
    )
    reversal_setl_id: Mapped[str | None] = mapped_column(String(30))
    reversed_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    reversal_msgid: Mapped[str | None] = mapped_column(String(50))
    reversal_infno: Mapped[str | None] = mapped_column(String(10))
    reversal_month: Mapped[str | None] = mapped_column(String(6))


class ExchangeKey(ScopedRow, Base):
    """An institution's message-signing key (ADR 0019): a secret the bureau issued,
    with which the institution signs every message (HMAC-SM3, ``cainfo``).  While the
    institution has an active key, the gateway refuses a message without a valid
    signature.  At most one key per institution is active (a partial unique index);
    rotating deactivates the old one at once, revoking ends signing altogether.

    ``secret`` is kept as issued: HMAC needs it to verify (encryption at rest is out
    of scope, ADR 0019); it is never shown again after issue, nor audited."""

    __tablename__ = "exchange_keys"
    __table_args__ = (
        Index(
            "uq_exchange_keys_active_hospital",
            "hospital_id",
            unique=True,
            sqlite_where=text("active = 1"),
            postgresql_where=text("active = true"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[str] = mapped_column(String(30), unique=True)
    secret: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(100))
