"""case_groupings.plan_checksum

The SHA-256 of the plan (its plan.json, which holds every table's checksum) recorded
with each grouping result (issue 16 item 4, ADR 0038).

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-06 17:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_groupings") as batch:
        batch.add_column(sa.Column("plan_checksum", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("case_groupings") as batch:
        batch.drop_column("plan_checksum")
