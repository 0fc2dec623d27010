"""Exactly once under a race, at the service (SQLite / PostgreSQL): a second message
with the msgid of a message whose transaction is still open waits for it, then
answers its response and does nothing itself; when that transaction rolls back, the
second message is done anew."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.builders import hospital
from yibao.accounts.roles import Role
from yibao.audit.service import Actor
from yibao.config import Settings
from yibao.db.scoping import SYSTEM_SCOPE, Scope, set_scope
from yibao.db.session import session_factory, writer
from yibao.exchange.models import ExchangeMessage, SignIn
from yibao.exchange.registry import Institution
from yibao.exchange.service import do_exchange
from yibao.kit.timeutil import local, utcnow


@pytest.fixture()
def institution(db: Session) -> Institution:
    set_scope(db, SYSTEM_SCOPE)
    h = hospital(db, "990102", code="H99010200077")
    db.commit()
    return Institution(h.id, h.code, h.name, h.region_code)


def _message(code: str, msgid: str) -> bytes:
    envelope = {
        "infno": "9001",
        "msgid": msgid,
        "mdtrtarea_admvs": "990100",
        "recer_sys_code": "YBXT",
        "infver": "V1.0",
        "opter_type": "1",
        "opter": "1",
        "opter_name": "经办人",
        "inf_time": f"{local(utcnow()):%Y-%m-%d %H:%M:%S}",
        "fixmedins_code": code,
        "fixmedins_name": "测试医院",
        "input": {"signIn": {"opter_no": "1", "mac": "m", "ip": "10.0.0.1"}},
    }
    return json.dumps(envelope).encode()


def _session(engine: Engine, institution: Institution) -> Session:
    session = session_factory(writer(engine))()
    set_scope(session, Scope(hospital_id=institution.id, region_code=institution.region_code))
    return session


def _send(session: Session, institution: Institution, raw: bytes) -> dict[str, Any]:
    return do_exchange(
        session,
        raw,
        institution=institution,
        role=Role.HIS_CLIENT.value,
        actor=Actor(None, "his", hospital_id=institution.id),
        user_id=None,
        settings=Settings(),
    )


def _count(db: Session, model: Any) -> int:
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("first_commits", [True, False])
def test_a_parallel_retry_waits_and_answers_the_first(
    engine: Engine, db: Session, institution: Institution, first_commits: bool
) -> None:
    raw = _message(institution.code, f"{institution.code}202503101015000001")
    first = _session(engine, institution)
    answers: dict[str, Any] = {}
    try:
        answers["first"] = _send(first, institution, raw)  # open: not committed yet

        def retry() -> None:
            with _session(engine, institution) as second:
                answers["second"] = _send(second, institution, raw)
                second.commit()

        waiting = threading.Thread(target=retry)
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive(), "the retry did not wait for the open message"
        if first_commits:
            first.commit()
        else:
            first.rollback()
        waiting.join(30)
        assert not waiting.is_alive()
    finally:
        first.close()
    assert answers["first"]["infcode"] == answers["second"]["infcode"] == 0
    if first_commits:
        assert answers["second"] == answers["first"]
    else:  # the first never happened: the retry was done itself
        assert answers["second"]["output"] != answers["first"]["output"]
    assert _count(db, SignIn) == 1 and _count(db, ExchangeMessage) == 1
