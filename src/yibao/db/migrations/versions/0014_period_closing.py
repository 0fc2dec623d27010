"""periods close by hand: lists carried to the next period or closed out

A month whose lists were all confirmed except those held by QC or returned stayed
未结算 forever.  A reviewer now closes such a period: the open lists are carried to the
next period (``settlement_lists.carried_to``) or closed out with a reason (state
``closed_out``); the period records who closed it, why, and the counts.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibao.db.base

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("settlement_lists", schema=None) as batch_op:
        batch_op.add_column(sa.Column("carried_to", sa.String(length=7), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_settlement_lists_carried_to"), ["carried_to"], unique=False
        )
    with op.batch_alter_table("settlement_periods", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("closed_at", yibao.db.base.TZDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("closed_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("closed_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("carried", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("closed_out", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("settlement_periods", schema=None) as batch_op:
        batch_op.drop_column("closed_out")
        batch_op.drop_column("carried")
        batch_op.drop_column("closed_reason")
        batch_op.drop_column("closed_by")
        batch_op.drop_column("closed_at")
    with op.batch_alter_table("settlement_lists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settlement_lists_carried_to"))
        batch_op.drop_column("carried_to")
