"""dip schemes

dip_schemes (the published DIP catalogue a region settles by, with its budget point
value, coefficients and validity); case_pricings.drg and settlement_confirmations.drg
widened to hold a DIP group code (diagnosis category + procedures). Issue 14 item 6,
ADR 0030.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibao.db.base

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dip_schemes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("catalogue_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("point_value", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_by", sa.String(length=50), nullable=False),
        sa.Column("created_at", yibao.db.base.TZDateTime(), nullable=False),
        sa.Column("published_by", sa.String(length=50), nullable=True),
        sa.Column("published_at", yibao.db.base.TZDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["catalogue_id"], ["dip_catalogues.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dip_schemes_region_code", "dip_schemes", ["region_code"])
    op.create_index("ix_dip_schemes_catalogue_id", "dip_schemes", ["catalogue_id"])
    _widen(10, 400)


def _widen(before: int, after: int) -> None:
    """SQLite does not enforce a VARCHAR length: only other databases alter the column
    (no table rebuild of the settled cases on the embedded default)."""
    if op.get_bind().dialect.name == "sqlite":
        return
    for table in ("case_pricings", "settlement_confirmations"):
        op.alter_column(
            table, "drg", existing_type=sa.String(length=before), type_=sa.String(length=after)
        )


def downgrade() -> None:
    _widen(400, 10)
    op.drop_index("ix_dip_schemes_catalogue_id", table_name="dip_schemes")
    op.drop_index("ix_dip_schemes_region_code", table_name="dip_schemes")
    op.drop_table("dip_schemes")
