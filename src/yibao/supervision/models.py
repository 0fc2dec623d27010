"""Knowledge versions (item relations and restriction overrides) and rule-set versions
(rules), each per region: draft → published (→ retired for rule sets).

A draft is edited in place; a published version never changes, except that publishing
a later version of the same region closes the open earlier one the day before
(audited, :mod:`yibao.db.versioning`).  Changing published data means a new draft
copied from it (ADR 0021).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, TZDateTime
from yibao.kit.timeutil import utcnow

STATUSES = {"draft": "草稿", "published": "已发布", "retired": "已停用"}


class _Version:
    """Columns every version shares."""

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    checksum: Mapped[str | None] = mapped_column(String(64))
    based_on_id: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(100))
    published_at: Mapped[datetime | None] = mapped_column(TZDateTime())

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)


class KnowledgeVersion(_Version, Base):
    """One version of a region's supervision knowledge (知识库): the item relations and
    the restrictions that replace the catalogue's for the items it lists."""

    __tablename__ = "knowledge_versions"
    __table_args__ = (
        UniqueConstraint("region_code", "version", name="uq_knowledge_versions_region_version"),
    )


class KnowledgeRelation(Base):
    """One relation (exclusive, inclusive, requires, package) as the engine reads it."""

    __tablename__ = "knowledge_relations"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("knowledge_versions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(200), default="")


class KnowledgeRestriction(Base):
    """The restrictions of one item in a knowledge version (they replace the catalogue
    entry's; an empty list clears them)."""

    __tablename__ = "knowledge_restrictions"
    __table_args__ = (
        UniqueConstraint("version_id", "code", name="uq_knowledge_restrictions_version_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("knowledge_versions.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(200), default="")
    restrictions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class RuleSetVersion(_Version, Base):
    """One version of a region's rule base (规则库)."""

    __tablename__ = "rule_set_versions"
    __table_args__ = (
        UniqueConstraint("region_code", "version", name="uq_rule_set_versions_region_version"),
    )

    retired_by: Mapped[str | None] = mapped_column(String(100))
    retired_at: Mapped[datetime | None] = mapped_column(TZDateTime())


class StoredRule(Base):
    """One rule of a rule-set version, in the engine's :class:`Rule` fields."""

    __tablename__ = "supervision_rules"
    __table_args__ = (UniqueConstraint("set_id", "rule_id", name="uq_supervision_rules_set_rule"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(
        ForeignKey("rule_set_versions.id", ondelete="CASCADE"), index=True
    )
    rule_id: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    family: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    stages: Mapped[list[str]] = mapped_column(JSON)
    trig_scen: Mapped[list[int]] = mapped_column(JSON)
    window: Mapped[str] = mapped_column(String(10))
    result_type: Mapped[str] = mapped_column(String(12))
    sev_deg: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    def data(self) -> dict[str, Any]:
        """The rule as :meth:`yibao.engines.audit.Rule.from_data` reads it."""
        return {
            "rule_id": self.rule_id,
            "version": self.version,
            "name": self.name,
            "family": self.family,
            "params": self.params or {},
            "stages": list(self.stages),
            "trig_scen": list(self.trig_scen or []),
            "window": self.window,
            "result_type": self.result_type,
            "sev_deg": self.sev_deg,
            "enabled": self.enabled,
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
        }
