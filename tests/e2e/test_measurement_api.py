"""End to end through the HTTP API on the demo region: base run → weight plan → rate plan
→ simulation → publish (SQLite by default, PostgreSQL with YIBAO_TEST_DATABASE_URL)."""

from __future__ import annotations

import io
from decimal import Decimal

import polars as pl
import pytest

from tests.builders.demo import demo_region
from tests.e2e.test_grouping_api import wait_job
from tests.e2e.test_http_scoping import _login
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD

YEARS = [2023, 2024, 2025]


@pytest.fixture()
def analyst(client, db):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    demo_region(db, seed=5, years=YEARS, cases_per_year=1500)
    db.commit()
    _login(client, "analyst", DEMO_PASSWORD)
    token = client.cookies  # session cookie is kept by the client
    assert token
    page = client.get("/", headers={"accept": "text/html"})
    csrf = page.text.split('"X-CSRF-Token": "', 1)[1].split('"', 1)[0]
    client.headers["x-csrf-token"] = csrf
    return client


def _run(client, name: str = "2023–2025 基础测算"):  # type: ignore[no-untyped-def]
    body = {
        "name": name,
        "years": YEARS,
        "trim": {"method": "iqr", "min_cases": 5},
        "weights": {"min_cases": 3, "fallback": "adrg"},
    }
    r = client.post("/api/measurement/runs", json=body)
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["job_id"], timeout=120)
    assert job["status"] == "succeeded", job
    return client.get(f"/api/measurement/runs/{r.json()['id']}").json()


def job_summary(client, r, timeout: float = 120):  # type: ignore[no-untyped-def]
    """A rate plan, simulation or indices request queued as a job (202): wait, return
    the finished job's summary (the result's id and url)."""
    assert r.status_code == 202, r.text
    assert r.json()["job_url"] == f"/api/jobs/{r.json()['job_id']}"
    job = wait_job(client, r.json()["job_id"], timeout=timeout)
    assert job["status"] == "succeeded", job
    return job["summary"]


def create_rate_plan(client, body):  # type: ignore[no-untyped-def]
    """POST a rate plan (a job), then read the plan it made."""
    made = job_summary(client, client.post("/api/measurement/rate-plans", json=body))
    return client.get(f"/api/measurement/rate-plans/{made['rate_plan_id']}").json()


def create_simulation(client, body):  # type: ignore[no-untyped-def]
    """POST a simulation (a job), then read the simulation it made."""
    r = client.post("/api/measurement/simulations", json=body)
    made = job_summary(client, r)
    job = client.get(r.json()["job_url"]).json()  # the year's grouping was reported
    progress = job["progress"]
    assert progress["total"] and progress["done"] == progress["total"], job
    return client.get(f"/api/measurement/simulations/{made['simulation_id']}").json()


def indices_rows(client, body, fmt: str = "json"):  # type: ignore[no-untyped-def]
    """POST an indices computation (a job), then read its table."""
    made = job_summary(client, client.post("/api/measurement/indices", json=body))
    job_id = int(made["url"].rsplit("=", 1)[1])
    return client.get(f"/api/measurement/indices/{job_id}", params={"format": fmt})


def _weight_plan(client, run_id: int, code: str):  # type: ignore[no-untyped-def]
    body = {
        "run_id": run_id,
        "code": code,
        "name": "2026 权重（儿科倾斜）",
        "adjustments": {"tilts": [{"factor": "1.1", "mdcs": ["P"], "reason": "儿科"}]},
    }
    r = client.post("/api/measurement/weight-plans", json=body)
    assert r.status_code == 201, r.text
    plan = r.json()
    items = client.get(f"/api/measurement/weight-plans/{plan['id']}/items").json()
    missing = [i["drg"] for i in items if i["relative_weight"] is None]
    if missing:  # DRGs without enough cases even at ADRG level get a manual weight
        manual = dict.fromkeys(missing, "1.0000")
        adj = {**body["adjustments"], "manual": manual}
        r = client.patch(f"/api/measurement/weight-plans/{plan['id']}", json={"adjustments": adj})
        assert r.status_code == 200, r.text
    for action in ("approve", "publish"):
        r = client.post(f"/api/measurement/weight-plans/{plan['id']}/{action}")
        assert r.status_code == 200, r.text
    return r.json()


def test_measurement_end_to_end(analyst):  # type: ignore[no-untyped-def]
    client = analyst
    run = _run(client)
    summary = run["summary"]
    assert summary["cases"] == 4500 and summary["base_cases"] > 3000
    reasons = {e["reason_code"] for e in summary["exclusions"]}
    assert {"ungroupable", "los_out_of_range"} <= reasons
    assert 0 < summary["quality"]["riv"] < 1
    weights = pl.DataFrame(client.get(f"/api/measurement/runs/{run['id']}/weights").json())
    rw = weights.drop_nulls("relative_weight")
    mean = sum(Decimal(r) * c for r, c in zip(rw["relative_weight"], rw["volume"], strict=True))
    assert abs(mean / rw["volume"].sum() - 1) < Decimal("0.05")
    csv = client.get(f"/api/measurement/runs/{run['id']}/weights", params={"format": "csv"})
    assert csv.status_code == 200 and csv.content.decode("utf-8-sig").startswith("mdc,adrg,drg")
    assert client.get(f"/api/measurement/runs/{run['id']}/fences").json()
    # the file's fences are yuan to the fen (the JSON keeps what the trim used)
    text = client.get(f"/api/measurement/runs/{run['id']}/fences", params={"format": "csv"})
    fences = pl.read_csv(io.BytesIO(text.content), infer_schema_length=0)
    shown = [v for v in [*fences["lower"], *fences["upper"]] if v]
    assert shown and all(len(v.partition(".")[2]) <= 2 for v in shown), shown[:5]

    plan = _weight_plan(client, run["id"], "W2026")
    assert plan["status"] == "published"
    # published versions are immutable
    r = client.patch(f"/api/measurement/weight-plans/{plan['id']}", json={"adjustments": {}})
    assert r.status_code == 409 and "已发布" in r.json()["error"]["message"]

    rate = create_rate_plan(
        client, {"weight_plan_id": plan["id"], "volume_year": 2025, "params": {"growth": "0.05"}}
    )
    base_rate = Decimal(rate["plan"]["base_rate"])
    assert Decimal(5000) < base_rate < Decimal(40000)
    # hand-set rates the plan cannot hold: 422 naming the rule (were HTTP 500s)
    for rates, words in (({"3": "-1"}, "大于 0"), ({"3": "0"}, "大于 0"), ({"9": "9000"}, "9")):
        r = client.put(
            f"/api/measurement/rate-plans/{rate['id']}/rates", json={"level_rates": rates}
        )
        assert r.status_code == 422 and words in r.json()["error"]["message"], r.text
    assert client.get(f"/api/measurement/rate-plans/{rate['id']}").json()["plan"] == rate["plan"]

    sims = []
    for solve in (False, True):
        body = {
            "weight_plan_id": plan["id"],
            "rate_plan_id": rate["id"],
            "year": 2025,
            "name": "求解费率" if solve else "初始费率",
            "solve_budget": solve,
        }
        sims.append(create_simulation(client, body))
    totals = sims[1]["results"]["totals"]
    assert abs(Decimal(totals["drg_payment"]) - Decimal(totals["budget"])) < Decimal(50)
    # the fund's part by the insured places' published policies (issue 10.3)
    body = {
        "weight_plan_id": plan["id"],
        "rate_plan_id": rate["id"],
        "year": 2025,
        "name": "按待遇政策估算基金",
        "params": {"fund_share": "policy"},
    }
    by_policy = create_simulation(client, body)["results"]["totals"]
    by_actual = sims[0]["results"]["totals"]
    assert by_policy["drg_payment"] == by_actual["drg_payment"]
    assert 0 < Decimal(by_policy["fund_estimate"]) < Decimal(by_policy["drg_payment"])
    assert by_policy["fund_estimate"] != by_actual["fund_estimate"]
    classes = {c["payment_class"] for c in sims[0]["results"]["by_class"]}
    assert {"normal", "high", "low"} <= classes
    assert len(sims[0]["results"]["by_hospital"]) == 30
    compare = client.get(
        "/api/measurement/simulations", params={"ids": f"{sims[0]['id']},{sims[1]['id']}"}
    )
    assert [s["name"] for s in compare.json()["scenarios"]] == ["初始费率", "求解费率"]

    indices = indices_rows(client, {"weight_plan_id": plan["id"], "year": 2025})
    rows = {r["hospital_code"]: r for r in indices.json()}
    assert len(rows) == 30 and all(Decimal(str(r["cmi"])) > 0 for r in rows.values())

    r = client.post(
        "/api/measurement/standards",
        json={
            "weight_plan_id": plan["id"],
            "rate_plan_id": rate["id"],
            "valid_from": "2026-01-01",
            "confirm_budget_gap": True,  # the unsolved rate (test_measurement_budget)
        },
    )
    assert r.status_code == 201, r.text
    first = r.json()
    table = client.get(f"/api/measurement/standards/{first['id']}", params={"format": "csv"})
    frame = pl.read_csv(io.BytesIO(table.content), infer_schema=False)
    assert frame.columns == [
        "drg",
        "hospital_level",
        "relative_weight",
        "base_rate",
        "payment_standard",
    ]
    assert (
        frame.height
        == 3
        * pl.DataFrame(
            client.get(f"/api/measurement/weight-plans/{plan['id']}/items").json()
        ).height
    )

    # reproducible: the same inputs and parameters give a byte-identical table
    run2 = _run(client, "重复测算")
    plan2 = _weight_plan(client, run2["id"], "W2026B")
    rate2 = create_rate_plan(
        client, {"weight_plan_id": plan2["id"], "volume_year": 2025, "params": {"growth": "0.05"}}
    )
    second = client.post(
        "/api/measurement/standards",
        json={
            "weight_plan_id": plan2["id"],
            "rate_plan_id": rate2["id"],
            "valid_from": "2027-01-01",
            "confirm_budget_gap": True,
        },
    ).json()
    assert second["checksum"] == first["checksum"]
    table2 = client.get(f"/api/measurement/standards/{second['id']}", params={"format": "csv"})
    assert table2.content == table.content
    # the earlier set was closed the day before
    listed = {s["id"]: s for s in client.get("/api/measurement/standards").json()}
    assert listed[first["id"]]["valid_to"] == "2026-12-31"

    # a bureau that already has standards imports them from Excel
    xlsx = client.get(f"/api/measurement/standards/{first['id']}", params={"format": "xlsx"})
    r = client.post(
        "/api/measurement/standards/import",
        files={"file": ("standards.xlsx", xlsx.content)},
        data={"plan_id": "chs-drg-1.1", "valid_from": "2028-01-01"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["checksum"] == first["checksum"]


def test_measurement_errors_and_roles(analyst, client):  # type: ignore[no-untyped-def]
    bad = client.post(
        "/api/measurement/runs", json={"name": "x", "years": [2025], "trim": {"method": "mad"}}
    )
    error = bad.json()["error"]
    assert bad.status_code == 422 and error["message"].startswith("方法：取值必须是"), error
    assert "TrimParams" not in error["message"] and error["field"] == "method"
    weights = client.post(
        "/api/measurement/runs", json={"name": "x", "years": [2024, 2025]}
    )  # default year weights 1:2:7 need three years
    error = weights.json()["error"]
    assert weights.status_code == 422 and "年度权重" in error["message"]
    assert "year_weights" in error["field"] and "year_weights" not in error["message"]
    # a year without cases is refused before anything is queued (the job failed)
    runs = client.get("/api/measurement/runs").json()
    empty = client.post(
        "/api/measurement/runs",
        json={"name": "x", "years": [2019], "weights": {"year_weights": [1]}},
    )
    assert empty.status_code == 422 and "2019 年没有可用病例" in empty.json()["error"]["message"]
    assert client.get("/api/measurement/runs").json() == runs
    broken = client.post(
        "/api/measurement/standards/import",
        files={
            "file": (
                "s.csv",
                b"drg,hospital_level,relative_weight,payment_standard\nZZ99,4,-1,x\n",
            )
        },
        data={"valid_from": "2026-01-01"},
    )
    assert broken.status_code == 422
    msg = broken.json()["error"]["message"]
    assert "第 2 行" in msg and "ZZ99" in msg and "医院等级" in msg
    assert client.get("/api/measurement/standards").json() == []
    client.post("/logout")
    _login(client, "hosp01", DEMO_PASSWORD)
    assert client.get("/api/measurement/runs").status_code == 403
