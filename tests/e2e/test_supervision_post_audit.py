"""Post-audit of the gateway's real-time settlements (ADR 0024): the fee lines of a
settled stay are audited by the rule set in force (the demo's, ADR 0021) and the
findings stored with rule id and version, hospital, visit and month; a rerun adds
nothing; a reversed settlement is no longer audited."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from tests.builders.exchange import reverse_stay, settle_stay
from tests.builders.insured import person
from tests.builders.settlement import login
from tests.builders.visits import make_world
from tests.e2e.test_grouping_api import wait_job
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD
from yibao.kit.timeutil import local, utcnow
from yibao.supervision.models import KnowledgeRestriction


def _female_only_item(db) -> str:  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    rows = db.scalars(select(KnowledgeRestriction).order_by(KnowledgeRestriction.id))
    return next(r.code for r in rows if {"kind": "sex", "sex": "2"} in r.restrictions)


def _run(client, month: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    r = client.post("/api/supervision/findings/runs", json={"period_from": month})
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["job_id"], timeout=60)
    assert job["status"] == "succeeded", job
    return client.get(f"/api/supervision/findings/runs/{job['id']}").json()["summary"]


def test_rules_over_settled_visits(client, db):  # type: ignore[no-untyped-def]
    world = make_world(client, db)
    item = _female_only_item(db)
    set_scope(db, SYSTEM_SCOPE)
    man = person(db, "990102", insutype="310", balance="300.00", gend="1")
    db.commit()
    stay = settle_stay(world["his"], man, item, amount=Decimal("345.60"))
    month = local(utcnow()).strftime("%Y-%m")

    login(client, "reviewer", DEMO_PASSWORD)
    summary = _run(client, month)
    assert summary["rule_findings"] >= 1 and summary["new"] == summary["found"], summary
    found = client.get(
        "/api/supervision/findings", params={"rule": "DEMO-SEX-01", "size": 100}
    ).json()["items"]
    assert len(found) == 1, found
    f = found[0]
    assert f["source"] == "rule" and f["rule_version"] >= 1
    assert f["mdtrt_id"] == stay["mdtrt_id"] and f["psn_no"] == man.psn_no
    assert f["hospital_code"] == world["hospital"].code and f["period"] == month
    assert Decimal(str(f["vola_amt"])) == Decimal("345.60")
    detail = client.get(f"/api/supervision/findings/{f['id']}").json()
    assert detail["lines"] == [{"rx_id": "L1", "vola_item_type": 1, "vola_amt": "345.60"}]
    assert "女" in detail["vola_cont"] + detail["vola_evid"]

    again = _run(client, month)
    assert again["new"] == 0 and again["refreshed"] == summary["found"]
    total = client.get("/api/supervision/findings").json()["total"]
    assert total == summary["found"]

    # the settlement is reversed: the rerun no longer finds it, its 待公示 findings are dropped
    reverse_stay(world["his"], man, stay)
    after = _run(client, month)
    assert after["found"] == 0 and after["dropped"] == summary["found"]
    states = {x["state"] for x in client.get("/api/supervision/findings").json()["items"]}
    assert states == {"dismissed"}
