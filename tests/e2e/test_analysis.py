"""决策分析 through HTTP (issue 15 item 2, ADR 0037): every report's figures against
direct queries over the source rows (cases, the cases' CMI, the monthly statements),
cases stored after the refresh counted at once, the scope of a hospital and of a
district bureau, the Excel and PDF exports, the budget (bounded, audited) and bad
input (SQLite, or PostgreSQL with YIBAO_TEST_DATABASE_URL)."""

from __future__ import annotations

import io
import time
from collections import defaultdict
from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import openpyxl
import polars as pl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import make_transient

from tests.builders.demo import settled_region
from tests.builders.settlement import plan_registry
from tests.e2e.test_maps import _as
from yibao.accounts.models import User
from yibao.analysis.models import AnalysisState
from yibao.analysis.performance import weight_plan_of
from yibao.audit.models import AuditLog
from yibao.cases.models import Case
from yibao.demo.seed import CITY, SEED_ACTOR
from yibao.engines.measure.frames import DEATH
from yibao.measurement.models import MeasurementRun, WeightPlanItem
from yibao.measurement.service.year_frames import run_rules, year_frame
from yibao.regions.models import Hospital
from yibao.settlement.statements.service import period_statements

HTML = {"accept": "text/html"}
YEARS = [2024, 2025]


@pytest.fixture()
def world(client, db, tmp_path):  # type: ignore[no-untyped-def]
    settled_region(db, years=YEARS, var_dir=tmp_path)
    return client


def _cases(db, year: int, hospital: str | None = None):  # type: ignore[no-untyped-def]
    per: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 4)
    for c in db.scalars(select(Case)):
        if c.discharge_date.year == year and hospital in (None, c.hospital_code):
            drugs = c.fee_western_medicine + c.fee_herbal_pieces + c.fee_chinese_patent_medicine
            acc = per[c.hospital_code]
            acc[0] += 1
            acc[1] += c.total_cost
            acc[2] += c.fund_payment
            acc[3] += drugs
    return per


def test_institutions_and_trend_equal_the_cases(world, db) -> None:  # type: ignore[no-untyped-def]
    client = _as(world, "analyst")
    body = client.get("/api/analysis/reports/institutions", params={"year": 2025}).json()
    want = _cases(db, 2025)
    got = {r["hospital_code"]: r for r in body["rows"]}
    assert set(got) >= set(want)
    for code, (n, cost, fund, drugs) in want.items():
        row = got[code]
        assert row["cases"] == n
        assert Decimal(row["total_cost"]) == cost and Decimal(row["fund_payment"]) == fund
        assert Decimal(row["drug_share"]) == (drugs / cost).quantize(
            Decimal("0.0001"), ROUND_HALF_UP
        )
    trend = client.get("/api/analysis/reports/trend", params={"year": 2025}).json()
    months: dict[str, int] = defaultdict(int)
    for day in db.scalars(select(Case.discharge_date)):
        if day.year in (2024, 2025):
            months[f"{day:%Y-%m}"] += 1
    assert {r["month"]: r["cases"] for r in trend["rows"]} == dict(months)
    assert "2025 年基金支付（万元）" in trend["chart"]["series"]

    # a case stored after the refresh is counted at once (no refresh in between)
    first = db.scalar(select(Case).where(Case.hospital_code == next(iter(want))).limit(1))
    make_transient(first)
    first.id, first.setl_id = None, "LATE-0001"
    first.discharge_date = first.discharge_date.replace(year=2025)
    db.add(first)
    db.commit()
    again = client.get("/api/analysis/reports/institutions", params={"year": 2025}).json()
    row = next(r for r in again["rows"] if r["hospital_code"] == first.hospital_code)
    assert row["cases"] == want[first.hospital_code][0] + 1


def test_drg_performance_equals_the_cases_cmi(world, db) -> None:  # type: ignore[no-untyped-def]
    client = _as(world, "analyst")
    body = client.get("/api/analysis/reports/drg", params={"year": 2025}).json()
    plan = weight_plan_of(db, CITY)
    run = db.get(MeasurementRun, plan.run_id)
    frame = year_frame(
        db, plan_registry(), run.plan_id, 2025, run_rules(run), SEED_ACTOR, regroup=False
    )
    weights = {
        i.drg: i.relative_weight
        for i in db.scalars(select(WeightPlanItem).where(WeightPlanItem.plan_id == plan.id))
        if i.relative_weight is not None
    }
    per: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for code, drg in frame.select("hospital_code", "drg").iter_rows():
        if drg in weights:
            per[code][0] += 1
            per[code][1] += weights[drg]
    got = {r["hospital_code"]: r for r in body["rows"]}
    assert per and set(per) <= set(got)
    for code, (n, w) in per.items():
        assert got[code]["cases"] == int(n)
        assert Decimal(got[code]["cmi"]) == (w / n).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    totals = defaultdict(int)
    for c in db.scalars(select(Case)):
        if c.discharge_date.year == 2025:
            totals[c.hospital_code] += 1
    assert {k: r["cases_all"] for k, r in got.items()} == dict(totals)
    assert all(r["grouped"] <= r["cases_all"] for r in got.values())
    deaths = sum(1 for c in db.scalars(select(Case)) if c.discharge_way == DEATH)
    assert sum(r["low_risk_deaths"] for r in got.values()) <= deaths


def test_fund_run_equals_the_statements(world, db) -> None:  # type: ignore[no-untyped-def]
    client = _as(world, "analyst")
    body = client.get("/api/analysis/reports/fund").json()
    year = body["filters"]["year"]
    known = [r for r in body["rows"] if r["fund_total"] is not None]
    assert known, "the demo confirms one month"
    for row in known:
        statements, _ = period_statements(db, CITY, row["month"])
        assert Decimal(row["fund_total"]) == sum(statements["fund_total"].to_list())
        assert row["cases"] == int(statements["cases"].sum())
    assert Decimal(body["extra"]["forecast"]["ytd"]) == sum(Decimal(r["fund_total"]) for r in known)
    # the budget: bounded, with a reason, audited; then read against the forecast
    bad = client.put(f"/api/analysis/budgets/{year}", json={"amount": "-5", "reason": "年度预算"})
    assert (
        bad.status_code == 422 and "amount" in bad.text and "预算" in bad.json()["error"]["message"]
    )
    assert (
        client.put(
            f"/api/analysis/budgets/{year}", json={"amount": "1e30", "reason": "x"}
        ).status_code
        == 422
    )
    ok = client.put(
        f"/api/analysis/budgets/{year}", json={"amount": "30000000", "reason": "市医保局年度预算"}
    )
    assert ok.status_code == 200 and ok.json()["amount"] == "30000000.00"
    row = db.scalar(select(AuditLog).where(AuditLog.action == "analysis.budget"))
    assert row is not None and row.after["amount"] == "30000000.00"
    again = client.get("/api/analysis/reports/fund").json()
    assert again["extra"]["budget"] == "30000000.00"
    assert 0 <= Decimal(again["extra"]["forecast"]["execution"]) <= 1
    page = client.get("/analysis/fund", headers=HTML)
    assert page.status_code == 200 and 'data-testid="fund-budget"' in page.text
    assert "30,000,000.00" in page.text

    hospital = _as(world, "hosp01")  # a hospital: its own statements, no budget, no setting
    own = hospital.get("/api/analysis/reports/fund").json()
    assert own["extra"]["budget"] is None
    assert (
        hospital.put(
            f"/api/analysis/budgets/{year}", json={"amount": "1", "reason": "试一试"}
        ).status_code
        == 403
    )


def test_scope_exports_and_bad_input(world, db) -> None:  # type: ignore[no-untyped-def]
    client = _as(world, "hosp01")
    code = db.scalar(
        select(Hospital.code)
        .join(User, User.hospital_id == Hospital.id)
        .where(User.username == "hosp01")
    )
    rows = client.get("/api/analysis/reports/institutions", params={"year": 2025}).json()["rows"]
    assert len(rows) == 1 and rows[0]["hospital_code"] == code
    other = client.get(
        "/api/analysis/reports/institutions", params={"year": 2025, "hospital": "H99019999999"}
    ).json()
    assert [r["hospital_code"] for r in other["rows"]] == [rows[0]["hospital_code"]]

    district = _as(world, "district_reviewer")
    seen = district.get("/api/analysis/reports/usage", params={"year": 2025}).json()["rows"]
    regions = {h.code: h.region_code for h in db.scalars(select(Hospital))}
    assert seen and {regions[r["hospital_code"]] for r in seen} == {"990102"}

    client = _as(world, "analyst")
    xlsx = client.get("/api/analysis/reports/institutions", params={"year": 2025, "format": "xlsx"})
    assert xlsx.status_code == 200 and "filename*=UTF-8''" in xlsx.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["医院编码", "医院名称", "等级", "出院病例"]
    shown = client.get("/api/analysis/reports/institutions", params={"year": 2025}).json()["rows"]
    assert sheet.max_row == len(shown) + 1
    frame = pl.DataFrame(
        [[c.value for c in r] for r in sheet.iter_rows(min_row=2)], schema=header, orient="row"
    )
    assert frame["出院病例"].sum() == sum(r["cases"] for r in shown)
    pdf = client.get("/api/analysis/reports/drg", params={"year": 2025, "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and len(pdf.content) > 2000

    for params, field in (({"year": "abc"}, "year"), ({"year": 2025, "month": 13}, "month")):
        bad = client.get("/api/analysis/reports/institutions", params=params)
        assert bad.status_code == 422 and bad.json()["error"]["field"] == field
        assert "须为" in bad.json()["error"]["message"]
    assert client.get("/api/analysis/reports/nothing").status_code == 404
    for name in ("institutions", "trend", "drg", "dip", "usage", "fund"):
        page = client.get(f"/analysis/{name}", headers=HTML)
        assert page.status_code == 200 and 'data-testid="analysis-table"' in page.text


def test_refresh_job(world, db) -> None:  # type: ignore[no-untyped-def]
    client = _as(world, "hosp01")
    assert client.post("/api/analysis/refresh").status_code == 403
    client = _as(world, "analyst")
    before = db.get(AnalysisState, CITY).refreshed_at
    answer = client.post("/api/analysis/refresh")
    assert answer.status_code == 202
    job_url = answer.json()["job_url"]
    for _ in range(120):
        job = client.get(job_url).json()
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.25)
    assert job["status"] == "succeeded", job
    db.expire_all()
    state = db.get(AnalysisState, CITY)
    assert state.refreshed_at > before and state.refreshed_by == "analyst"
    assert state.summary["cases"] == len(db.scalars(select(Case.id)).all())


def test_home_figures_from_the_summaries_equal_the_scan(world, db) -> None:  # type: ignore[no-untyped-def]
    from yibao.analysis.figures import home_figures
    from yibao.cases.service import _case_figures

    def same(a, b) -> bool:  # type: ignore[no-untyped-def]
        return replace(a, avg_los=0) == replace(b, avg_los=0) and a.avg_los == pytest.approx(
            b.avg_los
        )

    state = db.get(AnalysisState, CITY)
    assert same(home_figures(db, state), _case_figures(db))
    late = db.scalar(select(Case).limit(1))  # a case stored after the refresh
    make_transient(late)
    late.id, late.setl_id = None, "LATE-0002"
    db.add(late)
    db.commit()
    assert same(home_figures(db, state), _case_figures(db))
    client = _as(world, "district_reviewer")
    page = client.get("/", headers=HTML)
    assert page.status_code == 200


def test_map_reads_the_case_months(world, db) -> None:  # type: ignore[no-untyped-def]
    late = db.scalar(select(Case).where(Case.discharge_date >= date(2025, 1, 1)).limit(1))
    make_transient(late)  # stored after the refresh: counted live
    late.id, late.setl_id = None, "LATE-0003"
    db.add(late)
    db.commit()
    want = _cases(db, 2025)
    client = _as(world, "admin")
    figures = client.get("/api/maps/current/figures", params={"year": 2025}).json()
    got = {h["code"]: h for h in figures["hospitals"] if h["cases"]}
    assert set(got) == set(want)
    for code, (n, cost, fund, _) in want.items():
        assert got[code]["cases"] == n
        assert Decimal(str(got[code]["cost"])) == cost and Decimal(str(got[code]["fund"])) == fund


def test_reports_say_when_the_summaries_are_behind(world, db) -> None:  # type: ignore[no-untyped-def]
    client = _as(world, "analyst")
    notes = client.get("/api/analysis/reports/institutions", params={"year": 2025}).json()["notes"]
    assert not any("尚未计入" in n for n in notes)
    state = db.get(AnalysisState, CITY)
    state.confirmation_watermark -= 1  # as if one confirmation came after the refresh
    db.commit()
    notes = client.get("/api/analysis/reports/institutions", params={"year": 2025}).json()["notes"]
    assert any("尚未计入" in n for n in notes)
