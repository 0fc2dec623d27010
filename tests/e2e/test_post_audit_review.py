"""The post-audit reads claims as the stored data and 3102 do: month windows across
settlement months, one encounter per outpatient visit settled batch by batch.

Before: day / month windows saw only the encounters settled in the audited month,
while 3102 sees every stored visit of the person in the window (ADR 0020, 0024); and an
outpatient visit settled in two charge batches (ADR 0044) was two encounter rows, so
each of its lines was audited twice."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.builders import TEST_ACTOR
from tests.builders import audit as kit
from tests.builders.exchange import His
from tests.builders.visits import (
    entries,
    fee_lines,
    identify,
    ids,
    make_world,
    ok,
    settle_input,
)
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.engines.audit import DetectorParams
from yibao.exchange.models import Settlement, Visit
from yibao.kit.timeutil import BUSINESS_TZ, local, utcnow
from yibao.supervision.findings.models import Finding
from yibao.supervision.findings.run import run_post_audit


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    w = make_world(client, db)
    it = kit.items(db)
    frequency = {
        "rule_id": "T-FREQ-M",
        "name": "每自然月限 1 次",
        "family": "frequency",
        "stages": ["mid", "post"],
        "window": "month",
        "result_type": "suspicious",
        "sev_deg": 2,
        "params": {"codes": [it.plain], "max_times": 1},
    }
    kit.publish_rules(db, it, [frequency])
    w["items"] = it
    return w


def test_month_window_counts_a_visit_settled_in_another_month(client, db, world) -> None:  # type: ignore[no-untyped-def]
    """Item ``plain`` at most once a natural month.  Last month (L) P billed it once in
    stay 1 (fee day L-03, settled in L) and once in stay 2 (fee day L-12, settled this
    month — an inpatient stay discharged after the month end is the common case).

    Hand: month L holds 2 sessions, 1 allowed → stay 2's line (1 × 10.00) is over:
    10.00 元.  3102 of stay 2 reads stay 1 from the stored history and finds it.  The
    post-audit of L and of this month audits each month's settled claims apart: L sees
    stay 1 alone (1 ≤ 1), this month sees stay 2 alone (1 ≤ 1) → nothing, in either
    month or both together."""
    his: His = world["his"]
    who = world["local"]
    item = world["items"].plain
    today = kit.today()
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)  # first day of L
    this_month, last_month = f"{today:%Y-%m}", f"{first:%Y-%m}"
    s1 = kit.stay(his, who, [(item, "1", "10.00", None)], days_ago=(today - first).days - 1)
    s2 = kit.stay(his, who, [(item, "1", "10.00", None)], days_ago=(today - first).days - 10)
    assert s1["fee_day"].month == s2["fee_day"].month == first.month
    # stay 1 was settled in L (moved back: the test cannot wait a month)
    set_scope(db, SYSTEM_SCOPE)
    setl = db.scalar(
        select(Settlement)
        .join(Visit, Visit.id == Settlement.visit_id)
        .where(Visit.mdtrt_id == s1["mdtrt_id"])
    )
    assert setl is not None
    setl.setl_time = datetime.combine(first + timedelta(days=5), time(12), BUSINESS_TZ)
    db.commit()

    body = kit.audit_input(
        who,
        [kit.order("L1", item, "1", "10.00", s2["fee_day"])],
        day=s2["start"].date(),
        mdtrt_id=s2["mdtrt_id"],
        trig_scen="8",
        med_mdtrt_type="2",
    )
    r = client.post("/api/audit/3102", json=body, headers={"Authorization": f"Bearer {his.token}"})
    assert r.status_code == 200, r.text
    mid = [(x["rule_id"], x["mdtrt_id"], x["vola_amt"]) for x in r.json()["output"]["result"]]
    assert mid == [("T-FREQ-M", s2["mdtrt_id"], "10.00")], mid

    run_post_audit(
        db, [last_month, this_month], actor=TEST_ACTOR, params=DetectorParams(anomaly=False)
    )
    db.commit()
    set_scope(db, SYSTEM_SCOPE)
    found = list(db.scalars(select(Finding).where(Finding.rule_id == "T-FREQ-M")))
    assert [(f.mdtrt_id, f.vola_amt) for f in found] == [(s2["mdtrt_id"], Decimal("10.00"))]


def test_outpatient_visit_settled_in_two_batches_is_not_counted_twice(client, db) -> None:  # type: ignore[no-untyped-def]
    """门诊分次结算 (ADR 0044): one outpatient visit, two live settlements (charge
    batches B1 and B2), each with one line of the 乙类 drug ``b`` at its level-cap +
    3.00 × 10 units.  超支付价格 (price, per line (price − cap) × quantity):

    Hand: B1's line 3.00 × 10 = 30.00, B2's line 30.00 → one finding of the visit and
    item, two violating lines, vola_amt 60.00.

    frames.claim_frames builds one encounter row per settlement, so the visit is two
    rows of ``encounters``; batch.prepare joins the lines to them and every line is
    audited twice (each rx_id listed twice, 120.00)."""
    w = make_world(client, db)
    it = kit.items(db)
    b = entries(db)["b"]
    price_rule = {
        "rule_id": "T-PRICE",
        "name": "超支付价格",
        "family": "price",
        "stages": ["mid", "post"],
        "window": "visit",
        "result_type": "definite",
        "sev_deg": 2,
        "params": {"codes": [b.code]},
    }
    kit.publish_rules(db, it, [price_rule])
    his, who = w["his"], w["local"]
    level = w["hospital"].level
    identify(his, who)
    now = datetime.combine(local(utcnow()).date(), time(0, 5))
    reg = {
        "psn_no": who.psn_no,
        "insutype": who.insutype,
        "begntime": f"{now:%Y-%m-%d %H:%M:%S}",
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": who.certno,
        "ipt_otp_no": f"MZ{who.id:06d}",
        "atddr_no": "D002",
        "dr_name": "张医生",
        "dept_code": "A01",
        "dept_name": "普通内科",
    }
    mdtrt_id = ok(his.send(his.envelope("2201", {"data": reg}, **ids(his, who))))["result"][
        "mdtrt_id"
    ]
    for batch in ("B1", "B2"):
        body, expected = fee_lines(db, level, mdtrt_id, who.psn_no, now, chrg_bchno=batch)
        body = [{**line, "feedetl_sn": f"{batch}-{line['feedetl_sn']}"} for line in body]
        ok(his.send(his.envelope("2204", {"feedetail": body}, **ids(his, who))))
        data = settle_input(
            who, mdtrt_id, expected["medfee_sumamt"], med_type="11", chrg_bchno=batch
        )
        ok(his.send(his.envelope("2206", data, **ids(his, who))))
        ok(his.send(his.envelope("2207", data, **ids(his, who))))

    run_post_audit(
        db, [f"{kit.today():%Y-%m}"], actor=TEST_ACTOR, params=DetectorParams(anomaly=False)
    )
    db.commit()
    set_scope(db, SYSTEM_SCOPE)
    [f] = list(db.scalars(select(Finding).where(Finding.rule_id == "T-PRICE")))
    assert sorted((x["rx_id"], x["vola_amt"]) for x in f.lines) == [
        ("B1-B1", "30.00"),
        ("B2-B1", "30.00"),
    ], f.lines
    assert f.vola_amt == Decimal("60.00")
