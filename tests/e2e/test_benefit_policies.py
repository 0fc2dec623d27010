"""Benefit policies are the bureau's data (issue 10.3), over HTTP on SQLite and PostgreSQL.

Lists are priced with the published policy of the insured place valid on the discharge
date (never the demo city's built-in policy); versions are imported as drafts from Excel
or JSON, published by a bureau admin of the region, immutable once published, and a new
version closes the open earlier one; the annual cap limits the DRG fund amount (ADR 0013).
"""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select

from tests import builders as b
from tests.builders.settlement import login, publish_standards, settlement_list, standards_table
from yibao.accounts.roles import Role
from yibao.audit.models import AuditLog
from yibao.benefits.models import StoredPolicy
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.settlement.models import CasePricing, SettlementList

D = Decimal
HTML = {"accept": "text/html"}
#: a principal diagnosis pair that groups (BX15) with a flat standard of 10,000.00
DX = ("F03.x00", "Q85.900x038")


def policy(version: int, ratio: str, valid_from: str, **kw: Any) -> dict[str, Any]:
    """A 职工 policy of 990100 whose 三级 ratio and deductible are easy to recompute."""
    levels = {lv: {"deductible": "1000", "ratio": ratio} for lv in ("1", "2", "3")}
    return {
        "code": "T990100-310",
        "version": version,
        "name": f"测试职工待遇 v{version}",
        "region_code": "990100",
        "region_name": "演示市",
        "insutype": "310",
        "valid_from": valid_from,
        "levels": levels,
        "annual_cap": kw.pop("annual_cap", "450000"),
        **kw,
    }


@pytest.fixture()
def city(client, db):  # type: ignore[no-untyped-def]
    """990100 with a 三级 hospital, its user, a bureau admin, an analyst, a district admin
    and a flat published standard (10,000.00 for every DRG and level) — no policy yet."""
    set_scope(db, SYSTEM_SCOPE)
    h = b.hospital(db, "990102", name="政策测试医院", level="3")
    b.user(db, Role.HOSPITAL_USER, hospital=h, username="hosp")
    b.user(db, Role.BUREAU_ADMIN, region_code="990100", username="admin")
    b.user(db, Role.BUREAU_ADMIN, region_code="990102", username="district")
    b.user(db, Role.BUREAU_ANALYST, region_code="990100", username="analyst")
    publish_standards(db, valid_from=date(2020, 1, 1))
    db.commit()
    return {"client": client, "hospital": h.code}


def _import_json(client, policies: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    body = json.dumps({"policies": policies}).encode()
    return client.post(
        "/api/benefits/policies/import",
        files={"file": ("p.json", body, "application/json")},
    )


def _publish(client, policy_id: int):  # type: ignore[no-untyped-def]
    return client.post(f"/api/benefits/policies/{policy_id}/publish", json={"reason": "测试"})


def _send(client, hospital: str, discharge: date, cost: str = "12000") -> dict[str, Any]:  # type: ignore[no-untyped-def]
    login(client, "hosp")
    msg = settlement_list(
        hospital, discharge=discharge, diagnoses=DX, total_cost=cost, los_days=6, age=65
    )
    r = client.post("/api/settlement/lists", json=msg)
    assert r.status_code == 200, r.text
    out = r.json()["lists"][0]
    assert out["state"] == "priced", out
    return out


def _terms(db, list_id: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    db.expire_all()
    set_scope(db, SYSTEM_SCOPE)
    terms = db.scalar(
        select(CasePricing.terms)
        .join(SettlementList, SettlementList.case_id == CasePricing.case_id)
        .where(SettlementList.id == list_id)
    )
    return json.loads(terms) if isinstance(terms, str) else dict(terms)


def test_lists_are_priced_with_the_published_policy_of_the_database(city, db):  # type: ignore[no-untyped-def]
    client, hosp = city["client"], city["hospital"]
    # no policy published: the actual pooled fund (8,400 × 10,000 / 12,000), never the
    # demo city's built-in policy
    out = _send(client, hosp, date(2025, 3, 10))
    assert D(out["fund_amount"]) == D("7000.00")
    assert _terms(db, out["list_id"])["policy_key"] is None

    login(client, "admin")
    r = _import_json(client, [policy(1, "0.5", "2020-01-01")])
    assert r.status_code == 200, r.text
    draft = r.json()["imported"][0]
    assert draft["status"] == "draft"
    # a draft prices nothing
    assert D(_send(client, hosp, date(2025, 3, 11))["fund_amount"]) == D("7000.00")

    login(client, "admin")
    assert _publish(client, draft["id"]).status_code == 200
    out = _send(client, hosp, date(2025, 3, 12))
    # national formula on the standard: (10,000 − 360 全自费 − 240 先自付 − 1,000) × 50 %
    assert D(out["fund_amount"]) == D("4200.00")
    assert _terms(db, out["list_id"])["policy_key"] == "T990100-310@v1"


def test_a_new_version_closes_the_earlier_one_and_prices_by_discharge_date(city, db):  # type: ignore[no-untyped-def]
    client, hosp = city["client"], city["hospital"]
    login(client, "admin")
    r = _import_json(client, [policy(1, "0.5", "2020-01-01"), policy(2, "0.6", "2025-01-01")])
    assert r.status_code == 200, r.text
    v1, v2 = (p["id"] for p in r.json()["imported"])
    assert _publish(client, v1).status_code == 200
    assert _publish(client, v2).status_code == 200
    rows = {p["version"]: p for p in client.get("/api/benefits/policies").json()["items"]}
    assert rows[1]["valid_to"] == "2024-12-31" and rows[2]["valid_to"] is None
    set_scope(db, SYSTEM_SCOPE)
    closed = db.scalars(select(AuditLog).where(AuditLog.action == "benefits.policy.close")).all()
    assert [a.after["valid_to"] for a in closed] == ["2024-12-31"]

    old = _send(client, hosp, date(2024, 12, 31))
    new = _send(client, hosp, date(2025, 1, 1))
    assert D(old["fund_amount"]) == D("4200.00")  # 8,400 × 50 %
    assert D(new["fund_amount"]) == D("5040.00")  # 8,400 × 60 %
    assert _terms(db, new["list_id"])["policy_key"] == "T990100-310@v2"


def test_published_versions_are_immutable_and_overlaps_refused(city, db):  # type: ignore[no-untyped-def]
    client = city["client"]
    login(client, "admin")
    v1 = _import_json(client, [policy(1, "0.5", "2025-01-01")]).json()["imported"][0]["id"]
    # a draft is edited by importing it again
    r = _import_json(client, [policy(1, "0.55", "2025-01-01")])
    assert r.status_code == 200 and r.json()["imported"][0]["id"] == v1
    assert _publish(client, v1).status_code == 200
    r = _import_json(client, [policy(1, "0.9", "2025-01-01")])
    assert r.status_code == 409 and "已发布，不能修改" in r.json()["error"]["message"]
    assert client.delete(f"/api/benefits/policies/{v1}").status_code == 409
    assert _publish(client, v1).status_code == 409
    # a version starting before the published one would overlap it
    early = _import_json(client, [policy(2, "0.6", "2024-01-01")]).json()["imported"][0]["id"]
    r = _publish(client, early)
    assert r.status_code == 409 and "重叠" in r.json()["error"]["message"]
    detail = client.get(f"/api/benefits/policies/{v1}").json()
    assert detail["body"]["levels"]["3"]["ratio"] == "0.55"
    assert client.delete(f"/api/benefits/policies/{early}").status_code == 204


def test_excel_round_trip_and_errors_name_row_and_column(city, db):  # type: ignore[no-untyped-def]
    client = city["client"]
    login(client, "admin")
    v1 = _import_json(client, [policy(1, "0.5", "2020-01-01")]).json()["imported"][0]["id"]
    assert _publish(client, v1).status_code == 200
    r = client.get("/api/benefits/policies/export")
    assert r.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    ws = wb["待遇政策"]
    header = [c.value for c in ws[1]]
    assert header[:4] == ["政策编码", "版本", "政策名称", "参保地区划"]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in ws.iter_rows(2)]
    assert [r["医院等级"] for r in rows] == ["一级", "二级", "三级"]
    assert {r["支付比例"] for r in rows} == {"0.5"} and rows[0]["状态"] == "已发布"

    # the bureau edits the sheet: a new version from 2026, 三级 paid by cost band
    col = {name: i + 1 for i, name in enumerate(header)}
    for n in range(2, 5):
        ws.cell(n, col["版本"], "2")
        ws.cell(n, col["生效日期"], "2026-01-01")
    ws.cell(4, col["支付比例"]).value = None
    ws.cell(4, col["分段比例"], "10000:85%;以上:0.9")
    buf = io.BytesIO()
    wb.save(buf)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    r = client.post(
        "/api/benefits/policies/import", files={"file": ("p.xlsx", buf.getvalue(), xlsx)}
    )
    assert r.status_code == 200, r.text
    v2 = r.json()["imported"][0]
    assert (v2["version"], v2["status"], v2["valid_from"]) == (2, "draft", "2026-01-01")
    bands = client.get(f"/api/benefits/policies/{v2['id']}").json()["body"]["levels"]["3"]
    assert bands["bands"] == [{"upper": "10000", "ratio": "0.85"}, {"upper": None, "ratio": "0.9"}]

    # wrong cells: the error names the row and the column a user sees, in Chinese
    ws.cell(3, col["起付线（元）"], "五百")
    ws.cell(4, col["年度封顶线（元）"], "1")
    buf = io.BytesIO()
    wb.save(buf)
    r = client.post(
        "/api/benefits/policies/import", files={"file": ("p.xlsx", buf.getvalue(), xlsx)}
    )
    assert r.status_code == 422
    message = r.json()["error"]["message"]
    assert "第 3 行" in message and "“起付线（元）”须为数字" in message
    assert "第 4 行" in message and "年度封顶线（元）" in message and "不一致" in message
    assert "deductible" not in message and "annual_cap" not in message
    ws.cell(3, col["起付线（元）"], "500")
    ws.cell(4, col["年度封顶线（元）"], rows[0]["年度封顶线（元）"])
    ws.cell(4, col["分段比例"], "10000:1.5;以上:0.9")
    buf = io.BytesIO()
    wb.save(buf)
    r = client.post(
        "/api/benefits/policies/import", files={"file": ("p.xlsx", buf.getvalue(), xlsx)}
    )
    assert r.status_code == 422
    assert (
        "三级医院·分段比例" in r.json()["error"]["message"]
        and "0 到 1" in r.json()["error"]["message"]
    )


def test_only_a_bureau_admin_of_the_region_manages_policies(city, db):  # type: ignore[no-untyped-def]
    client = city["client"]
    body = [policy(1, "0.5", "2020-01-01")]
    login(client, "analyst")
    assert client.get("/api/benefits/policies").status_code == 200
    assert _import_json(client, body).status_code == 403
    login(client, "hosp")
    assert client.get("/api/benefits/policies").status_code == 403
    assert client.get("/benefits/policies", headers=HTML).status_code == 403
    login(client, "district")  # a district admin: the city's policy is not its own
    r = _import_json(client, body)
    assert r.status_code == 403 and "本统筹区" in r.json()["error"]["message"]
    set_scope(db, SYSTEM_SCOPE)
    assert db.scalar(select(StoredPolicy.id)) is None


def test_the_annual_cap_limits_the_drg_fund_amount(client, db):  # type: ignore[no-untyped-def]
    """A 600,000 standard at 90 % would pay 507,600 from the pooled fund; the policy's
    450,000 annual cap limits it (ADR 0013), and the pricing says so."""
    set_scope(db, SYSTEM_SCOPE)
    h = b.hospital(db, "990102", level="3")
    b.user(db, Role.HOSPITAL_USER, hospital=h, username="hosp")
    b.user(db, Role.BUREAU_ADMIN, region_code="990100", username="admin")
    publish_standards(db, standards_table(weight=lambda _drg: D(60)), valid_from=date(2020, 1, 1))
    db.commit()
    login(client, "admin")
    v1 = _import_json(client, [policy(1, "0.9", "2020-01-01", annual_cap="450000")])
    assert _publish(client, v1.json()["imported"][0]["id"]).status_code == 200
    out = _send(client, h.code, date(2025, 5, 5), cost="700000")
    assert D(out["drg_payment"]) == D("600000.00")
    assert D(out["fund_amount"]) == D("450000.00")
    terms = _terms(db, out["list_id"])
    assert "FUND_CAPPED" in terms["reason_codes"]


def test_policy_pages_for_admin_and_analyst(city, db):  # type: ignore[no-untyped-def]
    client = city["client"]
    login(client, "admin")
    page = client.get("/benefits/policies", headers=HTML)
    assert page.status_code == 200 and 'data-testid="no-policies"' in page.text
    assert "policy-import-form" in page.text
    r = client.post(
        "/benefits/policies/import",
        data={"csrf_token": client.headers["x-csrf-token"]},
        files={"file": ("p.json", json.dumps([policy(1, "0.5", "2020-01-01")]).encode())},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    set_scope(db, SYSTEM_SCOPE)
    pid = db.scalar(select(StoredPolicy.id))
    detail = client.get(f"/benefits/policies/{pid}", headers=HTML)
    assert (
        "草稿" in detail.text and "三级医院" in detail.text and "policy-publish-form" in detail.text
    )
    r = client.post(
        f"/benefits/policies/{pid}/publish",
        data={"csrf_token": client.headers["x-csrf-token"], "reason": "年度调整"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    detail = client.get(f"/benefits/policies/{pid}", headers=HTML)
    assert "已发布" in detail.text and "policy-publish-form" not in detail.text
    assert "450,000.00" in detail.text
    # a bad file shows its error on the page, in Chinese
    r = client.post(
        "/benefits/policies/import",
        data={"csrf_token": client.headers["x-csrf-token"]},
        files={"file": ("p.xlsx", b"not a workbook")},
        headers=HTML,
    )
    assert r.status_code == 422 and 'data-testid="policy-error"' in r.text
    login(client, "analyst")
    page = client.get("/benefits/policies", headers=HTML)
    assert page.status_code == 200 and "policy-import-form" not in page.text
    assert "测试职工待遇 v1" in page.text
