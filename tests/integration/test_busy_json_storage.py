"""The busy routes' JSON is stored inline without pglz (migration 0047, ADR 0047):
toast_tuple_target 8160 on the four tables, lz4 for longer values where the server
has it.  PostgreSQL tier only: SQLite has no such settings."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

TABLES = ("audit_requests", "exchange_messages", "exchange_settlements", "exchange_visits")


def test_busy_tables_keep_json_inline(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL tier: SQLite stores rows as they are")
    with engine.connect() as conn:
        options = dict(
            conn.execute(
                text(  # the app's tables, not the copies of tests' snapshot schemas
                    "SELECT relname, reloptions FROM pg_class WHERE relname = ANY(:t)"
                    " AND relnamespace = 'public'::regnamespace AND relkind = 'r'"
                ),
                {"t": list(TABLES)},
            ).all()
        )
        lz4 = conn.scalar(
            text(
                "SELECT count(*) FROM pg_settings WHERE name = 'default_toast_compression'"
                " AND 'lz4' = ANY(enumvals)"
            )
        )
        methods = conn.execute(
            text(
                "SELECT attrelid::regclass::text, attname, attcompression FROM pg_attribute"
                " WHERE attrelid::regclass::text = ANY(:t) AND attnum > 0"
                " AND atttypid IN ('json'::regtype, 'text'::regtype)"
            ),
            {"t": list(TABLES)},
        ).all()
    assert options == {t: ["toast_tuple_target=8160"] for t in TABLES}
    assert {r[0] for r in methods} == set(TABLES)
    if lz4:
        assert {r[2] for r in methods} == {"l"}, methods
