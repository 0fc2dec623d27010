"""exchange_fees.bilg_dept_codg: the billing department of a fee line

The 开单科室 a HIS sends with each 2301 / 2204 line, kept so that the post-audit's
specialty rules read a line's department as real-time audit (3102) reads an order's
``drord_dept_codg``; without one, the visit's department (as before).  Existing rows
get none.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_fees") as batch:
        batch.add_column(sa.Column("bilg_dept_codg", sa.String(length=30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exchange_fees") as batch:
        batch.drop_column("bilg_dept_codg")
