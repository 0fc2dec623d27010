"""Test fixtures: a migrated database (SQLite file, or PostgreSQL when
YIBAO_TEST_DATABASE_URL is set), emptied between tests, and an app client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session

from yibao.config import Settings
from yibao.db import migrate
from yibao.db.models import Base
from yibao.db.session import SQLITE_BEGIN, make_engine, session_factory
from yibao.exchange.keys import forget_keys
from yibao.exchange.signin import forget_sign_ins
from yibao.kit.monitor import FLAGS
from yibao.supervision import notify

# Cheap argon2 parameters for tests only (the product default is 3 passes, 64 MiB).
os.environ.setdefault("YIBAO_ARGON2_TIME_COST", "1")
os.environ.setdefault("YIBAO_ARGON2_MEMORY_KIB", "1024")
os.environ.setdefault("YIBAO_ARGON2_PARALLELISM", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def _worker_database(url: str) -> str:
    """Under pytest-xdist each worker gets a database of its own beside the one named
    (``test`` → ``test_gw0``, ``test_gw1`` …), created when missing."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = make_engine(base.render_as_string(hide_password=False))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            found = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if not found:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
        # copies of cached worlds an earlier session kept (tests/builders/snapshot.py)
        kept = conn.execute(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'snap\\_%'"))
        for (schema,) in kept.all():
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("YIBAO_TEST_DATABASE_URL")
    if url:
        url = _worker_database(url)
        os.environ["YIBAO_TEST_DATABASE_URL"] = url  # tests that read it see their own
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


def _truncate(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
                )
            )
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))


@pytest.fixture()
def db(engine: Engine) -> Iterator[Session]:
    """A session on an empty, migrated database; the test commits what it needs.

    On SQLite its reads run outside a transaction (pysqlite's own mode), so that,
    as on PostgreSQL (read committed), each query sees what the app has committed."""
    _truncate(engine)
    # ids start again after the truncation: the process's rule caches (keyed by rule
    # set id, valid for published sets that never change) must forget the last test's
    notify.changed("test database emptied")
    forget_sign_ins()  # likewise the gateway's kept sign-ins and signing keys (ADR 0042)
    forget_keys()
    FLAGS.update(dict.fromkeys(FLAGS, True))  # monitoring components a test switched off
    session = session_factory(engine.execution_options(**{SQLITE_BEGIN: "PYSQLITE"}))()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


@pytest.fixture()
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        var_dir=tmp_path,
        secret_key="test-secret-key",
        log_level="WARNING",
        figures_cache_s=0,  # each test sees the figures of its own data
        count_cache_s=0,
        monitor_interval_s=0,  # alerts are checked on demand (POST /api/monitoring/check)
    )


@pytest.fixture()
def client(db: Session, settings: Settings):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from yibao.api.app import create_app

    with TestClient(create_app(settings)) as c:
        yield c
