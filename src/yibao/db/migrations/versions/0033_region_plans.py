"""region_plans

The grouping plan each region pays by, with validity dates (issue 16 item 3, ADR 0039).

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibao.db.base

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "region_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("plan_id", sa.String(length=40), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.Column("set_at", yibao.db.base.TZDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_region_plans")),
    )
    op.create_index("ix_region_plans_region_from", "region_plans", ["region_code", "valid_from"])


def downgrade() -> None:
    op.drop_index("ix_region_plans_region_from", table_name="region_plans")
    op.drop_table("region_plans")
