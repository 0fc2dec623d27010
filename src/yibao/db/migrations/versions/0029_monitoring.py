"""monitoring

monitor_thresholds, monitor_alerts, monitor_settings: application monitoring
(issue 15 item 5, ADR 0034).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibao.db.base

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitor_thresholds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("limit", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("min_calls", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", yibao.db.base.TZDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "monitor_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("threshold_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("limit", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("opened_at", yibao.db.base.TZDateTime(), nullable=False),
        sa.Column("closed_at", yibao.db.base.TZDateTime(), nullable=True),
        sa.Column("webhook", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["threshold_id"], ["monitor_thresholds.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_monitor_alerts_threshold_id", "monitor_alerts", ["threshold_id"])
    op.create_table(
        "monitor_settings",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", yibao.db.base.TZDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("monitor_settings")
    op.drop_index("ix_monitor_alerts_threshold_id", table_name="monitor_alerts")
    op.drop_table("monitor_alerts")
    op.drop_table("monitor_thresholds")
