"""The stored real-time audits, for later analysis (issue 13 item 4): every 3101 / 3102
and its answer listed with totals, the rules that warned most and the doctors'
feedback (3103); one request's page with what the HIS sent and was told; the Excel
export; the link to and from post-audit findings of the same visit; a hospital sees
its own only, a HIS client none; bad filters refused in Chinese.  SQLite and
PostgreSQL."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.builders import audit as kit
from tests.builders.exchange import His
from tests.builders.settlement import login
from tests.builders.visits import make_world
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD
from yibao.engines.audit.rules import family_name
from yibao.regions.models import Hospital
from yibao.supervision.findings.models import Finding

HTML = {"accept": "text/html"}


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    w = make_world(client, db)
    it = kit.items(db)
    w["items"] = it
    w["rule_set_id"] = kit.publish_rules(db, it)
    his: His = w["his"]
    who = w["local"]
    today = kit.today()
    headers = {"Authorization": f"Bearer {his.token}"}
    orders = [
        kit.order("R1", it.male_only, "1", "20.00", today),  # a woman: T-SEX 20.00
        kit.order("R2", it.child_drug, "1", "5.00", today),  # an adult: T-AGE 5.00
    ]
    pre = client.post(
        "/api/audit/3101", json=kit.audit_input(who, orders, day=today), headers=headers
    )
    assert pre.status_code == 200, pre.text
    found = {r["rule_id"]: r for r in pre.json()["output"]["result"]}
    assert sorted(found) == ["T-AGE", "T-SEX"]
    feedback = {
        "data": {
            "warn_type": "1",
            "task_id": found["T-SEX"]["task_id"],
            "warns": [
                {"warn_rslt_id": found["T-SEX"]["jr_id"], "dspo_way": "2"},
                {
                    "warn_rslt_id": found["T-AGE"]["jr_id"],
                    "dspo_way": "1",
                    "dspo_way_rea": "家属坚持，已告知自费",
                },
            ],
        }
    }
    assert client.post("/api/audit/3103", json=feedback, headers=headers).status_code == 200
    clean = [kit.order("R9", it.plain, "1", "10.00", today)]
    mid_in = kit.audit_input(who, clean, day=today, trig_scen="7")
    mid = client.post("/api/audit/3102", json=mid_in, headers=headers)
    assert mid.status_code == 200 and mid.json()["output"]["result"] == []
    w["found"] = found
    w["visit"] = found["T-SEX"]["mdtrt_id"]
    return w


def _list(client, **params: Any) -> Any:  # type: ignore[no-untyped-def]
    r = client.get("/api/audit/requests", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_reviewer_lists_filters_and_reads_a_request(client, db, world) -> None:  # type: ignore[no-untyped-def]
    login(client, "reviewer", DEMO_PASSWORD)
    got = _list(client)
    assert got["total"] == 2
    assert got["totals"] == {
        "requests": 2,
        "warned": 1,
        "findings": 2,
        "amount": "25.00",
        "continued": 1,
        "changed": 1,
    }
    hits = {h["rule_id"]: h for h in got["rules"]}
    assert (hits["T-AGE"]["hits"], hits["T-AGE"]["continued"], hits["T-AGE"]["changed"]) == (
        1,
        1,
        0,
    )
    assert (hits["T-SEX"]["amount"], hits["T-SEX"]["changed"]) == ("20.00", 1)
    newest, oldest = got["items"]
    assert (newest["infno"], newest["stage_name"], newest["findings"]) == ("3102", "事中", 0)
    assert (oldest["infno"], oldest["findings"], oldest["vola_amt"]) == ("3101", 2, "25.00")
    assert oldest["trig_scen_name"].startswith("事前")
    # filters
    assert _list(client, stage="mid")["total"] == 1
    assert _list(client, outcome="warned")["items"][0]["id"] == oldest["id"]
    assert _list(client, outcome="clean")["items"][0]["id"] == newest["id"]
    assert _list(client, rule="T-SEX")["total"] == 1
    assert _list(client, rule="T-NONE")["total"] == 0
    assert _list(client, visit=world["visit"])["total"] == 2
    assert _list(client, person=world["local"].psn_no)["total"] == 2
    today = kit.today()
    assert _list(client, day_from=today.isoformat(), day_to=today.isoformat())["total"] == 2
    assert _list(client, day_from=(today + timedelta(days=1)).isoformat())["total"] == 0
    code = world["hospital"].code
    assert _list(client, hospital=code)["total"] == 2
    assert _list(client, hospital="H00000000000")["total"] == 0
    # one request: what the HIS sent, what it was told, what the doctor chose
    detail = client.get(f"/api/audit/requests/{oldest['id']}").json()
    assert detail["hospital_code"] == code and detail["gend"] == "2"
    [enc] = detail["encounters"]
    assert enc["current"] and [o["rx_id"] for o in enc["orders"]] == ["R1", "R2"]
    found = {f["rule_id"]: f for f in detail["found"]}
    assert [fb["dspo_way_name"] for fb in found["T-SEX"]["feedback"]] == ["返回修改"]
    [age_fb] = found["T-AGE"]["feedback"]
    assert (age_fb["dspo_way"], age_fb["reason"]) == ("1", "家属坚持，已告知自费")
    assert found["T-SEX"]["lines"][0]["rx_id"] == "R1"
    assert detail["result"]["result"][0]["task_id"] == detail["task_id"]
    assert detail["post_findings"] == []
    # the pages
    page = client.get("/supervision/realtime", headers=HTML)
    assert page.status_code == 200
    assert page.text.count('data-testid="request-row"') == 2
    assert 'href="/supervision/realtime"' in page.text  # the navigation entry
    assert "家属坚持" not in page.text and 'data-rule="T-AGE"' in page.text
    shown = client.get(f"/supervision/realtime/{oldest['id']}", headers=HTML)
    assert shown.status_code == 200
    assert "家属坚持，已告知自费" in shown.text and "返回修改" in shown.text
    assert it_code(world, "male_only") in shown.text
    filtered = client.get("/supervision/realtime", params={"stage": "pre"}, headers=HTML)
    assert filtered.text.count('data-testid="request-row"') == 1


def it_code(world: dict[str, Any], name: str) -> str:
    return str(getattr(world["items"], name))


def test_excel_export_one_row_per_warning(client, db, world) -> None:  # type: ignore[no-untyped-def]
    login(client, "reviewer", DEMO_PASSWORD)
    r = client.get("/api/audit/requests", params={"format": "xlsx"})
    assert r.status_code == 200 and "audit-requests.xlsx" in r.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert header[:4] == ("审核时间", "医疗机构编码", "交易", "审核环节")
    body = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    assert len(body) == 3  # two warnings of the 3101, the clean 3102 as one row
    by_rule = {b["规则编号"]: b for b in body}
    assert by_rule["T-AGE"]["医生处理"] == "继续执行"
    assert by_rule["T-AGE"]["继续执行理由"] == "家属坚持，已告知自费"
    assert by_rule["T-SEX"]["医生处理"] == "返回修改" and by_rule["T-SEX"]["继续执行理由"] is None
    assert Decimal(str(by_rule["T-SEX"]["涉及金额（元）"])) == Decimal("20.00")
    assert by_rule[None]["审核环节"] == "事中" and by_rule[None]["交易"] == "3102"
    assert by_rule[None]["触发场景"] == "事中-门诊预结算"  # trig_scen 7, in words
    assert "filename*=UTF-8''" in r.headers["content-disposition"]  # 事前事中审核记录.xlsx


def test_scope_roles_and_bad_filters(client, db, world) -> None:  # type: ignore[no-untyped-def]
    login(client, "hosp01", DEMO_PASSWORD)
    mine = _list(client)
    assert mine["total"] == 2
    page = client.get("/supervision/realtime", headers=HTML)
    assert page.status_code == 200 and 'id="f-hospital"' not in page.text
    login(client, "hosp02", DEMO_PASSWORD)
    assert _list(client)["total"] == 0
    some = mine["items"][0]["id"]
    r = client.get(f"/api/audit/requests/{some}")
    assert r.status_code == 404 and "不存在或不在您的权限范围" in r.json()["error"]["message"]
    assert client.get(f"/supervision/realtime/{some}", headers=HTML).status_code == 404
    login(client, "his01", DEMO_PASSWORD)
    r = client.get("/api/audit/requests")
    assert r.status_code == 403 and "事前事中审核记录" in r.json()["error"]["message"]
    login(client, "ruleadmin", DEMO_PASSWORD)
    assert _list(client)["total"] == 2
    for params, field, words in (
        ({"stage": "late"}, "stage", "pre（事前）或 mid（事中）"),
        ({"outcome": "x"}, "outcome", "warned"),
        ({"day_from": "2026-02-01", "day_to": "2026-01-01"}, "day_to", "早于开始日期"),
        ({"day_from": "2025-01-01", "day_to": "2026-06-01"}, "day_to", "最多查询 366 天"),
    ):
        r = client.get("/api/audit/requests", params=params)
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["field"] == field and words in error["message"], error
        page = client.get("/supervision/realtime", params=params, headers=HTML)
        assert page.status_code == 422 and words in page.text
    page = client.get("/supervision/realtime", params={"day_from": "昨天"}, headers=HTML)
    assert page.status_code == 422 and "YYYY-MM-DD" in page.text


def test_post_audit_finding_shows_the_warnings_of_its_visit(client, db, world) -> None:  # type: ignore[no-untyped-def]
    """A reviewer deciding a post-audit finding sees that the doctor was warned in real
    time and continued anyway, with the reason; the request's page links back."""
    set_scope(db, SYSTEM_SCOPE)
    hospital = db.scalar(select(Hospital).where(Hospital.id == world["hospital"].id))
    finding = Finding(
        hospital_id=hospital.id,
        region_code=hospital.region_code,
        jr_id="TEST-LINK-1",
        source="rule",
        rule_id="T-AGE",
        rule_version=1,
        rule_name="年龄限定",
        family="age",
        result_type="definite",
        sev_deg=2,
        hospital_code=hospital.code,
        period=kit.today().strftime("%Y-%m"),
        psn_no=world["local"].psn_no,
        mdtrt_id=world["visit"],
        vola_cont="测试：成人使用儿童用药",
        vola_evid="测试",
        vola_amt=Decimal("5.00"),
    )
    db.add(finding)
    db.commit()
    login(client, "reviewer", DEMO_PASSWORD)
    page = client.get(f"/supervision/findings/{finding.id}", headers=HTML)
    assert page.status_code == 200
    assert 'data-testid="realtime-warnings"' in page.text
    assert (
        f"，{family_name(finding.family)}）" in page.text
        and f"，{finding.family}）" not in page.text
    )
    assert "家属坚持，已告知自费" in page.text and "/supervision/realtime/" in page.text
    requests = _list(client, outcome="warned")["items"]
    detail = client.get(f"/api/audit/requests/{requests[0]['id']}").json()
    assert [p["id"] for p in detail["post_findings"]] == [finding.id]
    # not published: a hospital neither sees the finding nor its link
    login(client, "hosp01", DEMO_PASSWORD)
    detail = client.get(f"/api/audit/requests/{requests[0]['id']}").json()
    assert detail["post_findings"] == []
