"""Parallel work on a running server (SQLite file / PostgreSQL): no hang, no lost write.

These start ``yibao serve`` as a real process on a loopback port and send it parallel
requests over sockets (bounded in count and time), because the faults they guard
against — a blocked event loop, a transaction held across an ``await``, a response
sent before its commit — do not show through a TestClient.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from itertools import count

import httpx
import pytest
from sqlalchemy import Engine, bindparam, select, text

from tests.builders.settlement import demo_world, settlement_list
from tests.e2e.server import live_server
from yibao.accounts.models import User
from yibao.accounts.tokens import do_create_api_token
from yibao.audit.service import Actor
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD

_ids = count(1)


def _token(db, username: str) -> str:  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    user = db.scalar(select(User).where(User.username == username))
    plain = do_create_api_token(db, user, "test", actor=Actor(None, "test"))
    db.commit()
    return plain


def _lists(hospital: str, n: int, tag: str) -> list[dict[str, object]]:
    return [
        settlement_list(
            hospital,
            discharge=date(2025, 3, 10),
            diagnoses=["I21.000"],
            total_cost=Decimal("12000.00"),
            setl_id=f"{tag}{next(_ids):08d}",
        )
        for _ in range(n)
    ]


def _idle_in_transaction(engine: Engine) -> int:
    if engine.dialect.name != "postgresql":
        return 0
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'yibao' "
                    "AND datname = current_database() "
                    "AND state LIKE 'idle in transaction%'"
                )
            ).scalar()
            or 0
        )


@pytest.fixture()
def world(db):  # type: ignore[no-untyped-def]
    hospitals = demo_world(db)
    return hospitals, _token(db, "his01")


def test_two_his_requests_at_once_both_answer(world, database_url, tmp_path):  # type: ignore[no-untyped-def]
    """The freeze of the issue: two parallel intakes with the same HIS token."""
    hospitals, token = world
    code = hospitals["hosp01"]
    auth = {"Authorization": f"Bearer {token}"}
    with live_server(database_url, tmp_path / "var") as server:
        url = server.url("/api/settlement/lists")
        batches = [_lists(code, 20, "PA"), _lists(code, 20, "PB")]
        with ThreadPoolExecutor(2) as pool:
            answers = list(
                pool.map(lambda body: httpx.post(url, json=body, headers=auth, timeout=60), batches)
            )
        assert [r.status_code for r in answers] == [200, 200], [r.text[:300] for r in answers]
        for r in answers:
            assert r.json()["received"] == 20
            assert set(r.json()["by_state"]) <= {"priced", "grouped"}, r.json()["by_state"]
        assert httpx.get(server.url("/healthz"), timeout=5).status_code == 200


def test_parallel_retries_of_one_new_list_all_answer(world, database_url, engine, tmp_path):  # type: ignore[no-untyped-def]
    """A HIS that thinks its upload timed out sends it again while the first is still
    being stored: every copy is answered 200 (each a new version, as if sent one after
    the other), never a 500 from the unique (hospital, settlement id) constraint."""
    hospitals, token = world
    auth = {"Authorization": f"Bearer {token}"}
    copies = 4
    with live_server(database_url, tmp_path / "var", workers=2) as server:
        url = server.url("/api/settlement/lists")
        bodies = [_lists(hospitals["hosp01"], 1, f"RT{n}") for n in range(3)]
        for body in bodies:
            with ThreadPoolExecutor(copies) as pool:
                answers = list(
                    pool.map(
                        lambda sent: httpx.post(url, json=sent, headers=auth, timeout=60),
                        [body] * copies,
                    )
                )
            assert [r.status_code for r in answers] == [200] * copies, [
                r.text[:300] for r in answers
            ]
            versions = sorted(r.json()["lists"][0]["version"] for r in answers)
            assert versions == list(range(1, copies + 1))
    setl_ids = [b[0]["setlinfo"]["setl_id"] for b in bodies]  # type: ignore[index]
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT setl_id, version FROM settlement_lists WHERE setl_id IN :ids").bindparams(
                bindparam("ids", expanding=True)
            ),
            {"ids": setl_ids},
        ).all()
    assert sorted(stored) == sorted((s, copies) for s in setl_ids)


@pytest.mark.parametrize("workers", [1, 2])
def test_many_clients_submitting_lists(world, database_url, engine, tmp_path, workers):  # type: ignore[no-untyped-def]
    """50 clients post small batches for a bounded time: every request is answered
    (nothing times out), /healthz answers throughout, no session is left idle inside a
    transaction, and every accepted list is stored — with one worker process or two."""
    hospitals, token = world
    code = hospitals["hosp01"]
    auth = {"Authorization": f"Bearer {token}"}
    stop = threading.Event()
    outcomes: list[tuple[int, int]] = []
    health: list[float] = []
    lock = threading.Lock()

    with live_server(database_url, tmp_path / "var", workers=workers) as server:
        url = server.url("/api/settlement/lists")

        def client(i: int) -> None:
            with httpx.Client(timeout=45) as http:
                while not stop.is_set():
                    body = _lists(code, 3, f"C{workers}{i:02d}")
                    try:
                        r = http.post(url, json=body, headers=auth)
                        accepted = r.json().get("received", 0) if r.status_code == 200 else 0
                        result = (r.status_code, accepted)
                    except httpx.TimeoutException:
                        result = (0, 0)
                    with lock:
                        outcomes.append(result)

        def probe() -> None:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    ok = httpx.get(server.url("/healthz"), timeout=5).status_code == 200
                except httpx.HTTPError:
                    ok = False
                health.append(time.monotonic() - started if ok else float("inf"))
                time.sleep(0.25)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(50)]
        threads.append(threading.Thread(target=probe))
        for t in threads:
            t.start()
        time.sleep(8 if workers == 1 else 5)
        stop.set()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads), "a client never got an answer"
        assert health and max(health) < 5, f"/healthz stalled: {sorted(health)[-5:]}"
        statuses = {s for s, _ in outcomes}
        assert 0 not in statuses, "a request timed out"
        assert statuses <= {200}, {s: sum(1 for x, _ in outcomes if x == s) for s in statuses}
        assert len(outcomes) >= 50
        stored = sum(n for _, n in outcomes)
        # SIGTERM ends the server promptly (the loop is never blocked)
        server.process.terminate()
        server.process.wait(20)

    with engine.connect() as conn:
        in_db = conn.execute(
            text("SELECT count(*) FROM settlement_lists WHERE setl_id LIKE 'C%'")
        ).scalar()
    assert in_db == stored
    assert _idle_in_transaction(engine) == 0


def _login(http: httpx.Client, username: str) -> str:
    page = http.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = http.post(
        "/login",
        data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    home = http.get("/", headers={"accept": "text/html"})
    return home.text.split('"X-CSRF-Token": "', 1)[1].split('"', 1)[0]


def test_sigkill_right_after_200_loses_nothing(world, database_url, engine, tmp_path):  # type: ignore[no-untyped-def]
    """A 200 means committed: kill the server the moment the answer arrives — the
    lists (intake) and the approvals (bulk approve) are there after a restart."""
    hospitals, token = world
    code = hospitals["hosp01"]
    var = tmp_path / "var"
    with live_server(database_url, var) as server:
        r = httpx.post(
            server.url("/api/settlement/lists"),
            json=_lists(code, 200, "K"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        )
        assert r.status_code == 200, r.text[:300]
        server.kill()
    ids = [x["list_id"] for x in r.json()["lists"] if x["state"] == "priced"]
    assert len(ids) == 200, r.json()["by_state"]
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT count(*) FROM settlement_lists WHERE setl_id LIKE 'K%'")
        ).scalar()
    assert stored == 200

    with live_server(database_url, var) as server:
        with httpx.Client(base_url=server.base, timeout=120) as http:
            csrf = _login(http, "reviewer")
            r = http.post(
                "/api/settlement/review/bulk-approve",
                json={"ids": ids, "reason": "批量通过"},
                headers={"x-csrf-token": csrf},
            )
        assert r.status_code == 200, r.text[:300]
        server.kill()
    assert r.json()["approved"] == 200, r.json()
    with engine.connect() as conn:
        approved = conn.execute(
            text(
                "SELECT count(*) FROM settlement_lists WHERE setl_id LIKE 'K%' "
                "AND state = 'approved'"
            )
        ).scalar()
    assert approved == 200
