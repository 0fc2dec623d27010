"""Two simultaneous first confirmations of one period (SQLite file / PostgreSQL).

Both requests look for the period's running batch (and its period row) before either
has committed, so both find none and both insert; the unique keys
(``settlement_periods (region_code, code)``, ``settlement_confirm_batches.running_key``)
let only the first through.  The second must answer 409 in Chinese naming the period —
not let the IntegrityError out as a 500 — and nothing of it may be left behind.

The interleaving is forced, not hoped for: the second session's first write waits
until the first session has committed (a ``before_flush`` hook commits the first).

PostgreSQL only: on SQLite writing transactions are serialised (``BEGIN IMMEDIATE``,
ADR 0009), so the second cannot read before the first commits and this interleaving
cannot happen; the HTTP race test (tests/e2e) covers SQLite.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from tests import builders as b
from tests.builders.settlement import approved_list
from yibao.audit.service import Actor
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.db.session import session_factory
from yibao.kit.errors import Conflict
from yibao.settlement.confirm import (
    do_confirm_chunk,
    do_finish_confirmation,
    do_start_confirmation,
)
from yibao.settlement.models import SettlementConfirmBatch, SettlementPeriod

PERIOD = "2025-03"
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture()
def sessions(engine: Engine, db: Session) -> Iterator[tuple[Session, Session]]:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises writing transactions: this interleaving cannot occur")
    b.region(db, "990100")
    approved_list(db, b.hospital(db, "990102"))  # something to confirm in the period
    db.commit()
    factory = session_factory(engine)
    first, second = factory(), factory()
    for s in (first, second):
        set_scope(s, SYSTEM_SCOPE)
    yield first, second
    for s in (first, second):
        s.rollback()
        s.close()


def _start(session: Session, who: str) -> SettlementConfirmBatch:
    return do_start_confirmation(
        session, region_code="990100", period_code=PERIOD, actor=Actor(None, who)
    )


def _race(first: Session, second: Session) -> Conflict:
    """The first request has written but not committed when the second reads; the
    first commits just before the second writes."""
    _start(first, "first")

    @event.listens_for(second, "before_flush", once=True)
    def _first_commits(*_args: object) -> None:
        first.commit()

    with pytest.raises(Conflict) as caught:
        _start(second, "second")
    second.rollback()
    return caught.value


def _counts(db: Session) -> tuple[int, int, int]:
    db.expire_all()
    running = select(func.count()).where(SettlementConfirmBatch.status == "running")
    return (
        db.scalar(select(func.count()).select_from(SettlementPeriod)) or 0,
        db.scalar(select(func.count()).select_from(SettlementConfirmBatch)) or 0,
        db.scalar(running) or 0,
    )


def test_second_first_confirmation_is_a_409(sessions, db: Session) -> None:  # type: ignore[no-untyped-def]
    first, second = sessions
    error = _race(first, second)
    assert error.http_status == 409
    message = str(error)
    assert PERIOD in message and "990100" in message and HAN.search(message), message
    assert "正在" in message, message
    assert _counts(db) == (1, 1, 1)  # the first request's period and batch only


def test_race_on_the_running_batch_of_an_existing_period(sessions, db: Session) -> None:  # type: ignore[no-untyped-def]
    """The period row exists (an earlier batch is done): the race is on running_key."""
    first, second = sessions
    done = _start(first, "earlier")
    first.flush()
    earlier = Actor(None, "earlier")
    do_confirm_chunk(first, done.id, actor=earlier, after_id=0, limit=100)
    do_finish_confirmation(first, done.id, actor=earlier)
    first.commit()
    approved_list(db, b.hospital(db, "990102"))  # approved after the earlier batch
    db.commit()
    error = _race(first, second)
    assert error.http_status == 409 and PERIOD in str(error)
    assert _counts(db) == (1, 2, 1)
