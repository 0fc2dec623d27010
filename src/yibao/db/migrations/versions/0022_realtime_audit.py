"""real-time audit: requests, findings, feedback

audit_requests (every 3101/3102 request with its answer, rule-set version and
totals), audit_findings (one row per finding), audit_feedback (3103);
exchange_fees.prd_days (用药周期天数, days a drug line lasts) and an index on
exchange_visits (psn_no, begntime) for a person's history.  Issue 13 item 4,
ADR 0023.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 00:42:37.084750
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibao.db.base


revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=32), nullable=False),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column("infno", sa.String(length=4), nullable=False),
        sa.Column("stage", sa.String(length=4), nullable=False),
        sa.Column("trig_scen", sa.Integer(), nullable=True),
        sa.Column("rule_ids", sa.JSON(), nullable=True),
        sa.Column("syscode", sa.String(length=20), nullable=True),
        sa.Column("psn_no", sa.String(length=50), nullable=False),
        sa.Column("mdtrt_id", sa.String(length=50), nullable=False),
        sa.Column("admdvs", sa.String(length=6), nullable=False),
        sa.Column("rule_set_id", sa.Integer(), nullable=False),
        sa.Column("rule_set_version", sa.Integer(), nullable=False),
        sa.Column("knowledge_id", sa.Integer(), nullable=True),
        sa.Column("findings", sa.Integer(), nullable=False),
        sa.Column("vola_amt", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("received_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("msgid", sa.String(length=50), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["hospital_id"], ["hospitals.id"], name=op.f("fk_audit_requests_hospital_id_hospitals")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["exchange_messages.id"],
            name=op.f("fk_audit_requests_message_id_exchange_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_audit_requests_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_requests")),
        sa.UniqueConstraint("task_id", name=op.f("uq_audit_requests_task_id")),
    )
    with op.batch_alter_table("audit_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_requests_hospital_received", ["hospital_id", "received_at"], unique=False
        )
        batch_op.create_index("ix_audit_requests_psn_no", ["psn_no"], unique=False)
        batch_op.create_index(
            "ix_audit_requests_region_received", ["region_code", "received_at"], unique=False
        )

    op.create_table(
        "audit_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("jr_id", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=40), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("rule_name", sa.String(length=100), nullable=False),
        sa.Column("vola_bhvr_type", sa.String(length=20), nullable=False),
        sa.Column("result_type", sa.String(length=12), nullable=False),
        sa.Column("sev_deg", sa.Integer(), nullable=False),
        sa.Column("vola_amt", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("vola_cont", sa.String(length=2000), nullable=False),
        sa.Column("stage", sa.String(length=4), nullable=False),
        sa.Column("psn_no", sa.String(length=50), nullable=False),
        sa.Column("mdtrt_id", sa.String(length=50), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("received_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["hospital_id"], ["hospitals.id"], name=op.f("fk_audit_findings_hospital_id_hospitals")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["audit_requests.id"],
            name=op.f("fk_audit_findings_request_id_audit_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_findings")),
    )
    with op.batch_alter_table("audit_findings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_findings_hospital_jr", ["hospital_id", "jr_id"], unique=False
        )
        batch_op.create_index(
            "ix_audit_findings_region_rule", ["region_code", "rule_id", "received_at"], unique=False
        )
        batch_op.create_index("ix_audit_findings_request", ["request_id"], unique=False)

    op.create_table(
        "audit_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("jr_id", sa.String(length=32), nullable=False),
        sa.Column("warn_type", sa.String(length=1), nullable=False),
        sa.Column("dspo_way", sa.String(length=1), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("opter", sa.String(length=100), nullable=False),
        sa.Column("received_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column("msgid", sa.String(length=50), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["audit_findings.id"],
            name=op.f("fk_audit_feedback_finding_id_audit_findings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["hospital_id"], ["hospitals.id"], name=op.f("fk_audit_feedback_hospital_id_hospitals")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["exchange_messages.id"],
            name=op.f("fk_audit_feedback_message_id_exchange_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["audit_requests.id"],
            name=op.f("fk_audit_feedback_request_id_audit_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_audit_feedback_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_feedback")),
    )
    with op.batch_alter_table("audit_feedback", schema=None) as batch_op:
        batch_op.create_index("ix_audit_feedback_finding", ["finding_id"], unique=False)

    with op.batch_alter_table("exchange_fees", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prd_days", sa.Numeric(precision=6, scale=2), nullable=True))

    with op.batch_alter_table("exchange_visits", schema=None) as batch_op:
        batch_op.create_index(
            "ix_exchange_visits_psn_no_begntime", ["psn_no", "begntime"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("exchange_visits", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_visits_psn_no_begntime")

    with op.batch_alter_table("exchange_fees", schema=None) as batch_op:
        batch_op.drop_column("prd_days")

    with op.batch_alter_table("audit_feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_feedback_finding")

    op.drop_table("audit_feedback")
    with op.batch_alter_table("audit_findings", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_findings_request")
        batch_op.drop_index("ix_audit_findings_region_rule")
        batch_op.drop_index("ix_audit_findings_hospital_jr")

    op.drop_table("audit_findings")
    with op.batch_alter_table("audit_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_requests_region_received")
        batch_op.drop_index("ix_audit_requests_psn_no")
        batch_op.drop_index("ix_audit_requests_hospital_received")

    op.drop_table("audit_requests")
