"""The rule base over HTTP (issue 13 item 2, ADR 0021), on SQLite and PostgreSQL: a
draft rule set, rules checked by the engine (bad params refused naming the field),
testing against sample claims (nothing stored), publish (then immutable, audited),
a new version from it (rule versions bump only when a rule changes), diff, retire,
the compiled rule set in force, Excel round trip and malformed workbooks."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from tests.builders.settlement import login
from tests.e2e import supervision_kit as kit
from yibao.audit.models import AuditLog
from yibao.supervision.models import StoredRule


@pytest.fixture()
def admin(client, db):  # type: ignore[no-untyped-def]
    kit.seed(db)
    login(client, "ruleadmin")
    return client


def _new_set(client, **kw: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = client.post("/api/supervision/rule-sets", json=kit.DRAFT | kw)
    assert r.status_code == 201, r.text
    return r.json()


def _put(client, set_id: int, rule: dict[str, Any]):  # type: ignore[no-untyped-def]
    return client.put(f"/api/supervision/rule-sets/{set_id}/rules", json=rule)


def _test(client, set_id: int, claims: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = client.post(f"/api/supervision/rule-sets/{set_id}/test", json={"claims": claims} | kw)
    assert r.status_code == 200, r.text
    return r.json()


def test_draft_test_publish_immutable_new_version(admin, db) -> None:  # type: ignore[no-untyped-def]
    s = _new_set(admin)
    assert (s["status"], s["version"]) == ("draft", 1)
    assert _put(admin, s["id"], kit.SEX_RULE).status_code == 200
    assert _put(admin, s["id"], kit.LINK_RULE).json()["version"] == 1
    # a woman billed for a PSA test: one finding naming rule and version; nothing stored
    rows_before = db.scalar(select(func.count()).select_from(AuditLog))
    out = _test(admin, s["id"], [kit.claim("2", (kit.PSA,))])
    assert out["rules"] == 2
    [f] = out["findings"]
    assert (f["rule_id"], f["rule_version"], f["vola_bhvr_type"]) == ("SEX01", 1, "sex")
    assert f["vola_amt"] == "30.00" and "限男性" in f["vola_cont"]
    assert _test(admin, s["id"], [kit.claim("1", (kit.PSA,))])["findings"] == []
    assert db.scalar(select(func.count()).select_from(AuditLog)) == rows_before
    # no runtime rule set before publishing
    assert admin.get("/api/supervision/runtime?admdvs=990102&on=2025-03-01").status_code == 404
    r = admin.post(f"/api/supervision/rule-sets/{s['id']}/publish", json={"reason": "首版"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "published" and r.json()["checksum"]
    rt = admin.get("/api/supervision/runtime?admdvs=990102&on=2025-03-01").json()
    assert (rt["rule_set_id"], rt["rules"]) == (s["id"], 2)
    # immutable: edits, deletes, imports and a second publish are refused in Chinese
    for resp in (
        _put(admin, s["id"], kit.SEX_RULE | {"sev_deg": 1}),
        admin.delete(f"/api/supervision/rule-sets/{s['id']}/rules?rule_id=SEX01"),
        admin.post(f"/api/supervision/rule-sets/{s['id']}/publish", json={}),
        admin.delete(f"/api/supervision/rule-sets/{s['id']}"),
    ):
        assert resp.status_code == 409, resp.text
        assert (
            "已发布" in resp.json()["error"]["message"]
            and resp.json()["error"]["field"] == "status"
        )
    # a new draft copies it; a changed rule gets version 2, an unchanged one keeps 1
    s2 = _new_set(admin, name="规则库第二版", valid_from="2025-06-01")
    assert s2["based_on_id"] == s["id"] and s2["version"] == 2
    assert _put(admin, s2["id"], kit.SEX_RULE | {"sev_deg": 1}).json()["version"] == 2
    assert _put(admin, s2["id"], kit.LINK_RULE).json()["version"] == 1
    admin.delete(f"/api/supervision/rule-sets/{s2['id']}/rules?rule_id=LNK01")
    diff = admin.get(f"/api/supervision/rule-sets/{s2['id']}/diff?against={s['id']}").json()
    assert diff["removed"] == ["LNK01"] and diff["changed"] == {"SEX01": ["version", "sev_deg"]}
    assert admin.post(f"/api/supervision/rule-sets/{s2['id']}/publish", json={}).status_code == 200
    first = admin.get(f"/api/supervision/rule-sets/{s['id']}").json()
    assert first["valid_to"] == "2025-05-31"  # closed the day before the next one
    rt = admin.get("/api/supervision/runtime?admdvs=990102&on=2025-07-01").json()
    assert (rt["rule_set_id"], rt["rule_set_version"], rt["rules"]) == (s2["id"], 2, 1)
    # retire: nothing in force any more on that day
    assert admin.post(f"/api/supervision/rule-sets/{s2['id']}/retire", json={}).status_code == 200
    assert admin.get("/api/supervision/runtime?admdvs=990102&on=2025-07-01").status_code == 404
    actions = set(db.scalars(select(AuditLog.action)))
    assert {
        "supervision.rules.publish",
        "supervision.rules.close",
        "supervision.rules.retire",
    } <= actions


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"family": "sexx"}, "family", "family"),
        ({"params": {"codes": []}}, "params.codes", "参数"),
        ({"params": {"max_times": 0}, "family": "frequency"}, "params.max_times", "参数"),
        ({"window": "month"}, "window", "窗口"),
        ({"trig_scen": [7], "stages": ["pre"]}, "trig_scen", "触发场景"),
        ({"params": {"nonsense": 1}}, "params.nonsense", "不认识"),
    ],
)
def test_bad_rules_refused_naming_the_field(admin, db, change, field, words) -> None:  # type: ignore[no-untyped-def]
    s = _new_set(admin)
    r = _put(admin, s["id"], kit.SEX_RULE | change)
    assert r.status_code == 422, r.text
    body = r.json()["error"]
    assert "SEX01" in body["message"] and words in body["message"], body
    assert field in (body["field"] or ""), body
    assert db.scalar(select(func.count()).select_from(StoredRule)) == 0


def test_region_and_permissions(admin, client) -> None:  # type: ignore[no-untyped-def]
    s = _new_set(admin)
    assert _put(admin, s["id"], kit.SEX_RULE).status_code == 200
    login(client, "other_ruleadmin")
    assert client.get(f"/api/supervision/rule-sets/{s['id']}").status_code == 404
    assert client.post("/api/supervision/rule-sets", json=kit.DRAFT).status_code == 403
    assert _put(client, s["id"], kit.SEX_RULE).status_code in (403, 404)
    login(client, "analyst")
    assert client.get(f"/api/supervision/rule-sets/{s['id']}").status_code == 403


def _rows(content: bytes) -> list[list[Any]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [list(r) for r in book["规则"].iter_rows(values_only=True)]


def _upload(client, set_id: int, content: bytes):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/supervision/rule-sets/{set_id}/import",
        files={"file": ("规则.xlsx", content, "application/octet-stream")},
    )


def test_rules_excel_round_trip_and_bad_workbooks(admin, db) -> None:  # type: ignore[no-untyped-def]
    s = _new_set(admin)
    _put(admin, s["id"], kit.SEX_RULE)
    _put(admin, s["id"], kit.LINK_RULE | {"window": "day", "trig_scen": [6, 7]})
    _put(
        admin,
        s["id"],
        {
            "rule_id": "FRQ01",
            "name": "限频次",
            "family": "frequency",
            "stages": ["post"],
            "window": "day",
            "params": {"codes": [kit.DRUG], "max_times": 2},
        },
    )
    exported = admin.get(f"/api/supervision/rule-sets/{s['id']}/export").content
    rows = _rows(exported)
    assert rows[0][:4] == ["规则编码", "版本", "规则名称", "规则族"] and len(rows) == 4
    assert any(r[3] == "超性别" and r[5] == "事前、事中、事后" for r in rows[1:])
    s2 = _new_set(admin, name="导入的规则库", empty=True)
    assert _upload(admin, s2["id"], exported).status_code == 200
    again = admin.get(f"/api/supervision/rule-sets/{s2['id']}/export").content
    assert _rows(again) == rows
    before = admin.get(f"/api/supervision/rule-sets/{s2['id']}").json()["rules"]
    # malformed: sheet, row and reason; nothing stored
    book = openpyxl.load_workbook(io.BytesIO(exported))
    book["规则"]["E3"] = '{"max_times": "x"}'
    buf = io.BytesIO()
    book.save(buf)
    r = _upload(admin, s2["id"], buf.getvalue())
    assert r.status_code == 422 and "工作表“规则”第 3 行" in r.json()["error"]["message"], r.text
    book["规则"]["E3"] = "{}"
    book["规则"]["D4"] = "不存在的规则族"
    buf = io.BytesIO()
    book.save(buf)
    r = _upload(admin, s2["id"], buf.getvalue())
    assert (
        r.status_code == 422
        and "第 4 行" in r.json()["error"]["message"]
        and "规则族" in r.json()["error"]["message"]
    )
    assert _upload(admin, s2["id"], b"not a workbook").status_code == 422
    assert admin.get(f"/api/supervision/rule-sets/{s2['id']}").json()["rules"] == before
