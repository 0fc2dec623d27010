"""Sessions of read-only requests (GET): no transaction block on PostgreSQL (no BEGIN
and COMMIT round trips), the same per-statement snapshots as READ COMMITTED, and no
writes at all."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import select, text

from yibao.api.app import create_app
from yibao.regions.models import Region


def test_get_sessions_run_without_a_transaction_block_on_postgresql(settings, db) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings)
    session = app.state.read_sessionmaker()
    try:
        session.execute(text("SELECT 1"))
        raw = session.connection().connection.dbapi_connection
        if session.get_bind().dialect.name == "postgresql":
            assert raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        # the request's writing sessions still run in a transaction
        writing = app.state.sessionmaker()
        try:
            writing.execute(text("SELECT 1"))
            if writing.get_bind().dialect.name == "postgresql":
                status = writing.connection().connection.dbapi_connection.info.transaction_status
                assert status == psycopg.pq.TransactionStatus.INTRANS
        finally:
            writing.rollback()
            writing.close()
    finally:
        session.close()
        app.state.engine.dispose()


def test_get_sessions_refuse_to_write(settings, db) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings)
    session = app.state.read_sessionmaker()
    try:
        session.add(Region(code="990199", name="只读测试区", level="district", parent_code=None))
        with pytest.raises(RuntimeError, match="只读请求"):
            session.flush()
        session.rollback()
        assert session.scalar(select(Region).where(Region.code == "990199")) is None
    finally:
        session.close()
        app.state.engine.dispose()
