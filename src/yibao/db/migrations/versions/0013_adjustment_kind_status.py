"""settlement adjustments: kind (deduct / add), status and the second reviewer

A reviewer's adjustment could raise a list's payment without bound.  Adjustments now
say whether they deduct or add, and carry a status: ``pending`` ones wait for a
second reviewer (beyond the configured share of the list's payment), ``rejected``
and ``reverted`` ones stay as records; only ``effective`` ones are paid.  Existing
rows are effective deductions.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibao.db.base

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("settlement_adjustments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=10), server_default="deduct", nullable=False)
        )
        batch_op.add_column(
            sa.Column("status", sa.String(length=10), server_default="effective", nullable=False)
        )
        batch_op.add_column(sa.Column("decided_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("decided_by_name", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("decided_at", yibao.db.base.TZDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("decision_reason", sa.String(length=500), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_settlement_adjustments_status"), ["status"], unique=False
        )
    op.execute(
        "UPDATE settlement_adjustments SET kind = 'add' WHERE adjusted_payment > original_payment"
    )


def downgrade() -> None:
    with op.batch_alter_table("settlement_adjustments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settlement_adjustments_status"))
        batch_op.drop_column("decision_reason")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decided_by_name")
        batch_op.drop_column("decided_by_id")
        batch_op.drop_column("status")
        batch_op.drop_column("kind")
