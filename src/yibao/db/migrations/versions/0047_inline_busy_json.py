"""PostgreSQL: the busy routes' JSON kept inline and uncompressed (lz4 beyond 8 KB)

A real-time audit stores its request (about 2.6 KB of JSON) and answer; a gateway
transaction its message and response (about 1.2 and 1.6 KB); a settlement and a visit
their details.  Such a row passes PostgreSQL's default toast threshold (about 2 KB),
so every insert compressed its JSON with pglz — measured as a quarter of the machine's
CPU at 1,200 audits a second (``yibao bench audit``: 1,234 → 1,648 audits/s with this
change).  ``toast_tuple_target = 8160`` keeps rows up to a page inline as they are;
a longer value is compressed with lz4 where the server has it (PostgreSQL 14+ built
with lz4; ADR 0047).  SQLite: nothing to do.

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-07 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0047"
down_revision = "0046"
branch_labels = None
depends_on = None

#: tables written on every request of a busy route, with JSON of a few KB a row
BUSY = ("audit_requests", "exchange_messages", "exchange_settlements", "exchange_visits")


def _has_lz4() -> bool:
    found = op.get_bind().scalar(
        sa.text(
            "SELECT count(*) FROM pg_settings WHERE name = 'default_toast_compression'"
            " AND 'lz4' = ANY(enumvals)"
        )
    )
    return bool(found)


def _columns(table: str) -> list[str]:
    """The JSON and text columns of ``table`` (their compression is set where lz4 is)."""
    rows = op.get_bind().execute(
        sa.text(
            "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass)"
            " AND attnum > 0 AND NOT attisdropped"
            " AND atttypid IN ('json'::regtype, 'jsonb'::regtype, 'text'::regtype)"
        ),
        {"t": table},
    )
    return [name for (name,) in rows]


def _set(target: str, compression: str) -> None:
    lz4 = compression == "lz4" and _has_lz4()
    for table in BUSY:
        op.execute(sa.text(f"ALTER TABLE {table} SET (toast_tuple_target = {target})"))
        if compression == "pglz" or lz4:
            for column in _columns(table):
                op.execute(
                    sa.text(
                        f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {compression}"
                    )
                )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _set("8160", "lz4")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _set("2032", "pglz")
