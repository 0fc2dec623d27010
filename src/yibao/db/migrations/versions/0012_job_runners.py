"""jobs name their runner and carry a heartbeat

Several web processes (``yibao serve --workers N``, several hosts) share one
database.  A process that starts used to mark every queued or running job failed,
including the jobs of the other processes.  Now each job names the runner that
queued or runs it (``host:pid:token``) and that runner renews ``heartbeat_at``;
only jobs of runners that are gone are failed.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibao.db.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("runner", sa.String(length=80), nullable=True))
        batch_op.add_column(
            sa.Column("heartbeat_at", yibao.db.base.TZDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("runner")
