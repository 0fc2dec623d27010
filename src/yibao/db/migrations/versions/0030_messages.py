"""messages

message_threads, messages, message_reads: the message centre between a bureau and
its hospitals (issue 15 item 4, ADR 0035).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibao.db.base

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_threads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("hospital_code", sa.String(length=12), nullable=True),
        sa.Column("audience", sa.String(length=4000), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("about_kind", sa.String(length=20), nullable=True),
        sa.Column("about_id", sa.Integer(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", yibao.db.base.TZDateTime(), nullable=False),
        sa.Column("last_at", yibao.db.base.TZDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_message_threads_region_code", "message_threads", ["region_code"])
    op.create_index("ix_message_threads_hospital_code", "message_threads", ["hospital_code"])
    op.create_index("ix_message_threads_last_at", "message_threads", ["last_at"])
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=10), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("body", sa.String(length=4000), nullable=False),
        sa.Column("created_at", yibao.db.base.TZDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["thread_id"], ["message_threads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_messages_thread_id", "messages", ["thread_id"])
    op.create_table(
        "message_reads",
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("read_at", yibao.db.base.TZDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["thread_id"], ["message_threads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("thread_id", "user_id"),
    )


def downgrade() -> None:
    op.drop_table("message_reads")
    op.drop_index("ix_messages_thread_id", table_name="messages")
    op.drop_table("messages")
    op.drop_index("ix_message_threads_last_at", table_name="message_threads")
    op.drop_index("ix_message_threads_hospital_code", table_name="message_threads")
    op.drop_index("ix_message_threads_region_code", table_name="message_threads")
    op.drop_table("message_threads")
