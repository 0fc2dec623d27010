"""Message centre storage: a thread (a bureau's notice to all or some hospitals, or a
conversation with one hospital, possibly about a settlement list, finding, special
case or appeal), its messages, and when each user last read it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, TZDateTime
from yibao.kit.timeutil import utcnow

ABOUT = {
    "settlement_list": "结算清单",
    "finding": "审核疑点",
    "special_case": "特例单议",
    "appeal": "申诉",
}


class MessageThread(Base):
    __tablename__ = "message_threads"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)  # the bureau's region
    kind: Mapped[str] = mapped_column(String(10))  # notice / thread
    #: a thread's hospital; a notice's audience (hospital codes) or None for every one
    hospital_code: Mapped[str | None] = mapped_column(String(12), index=True)
    #: ",H001,H002," (a LIKE match on either database); None: every hospital
    audience: Mapped[str | None] = mapped_column(String(4000))
    subject: Mapped[str] = mapped_column(String(200))
    about_kind: Mapped[str | None] = mapped_column(String(20))
    about_id: Mapped[int | None] = mapped_column(Integer)
    deadline: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    last_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow, index=True)


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(
        ForeignKey("message_threads.id", ondelete="CASCADE"), index=True
    )
    side: Mapped[str] = mapped_column(String(10))  # bureau / hospital
    author: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(String(4000))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class MessageRead(Base):
    __tablename__ = "message_reads"

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("message_threads.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    read_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
