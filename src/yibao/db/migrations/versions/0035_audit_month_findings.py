"""analysis_audit_months.rt_findings

The real-time audits' findings per hospital and month, so the map reads the year's
audit figures from the summaries (issue 15 item 6, ADR 0037). Filled at the next
refresh.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-06 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("analysis_audit_months") as batch:
        batch.add_column(sa.Column("rt_findings", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("analysis_audit_months") as batch:
        batch.drop_column("rt_findings")
