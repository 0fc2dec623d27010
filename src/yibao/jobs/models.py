"""The ``jobs`` table: one long-running piece of work, its progress and its result."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, TZDateTime
from yibao.db.scoping import ScopedRow
from yibao.kit.timeutil import utcnow

JOB_STATUSES = ("queued", "running", "succeeded", "failed")
JOB_STATUS_LABELS = {
    "queued": "排队中",
    "running": "运行中",
    "succeeded": "已完成",
    "failed": "失败",
}


class Job(ScopedRow, Base):
    """A job belongs to its owner's scope: a hospital user's job carries the hospital
    (only that hospital sees it); a bureau user's job carries the bureau's region (the
    region subtree sees it).  System jobs have neither and are visible to no user."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(String(500))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result_file: Mapped[str | None] = mapped_column(String(200))
    result_name: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(String(2000))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hospital_id: Mapped[int | None] = mapped_column(ForeignKey("hospitals.id"))  # type: ignore[assignment]
    region_code: Mapped[str | None] = mapped_column(String(6))  # type: ignore[assignment]
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    #: the runner (host:pid:token) that queued or runs the job, and its last sign of life
    runner: Mapped[str | None] = mapped_column(String(80))
    heartbeat_at: Mapped[datetime | None] = mapped_column(TZDateTime())

    __table_args__ = (
        CheckConstraint("status in ('queued','running','succeeded','failed')", name="status"),
        Index("ix_jobs_status", "status"),
        Index("ix_jobs_hospital_created", "hospital_id", "created_at"),
        Index("ix_jobs_region_created", "region_code", "created_at"),
    )

    @property
    def status_label(self) -> str:
        return JOB_STATUS_LABELS.get(self.status, self.status)

    @property
    def is_done(self) -> bool:
        return self.status in ("succeeded", "failed")

    @property
    def percent(self) -> int:
        if self.status == "succeeded":
            return 100
        if not self.progress_total:
            return 0
        return max(0, min(100, int(100 * self.progress_done / self.progress_total)))
