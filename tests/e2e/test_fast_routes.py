"""Fast routes (api.fastpath, ADR 0026): the busy real-time audit routes are served before
the framework, yet keep the house's rules — a Bearer token of a user with the route's
permission (a revoked token stops at once in this process), the body limit, JSON only,
the per-token rate, the API's Chinese error body, security headers — and answer exactly
as the framework's route does (``YIBAO_FAST_ROUTES=false``).  SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.builders import TEST_ACTOR, user
from tests.builders import audit as kit
from tests.builders.exchange import His
from tests.builders.visits import admit, fee_lines, identify, ids, make_world, ok, settle_input
from yibao.accounts.models import ApiToken
from yibao.accounts.tokens import do_create_api_token, do_revoke_api_token
from yibao.api.app import create_app
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.exchange.models import ExchangeMessage, Settlement
from yibao.kit.timeutil import local, utcnow


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    w = make_world(client, db)
    it = kit.items(db)
    w["items"] = it
    w["rule_set_id"] = kit.publish_rules(db, it)
    return w


def _body(world: dict[str, Any]) -> dict[str, Any]:
    it: kit.Items = world["items"]
    today = kit.today()
    orders = [
        kit.order("R1", it.male_only, "2", "15.50", today),  # a woman: the sex rule
        kit.order("R2", it.plain, "1", "10.00", today),
    ]
    return kit.audit_input(world["local"], orders, day=today, trig_scen="7")


def _post(client: TestClient, token: str | None, body: Any, **headers: str) -> Any:
    h = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/api/audit/3102", json=body, headers=h | headers)


def _strip(answer: dict[str, Any]) -> dict[str, Any]:
    for r in answer["output"]["result"]:
        r.pop("task_id")
    return answer


def test_fast_route_answers_as_the_framework_route(client, db, world, settings) -> None:  # type: ignore[no-untyped-def]
    his: His = world["his"]
    body = _body(world)
    fast = client.post(
        "/api/audit/3102", json=body, headers={"Authorization": f"Bearer {his.token}"}
    )
    assert fast.status_code == 200
    for name in ("x-content-type-options", "x-frame-options", "cache-control"):
        assert name in fast.headers
    assert fast.headers["content-type"].startswith("application/json")
    slow_settings = settings.model_copy(update={"fast_routes": False})
    with TestClient(create_app(slow_settings)) as slow_client:
        slow = slow_client.post(
            "/api/audit/3102", json=body, headers={"Authorization": f"Bearer {his.token}"}
        )
    assert slow.status_code == 200
    got, want = _strip(fast.json()), _strip(slow.json())
    assert [r["rule_id"] for r in got["output"]["result"]] == ["T-SEX"]
    assert got == want
    # both were stored, each with its own task id
    counts = kit.counts(db)
    assert counts["requests"] == 2


def test_fast_route_keeps_the_house_rules(client, db, world, settings) -> None:  # type: ignore[no-untyped-def]
    his: His = world["his"]
    body = _body(world)
    before = kit.counts(db)
    # no token, an unknown token
    r = _post(client, None, body)
    assert r.status_code == 401 and "令牌" in r.json()["error"]["message"]
    r = _post(client, "ybt_not-a-token", body)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    # a token of a user without the permission (a reviewer)
    set_scope(db, SYSTEM_SCOPE)
    reviewer = user(
        db,
        "bureau_reviewer",
        region_code=world["hospital"].region_code[:4] + "00",
        username="fast_reviewer",
    )
    other = do_create_api_token(db, reviewer, "t", actor=TEST_ACTOR)
    db.commit()
    r = _post(client, other, body)
    assert r.status_code == 403 and "权限" in r.json()["error"]["message"]
    # not JSON; a body that is no JSON; a wrong type, named in Chinese
    r = client.post(
        "/api/audit/3102",
        content=b"x=1",
        headers={"Authorization": f"Bearer {his.token}", "Content-Type": "text/plain"},
    )
    assert r.status_code == 415
    r = client.post(
        "/api/audit/3102",
        content=b"{not json",
        headers={"Authorization": f"Bearer {his.token}", "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and "JSON" in r.json()["error"]["message"]
    bad = _body(world)
    bad["data"]["patient_dtos"][0]["fsi_encounter_dtos"][0]["fsi_order_dtos"][0]["cnt"] = "两盒"
    r = _post(client, his.token, bad)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["field"].endswith("fsi_order_dtos[0].cnt") and "数量" in err["message"]
    # over the body limit
    it: kit.Items = world["items"]
    many = [kit.order(f"R{n}", it.plain, "1", "10.00", kit.today()) for n in range(40)]
    big = kit.audit_input(world["local"], many, day=kit.today(), trig_scen="7")
    small = settings.model_copy(update={"max_body_bytes": 4096})
    with TestClient(create_app(small)) as limited:
        r = _post(limited, his.token, big)
        assert r.status_code == 413 and "过大" in r.json()["error"]["message"]
    # the per-token rate: one a minute, the second refused with Retry-After semantics
    slow = settings.model_copy(update={"token_rate_per_minute": 1})
    with TestClient(create_app(slow)) as rated:
        assert _post(rated, his.token, body).status_code == 200
        r = _post(rated, his.token, body)
        assert r.status_code == 429 and "频繁" in r.json()["error"]["message"]
    # nothing refused was stored (the one rated request that passed was)
    after = kit.counts(db)
    assert after["requests"] - before["requests"] == 1


def test_revoked_token_stops_at_once_in_this_process(client, db, world) -> None:  # type: ignore[no-untyped-def]
    his: His = world["his"]
    body = _body(world)
    assert _post(client, his.token, body).status_code == 200  # now cached
    set_scope(db, SYSTEM_SCOPE)
    token = db.query(ApiToken).filter(ApiToken.prefix == his.token[:12]).one()
    do_revoke_api_token(db, token, actor=TEST_ACTOR)
    db.commit()
    r = _post(client, his.token, body)
    assert r.status_code == 401 and "吊销" in r.json()["error"]["message"]


def test_gateway_fast_route_settles_as_the_framework_route(client, db, world, settings) -> None:  # type: ignore[no-untyped-def]
    """The transaction gateway's JSON binding is a fast route too (ADR 0027): a whole
    inpatient settlement through it gives the figures the framework's route gives for
    an equal stay, each stored once with its journal row, a resent msgid answered
    from the journal; a body sent as text/plain (sloppy HIS systems) is left to the
    framework's route, which reads it."""
    his: His = world["his"]
    who = world["local"]
    identify(his, who)
    start = datetime.combine(local(utcnow()).date() - timedelta(days=4), time(9))

    def settle_stay(h: His, start: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
        mdtrt_id = admit(h, who, start)
        lines, expected = fee_lines(
            db, world["hospital"].level, mdtrt_id, who.psn_no, start + timedelta(days=1)
        )
        ok(h.send(h.envelope("2301", {"feedetail": lines}, **ids(h, who))))
        out = {"mdtrt_id": mdtrt_id, "psn_no": who.psn_no, "insutype": who.insutype}
        out["endtime"] = f"{start + timedelta(days=3):%Y-%m-%d %H:%M:%S}"
        ok(h.send(h.envelope("2402", {"dscginfo": out | {"dscg_way": "1"}}, **ids(h, who))))
        body = settle_input(who, mdtrt_id, expected["medfee_sumamt"])
        pre = ok(h.send(h.envelope("2303", body, **ids(h, who))))
        env = h.envelope("2304", body, **ids(h, who))
        setl = ok(h.send(env))
        assert ok(h.send(env)) == setl  # the same msgid: the stored answer, nothing again
        # reversed (2305): the person's figures are as before for the next stay
        ref = {"mdtrt_id": mdtrt_id, "psn_no": who.psn_no, "setl_id": setl["setlinfo"]["setl_id"]}
        back = ok(h.send(h.envelope("2305", {"data": ref}, **ids(h, who))))
        assert back["setlinfo"]["fund_pay_sumamt"] == "-" + setl["setlinfo"]["fund_pay_sumamt"]
        return pre["setlinfo"], setl["setlinfo"]

    fast = settle_stay(his, start)
    slow_settings = settings.model_copy(update={"fast_routes": False})
    with TestClient(create_app(slow_settings)) as slow_client:
        # a stay before the first (a reversed stay is still a stay: one at a time)
        slow = settle_stay(His(slow_client, his.token, his.code, his.sign_no), start - timedelta(4))
    moving = {"setl_id", "mdtrt_id", "setl_time", "medins_setl_id"}
    for got, want in zip(fast, slow, strict=True):
        assert {k: v for k, v in got.items() if k not in moving} == {
            k: v for k, v in want.items() if k not in moving
        }
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    states = db.scalars(select(Settlement.state)).all()
    assert sorted(states) == ["reversed", "reversed"]
    # text/plain: the framework's route answers (and journals) it all the same
    env = his.envelope(
        "9001", {"signIn": {"opter_no": "0001", "mac": "00-16-3E-12-34-56", "ip": "10.0.0.8"}}
    )
    r = client.post(
        "/api/exchange",
        content=json.dumps(env).encode(),
        headers={"Authorization": f"Bearer {his.token}", "content-type": "text/plain"},
    )
    assert r.status_code == 200 and r.json()["infcode"] == 0, r.text
    assert db.scalar(select(func.count()).where(ExchangeMessage.msgid == env["msgid"])) == 1


def test_rule_sets_in_force_are_compiled_at_start(client, db, world) -> None:  # type: ignore[no-untyped-def]
    """The server's warm-up compiles the rule set of every region with one in force, so
    the first audits after a restart do not wait a second for it; those audits then
    use that very compilation."""
    from yibao.supervision import runtime

    runtime._drop("test")
    bind = db.get_bind()
    engine = getattr(bind, "engine", bind)
    assert runtime.warm(engine, kit.today()) == ["990100"]
    warmed = runtime._COMPILED._values.copy()
    assert len(warmed) == 1
    ((at, compiled),) = warmed.values()
    his: His = world["his"]
    answer = _post(client, his.token, _body(world))
    assert answer.status_code == 200, answer.text
    assert [r["rule_id"] for r in answer.json()["output"]["result"]] == ["T-SEX"]
    assert list(runtime._COMPILED._values.values()) == [(at, compiled)]
    assert compiled.rule_set_id == world["rule_set_id"]
