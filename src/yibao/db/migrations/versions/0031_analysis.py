"""analysis

analysis_* summary tables of the decision-analysis reports and dashboards, and the
regions' yearly fund budgets (issue 15 items 2 and 6, ADR 0037).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 16:06:11.072277
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibao.db.base

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analysis_fund_budgets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.Column("set_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_fund_budgets")),
        sa.UniqueConstraint(
            "region_code", "year", name=op.f("uq_analysis_fund_budgets_region_code_year")
        ),
    )
    op.create_table(
        "analysis_states",
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("refreshed_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("refreshed_by", sa.String(length=100), nullable=False),
        sa.Column("case_watermark", sa.Integer(), nullable=False),
        sa.Column("audit_watermark", sa.Integer(), nullable=False),
        sa.Column("confirmation_watermark", sa.Integer(), nullable=False),
        sa.Column("weight_plan_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("region_code", name=op.f("pk_analysis_states")),
    )
    op.create_table(
        "analysis_audit_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hospital_code", sa.String(length=12), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("audits", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Integer(), nullable=False),
        sa.Column("vola_amt", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("findings", sa.Integer(), nullable=False),
        sa.Column("finding_amt", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("deducted", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["hospital_id"],
            ["hospitals.id"],
            name=op.f("fk_analysis_audit_months_hospital_id_hospitals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_audit_months")),
        sa.UniqueConstraint(
            "hospital_id", "month", name=op.f("uq_analysis_audit_months_hospital_id_month")
        ),
    )
    op.create_table(
        "analysis_case_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hospital_code", sa.String(length=12), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("insutype", sa.String(length=3), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("deaths", sa.Integer(), nullable=False),
        sa.Column("los_days", sa.Integer(), nullable=False),
        sa.Column("total_cost", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("fund_payment", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("self_pay", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("drug_cost", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("material_cost", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("exam_cost", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["hospital_id"],
            ["hospitals.id"],
            name=op.f("fk_analysis_case_months_hospital_id_hospitals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_case_months")),
        sa.UniqueConstraint(
            "hospital_id",
            "month",
            "insutype",
            name=op.f("uq_analysis_case_months_hospital_id_month_insutype"),
        ),
    )
    with op.batch_alter_table("analysis_case_months", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analysis_case_months_region_month", ["region_code", "month"], unique=False
        )

    op.create_table(
        "analysis_drg_years",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hospital_code", sa.String(length=12), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("plan_id", sa.String(length=40), nullable=False),
        sa.Column("weight_plan_id", sa.Integer(), nullable=False),
        sa.Column("cases_all", sa.Integer(), nullable=False),
        sa.Column("grouped", sa.Integer(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("drgs", sa.Integer(), nullable=False),
        sa.Column("total_weight", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("cmi", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("cost_index", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("time_index", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("low_risk_cases", sa.Integer(), nullable=False),
        sa.Column("low_risk_deaths", sa.Integer(), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["hospital_id"],
            ["hospitals.id"],
            name=op.f("fk_analysis_drg_years_hospital_id_hospitals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_drg_years")),
        sa.UniqueConstraint(
            "hospital_id", "year", name=op.f("uq_analysis_drg_years_hospital_id_year")
        ),
    )
    op.create_table(
        "analysis_fund_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hospital_code", sa.String(length=12), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("fund_total", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("deductions", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("audit_deductions", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("settlement_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["hospital_id"],
            ["hospitals.id"],
            name=op.f("fk_analysis_fund_months_hospital_id_hospitals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_fund_months")),
        sa.UniqueConstraint(
            "hospital_id", "period", name=op.f("uq_analysis_fund_months_hospital_id_period")
        ),
    )
    op.create_table(
        "analysis_item_years",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hospital_code", sa.String(length=12), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("item_code", sa.String(length=30), nullable=False),
        sa.Column("item_type", sa.String(length=6), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["hospital_id"],
            ["hospitals.id"],
            name=op.f("fk_analysis_item_years_hospital_id_hospitals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_item_years")),
    )
    with op.batch_alter_table("analysis_item_years", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analysis_item_years_region_year", ["region_code", "year"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("analysis_item_years", schema=None) as batch_op:
        batch_op.drop_index("ix_analysis_item_years_region_year")

    op.drop_table("analysis_item_years")
    op.drop_table("analysis_fund_months")
    op.drop_table("analysis_drg_years")
    with op.batch_alter_table("analysis_case_months", schema=None) as batch_op:
        batch_op.drop_index("ix_analysis_case_months_region_month")

    op.drop_table("analysis_case_months")
    op.drop_table("analysis_audit_months")
    op.drop_table("analysis_states")
    op.drop_table("analysis_fund_budgets")
