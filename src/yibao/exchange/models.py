"""The gateway's tables: the journal of every message and its response, and the
sign-ins (9001) whose sign_no later messages carry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, TZDateTime
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
