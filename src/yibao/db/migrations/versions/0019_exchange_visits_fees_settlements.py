"""transaction gateway visits, fee details and settlements

``exchange_identified`` (persons an institution identified with 1101),
``exchange_visits`` (2401 stays, 2201 outpatient visits), ``exchange_fees`` (2301 /
2204 lines classified against the catalogue) and ``exchange_settlements`` (2304 /
2207 and their reversals; at most one live settlement per visit: a partial unique
index).  Issue 12, ADR 0017.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 21:18:28.288430
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibao.db.base


revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_identified",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("first_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("last_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["hospital_id"],
            ["hospitals.id"],
            name=op.f("fk_exchange_identified_hospital_id_hospitals"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["insured_persons.id"],
            name=op.f("fk_exchange_identified_person_id_insured_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_identified")),
        sa.UniqueConstraint(
            "hospital_id", "person_id", name=op.f("uq_exchange_identified_hospital_id_person_id")
        ),
    )
    op.create_table(
        "exchange_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mdtrt_id", sa.String(length=30), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("psn_no", sa.String(length=30), nullable=False),
        sa.Column("insutype", sa.String(length=6), nullable=False),
        sa.Column("med_type", sa.String(length=6), nullable=False),
        sa.Column("ipt_otp_no", sa.String(length=30), nullable=False),
        sa.Column("mdtrt_cert_type", sa.String(length=3), nullable=False),
        sa.Column("insuplc_admdvs", sa.String(length=6), nullable=False),
        sa.Column("mdtrtarea_admvs", sa.String(length=6), nullable=False),
        sa.Column("begntime", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("endtime", yibao.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("dept_code", sa.String(length=30), nullable=False),
        sa.Column("dept_name", sa.String(length=100), nullable=False),
        sa.Column("diag_code", sa.String(length=30), nullable=False),
        sa.Column("diag_name", sa.String(length=200), nullable=False),
        sa.Column("dscg_way", sa.String(length=3), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["hospital_id"], ["hospitals.id"], name=op.f("fk_exchange_visits_hospital_id_hospitals")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["exchange_messages.id"],
            name=op.f("fk_exchange_visits_message_id_exchange_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["insured_persons.id"],
            name=op.f("fk_exchange_visits_person_id_insured_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_visits")),
        sa.UniqueConstraint("mdtrt_id", name=op.f("uq_exchange_visits_mdtrt_id")),
    )
    with op.batch_alter_table("exchange_visits", schema=None) as batch_op:
        batch_op.create_index(
            "ix_exchange_visits_hospital_begntime", ["hospital_id", "begntime"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_exchange_visits_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "exchange_settlements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("setl_id", sa.String(length=30), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("psn_no", sa.String(length=30), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("insutype", sa.String(length=6), nullable=False),
        sa.Column("clr_type", sa.String(length=6), nullable=False),
        sa.Column("insuplc_admdvs", sa.String(length=6), nullable=False),
        sa.Column("mdtrtarea_admvs", sa.String(length=6), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("policy_key", sa.String(length=60), nullable=False),
        sa.Column("msgid", sa.String(length=50), nullable=True),
        sa.Column("setl_time", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("clr_month", sa.String(length=6), nullable=False),
        sa.Column("medfee_sumamt", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("fund_pay_sumamt", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("hifp_pay", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("psn_part_amt", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("acct_pay", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("psn_cash_pay", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("setlinfo", sa.JSON(), nullable=False),
        sa.Column("setldetail", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("reversal_setl_id", sa.String(length=30), nullable=True),
        sa.Column("reversed_at", yibao.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("reversal_msgid", sa.String(length=50), nullable=True),
        sa.Column("reversal_infno", sa.String(length=10), nullable=True),
        sa.Column("reversal_month", sa.String(length=6), nullable=True),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["hospital_id"],
            ["hospitals.id"],
            name=op.f("fk_exchange_settlements_hospital_id_hospitals"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["exchange_messages.id"],
            name=op.f("fk_exchange_settlements_message_id_exchange_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["insured_persons.id"],
            name=op.f("fk_exchange_settlements_person_id_insured_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["exchange_visits.id"],
            name=op.f("fk_exchange_settlements_visit_id_exchange_visits"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_settlements")),
        sa.UniqueConstraint("setl_id", name=op.f("uq_exchange_settlements_setl_id")),
    )
    with op.batch_alter_table("exchange_settlements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_exchange_settlements_clearing", ["clr_month", "insuplc_admdvs"], unique=False
        )
        batch_op.create_index(
            "ix_exchange_settlements_hospital_time", ["hospital_id", "setl_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_exchange_settlements_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            "uq_exchange_settlements_live_visit",
            ["visit_id"],
            unique=True,
            sqlite_where=sa.text("state = 'settled'"),
            postgresql_where=sa.text("state = 'settled'"),
        )

    op.create_table(
        "exchange_fees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("feedetl_sn", sa.String(length=30), nullable=False),
        sa.Column("chrg_bchno", sa.String(length=30), nullable=True),
        sa.Column("med_list_codg", sa.String(length=30), nullable=False),
        sa.Column("medins_list_codg", sa.String(length=150), nullable=True),
        sa.Column("fee_ocur_time", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("cnt", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("pric", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("det_item_fee_sumamt", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("fulamt_ownpay_amt", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("overlmt_amt", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("preselfpay_amt", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("inscp_scp_amt", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("chrgitm_lv", sa.String(length=3), nullable=False),
        sa.Column("med_chrgitm_type", sa.String(length=6), nullable=False),
        sa.Column("selfpay_prop", sa.Numeric(precision=6, scale=4), nullable=False),
        sa.Column("pric_uplmt_amt", sa.Numeric(precision=18, scale=6), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("settlement_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["hospital_id"], ["hospitals.id"], name=op.f("fk_exchange_fees_hospital_id_hospitals")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["exchange_messages.id"],
            name=op.f("fk_exchange_fees_message_id_exchange_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["exchange_settlements.id"],
            name=op.f("fk_exchange_fees_settlement_id_exchange_settlements"),
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["exchange_visits.id"],
            name=op.f("fk_exchange_fees_visit_id_exchange_visits"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_fees")),
        sa.UniqueConstraint(
            "visit_id", "feedetl_sn", name=op.f("uq_exchange_fees_visit_id_feedetl_sn")
        ),
    )


def downgrade() -> None:
    op.drop_table("exchange_fees")
    with op.batch_alter_table("exchange_settlements", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_exchange_settlements_live_visit",
            sqlite_where=sa.text("state = 'settled'"),
            postgresql_where=sa.text("state = 'settled'"),
        )
        batch_op.drop_index(batch_op.f("ix_exchange_settlements_person_id"))
        batch_op.drop_index("ix_exchange_settlements_hospital_time")
        batch_op.drop_index("ix_exchange_settlements_clearing")

    op.drop_table("exchange_settlements")
    with op.batch_alter_table("exchange_visits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_visits_person_id"))
        batch_op.drop_index("ix_exchange_visits_hospital_begntime")

    op.drop_table("exchange_visits")
    op.drop_table("exchange_identified")
