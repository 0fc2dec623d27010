"""benefit policies (待遇政策) stored as versioned data

Every settlement list used to be priced with the synthetic policies shipped for the demo
city.  The bureau's policies now live in ``benefit_policies`` (code + version, draft →
published, validity dates); intake prices with the published ones (ADR 0013).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibao.db.base

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "benefit_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("region_name", sa.String(length=50), nullable=False),
        sa.Column("insutype", sa.String(length=3), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=True),
        sa.Column("published_at", yibao.db.base.TZDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benefit_policies")),
        sa.UniqueConstraint("code", "version", name="uq_benefit_policies_code_version"),
    )
    with op.batch_alter_table("benefit_policies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_benefit_policies_region_code"), ["region_code"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("benefit_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_benefit_policies_region_code"))
    op.drop_table("benefit_policies")
