"""local_plans: plans a bureau derives through the Excel workbook

Drafts and published local plans with their folder as a zip, the changes against the
base plan and the last trial on stored cases (issue 16 item 4, ADR 0040).

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-06 20:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from yibao.db.base import TZDateTime

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "local_plans",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("plan_id", sa.String(length=40), nullable=False, unique=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("base_plan_id", sa.String(length=40), nullable=True),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("workbook_name", sa.String(length=200), nullable=False),
        sa.Column("bundle", sa.LargeBinary(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("trial", sa.JSON(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", TZDateTime(), nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=True),
        sa.Column("published_at", TZDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("local_plans")
