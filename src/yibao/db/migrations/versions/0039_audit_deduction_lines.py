"""settlement_audit_deductions.lines: what each deduction took per fee line

One deduction per fee line (ADR 0041): the amount an intelligent-audit deduction took
on each fee line of its finding, ``[{"rx_id", "amount"}]``, so that the room left on
a line is its cap minus the stored amounts.  Existing rows get an empty list.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("settlement_audit_deductions") as batch:
        batch.add_column(sa.Column("lines", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("settlement_audit_deductions") as batch:
        batch.drop_column("lines")
