"""dip simulations

dip_simulations (a year of the region's cases paid under a DIP catalogue, run as a
job) and dip_simulation_hospitals (per hospital: cases, deviation cases, cost, score,
payment, balance); dip_groups.level_costs (each level's mean cost in the newest history
year, the deviation standard). Issue 14 item 6, ADR 0029.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 11:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibao.db.base

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dip_groups", sa.Column("level_costs", sa.JSON(), nullable=True))
    op.create_table(
        "dip_simulations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("catalogue_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("point_value", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("created_by", sa.String(length=50), nullable=False),
        sa.Column("created_at", yibao.db.base.TZDateTime(), nullable=False),
        sa.Column("finished_at", yibao.db.base.TZDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["catalogue_id"], ["dip_catalogues.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dip_simulations_catalogue_id", "dip_simulations", ["catalogue_id"])
    op.create_index("ix_dip_simulations_region_code", "dip_simulations", ["region_code"])
    op.create_table(
        "dip_simulation_hospitals",
        sa.Column("simulation_id", sa.Integer(), nullable=False),
        sa.Column("hospital_code", sa.String(length=12), nullable=False),
        sa.Column("hospital_level", sa.String(length=1), nullable=False),
        sa.Column("coefficient", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("by_items", sa.Integer(), nullable=False),
        sa.Column("low", sa.Integer(), nullable=False),
        sa.Column("high", sa.Integer(), nullable=False),
        sa.Column("extreme", sa.Integer(), nullable=False),
        sa.Column("total_cost", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("total_score", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("payment", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("balance", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.ForeignKeyConstraint(["simulation_id"], ["dip_simulations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("simulation_id", "hospital_code"),
    )


def downgrade() -> None:
    op.drop_table("dip_simulation_hospitals")
    op.drop_index("ix_dip_simulations_region_code", table_name="dip_simulations")
    op.drop_index("ix_dip_simulations_catalogue_id", table_name="dip_simulations")
    op.drop_table("dip_simulations")
    op.drop_column("dip_groups", "level_costs")
