"""analysis_dip_years

DIP performance per hospital and year for the decision-analysis reports (issue 15
item 2, ADR 0037).

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analysis_dip_years",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hospital_code", sa.String(length=12), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("grouped", sa.Integer(), nullable=False),
        sa.Column("groups", sa.Integer(), nullable=False),
        sa.Column("total_score", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("low", sa.Integer(), nullable=False),
        sa.Column("high", sa.Integer(), nullable=False),
        sa.Column("extreme", sa.Integer(), nullable=False),
        sa.Column("total_cost", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("payment", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["hospital_id"],
            ["hospitals.id"],
            name=op.f("fk_analysis_dip_years_hospital_id_hospitals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_dip_years")),
        sa.UniqueConstraint(
            "hospital_id", "year", name=op.f("uq_analysis_dip_years_hospital_id_year")
        ),
    )


def downgrade() -> None:
    op.drop_table("analysis_dip_years")
