"""The real-time audit (3102) and the post-audit (事后) over the same settled stay give
the same findings: the post-audit reads the stored visits and fee lines with what the
HIS sent for them — the days of supply (``prd_days``) that the quantity rule multiplies
the daily maximum by, every diagnosis of the stay, which the indication rule reads, and
the department that billed each line, which the specialty rule reads, and a charge
less the refunds naming it (ADR 0020, 0023, 0024, 0045)."""

from __future__ import annotations

from datetime import timedelta
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


def _quantity(it: kit.Items) -> dict[str, object]:
    """The day-window quantity rule of drug_per_day (3 a day), 事中 and 事后."""
    return {
        "rule_id": "T-QTY",
        "name": "超每日最大用量",
        "family": "quantity",
        "stages": ["mid", "post"],
        "window": "day",
        "result_type": "suspicious",
        "sev_deg": 2,
        "params": {"codes": [it.drug_per_day]},
    }


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    w = make_world(client, db)
    it = kit.items(db)
    quantity = _quantity(it)
    indication = quantity | {
        "rule_id": "T-IND",
        "name": "限适应症用药",
        "family": "indication",
        "window": "visit",
        "params": {"codes": [it.dx_drug]},
    }
    specialty = indication | {
        "rule_id": "T-DEPT",
        "name": "限科室项目",
        "family": "specialty",
        "params": {"codes": [it.dept_only]},
    }
    # the knowledge allows 3 units a day of drug_per_day, dx_drug only with N40,
    # dept_only only billed by department A10
    kit.publish_rules(db, it, [quantity, indication, specialty])
    w["items"] = it
    return w


def _order(rx: str, code: str, cnt: str, day: object, prd: str | None) -> dict[str, object]:
    extra = {} if prd is None else {"prd_days": prd}
    return kit.order(rx, code, cnt, "2.00", day, **extra)  # type: ignore[arg-type]


def _mid(client, his, who, s, orders, secondary=None, **kw):  # type: ignore[no-untyped-def]
    """3102 (住院结算, trig_scen 8) of stay ``s`` with ``orders`` (and a ``secondary``
    diagnosis after the main one): its findings as (rule_id, vola_amt)."""
    body = kit.audit_input(
        who,
        orders,
        day=s["start"].date(),
        mdtrt_id=s["mdtrt_id"],
        trig_scen="8",
        med_mdtrt_type="2",
        **kw,
    )
    if secondary is not None:
        enc = body["data"]["patient_dtos"][0]["fsi_encounter_dtos"][0]
        enc["fsi_diagnose_dtos"].append(
            {"dise_id": "2", "maindise_flag": "0", "dias_srt_no": "2", "dise_codg": secondary}
        )
    r = client.post("/api/audit/3102", json=body, headers={"Authorization": f"Bearer {his.token}"})
    assert r.status_code == 200, r.text
    return [(x["rule_id"], x["vola_amt"]) for x in r.json()["output"]["result"]]


def _post(db, rule_id: str) -> list[Finding]:  # type: ignore[no-untyped-def]
    """The post-audit of this month (both stays were settled in it): findings of ``rule_id``."""
    month = local(utcnow()).strftime("%Y-%m")
    run_post_audit(db, [month], actor=TEST_ACTOR, params=DetectorParams(anomaly=False))
    db.commit()
    set_scope(db, SYSTEM_SCOPE)
    return list(db.scalars(select(Finding).where(Finding.rule_id == rule_id)))


def test_days_of_supply_count_alike_in_3102_and_in_the_post_audit(client, db, world) -> None:  # type: ignore[no-untyped-def]
    his: His = world["his"]
    who = world["local"]
    drug = world["items"].drug_per_day
    # 21 units for 7 days (3 a day: allowed), then 22 units for 7 days (one too many)
    stays = [
        kit.stay(his, who, [(drug, "21", "2.00", "7")], days_ago=40),
        kit.stay(his, who, [(drug, "22", "2.00", "7")], days_ago=20),
    ]
    mid = [
        _mid(client, his, who, s, [_order("L1", drug, cnt, s["fee_day"], "7")])
        for s, cnt in zip(stays, ("21", "22"), strict=True)
    ]
    assert mid == [[], [("T-QTY", "2.00")]]
    # the post-audit of the month both stays were settled in finds the same
    found = _post(db, "T-QTY")
    assert [(f.mdtrt_id, f.vola_amt) for f in found] == [(stays[1]["mdtrt_id"], Decimal("2.00"))]
    assert "用药天数 7" in found[0].vola_cont


def test_secondary_diagnoses_qualify_in_3102_and_in_the_post_audit(client, db, world) -> None:  # type: ignore[no-untyped-def]
    his: His = world["his"]
    who = world["local"]
    drug = world["items"].dx_drug  # indicated for N40 only
    main = ("I21.000", "急性心肌梗死")
    # N40 as a secondary diagnosis of the first stay; the second stay has none
    qualified = kit.stay(
        his, who, [(drug, "1", "50.00", None)], days_ago=30, others=(("N40.x00", "前列腺增生"),)
    )
    unqualified = kit.stay(
        his, who, [(drug, "1", "60.00", None)], days_ago=10, others=(("E11.900", "2型糖尿病"),)
    )
    mid = [
        _mid(client, his, who, s, [kit.order("L1", drug, "1", price, s["fee_day"])], dx, dx=main[0])
        for s, dx, price in ((qualified, "N40.x00", "50.00"), (unqualified, "E11.900", "60.00"))
    ]
    assert mid == [[], [("T-IND", "60.00")]]
    found = _post(db, "T-IND")
    assert [(f.mdtrt_id, f.vola_amt) for f in found] == [
        (unqualified["mdtrt_id"], Decimal("60.00"))
    ]
    assert "I21.000、E11.900" in found[0].vola_evid


def test_the_billing_department_of_a_line_counts_in_3102_and_in_the_post_audit(
    client, db, world
) -> None:  # type: ignore[no-untyped-def]
    """The stay belongs to A03; its dept_only line was billed by A10 (allowed) in one
    stay and by A03 in the other.  3102 reads each order's drord_dept_codg; the
    post-audit read the visit's department for every line and flagged both."""
    his: His = world["his"]
    who = world["local"]
    item = world["items"].dept_only
    allowed = kit.stay(his, who, [(item, "1", "80.00", None)], days_ago=30, bilg_dept="A10")
    wrong = kit.stay(his, who, [(item, "1", "90.00", None)], days_ago=10, bilg_dept="A03")
    mid = [
        _mid(
            client,
            his,
            who,
            s,
            [kit.order("L1", item, "1", price, s["fee_day"], drord_dept_codg=dept)],
        )
        for s, dept, price in ((allowed, "A10", "80.00"), (wrong, "A03", "90.00"))
    ]
    assert mid == [[], [("T-DEPT", "90.00")]]
    found = _post(db, "T-DEPT")
    assert [(f.mdtrt_id, f.vola_amt) for f in found] == [(wrong["mdtrt_id"], Decimal("90.00"))]


def test_a_refunded_charge_counts_only_what_was_kept(client, db, world) -> None:  # type: ignore[no-untyped-def]
    """5 units a day of a drug allowed 3, 3 of them refunded (退费, a line naming the
    charge): 2 were given.  The post-audit finds nothing (it flagged the 5), and 3102
    of another encounter that day counts the 2 kept toward the day's 3."""
    his: His = world["his"]
    who = world["local"]
    drug = world["items"].drug_per_day
    s = kit.stay(his, who, [(drug, "5", "2.00", None)], days_ago=20, refunds=(("L1", "-3"),))
    assert s["total"] == Decimal("4.00")
    assert _post(db, "T-QTY") == []
    other = {**s, "mdtrt_id": "ZY-OTHER-0001"}
    mid = [
        _mid(client, his, who, other, [_order("N1", drug, cnt, s["fee_day"], None)])
        for cnt in ("1", "2")
    ]
    assert mid == [[], [("T-QTY", "2.00")]]


def test_an_open_stays_uploaded_lines_count_when_only_new_orders_are_sent(
    client, db, world
) -> None:  # type: ignore[no-untyped-def]
    """A stay still open has 2 units of the 3-a-day drug uploaded (2301, line L1) for
    a day.  3102 of that stay sending only new orders of that day (none marked earlier,
    curr_drord_flag 0) counts the uploaded 2 with them; sending L1 again under its own
    number counts it once; sending the earlier order as such (flag 0) lets the HIS's
    copy stand for the stored lines."""
    his: His = world["his"]
    who = world["local"]
    drug = world["items"].drug_per_day
    s = kit.stay(his, who, [(drug, "2", "2.00", None)], days_ago=5, settle=False)
    day = s["fee_day"]
    assert _mid(client, his, who, s, [_order("N1", drug, "1", day, None)]) == []  # 2 + 1
    more = [_order("N1", drug, "2", day, None)]
    assert _mid(client, his, who, s, more) == [("T-QTY", "2.00")]  # 2 + 2: one too many
    resent = [_order("L1", drug, "2", day, None), _order("N1", drug, "1", day, None)]
    assert _mid(client, his, who, s, resent) == []  # L1 once: 3
    earlier = {**_order("L1", drug, "2", day, None), "curr_drord_flag": "0"}
    assert _mid(client, his, who, s, [earlier, *more]) == [("T-QTY", "2.00")]
    assert _mid(client, his, who, s, [earlier, _order("N1", drug, "1", day, None)]) == []


def test_each_encounter_is_post_audited_by_the_rules_in_force_on_its_first_day(client, db) -> None:  # type: ignore[no-untyped-def]
    """A rule that stopped ten days ago: 3102 of a stay admitted before found it, of
    one admitted after did not — and so does the post-audit of the month both were
    settled in (it used the rules in force on the month's last day for both)."""
    world = make_world(client, db)
    it = kit.items(db)
    ended = _quantity(it) | {
        "rule_id": "T-QTY-OLD",
        "name": "超每日最大用量（已停用）",
        "valid_to": local(utcnow()).date() - timedelta(days=10),
    }
    kit.publish_rules(db, it, [ended])
    his: His = world["his"]
    who = world["local"]
    drug = it.drug_per_day
    before = kit.stay(his, who, [(drug, "5", "2.00", None)], days_ago=20)
    after = kit.stay(his, who, [(drug, "5", "2.00", None)], days_ago=5)
    mid = [
        _mid(client, his, who, s, [_order("L1", drug, "5", s["fee_day"], None)])
        for s in (before, after)
    ]
    assert mid == [[("T-QTY-OLD", "4.00")], []]
    found = _post(db, "T-QTY-OLD")
    assert [(f.mdtrt_id, f.vola_amt) for f in found] == [(before["mdtrt_id"], Decimal("4.00"))]
