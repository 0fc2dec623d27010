"""cases.icu_hours

Hours in intensive care from the 4101A icuinfo durations, an input of the regional
plans (issue 16 item 2, ADR 0038).

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-06 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("icu_hours", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("icu_hours")
