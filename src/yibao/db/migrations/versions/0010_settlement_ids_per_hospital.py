"""settlement ids are unique per hospital, not across all hospitals

A hospital's settlement id (setl_id) is its own: another hospital posting the same id
must neither take it, nor block the owner's lists, nor learn that it exists (issue 9).
``cases.setl_id`` was unique across the database; it becomes unique per
``(hospital_id, setl_id)`` — as ``settlement_lists`` already was — with a plain index on
``setl_id`` for look-ups.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 16:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint("uq_cases_setl_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_cases_hospital_id_setl_id", ["hospital_id", "setl_id"]
        )
        batch_op.create_index("ix_cases_setl_id", ["setl_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_setl_id")
        batch_op.drop_constraint("uq_cases_hospital_id_setl_id", type_="unique")
        batch_op.create_unique_constraint("uq_cases_setl_id", ["setl_id"])
