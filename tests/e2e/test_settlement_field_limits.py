"""Field limits of the 4101A spec at intake (issue 9, item 6), over HTTP on SQLite and
PostgreSQL: an over-long or illegal field is a finding on that list only; the batch is
answered and its other lists stored; both databases keep exactly the same."""

from __future__ import annotations

import copy
import json

from sqlalchemy import func, select

from tests.builders.settlement import PLAN_ID, demo_world, login, plan_registry
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD
from yibao.engines.qc.bench import synthetic_lists
from yibao.settlement.models import QcFinding, SettlementList


def test_limits_hold_only_the_offending_lists(client, db):  # type: ignore[no-untyped-def]
    code = demo_world(db, seed=9)["hosp01"]
    plan = plan_registry().get(PLAN_ID)
    lists = [
        m
        for m in synthetic_lists(3000, plan, seed=9, year=2024)
        if m["setlinfo"]["fixmedins_code"] == code and m["setlinfo"]["gend"] in ("1", "2")
    ][:100]
    assert len(lists) == 100
    batch = copy.deepcopy(lists)
    batch[3]["setlinfo"]["setl_id"] = "S" * 31  # the key itself too long
    batch[7]["setlinfo"]["setl_id"] = "X" * 100_000
    batch[11]["setlinfo"]["psn_name"] = "张" * 51
    batch[13]["setlinfo"]["psn_name"] = "李\x00四"
    batch[17]["diseinfo"][0]["diag_name"] = "名" * 101
    batch[19]["setlinfo"]["setl_id"] = "S2024\x00NUL"
    batch[23]["setlinfo"]["psn_name"] = "王\ud800五"  # a lone surrogate
    login(client, "hosp01", DEMO_PASSWORD)
    body = json.dumps(batch)  # escapes the lone surrogate as \ud800, as a HIS would send it
    r = client.post(
        "/api/settlement/lists", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 200, r.text[:500]
    out = r.json()["lists"]
    refused, held = {3, 7, 19}, {11, 13, 17, 23}
    for i, o in enumerate(out):
        if i in refused:
            assert o["state"] == "refused" and o["list_id"] is None, o
            assert any("结算ID" in f["message"] for f in o["findings"]), o["findings"]
        elif i in held:
            assert o["state"] == "qc_failed", o
            rules = {f["rule_id"] for f in o["findings"]}
            assert rules & {"QC029", "QC030"}, o["findings"]
        else:
            assert o["state"] in ("priced", "grouped"), o
    by_rule = {i: {f["rule_id"]: f for f in out[i]["findings"]} for i in held}
    assert "长度 51" in by_rule[11]["QC029"]["message"] and "50" in by_rule[11]["QC029"]["message"]
    assert "\\x00" in by_rule[13]["QC030"]["value"]
    set_scope(db, SYSTEM_SCOPE)
    assert "QC030" in {f["rule_id"] for f in out[23]["findings"]}
    stored = db.scalar(select(func.count()).select_from(SettlementList))
    assert stored == 97  # refused keys are not stored, on either database
    longest = db.scalar(select(func.max(func.length(SettlementList.setl_id))))
    assert longest <= 30
    values = db.scalars(select(QcFinding.value).where(QcFinding.value.is_not(None))).all()
    assert all("\x00" not in v and len(v) <= 200 for v in values)
