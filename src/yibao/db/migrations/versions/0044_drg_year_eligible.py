"""analysis_drg_years.eligible: 入组率's denominator

入组率 = grouped ÷ (cases − data exclusions: LOS outside 1–60 days, cost below 5
yuan; domain.md §1.2, S14).  The summary kept only all cases; rows written before
this keep none (the report then divides by all cases, as before) until the next
refresh.

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-07 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("analysis_drg_years") as batch:
        batch.add_column(sa.Column("eligible", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("analysis_drg_years") as batch:
        batch.drop_column("eligible")
