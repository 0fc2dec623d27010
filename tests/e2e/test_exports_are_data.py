"""Exports are data, never formulas (issue 9, item 7): text that users control reaches
every spreadsheet and CSV the product writes, through the real paths (HTTP where there
is an endpoint, the CLI, the grouping job), and comes out as plain text.

* ``.xlsx``: no cell is a formula (openpyxl ``data_type == "f"``) or a hyperlink, and
  the planted text is in the sheet exactly as it went in;
* ``.csv``: a cell that began with ``=`` ``+`` ``-`` ``@`` or a tab starts with ``'``
  followed by the original text; numbers stay numbers.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from tests import builders as b
from tests.builders.settlement import demo_world, login, settlement_list
from tests.e2e.test_grouping_api import wait_job
from yibao.accounts.roles import Role
from yibao.cases.models import Case
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD, seed_demo
from yibao.regions.models import Hospital

#: What an attacker types into a field that ends up in an export.
FORMULAS = ('=HYPERLINK("http://e.x","S")', "+1+1", "-2+3", "@SUM(A1)", "\t=1")
#: A bare address: xlsxwriter turns it into a live link unless told otherwise.
URL = "http://e.x/S"
PLANTED = (*FORMULAS, URL)


def xlsx_cells(content: bytes) -> list[Any]:
    """Every cell of every sheet of a workbook."""
    assert content[:2] == b"PK", content[:200]
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [cell for sheet in book for row in sheet.iter_rows() for cell in row]


def assert_xlsx_is_data(content: bytes, planted: Iterable[str] = PLANTED) -> None:
    """No formula and no hyperlink anywhere; each planted text is a plain string cell."""
    cells = xlsx_cells(content)
    formulas = [(c.parent.title, c.coordinate, c.value) for c in cells if c.data_type == "f"]
    assert not formulas, formulas
    links = [(c.parent.title, c.coordinate, c.value) for c in cells if c.hyperlink is not None]
    assert not links, links
    texts = {c.value for c in cells if c.data_type == "s"}
    missing = [p for p in planted if p not in texts]
    assert not missing, missing


def assert_csv_neutralised(column: Iterable[str | None], planted: Iterable[str] = PLANTED) -> None:
    """Formula-like text starts with ``'`` + the original; other text is unchanged."""
    values = set(column)
    for text in planted:
        if text.startswith(("=", "+", "-", "@", "\t", "\r")):
            assert "'" + text in values, (text, values)
            assert text not in values, text
        else:
            assert text in values, (text, values)


def read_csv(content: bytes) -> pl.DataFrame:
    return pl.read_csv(io.BytesIO(content), infer_schema=False)


# ------------------------------------------------------------------- settlement

#: The intake trims the ids (a leading tab is gone; "=1" is still a formula).
STORED_IDS = [p.strip() for p in PLANTED]


@pytest.fixture()
def confirmed(client, db):  # type: ignore[no-untyped-def]
    """hosp01's lists of March 2025 with the planted settlement ids, approved and
    confirmed: the statement and the clearing of 2025 list them."""
    codes = demo_world(db)
    hospital = codes["hosp01"]
    messages = [
        settlement_list(
            hospital,
            discharge=date(2025, 3, 10),
            diagnoses=["D55.900"],  # a public case grouped to QS25
            sex="2",
            age=50,
            dept="03.05",
            los_days=3,
            total_cost=Decimal("12000.00"),
            setl_id=setl_id,
        )
        for setl_id in PLANTED
    ]
    login(client, "hosp01", DEMO_PASSWORD)
    r = client.post("/api/settlement/lists", json={"lists": messages})
    assert r.status_code == 200, r.text
    out = r.json()["lists"]
    assert [o["state"] for o in out] == ["priced"] * len(PLANTED), out
    login(client, "reviewer", DEMO_PASSWORD)
    r = client.post(
        "/api/settlement/review/bulk-approve", json={"ids": [o["list_id"] for o in out]}
    )
    assert r.status_code == 200 and r.json()["approved"] == len(PLANTED), r.text
    r = client.post("/api/settlement/periods/2025-03/confirm", json={})
    assert r.status_code == 202, r.text
    assert wait_job(client, r.json()["job_id"])["status"] == "succeeded"
    return client, hospital


def test_statement_workbook_keeps_settlement_ids_as_text(confirmed) -> None:  # type: ignore[no-untyped-def]
    client, hospital = confirmed
    url = f"/api/settlement/periods/2025-03/statements/{hospital}"
    stored = sorted(c["setl_id"] for c in client.get(url).json()["cases"])
    assert stored == sorted(STORED_IDS)
    r = client.get(url, params={"format": "xlsx"})
    assert r.status_code == 200, r.text
    assert_xlsx_is_data(r.content, STORED_IDS)
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["汇总", "病例明细"]
    cases = book["病例明细"]
    header = [c.value for c in cases[1]]
    ids = [row[header.index("结算ID")].value for row in cases.iter_rows(min_row=2)]
    assert sorted(ids) == stored
    money = [row[header.index("确认支付（元）")] for row in cases.iter_rows(min_row=2)]
    assert all(c.data_type == "n" and c.value > 0 for c in money)  # numbers stay numbers


def test_clearing_workbook_keeps_settlement_ids_as_text(confirmed) -> None:  # type: ignore[no-untyped-def]
    client, hospital = confirmed
    body = {"budget": "200000", "method": "rate", "assessment_scores": {hospital: 90}}
    r = client.post("/api/settlement/years/2025/clearing", params={"format": "xlsx"}, json=body)
    assert r.status_code == 200, r.text
    assert_xlsx_is_data(r.content, STORED_IDS)
    assert openpyxl.load_workbook(io.BytesIO(r.content)).sheetnames == ["医院清算", "病例"]


def test_list_template_neutralises_the_hospital_name(client, db) -> None:  # type: ignore[no-untyped-def]
    codes = demo_world(db)
    db.execute(update(Hospital).where(Hospital.code == codes["hosp01"]).values(name=FORMULAS[0]))
    db.commit()
    login(client, "hosp01", DEMO_PASSWORD)
    r = client.get("/settlement/lists/template.csv")
    assert r.status_code == 200, r.text
    assert r.content.startswith("\ufeff".encode())  # still a BOM for Excel
    row = read_csv(r.content.removeprefix("\ufeff".encode())).row(0, named=True)
    assert row["fixmedins_name"] == "'" + FORMULAS[0]
    assert row["fixmedins_code"] == codes["hosp01"]
    assert row["setl_id"] == "SAMPLE0001"


# --------------------------------------------------------------------- grouping


def case_file() -> bytes:
    """A case file whose ids and extra columns (values and a header) carry the text."""
    frame = pl.DataFrame(
        {
            "case_id": list(PLANTED),
            "sex": "2",
            "age_years": "50",
            "los_days": "3",
            "dept": "03.05",
            "diagnoses": "D55.900",
            "备注": list(reversed(PLANTED)),
            "@remark": "=1+1",
        }
    )
    buf = io.BytesIO()
    frame.write_csv(buf)
    return buf.getvalue()


def hospital_user(client, db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A hospital user logged in; the CSRF header for the API."""
    from tests.e2e.test_grouping_api import login as grouping_login

    b.user(db, Role.HOSPITAL_USER, hospital=b.hospital(db, "990102"), username="hosp_a")
    db.commit()
    return grouping_login(client, "hosp_a")


def assert_grouped_csv(content: bytes) -> None:
    frame = read_csv(content.removeprefix("\ufeff".encode()))
    assert frame.height == len(PLANTED)
    assert_csv_neutralised(frame["case_id"])
    assert_csv_neutralised(frame["备注"])
    assert "'@remark" in frame.columns and set(frame["'@remark"]) == {"'=1+1"}
    assert set(frame["drg"]) == {"QS25"}  # grouped as usual


def assert_grouped_xlsx(content: bytes) -> None:
    assert_xlsx_is_data(content, (*PLANTED, "@remark", "=1+1"))
    frame = pl.read_excel(io.BytesIO(content), engine="openpyxl", infer_schema_length=0)
    assert frame["case_id"].to_list() == list(PLANTED)
    assert set(frame["drg"]) == {"QS25"}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_grouping_result_file_small_upload(client, db, fmt: str) -> None:  # type: ignore[no-untyped-def]
    h = hospital_user(client, db)
    r = client.post(
        "/api/grouping/batch",
        files={"file": ("cases.csv", case_file(), "text/csv")},
        data={"plan": "chs-drg-1.1", "format": fmt},
        headers=h,
    )
    assert r.status_code == 200, r.text
    (assert_grouped_csv if fmt == "csv" else assert_grouped_xlsx)(r.content)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_grouping_result_file_of_the_batch_job(client, db, fmt: str) -> None:  # type: ignore[no-untyped-def]
    h = hospital_user(client, db)
    client.app.state.settings.grouping_sync_max_rows = 1
    r = client.post(
        "/api/grouping/batch",
        files={"file": ("cases.csv", case_file(), "text/csv")},
        data={"plan": "chs-drg-1.1", "format": fmt},
        headers=h,
    )
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["job_id"])
    assert job["status"] == "succeeded" and job["kind"] == "grouping.batch", job
    result = client.get(job["result_url"])
    assert result.status_code == 200
    (assert_grouped_csv if fmt == "csv" else assert_grouped_xlsx)(result.content)


# ------------------------------------------------------------------ measurement

#: Department codes are at most 10 characters.
DEPTS = ("=1+1", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "http://e.x")


def test_measurement_exports(client, db) -> None:  # type: ignore[no-untyped-def]
    """A small demo region measured over HTTP; hospital names, department codes of the
    cases and scenario names carry the text into the API tables (CSV and Excel) and the
    pages' Excel downloads."""
    from tests.e2e.test_measurement_api import (
        _weight_plan,
        create_rate_plan,
        create_simulation,
        indices_rows,
    )

    set_scope(db, SYSTEM_SCOPE)
    seed_demo(db, seed=5, years=[2023], cases_per_year=300)
    hospitals = db.scalars(select(Hospital).order_by(Hospital.code)).all()
    for hospital, name in zip(hospitals, PLANTED, strict=False):
        hospital.name = name
    case_ids = db.scalars(select(Case.id).order_by(Case.id).limit(len(DEPTS))).all()
    for case_id, dept in zip(case_ids, DEPTS, strict=True):
        db.execute(update(Case).where(Case.id == case_id).values(discharge_dept=dept))
    db.commit()
    login(client, "analyst", DEMO_PASSWORD)

    body = {
        "name": "导出测试",
        "years": [2023],
        "trim": {"method": "iqr", "min_cases": 5},
        "weights": {"min_cases": 3, "fallback": "adrg", "year_weights": ["1"]},
    }
    r = client.post("/api/measurement/runs", json=body)
    assert r.status_code == 202, r.text
    assert wait_job(client, r.json()["job_id"], timeout=120)["status"] == "succeeded"
    plan = _weight_plan(client, r.json()["id"], "WX")
    rate = create_rate_plan(
        client, {"weight_plan_id": plan["id"], "volume_year": 2023, "params": {}}
    )
    sims = []
    for name in (FORMULAS[0], URL):
        body = {"weight_plan_id": plan["id"], "rate_plan_id": rate["id"], "year": 2023}
        sims.append(create_simulation(client, {**body, "name": name})["id"])

    # the API's tables: departments by hospital, as CSV and as Excel
    params = {"weight_plan_id": plan["id"], "year": 2023, "by": "department"}
    r = indices_rows(client, params, "csv")
    assert r.status_code == 200, r.text
    frame = read_csv(r.content.removeprefix("\ufeff".encode()))
    assert_csv_neutralised(frame["discharge_dept"], DEPTS)
    assert frame["cmi"].cast(pl.Float64).min() > 0  # numbers stay numbers
    r = indices_rows(client, params, "xlsx")
    assert r.status_code == 200, r.text
    assert_xlsx_is_data(r.content, DEPTS)

    # the pages' downloads: hospital names and scenario names
    r = client.get(f"/measurement/simulations/{sims[0]}/export/hospitals")
    assert r.status_code == 200, r.text
    assert_xlsx_is_data(r.content)
    r = client.get("/measurement/compare/export", params={"ids": f"{sims[0]},{sims[1]}"})
    assert r.status_code == 200, r.text
    assert_xlsx_is_data(r.content, (FORMULAS[0], URL))


def test_standards_csv_neutralises_text_and_keeps_numbers() -> None:
    """The published table's CSV (download and checksum): a DRG code cannot begin like
    a formula (imports check it against the plan), but the writer does not rely on it."""
    from yibao.engines.measure import STANDARDS_SCHEMA
    from yibao.measurement.service import standards_csv

    rows = [(code, "3", Decimal("1.2000"), Decimal(10000), Decimal("-12.50")) for code in PLANTED]
    table = pl.DataFrame(rows, schema=dict(STANDARDS_SCHEMA), orient="row")
    frame = read_csv(standards_csv(table))
    assert_csv_neutralised(frame["drg"])
    assert set(frame["payment_standard"]) == {"-12.50"}  # a number, not neutralised


# -------------------------------------------------------------------------- CLI

runner = CliRunner()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", None])
def test_cli_group_output(tmp_path: Path, suffix: str | None) -> None:
    from yibao.cli.main import app

    source = tmp_path / "cases.csv"
    source.write_bytes(case_file())
    args = ["group", str(source), "--plan", "chs-drg-1.1"]
    out = tmp_path / f"grouped{suffix}"
    result = runner.invoke(app, [*args, "-o", str(out)] if suffix else args)
    assert result.exit_code == 0, result.output
    if suffix == ".xlsx":
        assert_grouped_xlsx(out.read_bytes())
    else:  # a file, or CSV on standard output
        assert_grouped_csv(out.read_bytes() if suffix else result.stdout_bytes)
