"""supervision knowledge and rule sets

knowledge_versions with knowledge_relations (exclusive, inclusive, requires,
package) and knowledge_restrictions (per-item restrictions replacing the
catalogue's); rule_set_versions with supervision_rules.  Issue 13 items 1–2,
ADR 0021.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 22:14:44.739030
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibao.db.base


revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "knowledge_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=True),
        sa.Column("based_on_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=True),
        sa.Column("published_at", yibao.db.base.TZDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_versions")),
        sa.UniqueConstraint("region_code", "version", name="uq_knowledge_versions_region_version"),
    )
    with op.batch_alter_table("knowledge_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_knowledge_versions_region_code"), ["region_code"], unique=False
        )

    op.create_table(
        "rule_set_versions",
        sa.Column("retired_by", sa.String(length=100), nullable=True),
        sa.Column("retired_at", yibao.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=True),
        sa.Column("based_on_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=True),
        sa.Column("published_at", yibao.db.base.TZDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_set_versions")),
        sa.UniqueConstraint("region_code", "version", name="uq_rule_set_versions_region_version"),
    )
    with op.batch_alter_table("rule_set_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rule_set_versions_region_code"), ["region_code"], unique=False
        )

    op.create_table(
        "knowledge_relations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["knowledge_versions.id"],
            name=op.f("fk_knowledge_relations_version_id_knowledge_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_relations")),
    )
    with op.batch_alter_table("knowledge_relations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_knowledge_relations_version_id"), ["version_id"], unique=False
        )

    op.create_table(
        "knowledge_restrictions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("restrictions", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["knowledge_versions.id"],
            name=op.f("fk_knowledge_restrictions_version_id_knowledge_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_restrictions")),
        sa.UniqueConstraint("version_id", "code", name="uq_knowledge_restrictions_version_code"),
    )
    with op.batch_alter_table("knowledge_restrictions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_knowledge_restrictions_version_id"), ["version_id"], unique=False
        )

    op.create_table(
        "supervision_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("family", sa.String(length=20), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("stages", sa.JSON(), nullable=False),
        sa.Column("trig_scen", sa.JSON(), nullable=False),
        sa.Column("window", sa.String(length=10), nullable=False),
        sa.Column("result_type", sa.String(length=12), nullable=False),
        sa.Column("sev_deg", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["set_id"],
            ["rule_set_versions.id"],
            name=op.f("fk_supervision_rules_set_id_rule_set_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_rules")),
        sa.UniqueConstraint("set_id", "rule_id", name="uq_supervision_rules_set_rule"),
    )
    with op.batch_alter_table("supervision_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supervision_rules_set_id"), ["set_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("supervision_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supervision_rules_set_id"))

    op.drop_table("supervision_rules")
    with op.batch_alter_table("knowledge_restrictions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_knowledge_restrictions_version_id"))

    op.drop_table("knowledge_restrictions")
    with op.batch_alter_table("knowledge_relations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_knowledge_relations_version_id"))

    op.drop_table("knowledge_relations")
    with op.batch_alter_table("rule_set_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rule_set_versions_region_code"))

    op.drop_table("rule_set_versions")
    with op.batch_alter_table("knowledge_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_knowledge_versions_region_code"))

    op.drop_table("knowledge_versions")
