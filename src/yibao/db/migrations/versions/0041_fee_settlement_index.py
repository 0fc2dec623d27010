"""exchange_fees.settlement_id indexed

A reversal (2305 / 2208 / 2601) reopens the fee lines of its settlement, found by
``settlement_id``; without an index every reversal read the whole table (23 ms each
at 66,000 lines in the exchange benchmark, a quarter of PostgreSQL's time).

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-07 02:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_exchange_fees_settlement_id", "exchange_fees", ["settlement_id"])


def downgrade() -> None:
    op.drop_index("ix_exchange_fees_settlement_id", table_name="exchange_fees")
