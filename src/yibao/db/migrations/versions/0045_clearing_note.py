"""settlement_clearings.note: why a year-end clearing was saved

Saving a clearing fixes each hospital's year-end amount: like every money decision it
takes a reason (清算说明).  Rows saved before this keep none.

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-07 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("settlement_clearings") as batch:
        batch.add_column(sa.Column("note", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("settlement_clearings") as batch:
        batch.drop_column("note")
