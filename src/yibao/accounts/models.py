"""Users and API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from yibao.accounts.roles import Role
from yibao.db.base import Base, TZDateTime
from yibao.kit.timeutil import utcnow
from yibao.regions.models import Hospital


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
    region_code: Mapped[str | None] = mapped_column(String(6), ForeignKey("regions.code"))
    hospital_id: Mapped[int | None] = mapped_column(ForeignKey("hospitals.id"), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(TZDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)

    hospital: Mapped[Hospital | None] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint(
            "(hospital_id IS NOT NULL AND region_code IS NULL) OR "
            "(hospital_id IS NULL AND region_code IS NOT NULL)",
            name="scope_one",
        ),
    )

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


#: usernames are unique whatever their case: ``admin`` and ``ADMIN`` cannot both exist
#: (ADR 0046, migration 0046); logins and the service look users up by this expression
Index("uq_users_username_lower", func.lower(User.username), unique=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(12), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime())

    user: Mapped[User] = relationship(lazy="joined")


class WebSession(Base):
    """A browser login, kept on the server so that logout and a password change end it.

    The browser's signed cookie holds only a random session key; its SHA-256 is
    stored here.  A session ends when revoked (logout, password change, account
    disabled), after ``idle`` minutes without use or at ``expires_at``.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(TZDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    ip: Mapped[str | None] = mapped_column(String(45))
