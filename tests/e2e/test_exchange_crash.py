"""A SIGKILL of the server in the middle of a burst of settlements (issue 12
acceptance; SQLite / PostgreSQL): after a restart every settlement is complete — the
settlement, its fee lines, the person's figures and account — or absent, none
half-written; every 200 with infcode 0 was committed; retrying the same msgids then
settles each visit exactly once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.builders.exchange import PATH, His
from tests.builders.insured import person
from tests.builders.visits import (
    admit,
    fee_lines,
    figures,
    identify,
    ids,
    make_world,
    ok,
    settle_input,
)
from tests.e2e.server import live_server
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.exchange.models import ExchangeMessage, Fee, Settlement
from yibao.insured.models import InsuredPosting
from yibao.kit.timeutil import local, utcnow

VISITS = 24


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    """hosp01's HIS client and VISITS discharged stays of as many employees, each
    with fee lines uploaded, ready to settle."""
    world = make_world(client, db)
    his: His = world["his"]
    level = world["hospital"].level
    start = datetime.combine(local(utcnow()).date() - timedelta(days=3), datetime.min.time())
    stays = []
    for _ in range(VISITS):
        set_scope(db, SYSTEM_SCOPE)
        who = person(db, "990103", insutype="310", balance="500.00")
        db.commit()
        identify(his, who)
        mdtrt_id = admit(his, who, start.replace(hour=8))
        body, expected = fee_lines(db, level, mdtrt_id, who.psn_no, start.replace(hour=9))
        ok(his.send(his.envelope("2301", {"feedetail": body}, **ids(his, who))))
        end = f"{start + timedelta(days=2):%Y-%m-%d %H:%M:%S}"
        dscg = {"mdtrt_id": mdtrt_id, "psn_no": who.psn_no, "endtime": end, "dscg_way": "1"}
        ok(his.send(his.envelope("2402", {"dscginfo": dscg}, **ids(his, who))))
        data = settle_input(who, mdtrt_id, expected["medfee_sumamt"])
        stays.append((who, his.envelope("2304", data, **ids(his, who))))
    return {**world, "stays": stays}


def _send(base: str, token: str, envelope: dict[str, Any]) -> dict[str, Any] | None:
    try:
        r = httpx.post(
            base + PATH,
            json=envelope,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    except httpx.HTTPError:
        return None  # the server died under the request: the HIS never got an answer
    return dict(r.json()) if r.status_code == 200 else None


def _state(db, who, msgid: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """What the database holds of one stay's settlement."""
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    rows = list(db.scalars(select(Settlement).where(Settlement.psn_no == who.psn_no)))
    postings = list(db.scalars(select(InsuredPosting).where(InsuredPosting.person_id == who.id)))
    journal = db.scalar(select(ExchangeMessage).where(ExchangeMessage.msgid == msgid))
    balance, cums = figures(db, who)
    settled_lines = db.scalar(
        select(func.count())
        .select_from(Fee)
        .where(Fee.state == "settled", Fee.settlement_id.in_([r.id for r in rows]))
    )
    return {
        "rows": rows,
        "postings": postings,
        "journal": journal,
        "balance": balance,
        "cums": cums,
        "lines": settled_lines,
    }


def _complete_or_absent(db, who, msgid: str) -> bool:  # type: ignore[no-untyped-def]
    """True when settled completely, False when absent; fails when half-written."""
    s = _state(db, who, msgid)
    if not s["rows"]:
        assert s["postings"] == [] and s["cums"] == {} and s["balance"] == Decimal("500.00"), s
        assert s["journal"] is None or s["journal"].infcode != 0, s
        return False
    [row] = s["rows"]
    assert row.state == "settled" and s["lines"] == 4, s
    [posting] = s["postings"]
    assert posting.ref == row.setl_id and posting.kind == "settle"
    assert s["balance"] == Decimal("500.00") - row.acct_pay
    assert s["cums"]["fund:310100"] == int(row.hifp_pay * 100)
    assert s["cums"]["medfee_sumamt"] == int(row.medfee_sumamt * 100)
    assert s["journal"] is not None and s["journal"].infcode == 0
    assert s["journal"].response["output"]["setlinfo"]["setl_id"] == row.setl_id
    return True


def test_sigkill_during_a_burst_of_settlements(db, world, database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    his: His = world["his"]
    stays = world["stays"]
    answers: dict[int, dict[str, Any] | None] = {}
    enough = threading.Event()
    counting = threading.Lock()  # the answers are written by eight threads at once
    var = tmp_path / "var"
    with live_server(database_url, var) as server:

        def settle(i: int) -> None:
            answer = _send(server.base, his.token, stays[i][1])
            with counting:
                answers[i] = answer
                done = sum(1 for a in answers.values() if a and a["infcode"] == 0)
            if done >= 4:
                enough.set()

        pool = ThreadPoolExecutor(max_workers=8)
        futures = [pool.submit(settle, i) for i in range(len(stays))]
        enough.wait(60)
        server.kill()
        for f in futures:
            f.result(60)
        pool.shutdown()
    done = [i for i, a in answers.items() if a is not None and a["infcode"] == 0]
    assert done, "no settlement was answered before the kill"
    assert len(done) < len(stays), "the kill came after the whole burst"
    complete = {
        i for i, (who, env) in enumerate(stays) if _complete_or_absent(db, who, env["msgid"])
    }
    assert set(done) <= complete  # every answered settlement was committed
    # the HIS retries every message with its own msgid: each stay is settled exactly once
    with live_server(database_url, var) as server:
        for i, (_who, envelope) in enumerate(stays):
            again = _send(server.base, his.token, envelope)
            assert again is not None and again["infcode"] == 0, again
            if i in done:
                assert again == answers[i]  # the stored answer, not a second settlement
    for who, envelope in stays:
        assert _complete_or_absent(db, who, envelope["msgid"])
