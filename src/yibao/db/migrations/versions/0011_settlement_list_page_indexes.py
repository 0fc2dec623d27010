"""indexes for the settlement-list pages: newest first, latest month

The list page orders a region's lists by ``received_at`` (newest first) and the
periods page starts at the latest ``discharge_month``: both read an index now
instead of sorting every list of the region (issue 9, many users at once).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 18:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("settlement_lists", schema=None) as batch_op:
        batch_op.create_index("ix_settlement_lists_received_at", ["received_at", "id"])
        batch_op.create_index("ix_settlement_lists_discharge_month", ["discharge_month"])


def downgrade() -> None:
    with op.batch_alter_table("settlement_lists", schema=None) as batch_op:
        batch_op.drop_index("ix_settlement_lists_discharge_month")
        batch_op.drop_index("ix_settlement_lists_received_at")
