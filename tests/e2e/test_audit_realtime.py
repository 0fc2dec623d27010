"""Real-time audit over HTTP (issue 13 item 4, ADR 0023; SQLite and PostgreSQL): 3101
事前 and 3102 事中 through the gateway's envelope and as plain JSON, with a published
rule set whose findings are computed by hand here (a sex, an age and an indication
rule on the claim's own lines, a same-day duplicate against a stay settled earlier
through the gateway); the 事前 reminder (recent visits, drugs on hand) from visits
settled in the test; 3103 feedback stored with audit rows; refusals that name the
field and store nothing."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from tests.builders import TEST_ACTOR, user
from tests.builders import audit as kit
from tests.builders.exchange import His, ok
from tests.builders.soap import call, soap_client
from tests.builders.visits import make_world
from yibao.accounts.models import User
from yibao.accounts.tokens import do_create_api_token
from yibao.audit.models import AuditLog
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.regions.models import Hospital
from yibao.supervision.realtime.models import AuditFeedback, AuditFinding, AuditRequest

D = Decimal


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    w = make_world(client, db)
    it = kit.items(db)
    w["items"] = it
    w["rule_set_id"] = kit.publish_rules(db, it)
    return w


def plain(client, his: His, infno: str, body: Any) -> Any:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {his.token}"}
    return client.post(f"/api/audit/{infno}", json=body, headers=headers)


def by_rule(output: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["rule_id"]: r for r in output["result"]}


def test_3101_and_3102_findings_by_hand_through_both_bindings(client, db, world) -> None:  # type: ignore[no-untyped-def]
    his: His = world["his"]
    who = world["local"]
    it: kit.Items = world["items"]
    # an earlier stay settled through the gateway: dup_a billed on its second day
    earlier = kit.stay(his, who, [(it.dup_a, "1", "80.00", None)], days_ago=6)
    day = earlier["fee_day"]
    orders = [
        kit.order("R1", it.male_only, "2", "15.50", day),  # a woman: sex rule, 31.00
        kit.order("R2", it.child_drug, "3", "12.00", day),  # 46 years old: age rule, 36.00
        kit.order("R3", it.dx_drug, "1", "99.99", day),  # I21 is no N40: indication
        kit.order("R4", it.dup_b, "1", "40.00", day),  # same day as dup_a: duplicate (事中)
        kit.order("R5", it.plain, "1", "10.00", day),  # nothing
    ]
    pre_in = kit.audit_input(who, orders, day=day - timedelta(days=2), trig_scen="2")
    before = kit.counts(db)
    env = his.envelope("3101", pre_in, insuplc_admdvs=who.insuplc_admdvs)
    pre = ok(his.send(env))
    found = by_rule(pre)
    # the duplicate rule runs 事中 only (stages mid, scenarios 8 and 9)
    assert sorted(found) == ["T-AGE", "T-IND", "T-SEX"]
    sex, age, ind = found["T-SEX"], found["T-AGE"], found["T-IND"]
    assert (sex["vola_amt"], sex["sev_deg"], sex["vola_bhvr_type"]) == ("31.00", "3", "sex")
    assert (age["vola_amt"], age["sev_deg"]) == ("36.00", "2")
    assert (ind["vola_amt"], ind["sev_deg"], ind["result_type"]) == ("99.99", "1", "suspicious")
    for r, rx in ((sex, "R1"), (age, "R2"), (ind, "R3")):
        assert r["patn_id"] == who.psn_no and r["mdtrt_id"] == "HIS-MZ-0001"
        assert r["rule_version"] == 1 and r["vola_amt_stas"] == "1"
        [detail] = r["judge_result_detail_dtos"]
        assert (detail["rx_id"], detail["vola_item_type"]) == (rx, "1")
        assert detail["vola_amt"] == r["vola_amt"] and detail["jrd_id"] == f"{r['jr_id']}-1"
    assert it.male_only in sex["vola_cont"] and "男" in sex["vola_cont"]
    task_id = sex["task_id"]
    assert len(task_id) == 32 and {r["task_id"] for r in pre["result"]} == {task_id}
    # stored centrally: the request, its answer, the findings; the journal row beside it
    after = kit.counts(db)
    assert after["requests"] == before["requests"] + 1
    assert after["findings"] == before["findings"] + 3
    assert after["journal"] == before["journal"] + 1
    set_scope(db, SYSTEM_SCOPE)
    row = db.scalar(select(AuditRequest).where(AuditRequest.task_id == task_id))
    assert (row.infno, row.stage, row.trig_scen, row.via) == ("3101", "pre", 2, "exchange")
    assert (row.psn_no, row.mdtrt_id, row.findings) == (who.psn_no, "HIS-MZ-0001", 3)
    assert row.vola_amt == D("166.99") and row.msgid == env["msgid"]
    assert row.rule_set_id == world["rule_set_id"] and row.rule_set_version >= 1
    assert row.result == pre and row.request["data"]["syscode"] == "HISTEST"
    assert row.hospital_id == world["hospital"].id and row.message_id is not None
    stored = db.scalars(select(AuditFinding).where(AuditFinding.request_id == row.id)).all()
    assert {(f.rule_id, f.vola_amt, f.sev_deg, f.stage) for f in stored} == {
        ("T-SEX", D("31.00"), 3, "pre"),
        ("T-AGE", D("36.00"), 2, "pre"),
        ("T-IND", D("99.99"), 1, "pre"),
    }
    # 3102 at the inpatient settlement (scenario 8): the duplicate of the earlier
    # stay's dup_a on the same day is found through the stored history
    mid_in = kit.audit_input(
        who, orders, day=day - timedelta(days=2), trig_scen="8", med_mdtrt_type="2"
    )
    mid = ok(his.send(his.envelope("3102", mid_in, insuplc_admdvs=who.insuplc_admdvs)))
    assert "hist_dtos" not in mid
    found = by_rule(mid)
    assert sorted(found) == ["T-AGE", "T-DUP", "T-IND", "T-SEX"]
    dup = found["T-DUP"]
    assert dup["vola_amt"] == "40.00" and dup["vola_bhvr_type"] == "duplicate"
    assert [(d["rx_id"], d["vola_item_type"]) for d in dup["judge_result_detail_dtos"]] == [
        ("R4", "1")
    ]
    # the same finding has the same jr_id at each stage and on a rerun (ADR 0020)
    assert found["T-SEX"]["jr_id"] == sex["jr_id"]
    # the plain JSON route answers the same output, stored with via api
    r = plain(client, his, "3102", mid_in)
    assert r.status_code == 200, r.text
    again = r.json()["output"]
    assert [(x["rule_id"], x["jr_id"], x["vola_amt"]) for x in again["result"]] == [
        (x["rule_id"], x["jr_id"], x["vola_amt"]) for x in mid["result"]
    ]
    assert again["result"][0]["task_id"] != mid["result"][0]["task_id"]
    r = plain(client, his, "3101", pre_in)
    assert r.status_code == 200, r.text
    assert [x["jr_id"] for x in r.json()["output"]["result"]] == [x["jr_id"] for x in pre["result"]]
    db.expire_all()
    vias = db.scalars(select(AuditRequest.via).order_by(AuditRequest.id)).all()
    assert vias == ["exchange", "exchange", "api", "api"]
    # the SOAP binding carries the same transaction (the envelope as callService's fields)
    soap_env = his.envelope("3102", mid_in, insuplc_admdvs=who.insuplc_admdvs)
    soap = call(soap_client(client, his.token), soap_env)
    assert soap["infcode"] == 0, soap
    assert [x["jr_id"] for x in soap["output"]["result"]] == [x["jr_id"] for x in mid["result"]]
    # rule_ids instead of a scenario: only those rules
    only = kit.audit_input(
        who, orders, day=day, trig_scen=None, rule_ids="T-SEX,T-DUP", med_mdtrt_type="2"
    )
    out = ok(his.send(his.envelope("3102", only, insuplc_admdvs=who.insuplc_admdvs)))
    assert sorted(by_rule(out)) == ["T-DUP", "T-SEX"]
    # a clean claim: no finding, still stored
    n = kit.counts(db)["requests"]
    clean = kit.audit_input(who, [kit.order("R9", it.plain, "1", "10.00", day)], day=day)
    assert ok(his.send(his.envelope("3101", clean)))["result"] == []
    assert kit.counts(db)["requests"] == n + 1


def test_3101_reminder_recent_visits_and_drugs_on_hand(client, db, world) -> None:  # type: ignore[no-untyped-def]
    his: His = world["his"]
    who = world["local"]
    it: kit.Items = world["items"]
    today = kit.today()
    # 40 days ago: a long supply (prd_days 60) — outside the 30-day visit list,
    # still on hand; 10 days ago: prd_days 15 and a drug with no known supply;
    # 3 days ago: 12 units of a drug of at most 3 a day → 4 days
    old = kit.stay(his, who, [(it.drug_prd, "60", "2.50", "60")], days_ago=40)
    mid = kit.stay(
        his,
        who,
        [(it.drug_prd, "30", "2.50", "15"), (it.drug_unknown, "5", "3.00", None)],
        days_ago=10,
    )
    near = kit.stay(his, who, [(it.drug_per_day, "12", "1.20", None)], days_ago=3, los=1)
    # another hospital of the region, 2 days ago, not settled (uploaded lines only)
    set_scope(db, SYSTEM_SCOPE)
    code = db.scalar(select(User).where(User.username == "hosp02")).hospital.code
    other_user = user(
        db,
        "his_client",
        hospital=db.scalar(select(Hospital).where(Hospital.code == code)),
        username="his_hosp02",
    )
    other = His(client, do_create_api_token(db, other_user, "t", actor=TEST_ACTOR), code)
    db.commit()
    other.sign_in()
    open_stay = kit.stay(
        other,
        who,
        [(it.plain, "2", "25.00", None)],
        days_ago=2,
        settle=False,
        diag=("J18.900", "肺炎"),
    )
    pre_in = kit.audit_input(who, [kit.order("R1", it.plain, "1", "10.00", today)], day=today)
    out = ok(his.send(his.envelope("3101", pre_in)))
    hist = out["hist_dtos"]
    assert [(h["mdtrt_date"], h["setl_flag"], h["medfee_sumamt"]) for h in hist] == [
        (str(today - timedelta(days=2)), "0", "50.00"),
        (str(today - timedelta(days=3)), "1", str(near["total"])),
        (str(today - timedelta(days=10)), "1", str(mid["total"])),
    ]
    assert hist[0]["fixmedins_code"] == code and hist[0]["dise_codg"] == "J18.900"
    assert hist[0]["med_mdtrt_type"] == "2" and hist[1]["fixmedins_code"] == his.code
    assert hist[1]["fixmedins_name"] == world["hospital"].name
    drugs = out["drug_remaining_dtos"]
    # by hand: dispensed on day D for S days covers D … D+S−1, R = D + S − today
    d_old, d_mid, d_near = old["fee_day"], mid["fee_day"], near["fee_day"]
    want = [
        (it.drug_prd, str(d_old), 60, "prd_days", (d_old + timedelta(days=60) - today).days),
        (it.drug_prd, str(d_mid), 15, "prd_days", (d_mid + timedelta(days=15) - today).days),
        (it.drug_per_day, str(d_near), 4, "per_day", (d_near + timedelta(days=4) - today).days),
    ]
    assert want[0][4] == 21 and want[1][4] == 6 and want[2][4] == 2
    got = [
        (d["hilist_code"], d["mdtrt_date"], d["prd_days"], d["days_basis"], d["rema_days"])
        for d in drugs
    ]
    assert got == sorted(want, key=lambda w: (-w[4], w[0], w[1]))
    assert all(d["fixmedins_name"] == world["hospital"].name for d in drugs)
    # at registration (trig_scen 1) there may be no order yet: the reminder alone
    bare = kit.audit_input(who, [], day=today, trig_scen="1")
    answer = ok(his.send(his.envelope("3101", bare)))
    assert answer["result"] == [] and answer["hist_dtos"] == hist
    assert answer["drug_remaining_dtos"] == drugs
    # an unidentified person gets no reminder, with a warning
    stranger = kit.audit_input(
        world["far"], [kit.order("R1", it.plain, "1", "10.00", today)], day=today
    )
    answer = his.send(his.envelope("3101", stranger))
    assert answer["infcode"] == 0 and answer["output"]["hist_dtos"] == []
    assert "1101" in answer["warn_msg"]
    # ... said first, whatever the reader noted (a dozen numbers sent as text)
    many = [
        kit.order(f"R{i}", it.plain, "1", "10.00", today, prd_days=str(i % 3 + 1))
        for i in range(12)
    ]
    loud = kit.audit_input(world["far"], many, day=today)
    for answer in (
        his.send(his.envelope("3101", loud))["warn_msg"],
        plain(client, his, "3101", loud).json()["warn_msg"],
    ):
        assert answer.startswith("参保人") and "1101" in answer.split("；")[0], answer
    assert open_stay["mdtrt_id"]


def test_3103_feedback_stored_with_audit_rows(client, db, world) -> None:  # type: ignore[no-untyped-def]
    his: His = world["his"]
    who = world["local"]
    it: kit.Items = world["items"]
    today = kit.today()
    orders = [
        kit.order("R1", it.male_only, "1", "20.00", today),
        kit.order("R2", it.child_drug, "1", "5.00", today),
    ]
    pre = ok(his.send(his.envelope("3101", kit.audit_input(who, orders, day=today))))
    found = by_rule(pre)
    sex, age = found["T-SEX"], found["T-AGE"]
    task = sex["task_id"]
    before = kit.counts(db)
    fb = {
        "data": {
            "warn_type": "1",
            "task_id": task,
            "warns": [
                {"warn_rslt_id": sex["jr_id"], "dspo_way": "2"},
                {
                    "warn_rslt_id": age["jr_id"],
                    "dspo_way": "1",
                    "dspo_way_rea": "家属坚持，已告知自费",
                },
            ],
        }
    }
    out = ok(his.send(his.envelope("3103", fb)))
    assert [(r["warn_rslt_id"], r["task_id"], r["dspo_way"]) for r in out["result"]] == [
        (sex["jr_id"], task, "2"),
        (age["jr_id"], task, "1"),
    ]
    after = kit.counts(db)
    assert after["feedback"] == before["feedback"] + 2
    assert after["audit"] == before["audit"] + 2
    set_scope(db, SYSTEM_SCOPE)
    rows = db.scalars(select(AuditFeedback).order_by(AuditFeedback.id)).all()
    assert [(r.jr_id, r.dspo_way, r.reason, r.via) for r in rows] == [
        (sex["jr_id"], "2", "", "exchange"),
        (age["jr_id"], "1", "家属坚持，已告知自费", "exchange"),
    ]
    logs = db.scalars(select(AuditLog).where(AuditLog.action == "supervision.audit.feedback")).all()
    assert {log.after["jr_id"] for log in logs} == {sex["jr_id"], age["jr_id"]}
    # plain JSON, without task_id: the latest request of the institution with that jr_id
    r = plain(
        client,
        his,
        "3103",
        {"data": {"warn_type": "1", "warns": [{"warn_rslt_id": sex["jr_id"], "dspo_way": "2"}]}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["output"]["result"][0]["task_id"] == task
    # refusals: reason missing, unknown jr_id, wrong stage, another institution's
    set_scope(db, SYSTEM_SCOPE)
    code = db.scalar(select(User).where(User.username == "hosp02")).hospital.code
    other_user = user(
        db,
        "his_client",
        hospital=db.scalar(select(Hospital).where(Hospital.code == code)),
        username="his_hosp02",
    )
    other = His(client, do_create_api_token(db, other_user, "t", actor=TEST_ACTOR), code)
    db.commit()
    n = kit.counts(db)
    bad = [
        ({"warn_rslt_id": age["jr_id"], "dspo_way": "1"}, "1", "data.warns[0].dspo_way_rea"),
        ({"warn_rslt_id": "0" * 32, "dspo_way": "2"}, "1", "data.warns[0].warn_rslt_id"),
        ({"warn_rslt_id": sex["jr_id"], "dspo_way": "2"}, "2", "data.warn_type"),
        ({"warn_rslt_id": sex["jr_id"], "dspo_way": "3"}, "1", "data.warns[0].dspo_way"),
    ]
    for warn, kind, field in bad:
        body = {"data": {"warn_type": kind, "warns": [warn]}}
        r = plain(client, his, "3103", body)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == field, r.json()
        answer = his.send(his.envelope("3103", body))
        assert answer["infcode"] == -1 and field.split(".")[-1].split("[")[0] in answer["err_msg"]
    body = {
        "data": {
            "warn_type": "1",
            "task_id": task,
            "warns": [{"warn_rslt_id": sex["jr_id"], "dspo_way": "2"}],
        }
    }
    r = plain(client, other, "3103", body)
    assert r.status_code == 422 and "没有" in r.json()["error"]["message"], r.text
    # one finding handled twice in one message (accept and explain): which one stands?
    twice = {
        "data": {
            "warn_type": "1",
            "warns": [
                {"warn_rslt_id": sex["jr_id"], "dspo_way": "2"},
                {"warn_rslt_id": sex["jr_id"], "dspo_way": "1", "dspo_way_rea": "x"},
            ],
        }
    }
    r = plain(client, his, "3103", twice)
    assert r.status_code == 422 and r.json()["error"]["field"] == "data.warns[1].warn_rslt_id"
    assert "出现两次" in r.json()["error"]["message"], r.text
    after = kit.counts(db)
    assert {k: after[k] for k in ("feedback", "audit", "requests")} == {
        k: n[k] for k in ("feedback", "audit", "requests")
    }


def test_bad_requests_name_the_field_and_store_nothing(client, db, world) -> None:  # type: ignore[no-untyped-def]
    his: His = world["his"]
    who = world["local"]
    it: kit.Items = world["items"]
    today = kit.today()
    good = kit.audit_input(who, [kit.order("R1", it.male_only, "1", "20.00", today)], day=today)
    enc = "data.patient_dtos[0].fsi_encounter_dtos[0]"

    def variant(change) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        body = kit.audit_input(who, [kit.order("R1", it.male_only, "1", "20.00", today)], day=today)
        change(body["data"])
        return body

    def set_order(key: str, value: Any):  # type: ignore[no-untyped-def]
        return lambda d: d["patient_dtos"][0]["fsi_encounter_dtos"][0]["fsi_order_dtos"][0].update(
            {key: value}
        )

    cases = [
        (
            "3101",
            variant(lambda d: d.update(rule_ids=["T-SEX", "NO-SUCH"], trig_scen=None)),
            "data.rule_ids",
            "NO-SUCH",
        ),
        (
            "3101",
            variant(lambda d: d["patient_dtos"][0].update(fsi_encounter_dtos=[])),
            "data.patient_dtos[0].fsi_encounter_dtos",
            "就诊信息",
        ),
        (
            "3101",
            variant(lambda d: d["patient_dtos"][0].pop("fsi_encounter_dtos")),
            "data.patient_dtos[0].fsi_encounter_dtos",
            "必填",
        ),
        ("3101", variant(set_order("cnt", "两盒")), f"{enc}.fsi_order_dtos[0].cnt", "数量"),
        # an order outside its encounter or after today; a birth after the encounter
        (
            "3101",
            variant(set_order("drord_begn_date", f"{today - timedelta(days=400)}")),
            f"{enc}.fsi_order_dtos[0].drord_begn_date",
            "早于入院（就诊）日期",
        ),
        (
            "3101",
            variant(set_order("drord_begn_date", f"{today + timedelta(days=1)}")),
            f"{enc}.fsi_order_dtos[0].drord_begn_date",
            "晚于今天",
        ),
        (
            "3101",
            variant(lambda d: d["patient_dtos"][0].update(brdy=f"{today + timedelta(days=3)}")),
            "data.patient_dtos[0].brdy",
            "晚于就诊",
        ),
        (
            "3101",
            variant(
                lambda d: d["patient_dtos"][0]["fsi_encounter_dtos"][0].update(
                    adm_date=f"{today + timedelta(days=30)}"
                )
            ),
            f"{enc}.adm_date",
            "晚于今天",
        ),
        # a negative or zero quantity, a total that is not quantity × price
        ("3101", variant(set_order("cnt", "-1")), f"{enc}.fsi_order_dtos[0].cnt", "应大于 0"),
        ("3102", variant(set_order("cnt", 0)), f"{enc}.fsi_order_dtos[0].cnt", "应大于 0"),
        ("3102", variant(set_order("pric", -20)), f"{enc}.fsi_order_dtos[0].pric", "不能小于 0"),
        (
            "3102",
            variant(set_order("sumamt", "200.00")),
            f"{enc}.fsi_order_dtos[0].sumamt",
            "与数量 1 × 单价 20",
        ),
        (
            "3101",
            variant(
                lambda d: d["patient_dtos"][0]["fsi_encounter_dtos"][0].update(
                    adm_date="2025-13-45 09:00:00"
                )
            ),
            f"{enc}.adm_date",
            "入院日期",
        ),
        (
            "3101",
            variant(lambda d: d["patient_dtos"][0].update(brdy="1980-02-30")),
            "data.patient_dtos[0].brdy",
            "出生日期",
        ),
        ("3101", variant(lambda d: d.update(trig_scen="8")), "data.trig_scen", "事中"),
        ("3102", variant(lambda d: d.update(trig_scen="3")), "data.trig_scen", "事前"),
        ("3101", variant(lambda d: d.update(trig_scen=None)), "data.trig_scen", "rule_ids"),
        (
            "3101",
            variant(lambda d: d["patient_dtos"][0].update(gend="5")),
            "data.patient_dtos[0].gend",
            "性别",
        ),
        (
            "3101",
            variant(lambda d: d["patient_dtos"][0].update(curr_mdtrt_id="OTHER")),
            "data.patient_dtos[0].curr_mdtrt_id",
            "OTHER",
        ),
    ]
    before = kit.counts(db)
    for infno, body, field, word in cases:
        r = plain(client, his, infno, body)
        assert r.status_code == 422, (field, r.text)
        err = r.json()["error"]
        assert err["field"] == field, (field, err)
        assert word in err["message"] and any(
            "\u4e00" <= ch <= "\u9fff" for ch in err["message"]
        ), err
        answer = his.send(his.envelope(infno, body))
        assert answer["infcode"] == -1 and answer["output"] is None, (field, answer)
        assert field.rsplit(".", 1)[-1].split("[")[0] in answer["err_msg"], (field, answer)
    # a body over the gateway's message limit (1 MiB) is refused unread on both routes
    huge = {**good, "padding": "x" * (1024 * 1024)}
    for infno in ("3101", "3103"):
        r = plain(client, his, infno, huge)
        assert r.status_code == 413 and "请求体过大" in r.json()["error"]["message"], r.text
    after = kit.counts(db)
    assert (after["requests"], after["findings"], after["feedback"]) == (
        before["requests"],
        before["findings"],
        before["feedback"],
    )
    # the gateway journals each refused message (its own business), nothing else
    assert after["journal"] == before["journal"] + len(cases)
    # no rule set in force on the encounter's date: 404 / −1, nothing stored
    old = kit.audit_input(
        who, [kit.order("R1", it.male_only, "1", "20.00", date(2019, 6, 1))], day=date(2019, 6, 1)
    )
    r = plain(client, his, "3101", old)
    assert r.status_code == 404 and "规则库" in r.json()["error"]["message"], r.text
    answer = his.send(his.envelope("3101", old))
    assert answer["infcode"] == -1 and "规则库" in answer["err_msg"]
    assert kit.counts(db)["requests"] == before["requests"]
    # a body that is no JSON object, and a user who is no HIS client
    r = client.post(
        "/api/audit/3101",
        content=b"[1]",
        headers={"Authorization": f"Bearer {his.token}", "content-type": "application/json"},
    )
    assert r.status_code == 422
    assert client.post("/api/audit/3101", json=good).status_code == 401
    set_scope(db, SYSTEM_SCOPE)
    staff = db.scalar(select(User).where(User.username == "hosp01"))
    token = do_create_api_token(db, staff, "t", actor=TEST_ACTOR)
    db.commit()
    r = client.post("/api/audit/3101", json=good, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403, r.text
    assert kit.counts(db)["requests"] == before["requests"]
    assert plain(client, his, "3101", good).status_code == 200


def _no_task(value: Any) -> Any:
    """An answer without its task ids (new for every request)."""
    if isinstance(value, dict):
        return {k: _no_task(v) for k, v in value.items() if k != "task_id"}
    if isinstance(value, list):
        return [_no_task(v) for v in value]
    return value


def test_a_batch_answers_as_each_request_alone(client, db, world, settings) -> None:  # type: ignore[no-untyped-def]
    """The fast route's group commit answers queued requests together (ADR 0026): one
    history look-up for all, two inserts.  Each answer must be what the request gets
    alone — history across the batch's persons and institutions, the reminder, a refusal
    that stores nothing, a person the institution has not identified."""
    from yibao.engines.audit.messages import AuditIn
    from yibao.engines.exchange import Refused
    from yibao.engines.exchange.lenient import read
    from yibao.exchange.registry import Institution
    from yibao.kit.timeutil import utcnow
    from yibao.supervision.realtime.service import Asker, AuditJob, answer_audit, answer_audits

    his: His = world["his"]
    who = world["local"]
    it: kit.Items = world["items"]
    today = kit.today()
    earlier = kit.stay(his, who, [(it.dup_a, "1", "80.00", None)], days_ago=6)
    kit.stay(his, who, [(it.drug_per_day, "12", "1.20", None)], days_ago=3, los=1)
    day = earlier["fee_day"]
    h = world["hospital"]
    inst = Institution(h.id, h.code, h.name, h.region_code, h.level)
    inputs = [
        ("3101", kit.audit_input(who, [kit.order("R1", it.plain, "1", "10.00", today)], day=today)),
        (
            "3102",
            kit.audit_input(
                who,
                [kit.order("R4", it.dup_b, "1", "40.00", day)],
                day=day - timedelta(days=2),
                trig_scen="8",
                med_mdtrt_type="2",
            ),
        ),
        ("3101", kit.audit_input(who, [], day=today, trig_scen="8")),  # 事中 scenario: refused
        (
            "3101",
            kit.audit_input(
                world["far"], [kit.order("R1", it.male_only, "1", "15.50", today)], day=today
            ),
        ),
    ]

    def jobs() -> list[AuditJob]:
        out = []
        for infno, doc in inputs:
            data, _ = read(AuditIn, doc)
            asker = Asker(inst, TEST_ACTOR, None, "api", utcnow())
            out.append(AuditJob(infno, data, asker))
        return out

    alone: list[Any] = []
    for job in jobs():
        try:
            alone.append(answer_audit(db, job.infno, job.data, job.asker, settings))
        except Refused as exc:
            alone.append(exc)
    db.commit()
    before = kit.counts(db)
    batch_jobs = jobs()
    together = answer_audits(db, batch_jobs, settings)
    db.commit()
    after = kit.counts(db)
    assert len(together) == len(alone) == 4
    assert isinstance(alone[2], Refused) and isinstance(together[2], Refused)
    assert together[2].field == alone[2].field == "data.trig_scen"
    for a, b in zip(alone, together, strict=True):
        if not isinstance(a, Refused):
            assert not isinstance(b, Refused)
            assert _no_task(b.out.model_dump(mode="json")) == _no_task(a.model_dump(mode="json"))
            # the answer's JSON text is its output
            assert json.loads(b.json) == b.out.model_dump(mode="json")
    # … and what each request stored as its result
    set_scope(db, SYSTEM_SCOPE)
    newest = select(AuditRequest.result).order_by(AuditRequest.id.desc()).limit(3)
    stored = db.scalars(newest).all()
    answers = [json.loads(t.json) for t in together if not isinstance(t, Refused)]
    assert len(answers) == 3 and all(a in stored for a in answers)
    # what the batch found is what was worked out alone: the duplicate against the earlier
    # stay, the reminder, a warning for the person not identified
    assert [r.rule_id for r in together[1].out.result] == ["T-DUP"]  # type: ignore[union-attr]
    assert together[0].out.hist_dtos  # type: ignore[union-attr]
    assert any("1101" in w for w in batch_jobs[3].asker.warnings)
    assert after["requests"] - before["requests"] == 3  # the refused one stored nothing
    findings = sum(len(t.out.result) for t in together if not isinstance(t, Refused))
    assert after["findings"] - before["findings"] == findings
