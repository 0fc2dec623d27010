"""The 分组/预分组 page, the job page and the grouping card of the case detail page."""

from __future__ import annotations

import html
import re

import polars as pl
from sqlalchemy import select

from tests.e2e.test_grouping_api import login, wait_job, world
from tests.integration.test_grouping_stored import PUBLIC, public_rows
from yibao.jobs.models import Job

HTML = {"accept": "text/html"}
HX = {"hx-request": "true"}


def _form(csrf: dict[str, str], **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf["x-csrf-token"], **fields}


def test_page_form_and_htmx_result(client, db) -> None:  # type: ignore[no-untyped-def]
    world(db)
    csrf = login(client, "hosp_a")
    page = client.get("/grouping", headers=HTML)
    assert page.status_code == 200
    assert 'href="/grouping"' in page.text and "分组/预分组" in page.text  # navigation entry
    assert 'data-testid="group-form"' in page.text and 'hx-post="/grouping/group"' in page.text
    assert page.text.count('<option value="chs-drg-1.') >= 2
    assert "支付标准" not in page.text  # measurement does not exist yet: nothing fake

    row = public_rows(1)[0]
    fields = {
        "sex": row["sex"],
        "age_years": row["age_years"],
        "diagnoses": "\n".join(row["diagnoses"].split("|")),  # one code per line
        "procedures": (row["procedures"] or "").replace("|", ", "),
        "plan": "",
        "discharge_date": "2024-06-30",
    }
    r = client.post("/grouping/group", data=_form(csrf, **fields), headers=HX)
    assert r.status_code == 200
    assert "<html" not in r.text  # a fragment for HTMX
    assert f'data-status="{row["status"]}"' in r.text
    assert f'data-testid="result-drg">{row["drg"]}<' in r.text
    codes = re.findall(r'data-code="([A-Z_]+)"', r.text)
    assert codes[0] == "MAP_DX" and codes[-1] == "RESULT"
    assert "trace-fail" in r.text and "MDC_SKIP" in codes  # skipped MDCs are marked
    assert "按出院日期选择" in r.text

    # field errors come back in the fragment, naming the fields
    r = client.post(
        "/grouping/group", data=_form(csrf, age_years="七十", diagnoses=" "), headers=HX
    )
    assert r.status_code == 200 and 'data-testid="group-errors"' in r.text
    assert 'data-field="age_years"' in r.text and 'data-field="diagnoses"' in r.text
    # without HTMX the whole page comes back (422 with the errors)
    r = client.post("/grouping/group", data=_form(csrf, diagnoses=""), headers=HTML)
    assert r.status_code == 422 and "<html" in r.text and "group-errors" in r.text


def test_prefill_from_stored_case_and_case_detail(client, db) -> None:  # type: ignore[no-untyped-def]
    _ha, _hb, a_cases, _b_case, rows = world(db)
    csrf = login(client, "hosp_a")
    detail = client.get(f"/cases/{a_cases[0].id}", headers=HTML)
    assert f'href="/grouping?case_id={a_cases[0].id}"' in detail.text
    assert 'data-testid="stored-none"' in detail.text

    page = client.get(f"/grouping?case_id={a_cases[0].id}", headers=HTML)
    assert page.status_code == 200
    assert 'data-testid="loaded-case"' in page.text and a_cases[0].setl_id in page.text
    dx = rows[0]["diagnoses"].split("|")
    assert "\n".join(dx) in page.text  # the form is prefilled
    assert f'data-testid="result-drg">{rows[0]["drg"]}<' in page.text  # and grouped
    by_setl = client.get(f"/grouping?setl_id={a_cases[0].setl_id}", headers=HTML)
    assert by_setl.status_code == 200 and "loaded-case" in by_setl.text
    missing = client.get("/grouping?setl_id=NOPE", headers=HTML)
    assert missing.status_code == 404 and 'data-testid="lookup-error"' in missing.text

    # regroup from the page → job page → stored result shows on the case detail page
    r = client.post(
        "/grouping/regroup",
        data=_form(csrf, plan="chs-drg-1.1", year="2024"),
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/jobs/")
    job_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert wait_job(client, job_id)["status"] == "succeeded"
    job_page = client.get(f"/jobs/{job_id}", headers=HTML)
    assert 'data-status="succeeded"' in job_page.text and "every 1s" not in job_page.text
    detail = client.get(f"/cases/{a_cases[0].id}", headers=HTML)
    assert 'data-testid="stored-groupings"' in detail.text
    assert f"<code>{rows[0]['drg']}</code>" in detail.text


def test_batch_form_download_job_page_and_errors(client, db) -> None:  # type: ignore[no-untyped-def]
    world(db)
    csrf = login(client, "hosp_a")
    data = pl.read_csv(PUBLIC, infer_schema=False).head(60).write_csv().encode()
    files = {"file": ("cases.csv", data, "text/csv")}
    r = client.post(
        "/grouping/batch", data=_form(csrf, plan="chs-drg-1.1", format="xlsx"), files=files
    )
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"]
    assert r.content[:2] == b"PK"  # an XLSX workbook

    client.app.state.settings.grouping_sync_max_rows = 10
    r = client.post(
        "/grouping/batch",
        data=_form(csrf, plan="chs-drg-1.1", format="csv"),
        files=files,
        follow_redirects=False,
    )
    assert r.status_code == 303
    job_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert wait_job(client, job_id)["status"] == "succeeded"
    page = client.get(f"/jobs/{job_id}", headers=HTML)
    assert f'href="/api/jobs/{job_id}/result"' in page.text and "job-summary" in page.text
    listed = client.get("/grouping", headers=HTML)
    assert f'href="/jobs/{job_id}"' in listed.text  # "my jobs" list

    bad = b"case_id,sex\nA,1\n"
    r = client.post(
        "/grouping/batch", data=_form(csrf), files={"file": ("bad.csv", bad, "text/csv")}
    )
    assert r.status_code == 422 and 'data-testid="batch-error"' in r.text
    assert '缺少必需列 "age_years"' in html.unescape(r.text)


def test_job_page_polls_while_running(client, db) -> None:  # type: ignore[no-untyped-def]
    ha, *_ = world(db)
    job = Job(
        kind="grouping.batch",
        status="running",
        progress_done=40,
        progress_total=200,
        message="分组中",
        params={},
        hospital_id=ha.id,
        region_code=ha.region_code,
    )
    db.add(job)
    db.commit()
    login(client, "hosp_a")
    page = client.get(f"/jobs/{job.id}", headers=HTML)
    assert 'hx-trigger="every 1s"' in page.text and f'hx-get="/jobs/{job.id}/progress"' in page.text
    assert "20%" in page.text and "40 / 200" in page.text
    fragment = client.get(f"/jobs/{job.id}/progress", headers=HTML)
    assert "<html" not in fragment.text and 'data-status="running"' in fragment.text
    assert client.get(f"/api/jobs/{job.id}/result").status_code == 409
    db.expire_all()
    assert db.scalar(select(Job.status).where(Job.id == job.id)) == "running"
