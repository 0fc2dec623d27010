"""The settlement pages of the bureau and the hospitals over HTTP (SQLite / PostgreSQL):
the review queue (filters, approve / return / adjust, bulk approve, errors on the
page), the list's history and decision forms, period confirmation as a job, special
cases and appeals, statements and year-end clearing, navigation, roles and scoping.
One browser test approves a list from the queue in chromium and keeps a screenshot.

The data are the review tests' ``world``: priced lists of hosp01 (8 in month A, 2 in
month B) and hosp02 (1 in month A) in the demo region.
"""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from tests.e2e.test_browser import live_server, page  # noqa: F401  (fixtures)
from tests.e2e.test_grouping_api import wait_job
from tests.e2e.test_settlement_review import _as, world  # noqa: F401  (fixture)
from tests.e2e.test_settlement_statements import _confirm_month_a
from yibao.audit.models import AuditLog
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.jobs.models import Job
from yibao.kit.timeutil import local
from yibao.settlement import special
from yibao.settlement.models import (
    CasePricing,
    SettlementAdjustment,
    SettlementAppeal,
    SettlementConfirmBatch,
    SettlementList,
    SpecialCaseApplication,
)

HTML = {"accept": "text/html"}
HAN = re.compile(r"[\u4e00-\u9fff]")
SCREENSHOTS = Path("/tmp/yibao-review-pages")


def _post(client, url: str, data: dict[str, Any] | None = None, **kw: Any):  # type: ignore[no-untyped-def]
    """A plain browser form post: the CSRF token in the form, not in a header."""
    token = client.headers.pop("x-csrf-token")
    try:
        body = {"csrf_token": token, **(data or {})}
        return client.post(url, data=body, headers=HTML, follow_redirects=False, **kw)
    finally:
        client.headers["x-csrf-token"] = token


def _testid(text: str, testid: str, end: str = "</div>") -> str:
    """The (unescaped) markup of the first element with ``data-testid``, up to ``end``."""
    assert f'data-testid="{testid}"' in text, testid
    return html.unescape(text.split(f'data-testid="{testid}"', 1)[1].split(end, 1)[0])


def _rows(text: str, testid: str) -> list[str]:
    return re.findall(rf'data-testid="{testid}" data-\w+="(\d+)"', text)


def _states(db, ids: list[int]) -> dict[int, str]:  # type: ignore[no-untyped-def]
    db.expire_all()
    set_scope(db, SYSTEM_SCOPE)
    rows = db.execute(
        select(SettlementList.id, SettlementList.state).where(SettlementList.id.in_(ids))
    )
    return dict(rows.all())


def _lowered(db, list_id: int, share: str = "0.9") -> Decimal:  # type: ignore[no-untyped-def]
    """A deduction one reviewer may make alone: the priced payment × ``share``."""
    set_scope(db, SYSTEM_SCOPE)
    priced = db.scalar(
        select(CasePricing.drg_payment)
        .join(SettlementList, SettlementList.case_id == CasePricing.case_id)
        .where(SettlementList.id == list_id)
    )
    return (priced * Decimal(share)).quantize(Decimal("0.01"))


def _nav(client) -> str:  # type: ignore[no-untyped-def]
    return _testid(client.get("/", headers=HTML).text, "nav", "</ul>")


# --------------------------------------------------------------------------- review queue


def test_queue_filters_and_decisions(world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    client, codes, a, other = world["client"], world["codes"], world["a"], world["other"]
    _as(client, "reviewer")
    nav = _nav(client)
    assert "结算审核" in nav and "结算确认" in nav and "特例单议/申诉" in nav and "结算单" in nav

    doc = client.get("/settlement/review", headers=HTML)
    assert doc.status_code == 200 and "结算审核" in doc.text
    assert len(_rows(doc.text, "review-row")) == 11  # every priced list waits for review
    only_b = client.get("/settlement/review", params={"hospital": codes["hosp02"]}, headers=HTML)
    assert _rows(only_b.text, "review-row") == [str(other)]
    in_a = client.get("/settlement/review", params={"period": world["month_a"]}, headers=HTML)
    assert sorted(map(int, _rows(in_a.text, "review-row"))) == sorted([*a, other])
    partial = client.get(
        "/settlement/review", params={"drg": "NOPE"}, headers={**HTML, "hx-request": "true"}
    )
    assert "<html" not in partial.text and "没有符合条件的结算清单" in partial.text
    bad = client.get("/settlement/review", params={"period": "2024-13"}, headers=HTML)
    assert bad.status_code == 422
    message = _testid(bad.text, "filter-error")
    assert "YYYY-MM" in message and "结算期间" in message and 'data-field="period"' in bad.text

    # approve from the queue, the filters are kept in the redirect
    r = _post(client, f"/settlement/review/{a[0]}/approve?hospital={codes['hosp01']}")
    assert r.status_code == 303, r.text[-500:]
    assert r.headers["location"] == f"/settlement/review?hospital={codes['hosp01']}"
    after = client.get(r.headers["location"], headers=HTML).text
    assert "审核通过" in _testid(after, "flash") and str(a[0]) not in _rows(after, "review-row")

    # return: a reason is required (422 on the doc, nothing changes), then returned
    r = _post(client, f"/settlement/review/{a[1]}/return", {"reason": "  "})
    assert r.status_code == 422
    error = _testid(r.text, "decision-error")
    assert "原因" in error and "reason" in error and 'data-field="reason"' in r.text
    assert "<details" in r.text and 'open data-testid="return-details"' in r.text
    reason = "主要诊断与病案首页不一致，请核对后重新上传"
    r = _post(client, f"/settlement/review/{a[1]}/return", {"reason": reason})
    assert r.status_code == 303

    # adjust: the amount is required and must be a number ≥ 0 with 2 decimals
    for amount, words in (("", "必填"), ("abc", "应为数字"), ("-5", "0 到"), ("1.234", "2 位小数")):
        r = _post(
            client, f"/settlement/review/{a[2]}/adjust", {"reason": "高套", "drg_payment": amount}
        )
        assert r.status_code == 422, amount
        error = _testid(r.text, "decision-error")
        assert "drg_payment" in error and words in error and HAN.search(error), error
    lowered = _lowered(db, a[2], "0.8")  # within one reviewer's share
    priced = _lowered(db, a[2], "1")
    r = _post(
        client,
        f"/settlement/review/{a[2]}/adjust",
        {"reason": "高套分组，按核定金额支付", "drg_payment": str(priced + 1)},
    )
    assert r.status_code == 422 and "须低于原支付金额" in _testid(r.text, "decision-error")
    r = _post(
        client,
        f"/settlement/review/{a[2]}/adjust",
        {"reason": "高套分组，按核定金额支付", "drg_payment": str(lowered)},
    )
    assert r.status_code == 303

    # an illegal move: the state machine's Chinese message, shown on the page (409)
    r = _post(client, f"/settlement/review/{a[1]}/approve")
    assert r.status_code == 409
    error = _testid(r.text, "decision-error")
    assert "已退回医院" in error and "不能执行" in error
    assert _states(db, a[:3]) == {a[0]: "approved", a[1]: "returned", a[2]: "adjusted"}
    set_scope(db, SYSTEM_SCOPE)
    adj = db.scalar(select(SettlementAdjustment).where(SettlementAdjustment.list_id == a[2]))
    assert adj.adjusted_payment == lowered and adj.reason == "高套分组，按核定金额支付"
    audit = dict(
        db.execute(
            select(AuditLog.action, func.count())
            .where(AuditLog.action.startswith("settlement."), AuditLog.actor_name == "reviewer")
            .group_by(AuditLog.action)
        ).all()
    )
    assert audit == {"settlement.approve": 1, "settlement.return": 1, "settlement.adjust": 1}

    # the list's page: history with the reason; the decision forms only while it waits
    doc = client.get(f"/settlement/lists/{a[1]}", headers=HTML).text
    history = _testid(doc, "history", "</table>")
    assert "退回医院" in history and reason in history and "提交审核" in history
    assert reason in _testid(doc, "latest-reason") and 'data-testid="review-card"' not in doc
    doc = client.get(f"/settlement/lists/{a[2]}", headers=HTML).text
    assert f"{lowered:,}" in _testid(doc, "adjusted-payment", "</td>")
    doc = client.get(f"/settlement/lists/{a[3]}", headers=HTML).text
    assert 'data-testid="review-card"' in doc and 'name="back" value="detail"' in doc
    r = _post(client, f"/settlement/review/{a[3]}/return", {"reason": "", "back": "detail"})
    assert r.status_code == 422 and 'data-testid="review-card"' in r.text
    assert "原因" in _testid(r.text, "decision-error") and 'data-testid="qc-card"' in r.text
    r = _post(client, f"/settlement/review/{a[3]}/approve", {"back": "detail"})
    assert r.status_code == 303 and r.headers["location"] == f"/settlement/lists/{a[3]}"
    doc = client.get(r.headers["location"], headers=HTML).text
    assert "审核通过" in _testid(doc, "flash") and 'data-testid="review-card"' not in doc

    # bulk approve of ticked lists: one result per list, refused ones left as they were
    r = _post(client, "/settlement/review/bulk-approve", {"ids": []})
    assert r.status_code == 422 and "勾选" in _testid(r.text, "decision-error")
    ticked = [a[4], a[5], a[1], 999_999]
    r = _post(client, "/settlement/review/bulk-approve", {"ids": ticked, "reason": "批量"})
    assert r.status_code == 200, r.text[-500:]
    results = _testid(r.text, "bulk-results", "</table>")
    assert re.search(r'data-testid="bulk-approved">2<', r.text)
    assert re.search(r'data-testid="bulk-refused">2<', r.text)
    assert f'data-list="{a[4]}" data-ok="true"' in results
    assert f'data-list="{a[1]}" data-ok="false"' in results and "已退回医院" in results
    assert 'data-list="999999" data-ok="false"' in results and "不存在" in results
    # … or every list of the current filter
    r = _post(
        client, f"/settlement/review/bulk-approve?hospital={codes['hosp02']}", {"mode": "filter"}
    )
    assert r.status_code == 200 and f'data-list="{other}" data-ok="true"' in r.text
    states = _states(db, [a[4], a[5], a[1], other])
    assert states == {a[4]: "approved", a[5]: "approved", a[1]: "returned", other: "approved"}
    r = _post(client, f"/settlement/review/{a[0]}/reject")  # not a decision of the queue
    assert r.status_code == 404


def test_hospital_users_and_other_roles(world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    client, a, other = world["client"], world["a"], world["other"]
    _as(client, "hosp01")
    nav = _nav(client)
    assert "结算审核" not in nav and "结算确认" not in nav
    assert "特例单议/申诉" in nav and "结算单" in nav
    for url in ("/settlement/review", "/settlement/periods", "/settlement/clearing"):
        r = client.get(url, headers=HTML)
        assert r.status_code == 403 and 'data-testid="error"' in r.text, url
    assert _post(client, f"/settlement/review/{a[0]}/approve").status_code == 403
    assert _post(client, "/settlement/review/bulk-approve", {"ids": [a[0]]}).status_code == 403
    assert _post(client, f"/settlement/periods/{world['month_a']}/confirm").status_code == 403
    assert _post(client, "/settlement/clearing", {"year": "2024"}).status_code == 403
    doc = client.get(f"/settlement/lists/{a[0]}", headers=HTML)
    assert doc.status_code == 200 and 'data-testid="history"' in doc.text
    assert 'data-testid="review-card"' not in doc.text
    assert client.get(f"/settlement/lists/{other}", headers=HTML).status_code == 404
    assert _states(db, [a[0]]) == {a[0]: "priced"}

    _as(client, "analyst")  # a bureau role without review rights or statements
    nav = _nav(client)
    assert "结算审核" not in nav and "特例单议/申诉" not in nav and "结算单" not in nav
    for url in ("/settlement/review", "/settlement/special", "/settlement/statements"):
        assert client.get(url, headers=HTML).status_code == 403, url
    _as(client, "admin")  # the bureau admin reads statements, does not review
    nav = _nav(client)
    assert "结算单" in nav and "结算审核" not in nav
    assert client.get("/settlement/statements", headers=HTML).status_code == 200


# --------------------------------------------------------------------------- confirmation


def test_period_confirmation_page(world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    client, a, month = world["client"], world["a"], world["month_a"]
    _as(client, "reviewer")
    r = client.post(f"/api/settlement/review/{a[0]}/return", json={"reason": "资料不全"})
    assert r.status_code == 200
    r = client.post("/api/settlement/review/bulk-approve", json={"ids": [*a[1:6], world["other"]]})
    assert r.json()["approved"] == 6

    doc = client.get("/settlement/periods", params={"period": month}, headers=HTML)
    assert doc.status_code == 200
    counts = _testid(doc.text, "state-counts", "</table>")
    assert re.search(r'data-testid="count-approved">6<', counts)
    assert re.search(r'data-testid="count-priced">2<', counts)
    assert re.search(r'data-testid="count-returned">1<', counts)
    assert re.search(r'data-testid="count-total">9<', counts)
    assert re.search(r'data-testid="to-confirm">6 份<', doc.text)
    assert re.search(r'data-testid="blocked">3 份<', doc.text)  # two priced, one returned
    assert 'data-testid="period-status" data-status="open"' in doc.text
    pending = _testid(doc.text, "pending-card", "</table>")
    assert str(a[0]) in pending and "已退回医院" in pending
    default = client.get("/settlement/periods", headers=HTML)  # the latest discharge month
    assert default.status_code == 200 and 'name="period" value="20' in default.text

    bad = client.get("/settlement/periods", params={"period": "2024-13"}, headers=HTML)
    assert bad.status_code == 422 and "YYYY-MM" in _testid(bad.text, "period-error")
    r = _post(client, f"/settlement/periods/{month}/confirm", {"chunk_size": "many"})
    assert r.status_code == 422 and "chunk_size" in _testid(r.text, "confirm-error")
    for size in ("99999", "0"):
        r = _post(client, f"/settlement/periods/{month}/confirm", {"chunk_size": size})
        assert r.status_code == 422 and "1 到" in _testid(r.text, "confirm-error")
    set_scope(db, SYSTEM_SCOPE)
    assert db.scalar(select(func.count()).select_from(SettlementConfirmBatch)) == 0

    r = _post(client, f"/settlement/periods/{month}/confirm", {"chunk_size": "2"})
    assert r.status_code == 303 and r.headers["location"] == f"/settlement/periods?period={month}"
    db.expire_all()
    job = db.scalar(select(Job).where(Job.kind == "settlement.confirm"))
    assert job is not None and job.params["period"] == month and job.params["chunk_size"] == 2
    doc = client.get(r.headers["location"], headers=HTML).text
    assert f"已提交确认结算任务 #{job.id}" in _testid(doc, "flash")
    assert f'href="/jobs/{job.id}"' in doc
    done = wait_job(client, job.id)
    assert done["status"] == "succeeded" and done["summary"]["confirmed"] == 6
    doc = client.get(f"/settlement/periods?period={month}", headers=HTML).text
    assert re.search(r'data-testid="count-confirmed">6<', doc)
    assert re.search(r'data-testid="confirmed">6 份<', doc)
    assert 'data-testid="batch-row" data-status="done"' in doc
    assert "该批次完成时未能确认 3 份" in doc  # two priced, one returned
    job_page = client.get(f"/jobs/{job.id}", headers=HTML).text
    assert f'href="/settlement/periods?period={month}"' in job_page
    # while a job of the period's running batch is queued, a second start is refused (409)
    set_scope(db, SYSTEM_SCOPE)
    running = Job(kind="settlement.confirm", status="queued", params={}, region_code="990100")
    db.add(running)
    db.flush()
    batch = SettlementConfirmBatch(
        region_code="990100",
        period_id=db.scalar(select(SettlementConfirmBatch.period_id).limit(1)),
        period_code=month,
        status="running",
        running_key=f"990100:{month}",
        job_id=running.id,
        chunk_size=10,
        started_by="test",
    )
    db.add(batch)
    db.commit()
    r = _post(client, f"/settlement/periods/{month}/confirm")
    assert r.status_code == 409 and "正在确认中" in _testid(r.text, "confirm-error")


# --------------------------------------------------------------------------- statements


def test_statement_and_clearing_pages(world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    client, codes, records = _confirm_month_a(world)
    month, h1, h2 = world["month_a"], codes["hosp01"], codes["hosp02"]
    api = client.get(f"/api/settlement/periods/{month}/statements").json()["items"]
    expected = {i["hospital_code"]: i for i in api}

    doc = client.get("/settlement/statements", params={"period": month}, headers=HTML)
    assert doc.status_code == 200
    table = _testid(doc.text, "statement-table", "</table>")
    assert _rows_by_hospital(table) == {h1, h2}
    for code, st in expected.items():
        row = table.split(f'data-hospital="{code}"', 1)[1].split("</tr>", 1)[0]
        assert f"{Decimal(st['settlement_amount']):,.2f}" in row
        assert f"{Decimal(st['net_payable']):,.2f}" in row
    total = sum(Decimal(i["settlement_amount"]) for i in api)
    assert f"{total:,.2f}" in _testid(doc.text, "statement-totals", "</tfoot>")
    links = re.findall(r'href="(/api/settlement/periods/[^"]+)"', table)
    assert f"/api/settlement/periods/{month}/statements/{h1}?format=xlsx" in links
    xlsx = client.get(f"/api/settlement/periods/{month}/statements/{h1}?format=xlsx")
    assert openpyxl.load_workbook(io.BytesIO(xlsx.content)).sheetnames == ["汇总", "病例明细"]
    pdf = client.get(f"/api/settlement/periods/{month}/statements/{h1}?format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert 'data-testid="clearing-link"' in doc.text
    bad = client.get("/settlement/statements", params={"period": "24-01"}, headers=HTML)
    assert bad.status_code == 422 and "YYYY-MM" in _testid(bad.text, "period-error")

    # the hospital sees its own statement only (and can download it)
    _as(client, "hosp02")
    doc = client.get("/settlement/statements", params={"period": month}, headers=HTML).text
    table = _testid(doc, "statement-table", "</table>")
    assert _rows_by_hospital(table) == {h2} and h1 not in table
    assert 'data-testid="clearing-link"' not in doc
    assert (
        client.get(f"/api/settlement/periods/{month}/statements/{h2}?format=pdf").status_code == 200
    )
    assert (
        client.get(f"/api/settlement/periods/{month}/statements/{h1}?format=pdf").status_code == 404
    )

    # year-end clearing: one score per hospital with confirmed lists, errors name the field
    _as(client, "reviewer")
    year = int(month[:4])
    form = client.get("/settlement/clearing", params={"year": year}, headers=HTML).text
    assert f'name="score_{h1}"' in form and f'name="score_{h2}"' in form
    good = {
        "year": str(year),
        "budget": "200000",
        "method": "rate",
        f"score_{h1}": "95",
        f"score_{h2}": "50",
    }
    r = _post(client, "/settlement/clearing", {**good, f"score_{h2}": ""})
    assert r.status_code == 422
    error = _testid(r.text, "clearing-error")
    assert f"score_{h2}" in error and "考核得分" in error and f'data-field="score_{h2}"' in r.text
    assert "未填写" in error and "10^18" not in error
    r = _post(client, "/settlement/clearing", {**good, f"score_{h2}": "九十"})
    assert "不是数字（收到“九十”）" in _testid(r.text, "clearing-error")
    r = _post(client, "/settlement/clearing", {**good, "budget": "0"})
    assert r.status_code == 422 and "budget" in _testid(r.text, "clearing-error")
    r = _post(client, "/settlement/clearing", {**good, f"score_{h1}": "120"})
    assert r.status_code == 422 and "0 到 100" in _testid(r.text, "clearing-error")
    r = _post(client, "/settlement/clearing", {**good, "year": "1999"})
    assert r.status_code == 422 and "year" in _testid(r.text, "clearing-error")
    # numbers the form reads but the clearing cannot take: an answer naming the field
    # (they were HTTP 500s)
    for field, value, words in (
        ("budget", "1.234", "小数位数过多"),
        ("budget", "20000000000000000", "budget"),
        (f"score_{h1}", "95.123456789", f"score_{h1}"),
    ):
        r = _post(client, "/settlement/clearing", {**good, field: value})
        assert r.status_code == 422, (field, value, r.status_code)
        assert words in _testid(r.text, "clearing-error"), (field, value)
    r = _post(client, "/settlement/clearing", good)
    assert r.status_code == 200, r.text[-800:]
    body = {"budget": "200000", "method": "rate", "assessment_scores": {h1: 95, h2: 50}}
    out = client.post(f"/api/settlement/years/{year}/clearing", json=body).json()
    result = _testid(r.text, "clearing-result", "</table>")
    for h in out["hospitals"]:
        row = result.split(f'data-hospital="{h["hospital_code"]}"', 1)[1].split("</tr>", 1)[0]
        assert f"{Decimal(h['clearing_amount']):,.2f}" in row
    total = Decimal(out["totals"]["clearing_amount"])
    assert f"{total:,.2f}" in _testid(r.text, "clearing-total", "</td>")
    assert str(Decimal(out["final_value"])) in _testid(r.text, "final-value", "</dd>")
    assert len(records) == 9


def _rows_by_hospital(table: str) -> set[str]:
    return set(re.findall(r'data-testid="statement-row" data-hospital="([^"]+)"', table))


# --------------------------------------------------------------------------- special cases


def _in_window(month: str) -> datetime:
    year, mon = (int(x) for x in month.split("-"))
    index = year * 12 + mon  # the month after the discharge month
    return datetime(index // 12, index % 12 + 1, 15, 4, tzinfo=UTC)


def test_special_case_and_appeal_pages(world, db, monkeypatch):  # type: ignore[no-untyped-def]  # noqa: F811
    client, a, month = world["client"], world["a"], world["month_a"]
    monkeypatch.setattr(special, "CLOCK", lambda: _in_window(month))
    _as(client, "hosp01")
    doc = client.get("/settlement/special", headers=HTML)
    assert doc.status_code == 200
    quota = _testid(doc.text, f'quota" data-period="{month}', "</div></div>")
    assert 'data-used="0" data-quota="1"' in quota and "已受理 0 / 名额 1" in quota
    assert "DRG 结算病例 8 例 × 5‰" in quota
    candidates = _rows(doc.text, "candidate-row")
    assert str(a[0]) in candidates and str(world["other"]) not in candidates
    # a list below both thresholds says it needs a new technique to be eligible
    assert "须使用新药品、新耗材或新技术方可申请" in doc.text
    assert "<th>评审</th>" not in _testid(doc.text, "specials", "</thead>")

    # a missing reason is refused on the page; nothing is stored
    files = {"files": ("病历摘要.pdf", b"%PDF-1.4 page", "application/pdf")}
    r = _post(client, f"/settlement/lists/{a[0]}/special-case", {"new_tech": "1"}, files=files)
    assert r.status_code == 422 and "原因" in _testid(r.text, "special-error")
    set_scope(db, SYSTEM_SCOPE)
    assert db.scalar(select(func.count()).select_from(SpecialCaseApplication)) == 0
    _as(client, "hosp01")
    r = _post(
        client,
        f"/settlement/lists/{a[0]}/special-case",
        {"reason": "使用新技术（经导管主动脉瓣置换）", "new_tech": "1"},
        files=files,
    )
    assert r.status_code == 303, r.text[-800:]
    doc = client.get("/settlement/special", headers=HTML).text
    assert "特例单议申请已受理" in _testid(doc, "flash")
    assert re.search(rf'data-period="{month}" data-used="1" data-quota="1"', doc)
    assert str(a[0]) not in _rows(doc, "candidate-row")
    mine = _testid(doc, "specials", "</table>")
    assert "病历摘要.pdf" in mine and "评审中" in mine
    # the quota is used up: the service's refusal, with its figures, on the page
    r = _post(
        client, f"/settlement/lists/{a[1]}/special-case", {"reason": "新技术", "new_tech": "1"}
    )
    assert r.status_code == 409
    error = _testid(r.text, "special-error")
    assert "超出本院本期特例单议名额" in error and "名额 1 个" in error
    app_id = int(re.search(r'data-testid="special-row" data-special="(\d+)"', doc).group(1))

    # the reviewer sees the application with its quota and attachment, and decides
    _as(client, "reviewer")
    doc = client.get("/settlement/special", headers=HTML).text
    row = _testid(doc, "special-row", "</tr>")
    assert "第 1 位 / 名额 1" in row and "现已受理 1 / 1" in row
    link = re.search(r'href="(/settlement/special/\d+/attachments/1)"', doc).group(1)
    download = client.get(link)
    assert download.status_code == 200 and download.content == b"%PDF-1.4 page"
    _as(client, "analyst")  # reads cases, but not the hospitals' 病历 behind an application
    assert client.get(link).status_code == 403
    _as(client, "reviewer")
    url = f"/settlement/special/{app_id}/decide"
    r = _post(client, url, {"decision": "approve", "reason": "专家评审通过"})
    assert r.status_code == 422 and "method" in _testid(r.text, "special-error")
    r = _post(client, url, {"decision": "approve", "method": "items"})
    assert r.status_code == 422 and "原因" in _testid(r.text, "special-error")
    r = _post(client, url, {"decision": "approve", "method": "amount", "amount": "", "reason": "x"})
    assert r.status_code == 422 and "amount" in _testid(r.text, "special-error")
    r = _post(client, url, {"decision": "maybe"})
    assert r.status_code == 422 and "decision" in _testid(r.text, "special-error")
    r = _post(client, url, {"decision": "approve", "method": "items", "reason": "专家评审通过"})
    assert r.status_code == 303
    doc = client.get("/settlement/special?sstatus=all", headers=HTML).text
    assert "评审通过" in _testid(doc, "flash") and "按项目付费" in doc
    assert _states(db, [a[0]]) == {a[0]: "special_approved"}

    # adjust a[4], return a[5]; the hospital appeals the adjustment before the deadline
    r = client.post(
        f"/api/settlement/review/{a[4]}/adjust",
        json={"reason": "高套", "drg_payment": str(_lowered(db, a[4]))},
    )
    assert r.status_code == 200
    r = client.post(f"/api/settlement/review/{a[5]}/return", json={"reason": "资料不全"})
    assert r.status_code == 200
    monkeypatch.setattr(special, "CLOCK", lambda: datetime.now(UTC))
    _as(client, "hosp01")
    doc = client.get("/settlement/special", headers=HTML).text
    appealable = _testid(doc, "appealable", "</table>")
    assert _rows(appealable, "appealable-row") == [str(a[4])]
    db.expire_all()
    event_day = local(datetime.now(UTC)).date()
    deadline = re.search(r'data-deadline="([\d-]+)"', appealable).group(1)
    assert (datetime.fromisoformat(deadline).date() - event_day).days == 15
    returned = _testid(doc, "returned", "</ul>")
    assert "不能申诉" in returned and f"/settlement/lists/{a[5]}" in returned
    r = _post(client, f"/settlement/lists/{a[4]}/appeal", {"reason": ""})
    assert r.status_code == 422 and "原因" in _testid(r.text, "special-error")
    r = _post(client, f"/settlement/lists/{a[5]}/appeal", {"reason": "不服"})
    assert r.status_code == 409 and "已退回医院" in _testid(r.text, "special-error")
    r = _post(client, f"/settlement/lists/{a[4]}/appeal", {"reason": "诊断有病历依据"})
    assert r.status_code == 303
    doc = client.get("/settlement/special", headers=HTML).text
    assert f"申诉期限 {deadline}" in _testid(doc, "flash")

    # the reviewer rejects the appeal: a reason is required
    _as(client, "reviewer")
    doc = client.get("/settlement/special", headers=HTML).text
    appeal_id = int(_rows(doc, "appeal-row")[0])
    r = _post(
        client, f"/settlement/appeals/{appeal_id}/decide", {"decision": "reject", "reason": ""}
    )
    assert r.status_code == 422 and "原因" in _testid(r.text, "special-error")
    r = _post(
        client,
        f"/settlement/appeals/{appeal_id}/decide",
        {"decision": "reject", "reason": "证据不足"},
    )
    assert r.status_code == 303
    assert _states(db, [a[4]]) == {a[4]: "appeal_rejected"}
    set_scope(db, SYSTEM_SCOPE)
    appeal = db.get(SettlementAppeal, appeal_id)
    assert appeal.status == "rejected" and appeal.decision_reason == "证据不足"

    # another hospital: neither the application nor its attachment exists for it
    _as(client, "hosp02")
    assert client.get(link).status_code == 404
    r = _post(client, f"/settlement/lists/{a[6]}/appeal", {"reason": "不服"})
    assert r.status_code == 404 and "不存在" in _testid(r.text, "special-error")
    doc = client.get("/settlement/special", headers=HTML).text
    assert _rows(doc, "special-row") == [] and _rows(doc, "appeal-row") == []


# --------------------------------------------------------------------------- browser


@pytest.mark.browser
def test_browser_approve_from_queue(world, live_server, page):  # type: ignore[no-untyped-def]  # noqa: F811
    from yibao.demo.seed import DEMO_PASSWORD

    first = world["a"][0]
    page.goto(f"{live_server}/login")
    page.fill("#username", "reviewer")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    page.hover("[data-menu=settlement] > button")  # the menu opens under the pointer
    page.click("[data-menu=settlement] .dropdown-menu >> text=结算审核")
    page.wait_for_selector("[data-testid=review-row]")
    assert page.locator("[data-testid=review-row]").count() == 11
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # open the adjust panel of the second row to see it laid out over the table
    page.locator(f"[data-list='{world['a'][1]}'] [data-testid=adjust-details] summary").click()
    page.screenshot(path=str(SCREENSHOTS / "queue.png"), full_page=True)
    page.locator(
        f"[data-testid=review-row][data-list='{first}'] [data-testid=approve-button]"
    ).click()
    page.wait_for_selector("[data-testid=flash]")
    assert "审核通过" in page.locator("[data-testid=flash]").inner_text()
    assert page.locator("[data-testid=review-row]").count() == 10
    assert page.locator(f"[data-testid=review-row][data-list='{first}']").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "approved.png"), full_page=True)
    page.goto(f"{live_server}/settlement/lists/{first}")
    assert "审核通过" in page.locator("[data-testid=list-state]").inner_text()
    assert "审核通过" in page.locator("[data-testid=history]").inner_text()
