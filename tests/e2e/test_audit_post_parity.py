"""The real-time audit (3102) and the post-audit (事后) over the same settled stay give
the same findings: the post-audit reads the stored fee lines with what the HIS sent for
them, here the days of supply (``prd_days``) that the quantity rule multiplies the daily
maximum by (ADR 0020, 0023, 0024)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.builders import TEST_ACTOR
from tests.builders import audit as kit
from tests.builders.exchange import His
from tests.builders.visits import make_world
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.engines.audit import DetectorParams
from yibao.kit.timeutil import local, utcnow
from yibao.supervision.findings.models import Finding
from yibao.supervision.findings.run import run_post_audit


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    w = make_world(client, db)
    it = kit.items(db)
    quantity = {
        "rule_id": "T-QTY",
        "name": "超每日最大用量",
        "family": "quantity",
        "stages": ["mid", "post"],
        "window": "day",
        "result_type": "suspicious",
        "sev_deg": 2,
        "params": {"codes": [it.drug_per_day]},
    }
    kit.publish_rules(db, it, [quantity])  # the knowledge allows 3 units a day
    w["items"] = it
    return w


def _order(rx: str, code: str, cnt: str, day: object, prd: str | None) -> dict[str, object]:
    extra = {} if prd is None else {"prd_days": prd}
    return kit.order(rx, code, cnt, "2.00", day, **extra)  # type: ignore[arg-type]


def test_days_of_supply_count_alike_in_3102_and_in_the_post_audit(client, db, world) -> None:  # type: ignore[no-untyped-def]
    his: His = world["his"]
    who = world["local"]
    drug = world["items"].drug_per_day
    # 21 units for 7 days (3 a day: allowed), then 22 units for 7 days (one too many)
    stays = [
        kit.stay(his, who, [(drug, "21", "2.00", "7")], days_ago=40),
        kit.stay(his, who, [(drug, "22", "2.00", "7")], days_ago=20),
    ]
    mid = []
    for s in stays:
        cnt = "21" if s is stays[0] else "22"
        body = kit.audit_input(
            who,
            [_order("L1", drug, cnt, s["fee_day"], "7")],
            day=s["start"].date(),
            mdtrt_id=s["mdtrt_id"],
            trig_scen="8",
            med_mdtrt_type="2",
        )
        r = client.post(
            "/api/audit/3102", json=body, headers={"Authorization": f"Bearer {his.token}"}
        )
        assert r.status_code == 200, r.text
        mid.append([(x["rule_id"], x["vola_amt"]) for x in r.json()["output"]["result"]])
    assert mid == [[], [("T-QTY", "2.00")]]
    # the post-audit of the month both stays were settled in finds the same
    month = local(utcnow()).strftime("%Y-%m")
    run_post_audit(db, [month], actor=TEST_ACTOR, params=DetectorParams(anomaly=False))
    db.commit()
    set_scope(db, SYSTEM_SCOPE)
    found = db.scalars(select(Finding).where(Finding.rule_id == "T-QTY")).all()
    assert [(f.mdtrt_id, f.vola_amt) for f in found] == [(stays[1]["mdtrt_id"], Decimal("2.00"))]
    assert "用药天数 7" in found[0].vola_cont
