"""year-end clearings are saved

The clearing page computed a result and kept nothing.  ``settlement_clearings`` keeps
each saved clearing: inputs (budget, method, scores) and the per-hospital result.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 19:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibao.db.base

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settlement_clearings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("budget", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("final_value", sa.String(length=40), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("hospitals", sa.JSON(), nullable=False),
        sa.Column("clearing_total", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_clearings")),
    )
    with op.batch_alter_table("settlement_clearings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_settlement_clearings_region_code"), ["region_code"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("settlement_clearings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settlement_clearings_region_code"))
    op.drop_table("settlement_clearings")
