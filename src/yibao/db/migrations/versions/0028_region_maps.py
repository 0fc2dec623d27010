"""region maps

region_maps: a region's boundary GeoJSON (its child regions) uploaded by a bureau;
the newest row is in force. Issue 15 item 3, ADR 0033.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibao.db.base

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "region_maps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("geojson", sa.JSON(), nullable=False),
        sa.Column("features", sa.Integer(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", yibao.db.base.TZDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_region_maps_region_code", "region_maps", ["region_code"])


def downgrade() -> None:
    op.drop_index("ix_region_maps_region_code", table_name="region_maps")
    op.drop_table("region_maps")
