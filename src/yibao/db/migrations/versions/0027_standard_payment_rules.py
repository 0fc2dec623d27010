"""payment rules of a standard set

payment_standard_sets.payment_rules: the classification and payment rules settlement
prices with under the table (high / low multipliers, RW bands, QY share, per-diem of
long stays, cap on high-multiplier cases). Issue 14 item 7, ADR 0031.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payment_standard_sets", sa.Column("payment_rules", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payment_standard_sets") as batch:
        batch.drop_column("payment_rules")
