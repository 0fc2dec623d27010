"""monitor_instances

Each server process's route figures, merged across processes for the operations page
and the threshold checks (issue 15 item 5, ADR 0034).

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06 17:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibao.db.base

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitor_instances",
        sa.Column("instance", sa.String(length=120), nullable=False),
        sa.Column("host", sa.String(length=100), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=40), nullable=False),
        sa.Column("started_at", yibao.db.base.TZDateTime(), nullable=False),
        sa.Column("seen_at", yibao.db.base.TZDateTime(), nullable=False),
        sa.Column("routes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("instance", name=op.f("pk_monitor_instances")),
    )
    op.create_index("ix_monitor_instances_seen_at", "monitor_instances", ["seen_at"])


def downgrade() -> None:
    op.drop_index("ix_monitor_instances_seen_at", table_name="monitor_instances")
    op.drop_table("monitor_instances")
