"""settlement lists: raw message kept once (in the versions), discharge month, setl_id index

* Earlier versions stored each received message as a JSON *string* holding the JSON
  text (encoded twice).  This turns those values back into the objects they encode.
* The message was stored twice: on the list and on its version.  The version keeps
  it; the list keeps the discharge month (``YYYY-MM`` of ``dscg_time``) instead, which
  is what the period reports needed of it (held lists have no case).
* Intake looks settlement lists up by ``setl_id``: an index of its own (the unique key
  starts with the hospital).
* On PostgreSQL built with lz4, the versions' raw column is compressed with lz4
  instead of pglz: about the same space, several times less server time on intake.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = ("settlement_lists", "settlement_list_versions")


def upgrade() -> None:
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    for table in TABLES:
        if pg:
            op.execute(
                f"UPDATE {table} SET raw = (raw #>> '{{}}')::json WHERE json_typeof(raw) = 'string'"
            )
        else:
            op.execute(
                f"UPDATE {table} SET raw = json_extract(raw, '$') WHERE json_type(raw) = 'text'"
            )
    with op.batch_alter_table("settlement_lists") as batch:
        batch.add_column(sa.Column("discharge_month", sa.String(length=7), nullable=True))
        batch.create_index("ix_settlement_lists_setl_id", ["setl_id"], unique=False)
    if pg:
        op.execute(
            "UPDATE settlement_lists SET discharge_month = substr(raw->'setlinfo'->>'dscg_time', 1, 7) "
            "WHERE raw->'setlinfo'->>'dscg_time' ~ '^\\d{4}-\\d{2}'"
        )
    else:
        op.execute(
            "UPDATE settlement_lists SET discharge_month = "
            "substr(json_extract(raw, '$.setlinfo.dscg_time'), 1, 7) "
            "WHERE json_extract(raw, '$.setlinfo.dscg_time') GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]*'"
        )
    with op.batch_alter_table("settlement_lists") as batch:
        batch.drop_column("raw")
    if pg:
        lz4 = bind.scalar(
            sa.text(
                "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                "WHERE name = 'default_toast_compression'"
            )
        )
        if lz4:
            op.execute("ALTER TABLE settlement_list_versions ALTER COLUMN raw SET COMPRESSION lz4")


def downgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("settlement_lists") as batch:
        batch.add_column(sa.Column("raw", sa.JSON(), nullable=True))
    op.execute(
        "UPDATE settlement_lists SET raw = (SELECT v.raw FROM settlement_list_versions v "
        "WHERE v.list_id = settlement_lists.id AND v.version = settlement_lists.version)"
    )
    with op.batch_alter_table("settlement_lists") as batch:
        batch.alter_column("raw", existing_type=sa.JSON(), nullable=False)
        batch.drop_index("ix_settlement_lists_setl_id")
        batch.drop_column("discharge_month")
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE settlement_list_versions ALTER COLUMN raw SET COMPRESSION default")
