"""Post-audit over stored data and the findings workflow over HTTP (SQLite / PostgreSQL,
ADR 0024): a post-audit job finds readmissions among stored cases (rerun: nothing
duplicated or reopened), bulk publication with a deadline, the hospital's acceptance,
appeal with attachments, 初审, one 复审 by another reviewer, expiry past the deadline,
the deductions in the monthly statement (checked by hand), scoping between hospitals,
invalid transitions refused in Chinese with nothing changed, and the Excel export."""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.builders.settlement import demo_world, login, settlement_list
from tests.e2e.test_cli import env  # noqa: F401  (fixture)
from tests.e2e.test_grouping_api import wait_job
from yibao.audit.models import AuditLog
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD
from yibao.kit.timeutil import BUSINESS_TZ
from yibao.settlement.models import SettlementAuditDeduction, SettlementPeriod
from yibao.supervision import findings
from yibao.supervision.findings.models import Finding, FindingEvent
from yibao.supervision.findings.service import deduction_period

D = Decimal
HAN = re.compile(r"[\u4e00-\u9fff]")
MONTH = "2025-02"
#: (hospital user, person, [(discharge, total cost)]): the second stay of each person is
#: a readmission 3–7 days after the first (same diagnosis, so the same MDC)
STAYS = [
    ("hosp01", "PFIND000001", [(date(2025, 2, 3), "20000.00"), (date(2025, 2, 12), "12345.67")]),
    ("hosp01", "PFIND000002", [(date(2025, 2, 2), "8000.00"), (date(2025, 2, 14), "9100.50")]),
    ("hosp01", "PFIND000003", [(date(2025, 2, 1), "5000.00"), (date(2025, 2, 10), "4321.00")]),
    ("hosp02", "PFIND000004", [(date(2025, 2, 3), "7000.00"), (date(2025, 2, 11), "6000.00")]),
]
PDF = b"%PDF-1.4\n% test attachment\n" + bytes(range(256)) * 4


def _as(client, username: str) -> None:  # type: ignore[no-untyped-def]
    login(client, username, DEMO_PASSWORD)


def _at(monkeypatch, day: date, hour: int = 10) -> None:  # type: ignore[no-untyped-def]
    when = datetime(day.year, day.month, day.day, hour, tzinfo=BUSINESS_TZ)
    monkeypatch.setattr(findings, "CLOCK", lambda: when)


def _error(r) -> str:  # type: ignore[no-untyped-def]
    message = r.json()["error"]["message"]
    assert HAN.search(message), message
    return message


@pytest.fixture()
def fworld(client, db):  # type: ignore[no-untyped-def]
    """The demo region and, per person, two stays discharged in February 2025."""
    codes = demo_world(db)
    list_ids: list[int] = []
    for user, person, stays in STAYS:
        _as(client, user)
        msgs = [
            settlement_list(
                codes[user],
                discharge=day,
                diagnoses=["I21.000"],
                total_cost=cost,
                los_days=5,
                psn_no=person,
            )
            for day, cost in stays
        ]
        r = client.post("/api/settlement/lists", json={"lists": msgs})
        assert r.status_code == 200, r.text
        out = r.json()["lists"]
        assert all(o["state"] == "priced" for o in out), out
        list_ids += [o["list_id"] for o in out]
    return {"client": client, "codes": codes, "lists": list_ids}


def _run(client, period_from: str = MONTH) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = client.post("/api/supervision/findings/runs", json={"period_from": period_from})
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["job_id"], timeout=60)
    assert job["status"] == "succeeded", job
    status = client.get(f"/api/supervision/findings/runs/{job['id']}").json()
    assert status["months"] == [period_from] and status["status"] == "succeeded"
    return status["summary"]


def _findings(client, **params: Any) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    r = client.get("/api/supervision/findings", params={"size": 100, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _snapshot(db) -> list[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    """Every finding's state and amounts, the events and the deductions (unchanged by a
    refused step)."""
    db.expire_all()
    set_scope(db, SYSTEM_SCOPE)
    rows = db.scalars(select(Finding).order_by(Finding.id))
    state = [(f.id, f.state, f.final_amount, f.deadline, f.first_amount) for f in rows]
    events = db.scalar(select(func.count(FindingEvent.id)))
    deductions = db.scalar(select(func.count(SettlementAuditDeduction.id)))
    return [*state, ("events", events, deductions)]


# long: one story from the post-audit to the statement, in the order the parties act
def test_findings_workflow_to_statement(fworld, db, monkeypatch):  # type: ignore[no-untyped-def]
    client, codes = fworld["client"], fworld["codes"]
    h1, h2 = codes["hosp01"], codes["hosp02"]
    _at(monkeypatch, date(2025, 2, 16))

    # --- a hospital can neither start a post-audit nor publish
    _as(client, "hosp01")
    assert (
        client.post("/api/supervision/findings/runs", json={"period_from": MONTH}).status_code
        == 403
    )
    assert client.get("/api/supervision/findings").json()["total"] == 0  # nothing published yet

    # --- the post-audit job over the stored cases
    _as(client, "reviewer")
    bad = client.post("/api/supervision/findings/runs", json={"period_from": "2025-13"})
    assert bad.status_code == 422 and "YYYY-MM" in _error(bad)
    summary = _run(client)
    assert summary["new"] == 4 and summary["detector_findings"] == 4, summary
    found = _findings(client)
    assert len(found) == 4
    by_mdtrt = {f["mdtrt_id"]: f for f in found}
    assert all(f["rule_id"] == "DRG-READMIT" and f["rule_version"] == 1 for f in found)
    assert all(f["state"] == "new" and f["period"] == MONTH for f in found)
    assert all(HAN.search(f["vola_cont"]) for f in found)
    amounts = sorted((f["hospital_code"], D(str(f["vola_amt"]))) for f in found)
    assert amounts == sorted(
        [(h1, D("12345.67")), (h1, D("9100.50")), (h1, D("4321.00")), (h2, D("6000.00"))]
    )
    f1 = next(f for f in found if D(str(f["vola_amt"])) == D("12345.67"))
    f2 = next(f for f in found if D(str(f["vola_amt"])) == D("9100.50"))
    f3 = next(f for f in found if D(str(f["vola_amt"])) == D("4321.00"))
    f4 = next(f for f in found if f["hospital_code"] == h2)
    detail = client.get(f"/api/supervision/findings/{f1['id']}").json()
    assert HAN.search(detail["vola_evid"]) and len(detail["lines"]) == 2
    assert {ln["vola_item_type"] for ln in detail["lines"]} == {1, 2}
    assert detail["actions"] == ["publish", "drop"] and detail["events"] == []
    assert set(by_mdtrt) == {f["mdtrt_id"] for f in found}

    # --- rerun: the same findings, nothing duplicated
    again = _run(client)
    assert again["new"] == 0 and again["refreshed"] == 4 and again["dropped"] == 0
    assert len(_findings(client)) == 4

    # --- filters
    assert len(_findings(client, hospital=h2)) == 1
    assert len(_findings(client, rule="DRG-READMIT", severity=2, state="new", period=MONTH)) == 4
    assert _findings(client, rule="NOPE") == []
    bad = client.get("/api/supervision/findings", params={"state": "bogus"})
    assert bad.status_code == 422 and _error(bad) and bad.json()["error"]["field"] == "state"

    # --- bulk publication: deadline 10 calendar days later
    r = client.post(
        "/api/supervision/findings/publish", json={"ids": [f1["id"], f2["id"], f3["id"], f4["id"]]}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"published": 4, "deadline": "2025-02-26"}
    before = _snapshot(db)
    again = client.post("/api/supervision/findings/publish", json={"ids": [f1["id"]]})
    assert again.status_code == 409 and "已公示" in _error(again)
    assert _snapshot(db) == before

    # --- scoping: hospital 02 sees its own finding only and cannot act on another's
    _as(client, "hosp02")
    assert [f["id"] for f in _findings(client)] == [f4["id"]]
    assert client.get(f"/api/supervision/findings/{f1['id']}").status_code == 404
    assert client.post(f"/api/supervision/findings/{f1['id']}/accept", json={}).status_code == 404
    r = client.post(f"/api/supervision/findings/{f1['id']}/appeal", data={"reason": "x"})
    assert r.status_code == 404
    assert client.get("/api/supervision/findings", params={"hospital": h1}).json()["total"] == 0
    assert _snapshot(db) == before

    # --- the hospitals answer (17 Feb)
    _at(monkeypatch, date(2025, 2, 17))
    r = client.post(
        f"/api/supervision/findings/{f4['id']}/appeal",
        data={"reason": "两次住院病情不同，第二次为新发心梗"},
    )
    assert r.status_code == 200 and r.json()["state"] == "answered", r.text
    _as(client, "hosp01")
    assert len(_findings(client)) == 3
    r = client.post(f"/api/supervision/findings/{f2['id']}/accept", json={"reason": "认可"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["state"] == "deducted" and D(str(out["final_amount"])) == D("9100.50")
    assert out["deducted_period"] == MONTH
    assert [e["action"] for e in out["events"]] == ["publish", "accept", "deduct"]
    # the deduction is the system's step on the hospital's acceptance, named as such
    accept, deduct = out["events"][1:]
    assert (
        deduct["actor_name"].startswith("系统（因 ")
        and accept["actor_name"] in deduct["actor_name"]
    )
    # invalid: accept twice, appeal a deducted finding — refused in Chinese, nothing changed
    before = _snapshot(db)
    for r in (
        client.post(f"/api/supervision/findings/{f2['id']}/accept", json={}),
        client.post(f"/api/supervision/findings/{f2['id']}/appeal", data={"reason": "再申诉"}),
    ):
        assert r.status_code == 409 and "已扣款" in _error(r)
    bad = client.post(
        f"/api/supervision/findings/{f1['id']}/appeal",
        data={"reason": "附件类型不对"},
        files=[("files", ("病历.exe", b"MZ\x90\x00", "application/octet-stream"))],
    )
    assert bad.status_code == 422 and "类型" in _error(bad)
    fake = client.post(
        f"/api/supervision/findings/{f1['id']}/appeal",
        data={"reason": "改了扩展名"},
        files=[("files", ("病历.pdf", b"not a pdf", "application/pdf"))],
    )
    assert fake.status_code == 422 and "不符" in _error(fake)
    empty = client.post(f"/api/supervision/findings/{f1['id']}/appeal", data={"reason": " "})
    assert empty.status_code == 422 and _error(empty)
    assert (
        client.post(
            f"/api/supervision/findings/{f1['id']}/first-decision",
            json={"decision": "uphold", "amount": "1", "reason": "x"},
        ).status_code
        == 403
    )
    assert _snapshot(db) == before

    r = client.post(
        f"/api/supervision/findings/{f1['id']}/appeal",
        data={"reason": "再入院为计划内分期手术，附手术计划"},
        files=[("files", ("手术计划.pdf", PDF, "application/pdf"))],
    )
    assert r.status_code == 200, r.text
    appealed = r.json()
    assert appealed["state"] == "answered" and len(appealed["attachments"]) == 1
    att = appealed["attachments"][0]
    assert att["name"] == "手术计划.pdf" and att["size"] == len(PDF)
    got = client.get(f"/api/supervision/findings/{f1['id']}/attachments/{att['id']}")
    assert got.status_code == 200 and got.content == PDF

    _as(client, "hosp02")
    assert (
        client.get(f"/api/supervision/findings/{f1['id']}/attachments/{att['id']}").status_code
        == 404
    )

    # --- 初审 (18 Feb)
    _at(monkeypatch, date(2025, 2, 18))
    _as(client, "reviewer")
    assert (
        client.get(f"/api/supervision/findings/{f1['id']}/attachments/{att['id']}").content == PDF
    )
    before = _snapshot(db)
    over = client.post(
        f"/api/supervision/findings/{f1['id']}/first-decision",
        json={"decision": "uphold", "amount": "12345.68", "reason": "超出"},
    )
    assert over.status_code == 422 and "12345.67" in _error(over)
    neg = client.post(
        f"/api/supervision/findings/{f1['id']}/first-decision",
        json={"decision": "uphold", "amount": "-1", "reason": "负数"},
    )
    assert neg.status_code == 422
    no_reason = client.post(
        f"/api/supervision/findings/{f1['id']}/first-decision",
        json={"decision": "uphold", "amount": "10000.00"},
    )
    assert no_reason.status_code == 422 and "原因" in _error(no_reason)
    early = client.post(
        f"/api/supervision/findings/{f3['id']}/first-decision",
        json={"decision": "uphold", "amount": "1.00", "reason": "未申诉"},
    )
    assert early.status_code == 409 and "已公示" in _error(early)
    assert _snapshot(db) == before
    r = client.post(
        f"/api/supervision/findings/{f1['id']}/first-decision",
        json={"decision": "uphold", "amount": "10000.00", "reason": "分期手术计划不充分，部分维持"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "first_upheld" and r.json()["deadline"] == "2025-02-28"
    r = client.post(
        f"/api/supervision/findings/{f4['id']}/first-decision",
        json={"decision": "dismiss", "reason": "病历证实为新发疾病，不属于分解住院"},
    )
    assert r.status_code == 200 and r.json()["state"] == "dismissed"
    assert D(str(r.json()["final_amount"])) == 0 and r.json()["deducted_period"] is None

    # --- the hospital asks for 复审 once (19 Feb)
    _at(monkeypatch, date(2025, 2, 19))
    _as(client, "hosp01")
    note = "复审补充材料".encode()
    r = client.post(
        f"/api/supervision/findings/{f1['id']}/appeal",
        data={"reason": "申请复审：补充手术排期记录"},
        files=[("files", ("排期.txt", note, "text/plain"))],
    )
    assert r.status_code == 200 and r.json()["state"] == "second_review", r.text
    assert len(r.json()["attachments"]) == 2
    before = _snapshot(db)
    twice = client.post(f"/api/supervision/findings/{f1['id']}/appeal", data={"reason": "再来"})
    assert twice.status_code == 409 and "复审中" in _error(twice)
    assert _snapshot(db) == before

    # --- 复审 (20 Feb): not by the 初审 reviewer, at most the 初审 amount
    _at(monkeypatch, date(2025, 2, 20))
    _as(client, "reviewer")
    same = client.post(
        f"/api/supervision/findings/{f1['id']}/second-decision",
        json={"decision": "uphold", "amount": "8000.00", "reason": "复审"},
    )
    assert same.status_code == 403 and "初审" in _error(same)
    _as(client, "reviewer2")
    over = client.post(
        f"/api/supervision/findings/{f1['id']}/second-decision",
        json={"decision": "uphold", "amount": "10000.01", "reason": "复审"},
    )
    assert over.status_code == 422 and "10000.00" in _error(over)
    assert _snapshot(db) == before
    r = client.post(
        f"/api/supervision/findings/{f1['id']}/second-decision",
        json={"decision": "uphold", "amount": "8000.00", "reason": "复审维持 8000 元"},
    )
    assert r.status_code == 200, r.text
    final = r.json()
    assert final["state"] == "deducted" and D(str(final["final_amount"])) == D("8000.00")
    assert [e["action"] for e in final["events"]] == [
        "publish",
        "appeal",
        "first_uphold",
        "request_second",
        "second_uphold",
        "deduct",
    ]
    assert final["final_kind"] == "second" and final["actions"] == []

    # --- past the deadline (27 Feb): f3 is upheld at its amount
    _at(monkeypatch, date(2025, 2, 27))
    _as(client, "hosp01")
    late = client.post(f"/api/supervision/findings/{f3['id']}/accept", json={})
    assert late.status_code == 409 and "期限" in _error(late)
    shown = client.get(f"/api/supervision/findings/{f3['id']}").json()
    assert shown["overdue"] and "逾期" in shown["state_label"] and shown["actions"] == []
    _as(client, "reviewer")
    assert client.post("/api/supervision/findings/expire").json() == {"expired": 1}
    assert client.post("/api/supervision/findings/expire").json() == {"expired": 0}
    expired = client.get(f"/api/supervision/findings/{f3['id']}").json()
    assert expired["state"] == "deducted" and D(str(expired["final_amount"])) == D("4321.00")
    assert expired["final_kind"] == "expired" and expired["final_on"] == "2025-02-27"

    # --- a rerun after the decisions reopens and duplicates nothing
    again = _run(client)
    assert again["new"] == 0 and again["kept"] == 4 and again["refreshed"] == 0
    states = sorted(f["state"] for f in _findings(client))
    assert states == ["deducted", "deducted", "deducted", "dismissed"]

    # --- audit rows for every step
    set_scope(db, SYSTEM_SCOPE)
    actions = db.scalars(
        select(AuditLog.action).where(AuditLog.object_type == "supervision_finding")
    ).all()
    assert actions.count("finding.publish") == 4 and actions.count("finding.deduct") == 3
    assert {"finding.accept", "finding.appeal", "finding.first_uphold", "finding.expire"} <= set(
        actions
    )

    # --- deducted exactly once: the link is unique in the database
    row = db.scalars(select(SettlementAuditDeduction)).first()
    db.add(
        SettlementAuditDeduction(
            finding_id=row.finding_id,
            hospital_id=row.hospital_id,
            region_code=row.region_code,
            jr_id=row.jr_id,
            rule_id=row.rule_id,
            hospital_code=row.hospital_code,
            period_code="2025-03",
            amount=row.amount,
            reason="重复",
            created_by="test",
        )
    )
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()

    # --- the February statement: confirmed fund − audit deductions (by hand)
    ids = fworld["lists"]
    r = client.post("/api/settlement/review/bulk-approve", json={"ids": ids})
    assert r.status_code == 200, r.text
    r = client.post(f"/api/settlement/periods/{MONTH}/confirm", json={})
    assert wait_job(client, r.json()["job_id"])["status"] == "succeeded"
    records = client.get(
        f"/api/settlement/periods/{MONTH}/confirmations", params={"size": 100}
    ).json()["items"]
    statements = client.get(f"/api/settlement/periods/{MONTH}/statements").json()["items"]
    st = {s["hospital_code"]: s for s in statements}
    audit = {h1: D("9100.50") + D("8000.00") + D("4321.00"), h2: D("0.00")}
    assert audit[h1] == D("21421.50")
    for code in (h1, h2):
        fund = sum(D(x["fund_amount"]) for x in records if x["hospital_code"] == code)
        s = st[code]
        assert D(s["fund_total"]) == fund and D(s["deductions"]) == 0
        assert D(s["audit_deductions"]) == audit[code]
        assert D(s["settlement_amount"]) == fund - audit[code]
        assert D(s["settlement_amount"]) == (
            D(s["fund_total"]) - D(s["deductions"]) - D(s["audit_deductions"]) + D(s["additions"])
        )
    one = client.get(f"/api/settlement/periods/{MONTH}/statements/{h1}").json()
    traced = sorted((a["finding_id"], D(a["amount"])) for a in one["audit_deductions"])
    assert traced == sorted(
        [(f1["id"], D("8000.00")), (f2["id"], D("9100.50")), (f3["id"], D("4321.00"))]
    )
    xlsx = client.get(f"/api/settlement/periods/{MONTH}/statements/{h1}", params={"format": "xlsx"})
    assert openpyxl.load_workbook(io.BytesIO(xlsx.content)).sheetnames == [
        "汇总",
        "病例明细",
        "智能审核扣款",
    ]
    deducted = _findings(client, deducted_period=MONTH)
    assert sorted(f["id"] for f in deducted) == sorted([f1["id"], f2["id"], f3["id"]])

    # --- the Excel export of a filtered list, with Chinese headers
    r = client.get("/api/supervision/findings", params={"hospital": h1, "format": "xlsx"})
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(r.content))["疑点清单"]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert all(HAN.search(str(h)) for h in header), header
    assert len(rows) == 4
    col = {h: i for i, h in enumerate(header)}
    got_rows = sorted(
        (
            str(r_[col["规则编号"]]),
            D(str(r_[col["疑点金额（元）"]])),
            r_[col["状态"]],
            D(str(r_[col["最终维持金额（元）"]])),
        )
        for r_ in rows[1:]
    )
    assert got_rows == sorted(
        [
            ("DRG-READMIT", D("12345.67"), "已扣款", D("8000.00")),
            ("DRG-READMIT", D("9100.50"), "已扣款", D("9100.50")),
            ("DRG-READMIT", D("4321.00"), "已扣款", D("4321.00")),
        ]
    )
    _as(client, "hosp02")
    own = openpyxl.load_workbook(
        io.BytesIO(client.get("/api/supervision/findings", params={"format": "xlsx"}).content)
    )["疑点清单"]
    assert own.max_row == 2  # its own finding only


def test_deduction_goes_to_the_next_open_month(fworld, db, monkeypatch):  # type: ignore[no-untyped-def]
    """A decision in a month whose settlement period is closed is deducted in the next
    open month; a 待公示 finding the rerun no longer finds is dropped by the system."""
    client = fworld["client"]
    _at(monkeypatch, date(2025, 3, 1))
    _as(client, "reviewer")
    assert _run(client)["new"] == 4
    f = _findings(client, hospital=fworld["codes"]["hosp02"])[0]
    set_scope(db, SYSTEM_SCOPE)
    row = db.get(Finding, f["id"])
    db.add(
        SettlementPeriod(
            region_code="990100",
            code="2025-03",
            start_date=date(2025, 3, 1),
            end_date=date(2025, 3, 31),
            status="closed",
        )
    )
    db.flush()
    assert deduction_period(db, row, date(2025, 3, 20)) == "2025-04"
    assert deduction_period(db, row, date(2025, 4, 2)) == "2025-04"
    db.commit()

    r = client.post("/api/supervision/findings/publish", json={"ids": [f["id"]]})
    assert r.status_code == 200
    _as(client, "hosp02")
    r = client.post(f"/api/supervision/findings/{f['id']}/accept", json={})
    assert r.status_code == 200 and r.json()["deducted_period"] == "2025-04"
    # the fund analysis has the month although nothing was confirmed in it
    from yibao.analysis.refresh import fund_month_rows

    set_scope(db, SYSTEM_SCOPE)
    april = [
        x
        for x in fund_month_rows(db, "990100")
        if (x["period"], x["hospital_code"]) == ("2025-04", fworld["codes"]["hosp02"])
    ]
    taken = D(str(r.json()["deducted_amount"] or r.json()["final_amount"]))
    assert len(april) == 1 and april[0]["cases"] == 0 and taken > 0
    assert D(str(april[0]["audit_deductions"])) == taken
    assert D(str(april[0]["settlement_amount"])) == -taken

    # drop by hand, then a case vanishes from the data: its 待公示 finding is dropped
    _as(client, "reviewer")
    other = [x for x in _findings(client) if x["state"] == "new"]
    r = client.post(f"/api/supervision/findings/{other[0]['id']}/drop", json={})
    assert r.status_code == 422 and "原因" in _error(r)
    r = client.post(
        f"/api/supervision/findings/{other[0]['id']}/drop", json={"reason": "已核实为转院"}
    )
    assert r.status_code == 200 and r.json()["state"] == "dismissed"
    from yibao.grouping.models import CaseGrouping

    set_scope(db, SYSTEM_SCOPE)
    db.execute(CaseGrouping.__table__.delete())
    db.commit()
    summary = _run(client)
    assert summary["found"] == 0 and summary["dropped"] == 2
    assert sorted(x["state"] for x in _findings(client)) == [
        "deducted",
        "dismissed",
        "dismissed",
        "dismissed",
    ]


def test_working_day_deadline() -> None:
    from yibao.supervision.findings.rules import FindingRules, deadline_from

    rules = FindingRules(answer_days=3, day_kind="working")
    assert deadline_from(date(2025, 2, 14), rules) == date(2025, 2, 19)  # Fri → Wed
    assert deadline_from(date(2025, 2, 14), FindingRules()) == date(2025, 2, 24)


def test_cli_post_audit_and_expiry(fworld, env, db, monkeypatch):  # type: ignore[no-untyped-def]  # noqa: F811
    """``yibao supervision post-audit`` stores the same findings as the job (a rerun adds
    none); ``expire-findings`` upholds an overdue one; a bad month is refused in Chinese."""
    from typer.testing import CliRunner

    from yibao.cli.main import app

    cli = CliRunner()
    bad = cli.invoke(app, ["supervision", "post-audit", "--region", "990100", "--from", "2025-2"])
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output
    args = ["supervision", "post-audit", "--region", "990100", "--from", MONTH]
    out = cli.invoke(app, args)
    assert out.exit_code == 0, out.output
    assert "新增 4" in out.output
    again = cli.invoke(app, args)
    assert again.exit_code == 0 and "新增 0" in again.output

    client = fworld["client"]
    _at(monkeypatch, date(2025, 2, 16))
    _as(client, "reviewer")
    first = _findings(client)[0]
    assert client.post("/api/supervision/findings/publish", json={"ids": [first["id"]]}).is_success
    _at(monkeypatch, date(2025, 2, 27))
    out = cli.invoke(app, ["supervision", "expire-findings", "--region", "990100"])
    assert out.exit_code == 0 and "1" in out.output, out.output
    shown = client.get(f"/api/supervision/findings/{first['id']}").json()
    assert shown["state"] == "deducted" and shown["final_on"] == "2025-02-27"


def test_racing_answers_deduct_once(fworld, engine, db, monkeypatch):  # type: ignore[no-untyped-def]
    """Two sessions of the hospital accept the same finding at once: one wins, the other
    is refused by the state machine, and exactly one deduction exists."""
    import threading

    from yibao.accounts.models import User
    from yibao.accounts.service import actor_of
    from yibao.db.scoping import Scope
    from yibao.db.session import session_factory, writer
    from yibao.kit.errors import DomainError
    from yibao.supervision.findings.service import do_accept

    client = fworld["client"]
    _at(monkeypatch, date(2025, 2, 16))
    _as(client, "reviewer")
    _run(client)
    target = _findings(client, hospital=fworld["codes"]["hosp01"])[0]
    assert client.post("/api/supervision/findings/publish", json={"ids": [target["id"]]}).is_success

    make = session_factory(writer(engine))
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []

    def accept() -> None:
        with make() as s:
            user = s.scalar(select(User).where(User.username == "hosp01"))
            set_scope(s, Scope(hospital_id=user.hospital_id))
            s.commit()  # end the read (on SQLite it holds the write lock) before racing
            barrier.wait()
            try:
                do_accept(s, target["id"], reason=None, user=user, actor=actor_of(user))
                s.commit()
                outcomes.append("ok")
            except DomainError as exc:
                s.rollback()
                outcomes.append(exc.message)

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(outcomes) == 2 and outcomes.count("ok") == 1, outcomes
    assert "已扣款" in next(o for o in outcomes if o != "ok")
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    rows = db.scalars(
        select(SettlementAuditDeduction).where(SettlementAuditDeduction.finding_id == target["id"])
    ).all()
    assert len(rows) == 1 and rows[0].amount == D(str(target["vola_amt"]))
