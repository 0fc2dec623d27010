"""exchange_settlements: one live settlement per inpatient stay, per batch outpatient

An outpatient visit is settled once per charge batch (门诊分次结算, ADR 0044): the
partial unique index that allowed one live settlement per visit now holds for
inpatient stays only.  Each fee line is still settled once (its state changes under
the visit's row lock).

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None

NAME = "uq_exchange_settlements_live_visit"


def _create(where: str) -> None:
    op.create_index(
        NAME,
        "exchange_settlements",
        ["visit_id"],
        unique=True,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def upgrade() -> None:
    op.drop_index(NAME, table_name="exchange_settlements")
    _create("state = 'settled' AND kind = 'ipt'")


def downgrade() -> None:
    op.drop_index(NAME, table_name="exchange_settlements")
    _create("state = 'settled'")
