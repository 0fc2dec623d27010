"""dip catalogues

dip_catalogues (a region's DIP catalogue versions, built by a job, then published)
and dip_groups (their core and comprehensive groups with scores). Issue 14, ADR 0029.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibao.db.base

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dip_catalogues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("plan_id", sa.String(length=40), nullable=False),
        sa.Column("years", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("overall_mean", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("created_by", sa.String(length=50), nullable=False),
        sa.Column("created_at", yibao.db.base.TZDateTime(), nullable=False),
        sa.Column("built_at", yibao.db.base.TZDateTime(), nullable=True),
        sa.Column("published_at", yibao.db.base.TZDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("region_code", "code", "version"),
    )
    op.create_index("ix_dip_catalogues_region_code", "dip_catalogues", ["region_code"])
    op.create_table(
        "dip_groups",
        sa.Column("catalogue_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=400), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("dx_key", sa.String(length=10), nullable=False),
        sa.Column("procedures", sa.String(length=400), nullable=False),
        sa.Column("proc_type", sa.String(length=14), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("kept", sa.Integer(), nullable=False),
        sa.Column("mean_cost", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("score", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.ForeignKeyConstraint(["catalogue_id"], ["dip_catalogues.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("catalogue_id", "code"),
    )


def downgrade() -> None:
    op.drop_table("dip_groups")
    op.drop_index("ix_dip_catalogues_region_code", table_name="dip_catalogues")
    op.drop_table("dip_catalogues")
