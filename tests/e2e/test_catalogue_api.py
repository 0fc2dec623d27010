"""The medical-list catalogue over HTTP (issue 12 item 2, ADR 0016), on SQLite and
PostgreSQL: a draft version, Excel import (good and bad files; a bad file stores
nothing), search, publish (then immutable), export and import back unchanged, the
next version closing the earlier one, who may see and change what, and the
classification of fee lines against the catalogue in force."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from tests import builders as b
from tests.builders.settlement import login
from yibao.accounts.roles import Role
from yibao.audit.models import AuditLog
from yibao.catalogue import repository
from yibao.catalogue.models import CatalogueEntry, CatalogueVersion
from yibao.catalogue.sheets import COLUMNS
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.engines.catalogue import FeeLine

D = Decimal
HEADERS = list(COLUMNS.values())
GOOD_ROWS: list[list[Any]] = [
    # 编码, 名称, 类别, 收费项目类别, 甲乙类, 先自付, 一/二/三级限价, 单位, 规格, 限定范围, 使用限制
    [
        "XC09CAA001A001000100001",
        "演达沙坦片",
        "西药",
        "09",
        "甲类",
        "",
        "",
        "",
        "",
        "片",
        "80mg×7片",
        "",
        "",
    ],
    [
        "XC09CAA001A001000100002",
        "演达沙坦胶囊",
        "西药",
        "09 西药费",
        "乙类",
        "10%",
        2.5,
        2.5,
        "2.50",
        "粒",
        "",
        "",
        "",
    ],
    [
        "ZA01B0001001000100010001",
        "演清活血丹胶囊",
        "中成药",
        "中成药费",
        "乙",
        0.05,
        None,
        None,
        None,
        "粒",
        "",
        "限住院",
        '[{"kind": "setting", "setting": "inpatient"}]',
    ],
    [
        "990306010010000",
        "头颅CT平扫",
        "医疗服务项目",
        "03",
        "甲",
        None,
        160,
        180,
        200,
        "次",
        "",
        "",
        "",
    ],
    [
        "990601010010000",
        "子宫下段剖宫产术",
        "医疗服务项目",
        "06",
        "乙类",
        "0.2",
        1600,
        1800,
        2000,
        "次",
        "",
        "限女性",
        '{"kind": "sex", "sex": "2"}',
    ],
    [
        "C0101001000100000001",
        "冠状动脉药物洗脱支架（演示型）",
        "医用耗材",
        "08",
        "乙类",
        "0.3",
        "700",
        "700",
        "700",
        "个",
        "演示型号 YS-0001",
        "",
        "",
    ],
    ["T00000001", "演诺芪根", "中药饮片", "10", "丙类", "", "", "", "", "克", "净制", "", ""],
]


def _xlsx(rows: list[list[Any]], headers: list[str] | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(headers or HEADERS)
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


@pytest.fixture()
def bureau(client, db):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    h = b.hospital(db, "990102", name="目录测试医院", level="3")
    b.user(db, Role.HOSPITAL_USER, hospital=h, username="hosp")
    b.user(db, Role.BUREAU_ADMIN, region_code="990100", username="admin")
    b.user(db, Role.BUREAU_ANALYST, region_code="990100", username="analyst")
    b.region(db, "990200")
    b.user(db, Role.BUREAU_ADMIN, region_code="990200", username="other_admin")
    db.commit()
    login(client, "admin")
    return client


def _draft(client, **kw: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    body = {
        "region_code": "990100",
        "region_name": "演示市",
        "name": "测试目录",
        "valid_from": "2025-01-01",
    }
    r = client.post("/api/catalogue/versions", json=body | kw)
    assert r.status_code == 201, r.text
    return r.json()


def _import(client, version_id: int, content: bytes, name: str = "目录.xlsx"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/catalogue/versions/{version_id}/import",
        files={"file": (name, content, "application/octet-stream")},
    )


def _entries(client, version_id: int, **params: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/catalogue/versions/{version_id}/entries", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_import_search_publish_immutable(bureau, db) -> None:  # type: ignore[no-untyped-def]
    v = _draft(bureau)
    assert v["status"] == "draft" and v["entry_count"] == 0
    r = _import(bureau, v["id"], _xlsx(GOOD_ROWS))
    assert r.status_code == 200, r.text
    assert r.json()["entry_count"] == 7
    # the cells were read as the rules say: 10% → 0.1, 丙 → 1, caps per level
    entries = {e["code"]: e for e in _entries(bureau, v["id"], size=50)["items"]}
    capsule = entries["XC09CAA001A001000100002"]
    assert (capsule["chrgitm_lv"], D(capsule["selfpay_prop"])) == ("02", D("0.1"))
    assert D(capsule["cap_lv3"]) == D("2.50") and capsule["fee_type_label"] == "西药费"
    assert entries["T00000001"]["chrgitm_lv_label"] == "丙类"
    assert D(entries["T00000001"]["selfpay_prop"]) == 1
    assert entries["990601010010000"]["restrictions"] == [{"kind": "sex", "sex": "2"}]
    assert D(entries["990306010010000"]["cap_lv1"]) == D("160.00")
    # search: code prefix, name prefix, class, kind, paging
    assert _entries(bureau, v["id"], q="XC09")["total"] == 2
    assert _entries(bureau, v["id"], q="演达")["total"] == 2
    assert _entries(bureau, v["id"], chrgitm_lv="02")["total"] == 4
    assert _entries(bureau, v["id"], kind="service")["total"] == 2
    page2 = _entries(bureau, v["id"], size=3, page=2)
    assert page2["total"] == 7 and len(page2["items"]) == 3
    assert bureau.get(f"/api/catalogue/versions/{v['id']}/entries?chrgitm_lv=04").status_code == 422
    # publish; then nothing about it changes
    r = bureau.post(f"/api/catalogue/versions/{v['id']}/publish", json={"reason": "测试发布"})
    assert r.status_code == 200, r.text
    published = r.json()
    assert published["status"] == "published" and len(published["checksum"]) == 64
    r = _import(bureau, v["id"], _xlsx(GOOD_ROWS[:2]))
    assert r.status_code == 409 and "已发布，不能修改" in r.json()["error"]["message"]
    assert bureau.delete(f"/api/catalogue/versions/{v['id']}").status_code == 409
    again = bureau.post(f"/api/catalogue/versions/{v['id']}/publish", json={})
    assert again.status_code == 409
    detail = bureau.get(f"/api/catalogue/versions/{v['id']}").json()
    assert detail["entry_count"] == 7 and detail["checksum"] == published["checksum"]
    assert detail["by_class"] == {"01": 2, "02": 4, "03": 1}
    actions = db.scalars(
        select(AuditLog.action).where(AuditLog.object_type == "catalogue_version")
    ).all()
    assert sorted(actions) == [
        "catalogue.entries.import",
        "catalogue.version.create",
        "catalogue.version.publish",
    ]


def test_bad_file_names_rows_and_columns_and_stores_nothing(bureau, db) -> None:  # type: ignore[no-untyped-def]
    v = _draft(bureau)
    bad = [list(r) for r in GOOD_ROWS]
    bad[1][4] = "丁类"  # row 3 甲乙类
    bad[1][5] = ""  # (and then no 先自付 for a 乙 is not reported: its class is unknown)
    bad[2][5] = "1.5"  # row 4 先自付比例 out of range
    bad[3][8] = "-200"  # row 5 三级医院限价 negative
    bad[4][12] = '[{"kind": "colour"}]'  # row 6 使用限制 unknown kind
    bad[5][0] = bad[0][0]  # row 7 duplicates row 2's code
    bad[6][2] = "保健品"  # row 8 目录类别
    bad.append(["X1", "", "西药", "09", "甲类"] + [""] * 8)  # row 9 名称 empty
    bad.append(["X2", "演示", "西药", "09", "甲类", "0.1"] + [""] * 7)  # row 10 甲 with a ratio
    r = _import(bureau, v["id"], _xlsx(bad))
    assert r.status_code == 422, r.text
    message = r.json()["error"]["message"]
    for words in (
        "8 处错误，未导入任何目录条目",
        "第 3 行“甲乙类”：须为 甲类、乙类 或 丙类（收到“丁类”）",
        "第 4 行“先自付比例”：须在 0 到 1 之间",
        "第 5 行“三级医院限价（元）”：须为不小于 0",
        "第 6 行“使用限制（JSON）”：第 1 条限制的 kind 须为",
        f"第 7 行“医保编码”：{bad[0][0]} 与第 2 行重复",
        "第 8 行“目录类别”：须为 西药、中成药、中药饮片、医疗服务项目、医用耗材 之一",
        "第 9 行“名称”：不能为空",
        "第 10 行“先自付比例”：甲类项目须不填或填 0",
    ):
        assert words in message, (words, message)
    assert db.scalar(select(func.count()).select_from(CatalogueEntry)) == 0
    assert db.get(CatalogueVersion, v["id"]).entry_count == 0  # type: ignore[union-attr]
    assert not db.scalars(
        select(AuditLog).where(AuditLog.action == "catalogue.entries.import")
    ).all()
    # wrong headers, not a workbook, an empty sheet, a 乙 without its ratio
    r = _import(bureau, v["id"], _xlsx(GOOD_ROWS, headers=[*HEADERS[:3], "类别", *HEADERS[4:]]))
    assert r.status_code == 422 and "缺少列 收费项目类别" in r.json()["error"]["message"]
    assert "不认识的列 类别" in r.json()["error"]["message"]
    r = _import(bureau, v["id"], b"not a workbook")
    assert r.status_code == 422 and "不是有效的 Excel" in r.json()["error"]["message"]
    assert "没有数据行" in _import(bureau, v["id"], _xlsx([])).json()["error"]["message"]
    no_ratio = [list(GOOD_ROWS[1])]
    no_ratio[0][5] = ""
    r = _import(bureau, v["id"], _xlsx(no_ratio))
    assert "第 2 行“先自付比例”：乙类项目须填写先自付比例（可为 0）" in r.json()["error"]["message"]
    huge = [list(GOOD_ROWS[1])]
    huge[0][8] = "1e30"
    r = _import(bureau, v["id"], _xlsx(huge))
    assert "第 2 行“三级医院限价（元）”：数值过大" in r.json()["error"]["message"]
    # a good file replaces whatever the draft held; a later good file replaces it again
    assert _import(bureau, v["id"], _xlsx(GOOD_ROWS)).json()["entry_count"] == 7
    assert _import(bureau, v["id"], _xlsx(GOOD_ROWS[:3])).json()["entry_count"] == 3
    assert db.scalar(select(func.count()).select_from(CatalogueEntry)) == 3


def test_export_imports_back_unchanged(bureau, db) -> None:  # type: ignore[no-untyped-def]
    v = _draft(bureau)
    _import(bureau, v["id"], _xlsx(GOOD_ROWS))
    first = bureau.post(f"/api/catalogue/versions/{v['id']}/publish", json={}).json()
    r = bureau.get(f"/api/catalogue/versions/{v['id']}/export")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["目录条目", "版本信息", "填写说明"]
    header = [c.value for c in book["目录条目"][1]]
    assert header == HEADERS
    # the export as the next version's file: same entries, same checksum
    nxt = _draft(bureau, name="测试目录（2026）", valid_from="2026-01-01")
    assert _import(bureau, nxt["id"], r.content).status_code == 200
    second = bureau.post(f"/api/catalogue/versions/{nxt['id']}/publish", json={}).json()
    assert second["checksum"] == first["checksum"]
    old = _entries(bureau, v["id"], size=50)["items"]
    new = _entries(bureau, nxt["id"], size=50)["items"]
    assert old == new
    # publishing the next version closed the first the day before
    closed = bureau.get(f"/api/catalogue/versions/{v['id']}").json()
    assert closed["valid_to"] == "2025-12-31"
    # an overlapping version is refused
    late = _draft(bureau, name="重叠", valid_from="2025-06-01", valid_to="2025-08-01")
    _import(bureau, late["id"], _xlsx(GOOD_ROWS[:1]))
    r = bureau.post(f"/api/catalogue/versions/{late['id']}/publish", json={})
    assert r.status_code == 409 and "重叠" in r.json()["error"]["message"]


def test_who_sees_and_changes(bureau, db) -> None:  # type: ignore[no-untyped-def]
    v = _draft(bureau)
    _import(bureau, v["id"], _xlsx(GOOD_ROWS))
    empty = _draft(bureau, name="空草稿")
    r = bureau.post(f"/api/catalogue/versions/{empty['id']}/publish", json={})
    assert r.status_code == 409 and "还没有条目" in r.json()["error"]["message"]
    r = bureau.post(
        "/api/catalogue/versions",
        json={"region_code": "990200", "name": "外市", "valid_from": "2025-01-01"},
    )
    assert r.status_code == 403 and "无权维护" in r.json()["error"]["message"]
    r = bureau.post(
        "/api/catalogue/versions",
        json={"region_code": "990102", "name": "x", "valid_from": "2025-01-01"},
    )
    assert r.status_code == 422  # a district is no catalogue region
    login(bureau, "hosp")  # hospitals read their region's published catalogue only
    assert bureau.get("/api/catalogue/versions").json()["items"] == []
    assert bureau.get(f"/api/catalogue/versions/{v['id']}").status_code == 404
    login(bureau, "admin")
    assert bureau.post(f"/api/catalogue/versions/{v['id']}/publish", json={}).status_code == 200
    login(bureau, "hosp")
    assert [x["id"] for x in bureau.get("/api/catalogue/versions").json()["items"]] == [v["id"]]
    assert _entries(bureau, v["id"])["total"] == 7
    assert bureau.get(f"/api/catalogue/versions/{empty['id']}").status_code == 404
    assert _import(bureau, v["id"], _xlsx(GOOD_ROWS)).status_code == 403
    login(bureau, "analyst")
    assert bureau.post(f"/api/catalogue/versions/{empty['id']}/publish", json={}).status_code == 403
    login(bureau, "other_admin")  # another city sees none of 990100's versions
    assert bureau.get("/api/catalogue/versions").json()["items"] == []
    assert bureau.get(f"/api/catalogue/versions/{v['id']}").status_code == 404
    assert bureau.post(f"/api/catalogue/versions/{v['id']}/publish", json={}).status_code == 403


def test_classification_uses_the_catalogue_in_force(bureau, db) -> None:  # type: ignore[no-untyped-def]
    v = _draft(bureau, valid_from="2025-01-01")
    _import(bureau, v["id"], _xlsx(GOOD_ROWS))
    lines = [
        FeeLine("XC09CAA001A001000100002", D(10), D("3.00"), D("30.00")),  # 乙 over its cap
        FeeLine("990601010010000", D(1), D("2000.00"), D("2000.00")),  # 乙 at its 三级 cap
        FeeLine("T00000001", D(30), D("0.50"), D("15.00")),  # 丙
        FeeLine("NOT-LISTED", D(1), D("9.99"), D("9.99")),
    ]
    with pytest.raises(Exception, match="没有已发布的医保目录"):
        repository.classify(db, "990102", date(2025, 3, 1), "3", lines)
    bureau.post(f"/api/catalogue/versions/{v['id']}/publish", json={})
    db.expire_all()
    c = repository.classify(db, "990102", date(2025, 3, 1), "3", lines)
    t = c.totals
    # 30.00: over (3.00-2.50)×10 = 5.00, pre 10 % × 25.00 = 2.50; 2000.00: pre 20 % = 400.00
    assert (t.medfee_sumamt, t.fulamt_ownpay_amt, t.overlmt_selfpay) == (
        D("2054.99"),
        D("24.99"),
        D("5.00"),
    )
    assert (t.preselfpay_amt, t.inscp_scp_amt) == (D("402.50"), D("1622.50"))
    assert c.catalogue_key == str(v["id"])
    # before the version's window there is none
    with pytest.raises(Exception, match="没有已发布的医保目录"):
        repository.classify(db, "990102", date(2024, 12, 31), "3", lines)


def test_pages_list_search_and_manage(bureau, db) -> None:  # type: ignore[no-untyped-def]
    html = {"accept": "text/html"}
    v = _draft(bureau)
    _import(bureau, v["id"], _xlsx(GOOD_ROWS))
    page = bureau.get("/catalogue", headers=html)
    assert page.status_code == 200 and "测试目录" in page.text and "新建目录版本" in page.text
    found = bureau.get(f"/catalogue/{v['id']}?q=演达", headers=html)
    assert found.text.count('data-testid="catalogue-entry"') == 2
    assert "catalogue-import-form" in found.text
    partial = bureau.get(
        f"/catalogue/{v['id']}?chrgitm_lv=03", headers={**html, "hx-request": "true"}
    )
    assert partial.text.count('data-testid="catalogue-entry"') == 1 and "<html" not in partial.text
    assert "限女性" in bureau.get(f"/catalogue/{v['id']}?q=9906", headers=html).text
    bad = bureau.post(
        f"/catalogue/{v['id']}/import",
        files={"file": ("x.xlsx", b"junk", "application/octet-stream")},
        headers=html,
    )
    assert bad.status_code == 422 and "不是有效的 Excel" in bad.text
    r = bureau.post(
        f"/catalogue/{v['id']}/publish",
        data={"reason": "页面发布"},
        headers=html,
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert (
        db.scalar(select(CatalogueVersion.status).where(CatalogueVersion.id == v["id"]))
        == "published"
    )
    r = bureau.post("/catalogue", data={"region_code": "99", "name": ""}, headers=html)
    assert r.status_code == 422 and "区划代码须为 6 位区划代码" in r.text
    login(bureau, "hosp")
    page = bureau.get(f"/catalogue/{v['id']}", headers=html)
    assert page.status_code == 200 and "catalogue-import-form" not in page.text
    assert "新建目录版本" not in bureau.get("/catalogue", headers=html).text
