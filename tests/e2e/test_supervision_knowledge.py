"""The knowledge base over HTTP (issue 13 item 1, ADR 0021): relations on a draft
(checked by the engine), restrictions replacing the catalogue's, publish (immutable),
the knowledge in force read by the rules, Excel round trip and malformed workbooks
refused with sheet, row and reason, storing nothing."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest

from tests.builders.settlement import login
from tests.e2e import supervision_kit as kit


@pytest.fixture()
def admin(client, db):  # type: ignore[no-untyped-def]
    kit.seed(db)
    login(client, "ruleadmin")
    return client


def _new(client, **kw: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = client.post("/api/supervision/knowledge", json=kit.DRAFT | {"name": "知识库"} | kw)
    assert r.status_code == 201, r.text
    return r.json()


def _upload(client, vid: int, content: bytes):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/supervision/knowledge/{vid}/import",
        files={"file": ("知识库.xlsx", content, "application/octet-stream")},
    )


def test_relations_publish_and_rules_read_them(admin) -> None:  # type: ignore[no-untyped-def]
    k = _new(admin)
    url = f"/api/supervision/knowledge/{k['id']}"
    r = admin.post(
        f"{url}/relations", json={"kind": "requires", "item": kit.ANAES, "any_of": [kit.SURG]}
    )
    assert r.status_code == 201, r.text
    assert "须与" in r.json()["text"]
    bad = admin.post(
        f"{url}/relations", json={"kind": "package", "package": "P1", "components": ["P1", "P2"]}
    )
    assert bad.status_code == 422 and "打包项目" in bad.json()["error"]["message"], bad.text
    r = admin.put(
        f"{url}/restrictions?code={kit.PSA}",
        json={"restrictions": [{"kind": "age", "min_years": 40}]},
    )
    assert r.status_code == 200 and r.json()["text"] == "限 40 岁及以上", r.text
    bad = admin.put(
        f"{url}/restrictions?code={kit.PSA}", json={"restrictions": [{"kind": "sex", "sex": "3"}]}
    )
    assert bad.status_code == 422 and "性别" in bad.json()["error"]["message"]
    assert admin.post(f"{url}/publish", json={}).status_code == 200
    assert (
        admin.post(f"{url}/relations", json={"kind": "exclusive", "codes": ["A", "B"]}).status_code
        == 409
    )
    # the rules now see the relation and the replaced restriction (age, not sex)
    s = admin.post("/api/supervision/rule-sets", json=kit.DRAFT).json()
    admin.put(f"/api/supervision/rule-sets/{s['id']}/rules", json=kit.LINK_RULE)
    admin.put(f"/api/supervision/rule-sets/{s['id']}/rules", json=kit.SEX_RULE)
    admin.put(
        f"/api/supervision/rule-sets/{s['id']}/rules",
        json={"rule_id": "AGE01", "name": "限年龄", "family": "age", "stages": ["mid"]},
    )
    out = admin.post(
        f"/api/supervision/rule-sets/{s['id']}/test",
        json={"claims": [kit.claim("2", (kit.ANAES, kit.PSA))]},
    ).json()
    assert sorted(f["rule_id"] for f in out["findings"]) == ["LNK01"]
    young = kit.claim("2", (kit.PSA,))
    young["patient"]["birth_date"] = "2000-01-01"
    out = admin.post(f"/api/supervision/rule-sets/{s['id']}/test", json={"claims": [young]}).json()
    assert [f["rule_id"] for f in out["findings"]] == ["AGE01"]


def test_knowledge_excel_round_trip_and_malformed(admin) -> None:  # type: ignore[no-untyped-def]
    k = _new(admin)
    url = f"/api/supervision/knowledge/{k['id']}"
    for rel in (
        {"kind": "exclusive", "codes": [kit.PSA, kit.CSEC]},
        {"kind": "inclusive", "whole": kit.SURG, "part": kit.ANAES},
        {"kind": "requires", "item": kit.ANAES, "any_of": [kit.SURG, kit.CSEC]},
        {
            "kind": "package",
            "package": "PKG01",
            "components": [kit.SURG, kit.ANAES, kit.DRUG],
            "min_components": 3,
            "note": "演示套餐",
        },
    ):
        assert admin.post(f"{url}/relations", json=rel).status_code == 201
    admin.put(
        f"{url}/restrictions?code={kit.DRUG}",
        json={"name": "演示片", "restrictions": [{"kind": "age", "max_years": 14}]},
    )
    exported = admin.get(f"{url}/export").content
    book = openpyxl.load_workbook(io.BytesIO(exported))
    assert book.sheetnames == ["项目限制", "项目关系"]
    assert [c.value for c in book["项目关系"][2]][:3] == ["互斥项目", kit.PSA, kit.CSEC]
    k2 = _new(admin, name="导入", empty=True)
    url2 = f"/api/supervision/knowledge/{k2['id']}"
    assert _upload(admin, k2["id"], exported).status_code == 200
    assert admin.get(f"{url2}/export").content != b""
    one, two = admin.get(url).json(), admin.get(url2).json()
    strip = lambda d: [(r["kind"], r["body"], r["note"]) for r in d["relations"]]  # noqa: E731
    assert strip(one) == strip(two) and one["restrictions"] == two["restrictions"]
    book2 = openpyxl.load_workbook(io.BytesIO(admin.get(f"{url2}/export").content))
    for name in book.sheetnames:
        assert [list(r) for r in book[name].values] == [list(r) for r in book2[name].values]
    # malformed rows: sheet, row, reason; nothing changed
    for sheet, cell, value, words in (
        ("项目关系", "A3", "胡乱类型", "关系类型"),
        ("项目关系", "C5", kit.SURG, "条目数"),
        ("项目限制", "C2", '[{"kind": "age"}]', "min_years"),
        ("项目限制", "C2", "{oops", "JSON"),
    ):
        bad = openpyxl.load_workbook(io.BytesIO(exported))
        bad[sheet][cell] = value
        buf = io.BytesIO()
        bad.save(buf)
        r = _upload(admin, k2["id"], buf.getvalue())
        assert r.status_code == 422, r.text
        row = cell[1:]
        assert (
            f"工作表“{sheet}”第 {row} 行" in r.json()["error"]["message"]
            and words in r.json()["error"]["message"]
        ), r.text
    del book["项目关系"]
    buf = io.BytesIO()
    book.save(buf)
    r = _upload(admin, k2["id"], buf.getvalue())
    assert r.status_code == 422 and "项目关系" in r.json()["error"]["message"]
    assert admin.get(url2).json() == two
