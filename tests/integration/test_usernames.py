"""Usernames are unique whatever their case and a login matches them so (ADR 0046):
the service refuses ``ADMIN`` beside ``admin``, the database's unique index refuses it
too (migration 0046), and ``Admin`` logs in — and is counted — as ``admin``."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests import builders as b
from yibao.accounts import service
from yibao.accounts.login import LoginSettings, do_login
from yibao.accounts.models import User
from yibao.accounts.repository import user_by_username
from yibao.accounts.roles import Role
from yibao.kit.errors import Conflict, Unauthorized


@pytest.fixture()
def db(db):  # type: ignore[no-untyped-def]
    """The test database with the city 990100 registered."""
    b.region(db, "990100")
    return db


def _count(db) -> int:  # type: ignore[no-untyped-def]
    return db.scalar(select(func.count()).select_from(User)) or 0


def test_a_username_in_another_case_is_refused(db):  # type: ignore[no-untyped-def]
    b.user(db, Role.BUREAU_ADMIN, region_code="990100", username="admin")
    for name, words in (("ADMIN", "已有用户 admin，用户名不区分大小写"),
                        ("Admin", "已有用户 admin"), ("admin", "用户名 admin 已存在")):  # fmt: skip
        with pytest.raises(Conflict) as info:
            b.user(db, Role.BUREAU_ANALYST, username=name)
        assert info.value.field == "username" and words in info.value.message, info.value
    assert _count(db) == 1


def test_the_database_refuses_it_too(db):  # type: ignore[no-untyped-def]
    b.user(db, Role.BUREAU_ADMIN, region_code="990100", username="admin")
    db.commit()
    twin = User(username="ADMIN", display_name="x", password_hash="x", role="bureau_admin",
                region_code="990100", is_active=True, failed_logins=0)  # fmt: skip
    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(twin)
        db.flush()
    assert _count(db) == 1


def test_a_race_past_the_check_is_a_conflict(db, monkeypatch):  # type: ignore[no-untyped-def]
    """Two creations at the same time both pass the check; the index refuses the second,
    answered as the same conflict (not a 500); the caller rolls back, as on any error."""
    b.user(db, Role.BUREAU_ADMIN, region_code="990100", username="admin")
    db.commit()
    monkeypatch.setattr(service, "_check_username_free", lambda *_a: None)
    with pytest.raises(Conflict, match="用户名 ADMIN 已存在"):
        b.user(db, Role.BUREAU_ANALYST, username="ADMIN")
    db.rollback()
    assert b.user(db, Role.BUREAU_ANALYST, username="analyst").id
    assert _count(db) == 2


def test_login_and_lookups_ignore_case(db):  # type: ignore[no-untyped-def]
    admin = b.user(db, Role.BUREAU_ADMIN, region_code="990100", username="Zhang.Wei")
    kim = b.user(db, Role.BUREAU_ADMIN, region_code="990100", username="kim")
    db.commit()
    assert user_by_username(db, "zhang.wei") is admin
    assert user_by_username(db, "ZHANG.WEI") is admin
    assert user_by_username(db, "KIM") is kim
    assert user_by_username(db, "\u212aim") is None  # Python folds the Kelvin sign to k
    assert do_login(db, "zhang.wei", b.PASSWORD).id == admin.id
    assert do_login(db, "ZHANG.WEI", b.PASSWORD).id == admin.id
    db.commit()


def test_failures_in_any_case_count_for_the_one_account(db):  # type: ignore[no-untyped-def]
    b.user(db, Role.BUREAU_ADMIN, region_code="990100", username="admin")
    db.commit()
    cfg = LoginSettings(max_failures=2, lock_minutes=15)
    for name in ("ADMIN", "Admin"):
        with pytest.raises(Unauthorized):
            do_login(db, name, "wrong-Passw0rd", settings=cfg)
        db.commit()
    with pytest.raises(Unauthorized):  # locked: the right password is refused too
        do_login(db, "admin", b.PASSWORD, settings=cfg)


def test_migration_0046_names_the_pairs_it_cannot_take(tmp_path):  # type: ignore[no-untyped-def]
    from yibao.db import migrate

    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url, "0045")
    insert = (
        "INSERT INTO users (id, username, display_name, password_hash, role, region_code,"
        " is_active, failed_logins, created_at)"
        " VALUES (?, ?, 'x', 'x', 'bureau_admin', '990100', 1, 0, '2026-01-01 00:00:00')"
    )
    with sqlite3.connect(path) as conn:  # foreign keys off: the users alone
        conn.executemany(insert, [(1, "admin"), (2, "ADMIN"), (3, "hosp01")])
    with pytest.raises(RuntimeError, match="admin、ADMIN"):
        migrate.upgrade(url)
    assert migrate.current(url) == "0045"
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE users SET username = 'admin2' WHERE id = 2")
    migrate.upgrade(url)
    with sqlite3.connect(path) as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute(insert, (4, "Hosp01"))
    migrate.upgrade(url, "0045")  # and back
    migrate.upgrade(url)
