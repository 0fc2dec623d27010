"""Hot reload of the rule base (issue 13, ADR 0021): a rule set published through one
``yibao serve`` process is in force in another within 5 s, on PostgreSQL (LISTEN /
NOTIFY).  In-process reload on any database: the publishing process sees it at once."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.builders.settlement import login
from tests.e2e import supervision_kit as kit
from tests.e2e.server import live_server

RUNTIME = "/api/supervision/runtime?admdvs=990102&on=2025-03-01"


def _publish_set(client, rules: list[dict], **kw) -> int:  # type: ignore[no-untyped-def,type-arg]
    s = client.post("/api/supervision/rule-sets", json=kit.DRAFT | kw).json()
    for rule in rules:
        assert (
            client.put(f"/api/supervision/rule-sets/{s['id']}/rules", json=rule).status_code == 200
        )
    r = client.post(f"/api/supervision/rule-sets/{s['id']}/publish", json={})
    assert r.status_code == 200, r.text
    return int(s["id"])


def test_in_process_reload(client, db) -> None:  # type: ignore[no-untyped-def]
    kit.seed(db)
    login(client, "ruleadmin")
    first = _publish_set(client, [kit.SEX_RULE])
    assert client.get(RUNTIME).json()["rule_set_id"] == first
    second = _publish_set(client, [kit.SEX_RULE, kit.LINK_RULE], valid_from="2025-02-01")
    now = client.get(RUNTIME).json()
    assert (now["rule_set_id"], now["rules"]) == (second, 2)


def test_two_server_processes(database_url, db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL tier: two server processes share the database and LISTEN/NOTIFY")
    kit.seed(db)
    with (
        live_server(database_url, tmp_path / "a") as one,
        live_server(database_url, tmp_path / "b") as two,
        httpx.Client(base_url=one.base) as a,
        httpx.Client(base_url=two.base) as b,
    ):
        login(a, "ruleadmin")
        login(b, "ruleadmin")
        first = _publish_set(a, [kit.SEX_RULE])
        seen = b.get(RUNTIME).json()
        assert seen["rule_set_id"] == first, seen
        assert seen["pid"] != a.get(RUNTIME).json()["pid"]
        # process two has compiled version 1; publish version 2 through process one
        second = _publish_set(a, [kit.SEX_RULE, kit.LINK_RULE], valid_from="2025-02-01")
        started = time.monotonic()
        while True:
            now = b.get(RUNTIME).json()
            if now["rule_set_id"] == second:
                break
            assert time.monotonic() - started < 5, now
            time.sleep(0.05)
        took = time.monotonic() - started
        assert now["rules"] == 2 and now["generation"] > seen["generation"]
        # the notice, not the id check, did it: well under the check interval
        assert took < 1.5, took
        # and a rule test through process two applies the new rule
        out = b.post(
            f"/api/supervision/rule-sets/{second}/test",
            json={"claims": [kit.claim("2", (kit.ANAES,))]},
        ).json()
        assert [f["rule_id"] for f in out["findings"]] == []  # no linkage relation yet
