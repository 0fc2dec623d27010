"""Audit rows are written in the same transaction as the change."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests import builders as b
from yibao.accounts.models import User
from yibao.accounts.roles import Role
from yibao.accounts.service import do_create_user
from yibao.audit.models import AuditLog
from yibao.kit.errors import Conflict, ValidationFailed


def test_change_and_audit_commit_together(db):  # type: ignore[no-untyped-def]
    b.region(db, "990100")
    user = do_create_user(
        db,
        username="alice",
        password="Longpassw0rd",
        role=Role.BUREAU_ANALYST,
        region_code="990100",
        actor=b.TEST_ACTOR,
    )
    db.commit()
    row = db.scalar(select(AuditLog).where(AuditLog.object_id == str(user.id)))
    assert row is not None
    assert row.action == "user.create" and row.actor_name == "test"
    assert row.before is None and row.after["role"] == "bureau_analyst"
    assert row.at.tzinfo is not None


def test_rollback_leaves_neither_change_nor_audit(db):  # type: ignore[no-untyped-def]
    b.region(db, "990100")
    db.commit()
    do_create_user(
        db,
        username="bob",
        password="Longpassw0rd",
        role=Role.BUREAU_ANALYST,
        region_code="990100",
        actor=b.TEST_ACTOR,
    )
    db.rollback()
    assert db.scalar(select(func.count()).select_from(User)) == 0
    assert db.scalar(select(func.count()).select_from(AuditLog)) == 0


@pytest.mark.parametrize(
    ("kwargs", "exc", "field"),
    [
        ({"username": "x"}, ValidationFailed, "username"),
        ({"password": "short"}, ValidationFailed, "password"),
        ({"password": "aaaaaaaa"}, ValidationFailed, "password"),
        ({"username": "carol.li", "password": "CAROL.li"}, ValidationFailed, "password"),
        ({"role": "boss"}, ValidationFailed, "role"),
        ({"region_code": "123456"}, ValidationFailed, "region_code"),
        ({"role": Role.HOSPITAL_USER, "region_code": None}, ValidationFailed, "hospital_code"),
    ],
)
def test_bad_user_input_names_the_field(db, kwargs, exc, field):  # type: ignore[no-untyped-def]
    b.region(db, "990100")
    args = {
        "username": "carol",
        "password": "Longpassw0rd",
        "role": Role.BUREAU_ANALYST,
        "region_code": "990100",
        "actor": b.TEST_ACTOR,
    }
    args.update(kwargs)
    with pytest.raises(exc) as info:
        do_create_user(db, **args)
    assert info.value.field == field
    assert any("\u4e00" <= ch <= "\u9fff" for ch in info.value.message)  # Chinese first


def test_duplicate_username_conflicts(db):  # type: ignore[no-untyped-def]
    b.region(db, "990100")
    b.user(db, Role.BUREAU_ANALYST, username="dave")
    with pytest.raises(Conflict):
        b.user(db, Role.BUREAU_ANALYST, username="dave")
