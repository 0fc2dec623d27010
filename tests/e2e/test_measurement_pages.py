"""The 测算 pages walked as the bureau analyst: run form → job → run page → weight plan
(adjust, approve, publish) → rate plan → simulations → comparison → indices →
standards (publish, import with errors); bad input shows a Chinese message naming the
field and stores nothing; hospital users get 403 (SQLite, or PostgreSQL with
YIBAO_TEST_DATABASE_URL)."""

from __future__ import annotations

import html
import io
import re

import polars as pl
import pytest

from tests.builders.demo import demo_region
from tests.e2e.test_grouping_api import wait_job
from tests.e2e.test_http_scoping import _login
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD, seed_demo
from yibao.jobs.models import Job
from yibao.measurement.models import MeasurementRun
from yibao.measurement.service import parse_run_params

YEARS = [2023, 2024, 2025]
HTML = {"accept": "text/html"}
XLSX = b"PK"


@pytest.fixture()
def analyst(client, db):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    demo_region(db, seed=5, years=YEARS, cases_per_year=1500)
    db.commit()
    _login(client, "analyst", DEMO_PASSWORD)
    page = client.get("/", headers=HTML)
    client.csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text).group(1)
    return client


def post(client, url: str, data: dict | None = None, **kw):  # type: ignore[no-untyped-def]
    """A form post as the browser sends it (CSRF token as a hidden field)."""
    return client.post(
        url,
        data={"csrf_token": client.csrf, **(data or {})},
        headers=HTML,
        follow_redirects=False,
        **kw,
    )


def text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.text)


def created_id(response, prefix: str) -> int:  # type: ignore[no-untyped-def]
    assert response.status_code == 303, text(response)[:3000]
    location = response.headers["location"]
    assert location.startswith(prefix), location
    return int(location.removeprefix(prefix).split("#")[0])


def created_by_job(client, response, key: str) -> int:  # type: ignore[no-untyped-def]
    """A form whose work runs as a job (rate plan, simulation): it redirects to the job's
    page; wait for the job, check the page links the result, return the result's id."""
    job_id = created_id(response, "/jobs/")
    job = wait_job(client, job_id, timeout=120)
    assert job["status"] == "succeeded", job
    page = text(client.get(f"/jobs/{job_id}", headers=HTML))
    assert 'data-testid="job-result-link"' in page and job["summary"]["url"] in page
    return int(job["summary"][key])


RUN_PARAMS = parse_run_params({})
RUN_FORM = {
    "name": "2023–2025 页面测算",
    "plan": "chs-drg-1.1",
    "exclusions.los_min_days": "1",
    "exclusions.los_max_days": "60",
    "exclusions.cost_floor": "5",
    "exclusions.exclude_ungroupable": "on",
    "exclusions.exclude_qy": "on",
    "trim.method": "iqr",
    "trim.iqr_lower_k": "0.5",
    "trim.iqr_upper_k": "1.5",
    "trim.min_cases": "5",
    "weights.year_weights": "1:2:7",
    "weights.min_cases": "3",
    "weights.fallback": "adrg",
}


def start_run(client) -> int:  # type: ignore[no-untyped-def]
    r = post(client, "/measurement/runs", {**RUN_FORM, "years": [str(y) for y in YEARS]})
    job_id = created_id(r, "/jobs/")
    assert wait_job(client, job_id, timeout=120)["status"] == "succeeded"
    job_page = client.get(f"/jobs/{job_id}", headers=HTML)
    return int(
        re.search(
            r'href="/measurement/runs/(\d+)" data-testid="job-run-link"', job_page.text
        ).group(1)
    )


def test_run_form_errors_store_nothing(analyst) -> None:  # type: ignore[no-untyped-def]
    client = analyst
    page = client.get("/measurement", headers=HTML)
    assert page.status_code == 200
    assert 'href="/measurement"' in page.text and ">测算<" in page.text  # navigation entry
    assert 'data-testid="run-form"' in page.text
    for y in YEARS:  # the case years of the database, newest three checked
        assert f'name="years" value="{y}" id="f-run-year-{y}" checked' in page.text

    bad = post(client, "/measurement/runs", {**RUN_FORM, "years": ["2024", "2025"]})
    assert bad.status_code == 422
    assert "年度权重：" in text(bad) and "年度权重（weights" not in text(bad)  # Chinese only
    assert 'data-field="weights.year_weights"' in bad.text and "is-invalid" in bad.text
    assert 'value="2024" id="f-run-year-2024" checked' in bad.text  # the form keeps its values

    bad = post(
        client,
        "/measurement/runs",
        {**RUN_FORM, "years": [str(y) for y in YEARS], "trim.method": "log_sd", "trim.sd_k": "abc"},
    )
    assert bad.status_code == 422 and "标准差倍数：必须是数字" in text(bad)
    assert "TrimParams" not in text(bad)
    bad = post(client, "/measurement/runs", {**RUN_FORM, "years": ["2025"], "name": " "})
    assert bad.status_code == 422
    bad = post(
        client,
        "/measurement/runs",
        {
            **RUN_FORM,
            "years": [str(y) for y in YEARS],
            "exclusions.los_min_days": "9",
            "exclusions.los_max_days": "3",
        },
    )
    assert bad.status_code == 422 and "住院天数下限" in text(bad)
    assert client.get("/api/measurement/runs").json() == []
    assert client.get("/api/jobs/1").status_code == 404  # no job was queued either


def test_run_status_follows_its_job(analyst, db) -> None:  # type: ignore[no-untyped-def]
    """A queued / running run links to its job page and waits; a failed job shows why."""
    client = analyst
    runs = []
    for status, error in (("running", None), ("failed", "数据库连接中断")):
        job = Job(
            kind="measurement.run",
            status=status,
            progress_done=0,
            params={},
            error=error,
            region_code="990100",
        )
        db.add(job)
        db.flush()
        run = MeasurementRun(
            region_code="990100",
            name=f"运行 {status}",
            plan_id="chs-drg-1.1",
            years=[2025],
            params=RUN_PARAMS,
            status="queued",
            job_id=job.id,
            created_by="analyst",
        )
        db.add(run)
        db.flush()
        job.params = {"run_id": run.id}
        runs.append((run.id, job.id))
    db.commit()
    overview = client.get("/measurement", headers=HTML).text
    (running, running_job), (failed, _job) = runs
    assert f'href="/jobs/{running_job}" data-testid="run-job"' in overview
    assert 'data-status="running"' in overview and 'data-status="failed"' in overview
    page = client.get(f"/measurement/runs/{running}", headers=HTML).text
    assert f'data-job-wait="{running_job}"' in page and f'href="/jobs/{running_job}"' in page
    job_page = client.get(f"/jobs/{running_job}", headers=HTML).text
    assert f'href="/measurement/runs/{running}" data-testid="job-run-link"' in job_page
    page = text(client.get(f"/measurement/runs/{failed}", headers=HTML))
    assert "测算失败：数据库连接中断" in page and "data-job-wait" not in page


def test_measurement_pages_end_to_end(analyst) -> None:  # type: ignore[no-untyped-def]
    client = analyst
    run_id = start_run(client)
    listing = client.get("/measurement", headers=HTML)
    assert f'href="/measurement/runs/{run_id}"' in listing.text
    assert 'data-status="succeeded"' in listing.text

    # ------------------------------------------------------------------ run page
    page = client.get(f"/measurement/runs/{run_id}", headers=HTML)
    assert page.status_code == 200
    body = text(page)
    for testid in (
        "fig-riv",
        "fig-grouping-rate",
        "fig-cv",
        "fig-flagged",
        "fig-mean-rw",
        "exclusions",
        "trimming",
        "chart-rw-mdc",
        "chart-drg",
        "weights-table",
    ):
        assert f'data-testid="{testid}"' in body, testid
    riv = re.search(r'data-testid="fig-riv">([0-9.]+)<', body).group(1)
    assert 0 < float(riv) < 1
    assert "住院天数不在" in body or "住院天数" in body
    charts = re.search(r'<script id="m-data" type="application/json">(.*?)</script>', body)
    assert '"rw_mdc"' in charts.group(1)
    drg = re.search(r'<option value="([A-Z0-9]+)" selected>', body).group(1)
    dist = client.get(f"/measurement/runs/{run_id}/distribution", params={"drg": drg}).json()
    fences = client.get(f"/api/measurement/runs/{run_id}/fences", params={"drg": drg}).json()
    by_year = {f["year"]: f for f in fences}
    for y in dist["years"]:
        f = by_year[y["year"]]
        assert y["cases"] == f["kept"] + f["below"] + f["above"]
        assert len(y["trimmed_low"]) == min(f["below"], 400)
    # weights filtered and paged (HTMX gets the same page and swaps the table)
    flagged = client.get(f"/measurement/runs/{run_id}?flagged=1&mdc=MDCP", headers=HTML)
    assert flagged.status_code == 200 and "format=xlsx&mdc=MDCP&flagged=true" in text(flagged)
    rows = re.findall(r'<tr class="table-warning" data-testid="weight-row">', flagged.text)
    assert len(rows) == flagged.text.count('data-testid="weight-row"')
    assert client.get(f"/measurement/runs/{run_id}?page=2", headers=HTML).status_code == 200
    export = client.get(f"/measurement/runs/{run_id}/exclusions/export")
    assert export.status_code == 200 and export.content[:2] == XLSX

    # ------------------------------------------------------------------ weight plan
    bad = post(
        client,
        f"/measurement/runs/{run_id}/weight-plans",
        {"code": "W2026", "tilt_factor": "-1", "tilt_mdcs": "MDCP"},
    )
    assert bad.status_code == 422 and "倾斜系数" in text(bad)
    bad = post(
        client, f"/measurement/runs/{run_id}/weight-plans", {"code": "W2026", "tilt_mdcs": "MDCP"}
    )
    assert bad.status_code == 422 and "须填写倾斜系数" in text(bad)
    assert client.get("/api/measurement/weight-plans").json() == []
    r = post(
        client,
        f"/measurement/runs/{run_id}/weight-plans",
        {
            "code": "W2026",
            "name": "2026 权重",
            "tilt_factor": "1.1",
            "tilt_mdcs": "MDCP",
            "tilt_reason": "儿科",
            "budget_neutral": "on",
        },
    )
    plan_id = created_id(r, "/measurement/weight-plans/")
    page = client.get(f"/measurement/weight-plans/{plan_id}", headers=HTML)
    body = text(page)
    assert 'data-testid="action-approve"' in body and "action-publish" not in body
    assert 'data-testid="adjust-form"' in body and "儿科" in body
    assert 'data-testid="items-table"' in body
    items = client.get(f"/api/measurement/weight-plans/{plan_id}/items").json()
    missing = [i["drg"] for i in items if i["relative_weight"] is None]

    bad = post(
        client,
        f"/measurement/weight-plans/{plan_id}/adjustments",
        {
            "manual": "AA19 abc",
            "tilt_factor": ["1.1", ""],
            "tilt_mdcs": ["P", ""],
            "tilt_adrgs": ["", ""],
            "tilt_drgs": ["", ""],
            "tilt_reason": ["儿科", ""],
            "budget_neutral": "on",
        },
    )
    assert bad.status_code == 422 and "人工权重" in text(bad) and "AA19 abc" in text(bad)
    manual = "\n".join(f"{d} 1.0000" for d in missing) or ""
    r = post(
        client,
        f"/measurement/weight-plans/{plan_id}/adjustments",
        {
            "manual": manual,
            "tilt_factor": ["1.1", ""],
            "tilt_mdcs": ["P", ""],
            "tilt_adrgs": ["", ""],
            "tilt_drgs": ["", ""],
            "tilt_reason": ["儿科", ""],
            "budget_neutral": "on",
        },
    )
    assert r.status_code == 303, text(r)[:2000]
    plan = client.get(f"/api/measurement/weight-plans/{plan_id}").json()
    assert plan["adjustments"]["tilts"][0]["mdcs"] == ["MDCP"]
    changed = client.get(f"/measurement/weight-plans/{plan_id}?changed=1&mdc=MDCP", headers=HTML)
    assert changed.text.count('data-testid="item-row"') > 0

    # ------------------------------------------------------------------ rate plan (draft weights)
    bad = post(
        client,
        f"/measurement/weight-plans/{plan_id}/rate-plans",
        {"volume_year": "2025", "budget": "100000000", "growth_pct": "5", "mode": "single"},
    )
    assert bad.status_code == 422 and "只能填写一个" in text(bad)
    bad = post(
        client,
        f"/measurement/weight-plans/{plan_id}/rate-plans",
        {"volume_year": "2025", "growth_pct": "abc", "mode": "single"},
    )
    assert bad.status_code == 422 and "增长率" in text(bad)
    assert 'data-field="growth_pct"' in bad.text

    for action in ("approve", "publish"):
        r = post(client, f"/measurement/weight-plans/{plan_id}/transition", {"action": action})
        assert r.status_code == 303, text(r)[:2000]
    page = text(client.get(f"/measurement/weight-plans/{plan_id}", headers=HTML))
    assert 'data-status="published"' in page and "action-retire" in page
    assert "action-approve" not in page and "adjust-form" not in page
    again = post(client, f"/measurement/weight-plans/{plan_id}/transition", {"action": "publish"})
    assert again.status_code == 409 and "已发布" in text(again)

    r = post(
        client,
        f"/measurement/weight-plans/{plan_id}/rate-plans",
        {
            "name": "2026 费率",
            "volume_year": "2025",
            "growth_pct": "5",
            "mode": "single",
            "rounding": "fen",
        },
    )
    rate_id = created_by_job(client, r, "rate_plan_id")
    page = text(client.get(f"/measurement/rate-plans/{rate_id}", headers=HTML))
    assert 'data-testid="rate-3"' in page and "增长率 5.00%" in page
    bad = post(
        client,
        f"/measurement/rate-plans/{rate_id}/rates",
        {"rate_3": "0", "rate_2": "9000", "rate_1": "8000"},
    )
    assert bad.status_code == 422 and "三级医院费率：必须大于 0" in text(bad)

    # ------------------------------------------------------------------ simulations
    bad = post(
        client,
        f"/measurement/rate-plans/{rate_id}/simulations",
        {"year": "2025", "high_3": "3", "high_2": "2", "high_1": "2", "low_multiplier": "2"},
    )
    assert bad.status_code == 422 and "低倍率阈值" in text(bad)
    assert "SimulationParams" not in text(bad)
    sims = []
    for name, solve in (("初始费率", ""), ("求解费率", "on")):
        r = post(
            client,
            f"/measurement/rate-plans/{rate_id}/simulations",
            {
                "name": name,
                "year": "2025",
                "high_3": "3",
                "high_2": "2",
                "high_1": "2",
                "low_multiplier": "0.3",
                "high_payment": "items",
                "fund_share": "actual",
                "solve_budget": solve,
            },
        )
        sims.append(created_by_job(client, r, "simulation_id"))
    page = client.get(f"/measurement/simulations/{sims[1]}", headers=HTML)
    body = text(page)
    for testid in (
        "sim-totals",
        "sim-classes",
        "chart-hospitals",
        "chart-levels",
        "chart-distribution",
        "sim-hospitals",
        "sim-drgs",
        "solved",
    ):
        assert f'data-testid="{testid}"' in body, testid
    assert body.count('data-testid="hospital-row"') == 30
    assert body.count('data-testid="drg-row"') == 20
    assert "高倍率病例" in body and "低倍率病例" in body
    page2 = client.get(f"/measurement/simulations/{sims[1]}?dpage=2&dsort=loss", headers=HTML)
    assert "第 2/" in page2.text
    for part in ("hospitals", "drgs", "levels", "classes", "distribution"):
        r = client.get(f"/measurement/simulations/{sims[1]}/export/{part}")
        assert r.status_code == 200 and r.content[:2] == XLSX, part
    hospitals = pl.read_excel(
        io.BytesIO(client.get(f"/measurement/simulations/{sims[1]}/export/hospitals").content),
        engine="openpyxl",
    )
    assert hospitals.height == 30 and "医院名称" in hospitals.columns

    compare = client.get(f"/measurement/compare?ids={sims[0]},{sims[1]}", headers=HTML)
    body = text(compare)
    assert compare.status_code == 200 and body.count('data-testid="compare-head"') == 2
    assert "初始费率" in body and "求解费率" in body and 'data-testid="chart-compare"' in body
    export = client.get(f"/measurement/compare/export?ids={sims[0]},{sims[1]}")
    assert export.status_code == 200 and export.content[:2] == XLSX
    bad = client.get("/measurement/compare?ids=1,x", headers=HTML)
    assert bad.status_code == 422 and "模拟编号" in text(bad)

    # ------------------------------------------------------------------ indices
    r = post(client, "/measurement/indices", {"weight_plan_id": str(plan_id), "year": "2025"})
    assert r.status_code == 303 and r.headers["location"].startswith("/measurement/indices?job=")
    job_id = int(r.headers["location"].rsplit("=", 1)[1])
    waiting = text(client.get(f"/measurement/indices?job={job_id}", headers=HTML))
    assert 'data-testid="indices-pending"' in waiting or 'data-testid="indices-row"' in waiting
    assert wait_job(client, job_id, timeout=120)["status"] == "succeeded"
    page = client.get(f"/measurement/indices?job={job_id}", headers=HTML)
    assert page.status_code == 200 and text(page).count('data-testid="indices-row"') == 30
    assert 'data-testid="chart-indices"' in page.text and "indices-pending" not in page.text
    assert f"/api/measurement/indices/{job_id}?format=xlsx" in page.text
    bad = post(client, "/measurement/indices", {"weight_plan_id": "abc", "year": "2025"})
    assert bad.status_code == 422 and "权重方案" in text(bad)

    # ------------------------------------------------------------------ standards
    bad = post(
        client,
        "/measurement/standards",
        {"weight_plan_id": str(plan_id), "rate_plan_id": str(rate_id), "valid_from": ""},
    )
    assert bad.status_code == 422 and "生效日期：必须填写" in text(bad)
    form = {
        "weight_plan_id": str(plan_id),
        "rate_plan_id": str(rate_id),
        "valid_from": "2026-01-01",
        "name": "2026 支付标准",
    }
    # the unsolved rate misses the budget: the page says by how much and asks to confirm
    missed = post(client, "/measurement/standards", form)
    assert missed.status_code == 409 and "超过允许偏差" in text(missed)
    assert 'data-testid="confirm-budget-gap"' in missed.text
    # apply the solved rate from its simulation, then publish
    page = client.get(f"/measurement/simulations/{sims[1]}", headers=HTML)
    assert 'data-testid="apply-rates-form"' in page.text
    r = post(client, f"/measurement/simulations/{sims[1]}/apply-rates")
    assert r.status_code == 303
    page = client.get(f"/measurement/simulations/{sims[1]}", headers=HTML)
    assert "已采用本次求解的费率" in page.text
    r = post(client, "/measurement/standards", form)
    set_id = created_id(r, "/measurement/standards/")
    page = text(client.get(f"/measurement/standards/{set_id}", headers=HTML))
    checksum = re.search(r'data-testid="checksum">([0-9a-f]{64})<', page).group(1)
    assert "2026-01-01 — 长期" in page
    listing = text(client.get("/measurement/standards", headers=HTML))
    assert "format=csv" in listing and checksum[:12] in listing
    # the rate plan is published with its standards: rates can no longer be set
    assert "rates-form" not in client.get(f"/measurement/rate-plans/{rate_id}", headers=HTML).text

    broken = b"drg,hospital_level,relative_weight,payment_standard\nZZ99,4,-1,x\nAA19,3,1.2,9000\n"
    r = post(
        client,
        "/measurement/standards/import",
        {"plan_id": "chs-drg-1.1", "valid_from": "2027-01-01"},
        files={"file": ("standards.csv", broken, "text/csv")},
    )
    assert r.status_code == 422
    body = text(r)
    assert 'data-testid="error-rows"' in body and "第 2 行" in body and "ZZ99" in body
    assert "医院等级" in body
    assert len(client.get("/api/measurement/standards").json()) == 1  # nothing imported
    xlsx = client.get(f"/api/measurement/standards/{set_id}", params={"format": "xlsx"}).content
    r = post(
        client,
        "/measurement/standards/import",
        {"plan_id": "chs-drg-1.1", "valid_from": "2027-01-01"},
        files={"file": ("standards.xlsx", xlsx)},
    )
    imported = created_id(r, "/measurement/standards/")
    assert checksum in client.get(f"/measurement/standards/{imported}", headers=HTML).text
    listing = text(client.get("/measurement/standards", headers=HTML))
    assert "2026-01-01 — 2026-12-31" in listing  # the earlier set was closed


def test_hospital_user_gets_403(client, db) -> None:  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    seed_demo(db, seed=5, years=[2025], cases_per_year=50)
    db.commit()
    _login(client, "hosp01", DEMO_PASSWORD)
    home = client.get("/", headers=HTML)
    assert 'href="/measurement"' not in home.text
    for url in (
        "/measurement",
        "/measurement/runs/1",
        "/measurement/standards",
        "/measurement/indices",
        "/measurement/compare?ids=1",
    ):
        r = client.get(url, headers=HTML)
        assert r.status_code == 403 and "无权访问" in r.text, url
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', home.text).group(1)
    r = client.post("/measurement/runs", data={"csrf_token": csrf, "name": "x"}, headers=HTML)
    assert r.status_code == 403
