"""Year-end clearing is saved and exportable; scores come from an uploaded table
(issue 10.9), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
from sqlalchemy import select

from tests.e2e.test_settlement_review import world  # noqa: F401  (fixture)
from tests.e2e.test_settlement_review_pages import HTML, _confirm_month_a, _post, _testid
from yibao.audit.models import AuditLog
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.settlement.models import SettlementClearing

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _sheet(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_clearing_scores_from_a_table_saved_and_exported(world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    client, codes, _records = _confirm_month_a(world)
    year, h1, h2 = int(world["month_a"][:4]), codes["hosp01"], codes["hosp02"]
    template = client.get(f"/settlement/clearing/scores-template.xlsx?year={year}")
    ws = openpyxl.load_workbook(io.BytesIO(template.content)).active
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows[0] == ["机构编码", "机构名称", "考核得分"]
    assert {r[0] for r in rows[1:]} == {h1, h2}

    form = {"year": str(year), "budget": "200000", "method": "rate", "action": "save"}
    bad = _sheet([["机构编码", "考核得分"], [h1, "95"], ["H00000000000", "80"]])
    r = _post(client, "/settlement/clearing", form, files={"scores_file": ("s.xlsx", bad, XLSX)})
    assert r.status_code == 422
    error = _testid(r.text, "clearing-error")
    assert "第 3 行" in error and "不在本年度清算" in error and "缺少考核得分" in error
    set_scope(db, SYSTEM_SCOPE)
    assert db.scalar(select(SettlementClearing.id)) is None

    good = _sheet([["机构编码", "机构名称", "考核得分"], [h1, "甲", 95], [h2, "乙", "50"]])
    r = _post(client, "/settlement/clearing", form, files={"scores_file": ("s.xlsx", good, XLSX)})
    assert r.status_code == 422  # no 清算说明: saving fixes the year's money
    assert "清算说明" in _testid(r.text, "clearing-error")
    assert db.scalar(select(SettlementClearing.id)) is None
    form["note"] = "  年度清算，经局务会审定  "
    # only one month of the year is confirmed: a whole year's budget over a month's
    # cases would overpay; saved only when the bureau ticks 按已确认月份保存
    r = _post(client, "/settlement/clearing", form, files={"scores_file": ("s.xlsx", good, XLSX)})
    assert r.status_code == 422
    error = _testid(r.text, "clearing-error")
    assert "11 个月未完成结算确认" in error and "按已确认月份保存" in error
    assert 'data-field="partial"' in r.text
    assert db.scalar(select(SettlementClearing.id)) is None
    tried = _post(
        client,
        "/settlement/clearing",
        {**form, "action": "try"},
        files={"scores_file": ("s.xlsx", good, XLSX)},
    )
    warning = _testid(tried.text, "clearing-partial-warning")
    assert "11 个月" in warning and world["month_a"] in warning
    form["partial"] = "1"
    r = _post(client, "/settlement/clearing", form, files={"scores_file": ("s.xlsx", good, XLSX)})
    assert r.status_code == 303, r.text[-600:]
    page = client.get(r.headers["location"], headers=HTML).text
    assert 'data-testid="clearing-saved"' in page and 'data-testid="saved-clearings"' in page
    assert "部分年度（缺 11 个月）" in page and "clearing-partial-warning" in page

    # the same figures as the API computes with those scores
    body = {"budget": "200000", "method": "rate", "assessment_scores": {h1: 95, h2: 50}}
    out = client.post(f"/api/settlement/years/{year}/clearing", json=body).json()
    db.expire_all()
    saved = db.scalar(select(SettlementClearing))
    assert saved.scores == {h1: "95", h2: "50"}
    assert saved.clearing_total == Decimal(out["totals"]["clearing_amount"])
    assert saved.final_value == str(Decimal(out["final_value"]))
    result = _testid(page, "clearing-result", "</table>")
    for h in out["hospitals"]:
        row = result.split(f'data-hospital="{h["hospital_code"]}"', 1)[1].split("</tr>", 1)[0]
        assert f"{Decimal(h['clearing_amount']):,.2f}" in row
    [audit] = db.scalars(select(AuditLog).where(AuditLog.action == "settlement.clearing.save"))
    assert audit.after["hospitals"] == 2 and audit.after["note"] == "年度清算，经局务会审定"
    missing = [f"{year}-{m:02d}" for m in range(1, 13) if f"{year}-{m:02d}" != world["month_a"]]
    assert out["months"] == [world["month_a"]] and out["missing_months"] == missing
    assert saved.summary["missing_months"] == missing and audit.after["missing_months"] == missing
    assert saved.note == "年度清算，经局务会审定" and "经局务会审定" in page

    xlsx = client.get(f"/settlement/clearing/{saved.id}.xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert wb.sheetnames == ["医院清算", "清算参数"]
    inputs = {r[0]: r[1] for r in wb["清算参数"].iter_rows(min_row=2, values_only=True)}
    assert inputs["已确认月份"] == world["month_a"]
    assert inputs["未确认月份"].count(str(year)) >= 2  # e.g. 2025-01 至 2025-04、2025-06 至 …
    sheet = wb["医院清算"]
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["医疗机构编码", "医疗机构名称"] and "考核得分" in header
    amounts = {
        r[0]: r[header.index("清算应付（元，负为追回）")]
        for r in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert {k: Decimal(str(v)) for k, v in amounts.items()} == {
        h["hospital_code"]: Decimal(h["clearing_amount"]) for h in out["hospitals"]
    }
    # a hospital user sees no clearing
    from tests.e2e.test_settlement_review import _as

    _as(client, "hosp01")
    assert client.get(f"/settlement/clearing/{saved.id}", headers=HTML).status_code == 403
