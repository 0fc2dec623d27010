"""Light reads on the event loop (api.inline, ADR 0009): on PostgreSQL the marked
GET handlers run with their principal's look-up on the loop, from a pool of their
own whose statements never wait long; writes and SQLite keep their worker threads."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import event, text

from tests.builders.settlement import demo_world, login
from yibao.accounts import endpoints as account_api
from yibao.api.inline import is_light
from yibao.cases import endpoints as case_api
from yibao.demo.seed import DEMO_PASSWORD
from yibao.settlement.intake import endpoints as intake_api
from yibao.settlement.lists import endpoints as list_api
from yibao.settlement.review import endpoints as review_api
from yibao.settlement.statements import endpoints as statement_api
from yibao.web.pages import cases as case_pages
from yibao.web.pages import home
from yibao.web.pages.settlement import lists as list_pages
from yibao.web.pages.settlement import review as review_page


def test_light_handlers_are_the_paged_reads() -> None:
    """The hot paged reads are marked light; writes, exports and whole-period reports
    are not (they keep their worker threads)."""
    light = [
        home.home,
        review_page.queue,
        list_pages.lists_page,
        list_pages.list_detail,
        case_pages.case_list,
        review_api.queue,
        list_api.list_lists,
        list_api.get_list,
        case_api.list_cases,
        account_api.me,
    ]
    assert all(is_light(f) for f in light)
    heavy = [
        list_pages.withdraw,
        review_api.bulk_approve,
        statement_api.statements,
        intake_api.submit_lists,
    ]
    assert not any(is_light(f) for f in heavy)


def _inline_checkouts(client):  # type: ignore[no-untyped-def]
    factory = client.app.state.inline_sessionmaker
    counted = [0]
    engine = factory.kw["bind"]
    event.listen(engine.pool, "checkout", lambda *_: counted.__setitem__(0, counted[0] + 1))
    return counted


def test_light_reads_use_their_own_pool_on_postgresql(client, db, engine):  # type: ignore[no-untyped-def]
    if engine.dialect.name != "postgresql":
        assert client.app.state.inline_sessionmaker is None  # SQLite: worker threads
        return
    demo_world(db)
    login(client, "reviewer", DEMO_PASSWORD)
    counted = _inline_checkouts(client)
    assert client.get("/api/settlement/lists").status_code == 200
    after_light = counted[0]
    assert after_light >= 1
    assert client.get("/api/settlement/statements", params={"period": "2025-03"}).status_code in (
        200,
        404,
        422,
    )
    assert counted[0] == after_light  # not a light handler: the request pool
    with client.app.state.inline_sessionmaker() as s:
        assert s.execute(text("SHOW statement_timeout")).scalar() == "5s"
        assert s.execute(text("SHOW lock_timeout")).scalar() == "1s"


def test_a_light_read_that_meets_a_lock_answers_busy_not_hangs(client, db, engine):  # type: ignore[no-untyped-def]
    """A table locked by DDL makes a light read wait at most its short lock time, then
    answer 503 (busy); the loop stays free and the same read works once the lock goes."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite serves light reads in worker threads")
    demo_world(db)
    login(client, "reviewer", DEMO_PASSWORD)
    assert client.get("/api/settlement/lists").status_code == 200
    with engine.connect() as conn:
        trans = conn.begin()
        conn.execute(text("LOCK TABLE settlement_lists IN ACCESS EXCLUSIVE MODE"))
        started = time.monotonic()
        r = client.get("/api/settlement/lists")
        took = time.monotonic() - started
        assert r.status_code == 503, r.text[:300]
        assert took < 5, took
        assert client.get("/healthz").status_code == 200
        trans.rollback()
    assert client.get("/api/settlement/lists").status_code == 200
