"""exchange_fees.init_feedetl_sn: the charge a refund line takes back

A refund line (退费, negative) names its charge by ``init_feedetl_sn``; its split
mirrors the charge's on the cumulative refund (ADR 0045), so the earlier refunds of
a charge are found by this column.  Existing rows get none.

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-07 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_fees") as batch:
        batch.add_column(sa.Column("init_feedetl_sn", sa.String(length=30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exchange_fees") as batch:
        batch.drop_column("init_feedetl_sn")
