"""HTTP tests of the grouping API and the jobs it starts (SQLite, or PostgreSQL with
YIBAO_TEST_DATABASE_URL): parity with ``group_one``, payload errors, files, jobs,
stored results, scoping and roles."""

from __future__ import annotations

import io
import re
import time
from typing import Any

import polars as pl
import pytest
from sqlalchemy import select

from tests import builders as b
from tests.integration.test_grouping_stored import public_rows, stored_case
from yibao.accounts.roles import Role
from yibao.audit.models import AuditLog
from yibao.engines.grouper import PlanRegistry, group_one
from yibao.grouping.models import CaseGrouping

EXPECTED = ("status", "mdc", "adrg", "drg")
INT_FIELDS = ("age_years", "age_days", "birth_weight_g", "los_days")


def login(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Log in through the form; returns the CSRF header for unsafe API calls."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/login",
        data={"username": username, "password": b.PASSWORD, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    home = client.get("/", headers={"accept": "text/html"})
    return {"x-csrf-token": re.search(r'"X-CSRF-Token": "([^"]+)"', home.text).group(1)}


def wait_job(client, job_id: int, timeout: float = 20.0) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def world(db):  # type: ignore[no-untyped-def]
    """Hospitals A and B in city 990100, two public cases at A, one at B, and users."""
    rows = public_rows(3)
    ha = b.hospital(db, "990102", name="甲医院")
    hb = b.hospital(db, "990103", name="乙医院")
    a_cases = [stored_case(db, ha, rows[0]), stored_case(db, ha, rows[1])]
    b_case = stored_case(db, hb, rows[2])
    b.user(db, Role.HOSPITAL_USER, hospital=ha, username="hosp_a")
    b.user(db, Role.HOSPITAL_USER, hospital=hb, username="hosp_b")
    b.user(db, Role.BUREAU_ANALYST, region_code="990100", username="analyst")
    b.user(db, Role.RULE_ADMIN, region_code="990100", username="rules")
    db.commit()
    return ha, hb, a_cases, b_case, rows


def payload(row: dict[str, Any]) -> dict[str, Any]:
    body = {k: row[k] for k in row if k not in EXPECTED and row[k] is not None}
    body["plan"] = "chs-drg-1.1"
    return body


def test_single_case_equals_group_one(client, db) -> None:  # type: ignore[no-untyped-def]
    world(db)
    h = login(client, "hosp_a")
    rows = public_rows(200, valid_sex=False)
    # a request without diagnoses is a payload error (422), not a case to group; in a
    # batch file the same row gets the engine's status (see test_batch_bad_files_are_422)
    empty = next(r for r in rows if r["diagnoses"] is None)
    r = client.post("/api/grouping/group", json={**payload(empty), "diagnoses": ""}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "diagnoses"
    rows = [r for r in rows if r["diagnoses"] is not None]
    picked = [r for r in rows if r["status"] != "ok"][:12] + [
        r for r in rows if r["status"] == "ok"
    ][:12]
    assert {r["status"] for r in picked} >= {"ok", "check_failed", "dx_not_mapped"}
    compiled = PlanRegistry().get("chs-drg-1.1")
    for row in picked:
        r = client.post("/api/grouping/group", json=payload(row), headers=h)
        assert r.status_code == 200, r.text
        got = r.json()
        case = {k: v for k, v in row.items() if k not in EXPECTED}
        for k in INT_FIELDS:  # the API reads "78" as the integer 78
            case[k] = None if case[k] is None else int(case[k])
        want = group_one(compiled, case, trace=True)
        assert (got["status"], got["mdc"], got["adrg"], got["drg"]) == tuple(
            row[k] for k in EXPECTED
        )
        assert (got["status"], got["mdc"], got["adrg"], got["drg"], got["drg_name"]) == (
            want.status,
            want.mdc,
            want.adrg,
            want.drg,
            want.drg_name,
        )
        assert got["message"] == want.message
        assert [(s["code"], s["ok"], s["text"]) for s in got["trace"]] == [
            (s.code, s.ok, s.text) for s in want.trace or ()
        ]
        assert got["trace"][-1]["code"] == "RESULT"
        assert got["plan_id"] == "chs-drg-1.1" and got["plan_version"] == "1.1"
        assert got["case_id"] == row["case_id"]


def test_single_case_plan_choice_and_separators(client, db) -> None:  # type: ignore[no-untyped-def]
    world(db)
    h = login(client, "hosp_a")
    row = public_rows(1)[0]
    body = payload(row)
    del body["plan"]
    body["diagnoses"] = row["diagnoses"].split("|")  # a list works as well
    body["discharge_date"] = "2021-03-01"
    r = client.post("/api/grouping/group", json=body, headers=h).json()
    assert (r["plan_id"], r["plan_reason"]) == ("chs-drg-1.0", "discharge_date")
    body["discharge_date"] = "2024-03-01"
    body["diagnoses"] = " , ".join(row["diagnoses"].split("|"))  # commas and spaces
    r = client.post("/api/grouping/group", json=body, headers=h).json()
    assert (r["plan_id"], r["drg"]) == ("chs-drg-1.1", row["drg"])
    del body["discharge_date"]
    r = client.post("/api/grouping/group", json=body, headers=h).json()
    assert (r["plan_id"], r["plan_reason"]) == ("chs-drg-1.1", "default")


def test_malformed_payload_is_422_with_fields(client, db) -> None:  # type: ignore[no-untyped-def]
    world(db)
    h = login(client, "hosp_a")
    bad = {"sex": [1], "age_years": "abc", "age_days": -3, "diagnosis": "A00", "procedures": 5}
    r = client.post("/api/grouping/group", json=bad, headers=h)
    assert r.status_code == 422
    err = r.json()["error"]
    fields = {d["field"] for d in err["details"]}
    assert fields == {"sex", "age_years", "age_days", "diagnosis", "diagnoses", "procedures"}
    messages = {d["field"]: d["message"] for d in err["details"]}
    assert "必须是整数" in messages["age_years"] and "age_years" in messages["age_years"]
    assert "必填" in messages["diagnoses"]
    assert "不支持的字段" in messages["diagnosis"]
    assert err["message"].startswith("病例数据有误")
    r = client.post("/api/grouping/group", json=["not", "an", "object"], headers=h)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "body"
    r = client.post(
        "/api/grouping/group",
        json={"diagnoses": "K35.800", "discharge_date": "2024/01/01"},
        headers=h,
    )
    assert r.status_code == 422 and "YYYY-MM-DD" in r.json()["error"]["message"]


def test_unknown_plan_is_404(client, db) -> None:  # type: ignore[no-untyped-def]
    world(db)
    h = login(client, "hosp_a")
    r = client.post(
        "/api/grouping/group", json={"diagnoses": "K35.800", "plan": "chs-drg-9.9"}, headers=h
    )
    assert r.status_code == 404
    assert "找不到分组方案" in r.json()["error"]["message"]
    r = client.post(
        "/api/grouping/group",
        json={"diagnoses": "K35.800", "discharge_date": "2019-01-01"},
        headers=h,
    )
    assert r.status_code == 404 and "没有在 2019-01-01 有效的分组方案" in r.text


def test_plans_list(client, db) -> None:  # type: ignore[no-untyped-def]
    world(db)
    login(client, "analyst")
    plans = client.get("/api/grouping/plans").json()
    ids = [p["id"] for p in plans]
    # the national plans, newest first, and every regional plan shipped with the package
    national = [i for i in ids if i.startswith("chs-drg-")]
    assert national == ["chs-drg-1.1", "chs-drg-1.0"]
    assert {"beijing-2022", "zhejiang-2022", "yunnan-2023"} <= set(ids)
    p11 = plans[ids.index("chs-drg-1.1")]
    assert p11["valid_from"] == "2022-01-01" and p11["valid_to"] is None
    assert p11["status"] == "published" and p11["counts"]["drg"] > 600


def _public_csv(n: int) -> bytes:
    if not public_rows(1):
        pytest.skip("no public cases")
    from tests.integration.test_grouping_stored import PUBLIC

    buf = io.BytesIO()
    pl.read_csv(PUBLIC, infer_schema=False).head(n).write_csv(buf)
    return buf.getvalue()


def _check_grouped(frame: pl.DataFrame, n: int) -> None:
    assert frame.height == n
    for col in EXPECTED:  # the file's own expected columns are kept as <name>_input
        assert frame[col].to_list() == frame[f"{col}_input"].to_list(), col
    assert frame["plan_id"].unique().to_list() == ["chs-drg-1.1"]
    bad = frame.filter(pl.col("status") != "ok")
    assert bad.height > 0 and bad["message"].str.len_chars().min() > 4


def test_batch_small_file_returns_result(client, db) -> None:  # type: ignore[no-untyped-def]
    world(db)
    h = login(client, "hosp_a")
    data = _public_csv(200)
    r = client.post(
        "/api/grouping/batch",
        files={"file": ("cases.csv", data, "text/csv")},
        data={"plan": "chs-drg-1.1"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert 'filename="cases-grouped-chs-drg-1.1.csv"' in r.headers["content-disposition"]
    _check_grouped(pl.read_csv(io.BytesIO(r.content), infer_schema=False), 200)
    r = client.post(
        "/api/grouping/batch",
        files={"file": ("cases.csv", data, "text/csv")},
        data={"plan": "chs-drg-1.1", "format": "parquet"},
        headers=h,
    )
    assert r.status_code == 200
    _check_grouped(pl.read_parquet(io.BytesIO(r.content)), 200)


def test_batch_bad_files_are_422(client, db) -> None:  # type: ignore[no-untyped-def]
    world(db)
    h = login(client, "hosp_a")
    no_dx = b"case_id,sex,age_years\nX1,1,40\n"
    r = client.post("/api/grouping/batch", files={"file": ("a.csv", no_dx, "text/csv")}, headers=h)
    assert r.status_code == 422
    assert '缺少必需列 "diagnoses"' in r.json()["error"]["message"]
    assert "a.csv" in r.json()["error"]["message"]  # the upload's name, not a server path
    r = client.post("/api/grouping/batch", files={"file": ("a.doc", b"x", "x/y")}, headers=h)
    assert r.status_code == 422 and "不支持的病例文件格式" in r.text
    r = client.post(
        "/api/grouping/batch",
        files={"file": ("a.csv", no_dx, "text/csv")},
        data={"format": "pdf"},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "format"
    # a bad row does not stop the batch: it gets its status
    rows = (
        b"case_id,sex,age_years,diagnoses\nX1,x,40,K29.802\nX2,1,,K29.802\nX3,1,30,NOPE\nX4,1,30,\n"
    )
    r = client.post("/api/grouping/batch", files={"file": ("b.csv", rows, "text/csv")}, headers=h)
    assert r.status_code == 200
    out = pl.read_csv(io.BytesIO(r.content), infer_schema=False)
    assert out["status"].to_list() == [
        "check_failed",
        "check_failed",
        "dx_not_mapped",
        "dx_not_mapped",
    ]


def test_large_batch_becomes_a_job(client, db) -> None:  # type: ignore[no-untyped-def]
    _ha, _hb, _a, _b, _rows = world(db)
    h = login(client, "hosp_a")
    client.app.state.settings.grouping_sync_max_rows = 50
    r = client.post(
        "/api/grouping/batch",
        files={"file": ("big.csv", _public_csv(300), "text/csv")},
        data={"plan": "chs-drg-1.1"},
        headers=h,
    )
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert accepted["status_url"] == f"/api/jobs/{accepted['job_id']}"
    job = wait_job(client, accepted["job_id"])
    assert job["status"] == "succeeded", job
    assert job["progress"] == {"done": 300, "total": 300, "percent": 100}
    assert job["kind"] == "grouping.batch" and sum(job["summary"]["by_status"].values()) == 300
    r = client.get(job["result_url"])
    assert r.status_code == 200
    assert "big-grouped-chs-drg-1.1.csv" in r.headers["content-disposition"]
    _check_grouped(pl.read_csv(io.BytesIO(r.content), infer_schema=False), 300)
    # the upload is not kept, only the result; the submission is audited
    folder = client.app.state.jobs.job_dir(accepted["job_id"])
    assert [p.name for p in folder.iterdir()] == ["result.csv"]
    db.expire_all()
    audit = db.scalar(select(AuditLog).where(AuditLog.action == "job.submit"))
    assert audit is not None and audit.after["total"] == 300 and audit.actor_name == "hosp_a"


def test_regroup_stored_cases_job(client, db) -> None:  # type: ignore[no-untyped-def]
    ha, _hb, a_cases, b_case, rows = world(db)
    h = login(client, "hosp_a")
    r = client.post("/api/grouping/cases/regroup", json={"plan": "chs-drg-1.1"}, headers=h)
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["job_id"])
    assert job["status"] == "succeeded", job
    assert job["summary"]["total"] == 2 and job["progress"]["done"] == 2
    db.expire_all()
    stored = db.scalars(select(CaseGrouping).order_by(CaseGrouping.case_id)).all()
    assert [g.case_id for g in stored] == [c.id for c in a_cases]  # only hospital A's
    for g, row in zip(stored, rows[:2], strict=True):
        assert (g.plan_id, g.plan_version) == ("chs-drg-1.1", "1.1")
        assert (g.status, g.mdc, g.adrg, g.drg) == tuple(row[k] for k in EXPECTED)
        assert g.hospital_id == ha.id
    audit = db.scalars(select(AuditLog).where(AuditLog.action == "grouping.regroup")).all()
    assert len(audit) == 1 and audit[0].after["grouped"] == 2
    assert audit[0].hospital_id == ha.id and audit[0].actor_name == "hosp_a"
    # the stored result is shown with the case, and by the API
    got = client.get(f"/api/grouping/cases/{a_cases[0].id}").json()
    assert got["stored"][0]["drg"] == rows[0]["drg"] and got["drg"] == rows[0]["drg"]
    # the bureau regroups its whole region by discharge date (the builder's 2024 → 1.1)
    login(client, "analyst")
    h = login(client, "analyst")
    r = client.post("/api/grouping/cases/regroup", json={"year": 2024}, headers=h)
    assert wait_job(client, r.json()["job_id"])["summary"]["grouped"] == 3
    db.expire_all()
    assert len(db.scalars(select(CaseGrouping)).all()) == 3
    assert b_case.id in {g.case_id for g in db.scalars(select(CaseGrouping))}
    r = client.post("/api/grouping/cases/regroup", json={"plan": "nope"}, headers=h)
    assert r.status_code == 404


def test_hospital_cannot_use_another_hospitals_case_or_job(client, db) -> None:  # type: ignore[no-untyped-def]
    _ha, _hb, a_cases, b_case, _rows = world(db)
    h = login(client, "hosp_b")
    r = client.post("/api/grouping/cases/regroup", json={}, headers=h)
    b_job = r.json()["job_id"]
    assert wait_job(client, b_job)["status"] == "succeeded"
    client.app.state.settings.grouping_sync_max_rows = 1
    rows = b"case_id,sex,age_years,diagnoses\nX1,1,40,K35.800\nX2,1,30,K35.800\n"
    r = client.post("/api/grouping/batch", files={"file": ("b.csv", rows, "text/csv")}, headers=h)
    b_file_job = r.json()["job_id"]
    assert wait_job(client, b_file_job)["status"] == "succeeded"
    assert client.get(f"/api/grouping/cases/{b_case.id}").status_code == 200

    login(client, "hosp_a")
    assert client.get(f"/api/grouping/cases/{b_case.id}").status_code == 404
    assert client.get(f"/api/grouping/cases/{a_cases[0].id}").status_code == 200
    html = {"accept": "text/html"}
    assert client.get(f"/grouping?case_id={b_case.id}", headers=html).status_code == 404
    assert client.get(f"/grouping?setl_id={b_case.setl_id}", headers=html).status_code == 404
    for job_id in (b_job, b_file_job):
        assert client.get(f"/api/jobs/{job_id}").status_code == 404
        assert client.get(f"/api/jobs/{job_id}/result").status_code == 404
        assert client.get(f"/jobs/{job_id}", headers=html).status_code == 404
        assert client.get(f"/jobs/{job_id}/progress", headers=html).status_code == 404
    # the city bureau sees both hospitals' jobs
    login(client, "analyst")
    assert client.get(f"/api/jobs/{b_file_job}").status_code == 200


def test_role_without_group_permission_gets_403(client, db) -> None:  # type: ignore[no-untyped-def]
    world(db)
    h = login(client, "rules")
    assert (
        client.post("/api/grouping/group", json={"diagnoses": "K35.800"}, headers=h).status_code
        == 403
    )
    assert client.get("/api/grouping/plans").status_code == 403
    assert client.post("/api/grouping/cases/regroup", json={}, headers=h).status_code == 403
    r = client.post("/api/grouping/batch", files={"file": ("a.csv", b"x", "text/csv")}, headers=h)
    assert r.status_code == 403
    assert client.get("/grouping", headers={"accept": "text/html"}).status_code == 403
    nav = client.get("/", headers={"accept": "text/html"}).text
    assert "分组/预分组" not in nav
    # anonymous
    client.post("/logout", data={"csrf_token": h["x-csrf-token"]})
    assert client.post("/api/grouping/group", json={"diagnoses": "K35.800"}).status_code == 401
