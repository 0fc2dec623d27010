"""transaction gateway: message journal and sign-ins

The gateway (issue 12, ADR 0015) journals every message and its response in
``exchange_messages``, unique per institution and msgid (a retry gets the stored
response; of parallel retries only one inserts), and keeps the sign-ins (9001) whose
sign_no later messages carry in ``exchange_sign_ins``.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibao.db.base

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("msgid", sa.String(length=50), nullable=True),
        sa.Column("infno", sa.String(length=10), nullable=True),
        sa.Column("sign_no", sa.String(length=30), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("infcode", sa.Integer(), nullable=False),
        sa.Column("inf_refmsgid", sa.String(length=30), nullable=False),
        sa.Column("err_msg", sa.String(length=200), nullable=True),
        sa.Column("warn_msg", sa.String(length=500), nullable=True),
        sa.Column("received_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["hospital_id"],
            ["hospitals.id"],
            name=op.f("fk_exchange_messages_hospital_id_hospitals"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_exchange_messages_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_messages")),
        sa.UniqueConstraint(
            "hospital_id", "msgid", name=op.f("uq_exchange_messages_hospital_id_msgid")
        ),
    )
    with op.batch_alter_table("exchange_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_exchange_messages_received_at", ["received_at", "id"], unique=False
        )
    op.create_table(
        "exchange_sign_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sign_no", sa.String(length=30), nullable=False),
        sa.Column("opter_no", sa.String(length=20), nullable=False),
        sa.Column("mac", sa.String(length=20), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("signed_in_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", yibao.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("signed_out_at", yibao.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["hospital_id"],
            ["hospitals.id"],
            name=op.f("fk_exchange_sign_ins_hospital_id_hospitals"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["exchange_messages.id"],
            name=op.f("fk_exchange_sign_ins_message_id_exchange_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_sign_ins")),
        sa.UniqueConstraint("sign_no", name=op.f("uq_exchange_sign_ins_sign_no")),
    )


def downgrade() -> None:
    op.drop_table("exchange_sign_ins")
    with op.batch_alter_table("exchange_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_messages_received_at")
    op.drop_table("exchange_messages")
