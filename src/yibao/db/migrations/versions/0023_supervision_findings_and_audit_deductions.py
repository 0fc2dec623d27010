"""supervision findings and audit deductions

supervision_findings (post-audit findings by jr_id, with their workflow state),
supervision_finding_events, supervision_finding_attachments, and
settlement_audit_deductions (one per decided finding, in a monthly statement).
Issue 13 items 5–6, ADR 0024.  Chained after 0021 for now; 0022 (real-time audit
storage) is written in parallel and the chain is fixed when both are merged.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 00:38:24.286095
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibao.db.base


revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supervision_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jr_id", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("rule_id", sa.String(length=40), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("rule_name", sa.String(length=200), nullable=False),
        sa.Column("family", sa.String(length=30), nullable=False),
        sa.Column("result_type", sa.String(length=12), nullable=False),
        sa.Column("sev_deg", sa.SmallInteger(), nullable=False),
        sa.Column("hospital_code", sa.String(length=12), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("psn_no", sa.String(length=30), nullable=False),
        sa.Column("mdtrt_id", sa.String(length=40), nullable=False),
        sa.Column("vola_cont", sa.Text(), nullable=False),
        sa.Column("vola_evid", sa.Text(), nullable=False),
        sa.Column("vola_amt", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("found_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_job_id", sa.Integer(), nullable=True),
        sa.Column("published_at", yibao.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.String(length=100), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("answer_reason", sa.String(length=2000), nullable=True),
        sa.Column("answered_at", yibao.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=100), nullable=True),
        sa.Column("first_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("first_reason", sa.String(length=1000), nullable=True),
        sa.Column("first_at", yibao.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("first_by_id", sa.Integer(), nullable=True),
        sa.Column("first_by", sa.String(length=100), nullable=True),
        sa.Column("second_request", sa.String(length=2000), nullable=True),
        sa.Column("second_requested_at", yibao.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("second_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("second_reason", sa.String(length=1000), nullable=True),
        sa.Column("second_at", yibao.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("second_by", sa.String(length=100), nullable=True),
        sa.Column("final_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("final_kind", sa.String(length=16), nullable=True),
        sa.Column("final_on", sa.Date(), nullable=True),
        sa.Column("deducted_period", sa.String(length=7), nullable=True),
        sa.Column("updated_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.CheckConstraint(
            "final_amount is null or (final_amount >= 0 and final_amount <= vola_amt)",
            name=op.f("ck_supervision_findings_final_amount"),
        ),
        sa.CheckConstraint("vola_amt >= 0", name=op.f("ck_supervision_findings_vola_amt")),
        sa.ForeignKeyConstraint(
            ["hospital_id"],
            ["hospitals.id"],
            name=op.f("fk_supervision_findings_hospital_id_hospitals"),
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_supervision_findings_job_id_jobs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_findings")),
        sa.UniqueConstraint("jr_id", name=op.f("uq_supervision_findings_jr_id")),
    )
    with op.batch_alter_table("supervision_findings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_supervision_findings_deadline", ["state", "deadline"], unique=False
        )
        batch_op.create_index(
            "ix_supervision_findings_hospital_state", ["hospital_id", "state"], unique=False
        )
        batch_op.create_index(
            "ix_supervision_findings_region_period",
            ["region_code", "period", "state"],
            unique=False,
        )

    op.create_table(
        "settlement_audit_deductions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("jr_id", sa.String(length=40), nullable=False),
        sa.Column("rule_id", sa.String(length=40), nullable=False),
        sa.Column("hospital_code", sa.String(length=12), nullable=False),
        sa.Column("period_code", sa.String(length=7), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_settlement_audit_deductions_amount")),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["supervision_findings.id"],
            name=op.f("fk_settlement_audit_deductions_finding_id_supervision_findings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["hospital_id"],
            ["hospitals.id"],
            name=op.f("fk_settlement_audit_deductions_hospital_id_hospitals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_audit_deductions")),
        sa.UniqueConstraint("finding_id", name=op.f("uq_settlement_audit_deductions_finding_id")),
    )
    with op.batch_alter_table("settlement_audit_deductions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_settlement_audit_deductions_period", ["region_code", "period_code"], unique=False
        )

    op.create_table(
        "supervision_finding_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("side", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=True),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("created_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["supervision_findings.id"],
            name=op.f("fk_supervision_finding_events_finding_id_supervision_findings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["hospital_id"],
            ["hospitals.id"],
            name=op.f("fk_supervision_finding_events_hospital_id_hospitals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_finding_events")),
    )
    with op.batch_alter_table("supervision_finding_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supervision_finding_events_finding_id"), ["finding_id"], unique=False
        )

    op.create_table(
        "supervision_finding_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("uploaded_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["supervision_finding_events.id"],
            name=op.f("fk_supervision_finding_attachments_event_id_supervision_finding_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["supervision_findings.id"],
            name=op.f("fk_supervision_finding_attachments_finding_id_supervision_findings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["hospital_id"],
            ["hospitals.id"],
            name=op.f("fk_supervision_finding_attachments_hospital_id_hospitals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_finding_attachments")),
    )
    with op.batch_alter_table("supervision_finding_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supervision_finding_attachments_finding_id"),
            ["finding_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("supervision_finding_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supervision_finding_attachments_finding_id"))

    op.drop_table("supervision_finding_attachments")
    with op.batch_alter_table("supervision_finding_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supervision_finding_events_finding_id"))

    op.drop_table("supervision_finding_events")
    with op.batch_alter_table("settlement_audit_deductions", schema=None) as batch_op:
        batch_op.drop_index("ix_settlement_audit_deductions_period")

    op.drop_table("settlement_audit_deductions")
    with op.batch_alter_table("supervision_findings", schema=None) as batch_op:
        batch_op.drop_index("ix_supervision_findings_region_period")
        batch_op.drop_index("ix_supervision_findings_hospital_state")
        batch_op.drop_index("ix_supervision_findings_deadline")

    op.drop_table("supervision_findings")
