"""medical-list catalogue and insured register

The catalogue (医保目录) as versioned data: ``catalogue_versions`` (region, validity,
draft → published) and their ``catalogue_entries`` (code, kind, fee category, class,
先自付 ratio, price caps by hospital level, restrictions as typed JSON).  The insured
register: ``insured_persons`` with ``insured_identities``, ``insured_accounts``, the
annual ``insured_cumulatives`` and the ``insured_postings`` that moved them (ADR 0016).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import yibao.db.base

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TZ = yibao.db.base.TZDateTime(timezone=True)


def _money() -> sa.Numeric[Any]:
    return sa.Numeric(precision=18, scale=2)


def upgrade() -> None:
    op.create_table(
        "catalogue_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("region_name", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=True),
        sa.Column("published_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_versions")),
    )
    op.create_index(
        op.f("ix_catalogue_versions_region_code"), "catalogue_versions", ["region_code"]
    )
    op.create_table(
        "catalogue_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("fee_type", sa.String(length=2), nullable=False),
        sa.Column("chrgitm_lv", sa.String(length=2), nullable=False),
        sa.Column("selfpay_prop", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("cap_lv1", _money(), nullable=True),
        sa.Column("cap_lv2", _money(), nullable=True),
        sa.Column("cap_lv3", _money(), nullable=True),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("spec", sa.String(length=100), nullable=False),
        sa.Column("limit_text", sa.String(length=500), nullable=False),
        sa.Column("restrictions", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["catalogue_versions.id"],
            name=op.f("fk_catalogue_entries_version_id_catalogue_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_entries")),
        sa.UniqueConstraint("version_id", "code", name="uq_catalogue_entries_version_code"),
    )
    op.create_index(op.f("ix_catalogue_entries_version_id"), "catalogue_entries", ["version_id"])
    op.create_table(
        "insured_persons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("psn_no", sa.String(length=30), nullable=False),
        sa.Column("psn_cert_type", sa.String(length=2), nullable=False),
        sa.Column("certno", sa.String(length=18), nullable=False),
        sa.Column("psn_name", sa.String(length=50), nullable=False),
        sa.Column("gend", sa.String(length=1), nullable=False),
        sa.Column("brdy", sa.Date(), nullable=False),
        sa.Column("naty", sa.String(length=2), nullable=False),
        sa.Column("insutype", sa.String(length=3), nullable=False),
        sa.Column("psn_type", sa.String(length=4), nullable=False),
        sa.Column("psn_insu_stas", sa.String(length=1), nullable=False),
        sa.Column("psn_insu_date", sa.Date(), nullable=False),
        sa.Column("paus_insu_date", sa.Date(), nullable=True),
        sa.Column("insuplc_admdvs", sa.String(length=6), nullable=False),
        sa.Column("emp_name", sa.String(length=100), nullable=False),
        sa.Column("cvlserv_flag", sa.String(length=1), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insured_persons")),
        sa.UniqueConstraint("psn_no", name=op.f("uq_insured_persons_psn_no")),
        sa.UniqueConstraint("certno", name=op.f("uq_insured_persons_certno")),
    )
    op.create_index(
        op.f("ix_insured_persons_insuplc_admdvs"), "insured_persons", ["insuplc_admdvs"]
    )
    op.create_table(
        "insured_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("psn_idet_type", sa.String(length=4), nullable=False),
        sa.Column("psn_type_lv", sa.String(length=3), nullable=True),
        sa.Column("begntime", sa.Date(), nullable=False),
        sa.Column("endtime", sa.Date(), nullable=True),
        sa.Column("memo", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["insured_persons.id"],
            name=op.f("fk_insured_identities_person_id_insured_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insured_identities")),
    )
    op.create_index(op.f("ix_insured_identities_person_id"), "insured_identities", ["person_id"])
    op.create_table(
        "insured_accounts",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("balc_e2", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["insured_persons.id"],
            name=op.f("fk_insured_accounts_person_id_insured_persons"),
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_insured_accounts")),
    )
    op.create_table(
        "insured_cumulatives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("cum_type", sa.String(length=20), nullable=False),
        sa.Column("cum_e2", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["insured_persons.id"],
            name=op.f("fk_insured_cumulatives_person_id_insured_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insured_cumulatives")),
        sa.UniqueConstraint(
            "person_id", "year", "cum_type", name="uq_insured_cumulatives_person_year_type"
        ),
    )
    op.create_table(
        "insured_postings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("ref", sa.String(length=50), nullable=False),
        sa.Column("cause", sa.String(length=50), nullable=True),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("hospital_id", sa.Integer(), nullable=True),
        sa.Column("deltas", sa.JSON(), nullable=False),
        sa.Column("acct_pay", _money(), nullable=False),
        sa.Column("balc_after", _money(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["hospital_id"],
            ["hospitals.id"],
            name=op.f("fk_insured_postings_hospital_id_hospitals"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["insured_persons.id"],
            name=op.f("fk_insured_postings_person_id_insured_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["insured_postings.id"],
            name=op.f("fk_insured_postings_reverses_id_insured_postings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insured_postings")),
        sa.UniqueConstraint("kind", "ref", name="uq_insured_postings_kind_ref"),
    )
    op.create_index(op.f("ix_insured_postings_person_id"), "insured_postings", ["person_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_insured_postings_person_id"), table_name="insured_postings")
    op.drop_table("insured_postings")
    op.drop_table("insured_cumulatives")
    op.drop_table("insured_accounts")
    op.drop_index(op.f("ix_insured_identities_person_id"), table_name="insured_identities")
    op.drop_table("insured_identities")
    op.drop_index(op.f("ix_insured_persons_insuplc_admdvs"), table_name="insured_persons")
    op.drop_table("insured_persons")
    op.drop_index(op.f("ix_catalogue_entries_version_id"), table_name="catalogue_entries")
    op.drop_table("catalogue_entries")
    op.drop_index(op.f("ix_catalogue_versions_region_code"), table_name="catalogue_versions")
    op.drop_table("catalogue_versions")
