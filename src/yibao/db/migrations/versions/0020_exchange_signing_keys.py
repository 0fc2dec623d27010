"""exchange signing keys

``exchange_keys``: an institution's message-signing keys (HMAC-SM3, ``cainfo``), at
most one active per institution (a partial unique index).  Issue 12 item 8, ADR 0019.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 21:26:05.297138
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibao.db.base


revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=30), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("revoked_at", yibao.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=100), nullable=True),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["hospital_id"], ["hospitals.id"], name=op.f("fk_exchange_keys_hospital_id_hospitals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_exchange_keys_key_id")),
    )
    with op.batch_alter_table("exchange_keys", schema=None) as batch_op:
        batch_op.create_index(
            "uq_exchange_keys_active_hospital",
            ["hospital_id"],
            unique=True,
            sqlite_where=sa.text("active = 1"),
            postgresql_where=sa.text("active = true"),
        )


def downgrade() -> None:
    with op.batch_alter_table("exchange_keys", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_exchange_keys_active_hospital",
            sqlite_where=sa.text("active = 1"),
            postgresql_where=sa.text("active = true"),
        )

    op.drop_table("exchange_keys")
