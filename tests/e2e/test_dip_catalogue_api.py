"""DIP catalogues through the HTTP API on the demo region (issue 14 items 1 and 3):
build → read → groups → Excel → second version → diff → publish, checked against a
recomputation from the stored cases written here (SQLite by default, PostgreSQL with
YIBAO_TEST_DATABASE_URL)."""

from __future__ import annotations

import io
import re
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.builders.demo import demo_region
from tests.e2e.test_grouping_api import wait_job
from tests.e2e.test_http_scoping import _login
from yibao.cases.models import Case, CaseDiagnosis, CaseProcedure
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD
from yibao.regions.models import Hospital

YEARS = [2023, 2024, 2025]
WEIGHTS = {2023: 1, 2024: 2, 2025: 7}


@pytest.fixture()
def analyst(client, db):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    demo_region(db, seed=7, years=YEARS, cases_per_year=600)
    db.commit()
    _login(client, "analyst", DEMO_PASSWORD)
    page = client.get("/", headers={"accept": "text/html"})
    client.headers["x-csrf-token"] = page.text.split('"X-CSRF-Token": "', 1)[1].split('"', 1)[0]
    return client


def _build(client, threshold: int, code: str = "DIP-T"):  # type: ignore[no-untyped-def]
    body = {
        "code": code,
        "name": "测试 DIP 目录",
        "years": YEARS,
        "catalogue": {"threshold": threshold},
        "scores": {"trim": {"method": "none"}},
    }
    r = client.post("/api/dip/catalogues", json=body)
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["job_id"], timeout=120)
    assert job["status"] == "succeeded", job.get("error")
    return client.get(f"/api/dip/catalogues/{r.json()['id']}").json()


def _history(db):  # type: ignore[no-untyped-def]
    """Per case: (category, procedure set, year, cost in fen, hospital level), from the
    stored rows."""
    principal = dict(
        db.execute(
            select(CaseDiagnosis.case_id, CaseDiagnosis.code).where(CaseDiagnosis.is_principal)
        ).all()
    )
    procs: dict[int, set[str]] = defaultdict(set)
    for case_id, code in db.execute(select(CaseProcedure.case_id, CaseProcedure.code)):
        procs[case_id].add(code.strip())
    out = []
    rows = db.execute(
        select(Case.id, Case.discharge_date, Case.total_cost, Hospital.level).join(
            Hospital, Hospital.id == Case.hospital_id
        )
    )
    for case_id, day, cost, level in rows:
        bare = principal[case_id].replace(".", "")[:4]
        cat = f"{bare[:3]}.{bare[3:]}" if len(bare) > 3 else bare
        out.append((cat, "+".join(sorted(procs[case_id])), day.year, int(cost * 100), level))
    return out


def _all_groups(client, catalogue_id: int) -> list[dict]:  # type: ignore[type-arg]
    items, page = [], 1
    while True:
        r = client.get(
            f"/api/dip/catalogues/{catalogue_id}/groups", params={"page": page, "size": 500}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        if len(items) >= body["total"]:
            return items
        page += 1


def _yuan(value: Fraction) -> Decimal:
    """Rounded half up to 2 decimals."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal("0.01"), ROUND_HALF_UP
    )


def _weighted(by_year: dict[int, list[int]]) -> Fraction:
    num = sum(Fraction(WEIGHTS[y] * sum(v), len(v)) for y, v in by_year.items() if v)
    return num / sum(WEIGHTS[y] for y, v in by_year.items() if v)


def test_build_read_diff_publish(analyst, db):  # type: ignore[no-untyped-def]
    client = analyst
    first = _build(client, threshold=5)
    assert (first["status"], first["version"], first["status_label"]) == ("draft", 1, "草稿")
    history = _history(db)
    assert first["summary"]["cases"] == len(history)

    # core groups = the combinations with at least 5 cases, recomputed here
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for cat, procs, _, _, _ in history:
        counts[cat, procs] += 1
    expected = {(f"{c}:{p}" if p else c): n for (c, p), n in counts.items() if n >= 5}
    groups = _all_groups(client, first["id"])
    core = {g["code"]: g["cases"] for g in groups if g["kind"] == "core"}
    assert core == expected and len(core) >= 5
    assert first["summary"]["core_groups"] == len(core)
    # core groups read as diagnosis · procedures, named from the plan's dictionaries
    for g in (g for g in groups if g["kind"] == "core"):
        assert g["name"].startswith(g["dx_key"] + " ") and " · " in g["name"], g
        assert g["name"].endswith("保守治疗") == (g["procedures"] == ""), g
    assert any(re.search(r"[\u4e00-\u9fff]+ · ", g["name"]) for g in groups)
    assert first["summary"]["core_cases"] == sum(expected.values())

    # scores: M_g ÷ M × 1000, years weighted 1:2:7 (no trimming asked)
    members: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    overall: dict[int, list[int]] = defaultdict(list)
    by_level: dict[tuple[str, str], list[int]] = defaultdict(list)
    for cat, procs, year, fen, level in history:
        code = f"{cat}:{procs}" if procs else cat
        if code in expected:
            members[code][year].append(fen)
            if year == YEARS[-1]:
                by_level[code, level].append(fen)
        overall[year].append(fen)
    m = _weighted(overall)
    assert Decimal(first["overall_mean"]) == _yuan(m / 100)
    by_code = {g["code"]: g for g in groups}
    for code in list(expected)[:20]:
        assert Decimal(by_code[code]["score"]) == _yuan(_weighted(members[code]) / m * 1000)
        # the deviation standard: the newest year's mean at each hospital level
        for level in ("1", "2", "3"):
            costs = by_level.get((code, level))
            shown = by_code[code][f"standard_{level}"]
            assert shown == (str(_yuan(Fraction(sum(costs), len(costs)) / 100)) if costs else None)

    # every case is in exactly one primary group: core, or comprehensive by prefix
    prefix = [g for g in groups if g["level"] == "prefix"]
    assert sum(core.values()) + sum(g["cases"] for g in prefix) == len(history)

    # Excel: one row per group, Chinese headers
    r = client.get(f"/api/dip/catalogues/{first['id']}", params={"format": "xlsx"})
    assert r.status_code == 200 and "filename*=UTF-8''" in r.headers["content-disposition"]
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("病种编码", "病种名称") and "病种分值" in rows[0]
    assert len(rows) - 1 == len(groups)
    assert {row[2] for row in rows[1:]} == {"核心病种", "综合病种"}

    # a second version at threshold 8: the core groups of 5–7 cases are gone
    second = _build(client, threshold=8)
    assert second["version"] == 2 and second["code"] == "DIP-T"
    diff = client.get(f"/api/dip/catalogues/{first['id']}/diff/{second['id']}").json()
    removed_core = {g["code"] for g in diff["removed"] if g["kind"] == "core"}
    assert removed_core == {c for c, n in expected.items() if n < 8}
    assert all(g["kind"] == "comprehensive" for g in diff["added"])
    assert diff["changed"]  # the comprehensive groups took those cases

    # publish: once; a published catalogue cannot be published or changed again
    r = client.post(f"/api/dip/catalogues/{first['id']}/publish")
    assert r.status_code == 200 and r.json()["status"] == "published", r.text
    again = client.post(f"/api/dip/catalogues/{first['id']}/publish")
    assert again.status_code == 409 and "不可更改" in again.json()["error"]["message"]
    listed = client.get("/api/dip/catalogues").json()
    assert [(c["version"], c["status"]) for c in listed] == [(2, "draft"), (1, "published")]


def test_bad_requests_are_refused_in_chinese(analyst, client):  # type: ignore[no-untyped-def]
    body = {"code": "DIP-X", "name": "x", "years": YEARS}
    r = client.post("/api/dip/catalogues", json={**body, "catalogue": {"threshold": 0}})
    assert r.status_code == 422 and "核心病种的病例数阈值" in r.json()["error"]["message"]
    r = client.post("/api/dip/catalogues", json={**body, "years": [2024, 2025]})
    assert r.status_code == 422 and "年度权重 3 个" in r.json()["error"]["message"]
    r = client.post("/api/dip/catalogues", json={**body, "code": "坏 编码"})
    assert r.status_code == 422 and "目录编码" in r.json()["error"]["message"]
    r = client.post("/api/dip/catalogues", json={**body, "years": [1980]})
    assert r.status_code == 422
    # a stored score keeps 2 decimals: more would be cut off silently
    r = client.post("/api/dip/catalogues", json={**body, "scores": {"places": 4}})
    assert r.status_code == 422 and r.json()["error"]["field"] == "scores.places"
    assert "最多 2 位小数" in r.json()["error"]["message"]
    assert client.get("/api/dip/catalogues/999").status_code == 404
    assert client.get("/api/dip/catalogues").json() == []  # nothing was stored
    client.post("/logout")
    client.headers.pop("x-csrf-token", None)
    _login(client, "hosp01", DEMO_PASSWORD)
    assert client.get("/api/dip/catalogues").status_code == 403


def _check_auxiliary(db, aux, year_cases: int) -> None:  # type: ignore[no-untyped-def]
    """The auxiliary counts of 2025 against the stored cases, counted here."""
    from datetime import timedelta

    total = aux["total"]
    assert total["cases"] == year_cases
    assert sum(h["death"] for h in aux["hospitals"].values()) == total["death"]
    principal = dict(
        db.execute(
            select(CaseDiagnosis.case_id, CaseDiagnosis.code).where(CaseDiagnosis.is_principal)
        ).all()
    )
    rows = [
        r
        for r in db.execute(
            select(
                Case.id,
                Case.psn_no,
                Case.admission_time,
                Case.discharge_time,
                Case.age_years,
                Case.los_days,
                Case.discharge_way,
                Case.discharge_date,
            )
        )
        if r[7].year == 2025
    ]
    assert total["death"] == sum(1 for r in rows if r[6] == "5")
    assert total["long_stay"] == sum(1 for r in rows if r[5] > 60)
    assert total["children"] == sum(1 for r in rows if r[4] is not None and r[4] <= 6)
    assert total["elderly"] == sum(1 for r in rows if r[4] is not None and r[4] >= 70)
    last: dict[tuple[str, str], object] = {}
    readmitted = 0
    for r in sorted(
        rows, key=lambda r: (r[1], principal[r[0]].replace(".", "")[:4], r[2], str(r[0]))
    ):
        key = (r[1], principal[r[0]].replace(".", "")[:4])
        prev = last.get(key)
        if prev is not None and prev <= r[2] <= prev + timedelta(days=15):  # type: ignore[operator]
            readmitted += 1
        last[key] = r[3]
    assert total["readmitted"] == readmitted
    assert total["cci_1"] + total["cci_2"] + total["cci_3"] <= year_cases


def test_dynamic_add_ons_from_the_year(analyst, db):  # type: ignore[no-untyped-def]
    """Xiamen L1–L3 add-ons: the shares recounted from the stored cases, the parts
    recomputed from the inputs, the coefficient = level base + add-on."""
    import math
    from fractions import Fraction

    client = analyst
    sim = _simulate(client, _build(client, threshold=5)["id"], year=2025, dynamic_add_ons=True)
    rows = {d["code"]: d for d in sim["summary"]["dynamic_add_ons"]}
    assert rows and any(Decimal(d["add_on"]) > 0 for d in rows.values())
    ages: dict[str, list[int]] = defaultdict(list)
    fees: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for code, age, cost, herbal, patent, day in db.execute(
        select(
            Case.hospital_code,
            Case.age_years,
            Case.total_cost,
            Case.fee_herbal_pieces,
            Case.fee_chinese_patent_medicine,
            Case.discharge_date,
        )
    ):
        if day.year == 2025:
            ages[code].append(age)
            fees[code][0] += herbal + patent
            fees[code][1] += cost
    for code, d in rows.items():
        n = len(ages[code])
        assert abs(Fraction(d["child_share"]) - Fraction(sum(a <= 6 for a in ages[code]), n)) < 1e-9
        assert (
            abs(Fraction(d["elderly_share"]) - Fraction(sum(a >= 70 for a in ages[code]), n)) < 1e-9
        )
        assert Decimal(d["tcm_share"]).quantize(Decimal("1e-12")) == (
            fees[code][0] / fees[code][1]
        ).quantize(Decimal("1e-12"))
    caps = {"cmi": "0.13", "child_share": "0.06", "elderly_share": "0.03", "tcm_share": "0.05"}
    steps = {"cmi": "0.05", "child_share": "0.10", "elderly_share": "0.20", "tcm_share": "0.03"}
    parts = dict(zip(caps, ("l1_difficulty", "l2_children", "l2_elderly", "l3_tcm"), strict=True))
    third = [d for d in rows.values() if d["level"] == "3"]
    for key, part in parts.items():
        mean = sum(Fraction(d[key]) for d in third) / len(third)
        for d in third:
            v = Fraction(d[key])
            n = math.floor((v / mean - 1) / Fraction(steps[key])) if v > mean else 0
            want = min(Fraction(n, 100), Fraction(caps[key]))
            assert Fraction(d[part]) == want, (d["code"], key)
    base = {"3": Decimal("0.93"), "2": Decimal("0.72"), "1": Decimal("0.55")}
    for h in sim["hospitals"]:
        d = rows[h["hospital_code"]]
        assert Decimal(h["coefficient"]) == base[h["hospital_level"]] + Decimal(d["add_on"])
        if h["hospital_level"] == "1":
            assert Decimal(d["add_on"]) == 0
    page = client.get(f"/dip/simulations/{sim['id']}", headers={"accept": "text/html"})
    assert page.text.count('data-testid="dip-dynamic-row"') == len(rows)


def _simulate(client, catalogue_id: int, **body):  # type: ignore[no-untyped-def]
    r = client.post(f"/api/dip/catalogues/{catalogue_id}/simulations", json=body)
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["job_id"], timeout=120)
    assert job["status"] == "succeeded", job.get("error")
    return client.get(f"/api/dip/simulations/{r.json()['id']}").json()


def test_simulation_pays_score_times_coefficient_times_point_value(analyst, db):  # type: ignore[no-untyped-def]
    client = analyst
    built = _build(client, threshold=5)
    year_cost = sum(
        (c for c, d in db.execute(select(Case.total_cost, Case.discharge_date)) if d.year == 2025),
        Decimal(0),
    )
    year_cases = sum(1 for (d,) in db.execute(select(Case.discharge_date)) if d.year == 2025)

    ten = _simulate(client, built["id"], year=2025, point_value="10")
    s = ten["summary"]
    assert (ten["status"], ten["point_value"], s["basis"]) == ("succeeded", "10.0000", "given")
    assert s["cases"] == year_cases and Decimal(s["total_cost"]) == year_cost
    assert s["core"] + s["comprehensive"] + s["by_items"] == s["cases"]
    hospitals = ten["hospitals"]
    assert sum(h["cases"] for h in hospitals) == year_cases
    assert sum(Decimal(h["payment"]) for h in hospitals) == Decimal(s["payment"])
    assert sum(Decimal(h["total_cost"]) for h in hospitals) == year_cost
    assert {h["hospital_level"]: h["coefficient"] for h in hospitals}["3"] == "0.9300"
    for h in hospitals:
        assert Decimal(h["balance"]) == Decimal(h["payment"]) - Decimal(h["total_cost"])
    _check_auxiliary(db, s["auxiliary"], year_cases)

    # payments are linear in the point value (by-items cases apart), to the fen per case
    twenty = _simulate(client, built["id"], year=2025, point_value="20")
    by_items_cost = Decimal(0)  # no blank-group case on history-built groups of this year
    assert s["by_items"] == 0
    doubled = 2 * (Decimal(s["payment"]) - by_items_cost)
    assert abs(Decimal(twenty["summary"]["payment"]) - doubled) <= Decimal("0.01") * year_cases

    # cost-neutral without a point value; a budget is spent — up to the point value's
    # rounding to 4 decimals (Σ score × coefficient × 0.00005) and a fen per case
    def tolerance(sim):  # type: ignore[no-untyped-def]
        points = Decimal(sim["summary"]["payment"]) / Decimal(sim["point_value"])
        return points * Decimal("0.00005") + Decimal("0.01") * year_cases

    neutral = _simulate(client, built["id"], year=2025)
    assert neutral["summary"]["basis"] == "cost_neutral"
    assert abs(Decimal(neutral["summary"]["payment"]) - year_cost) <= tolerance(neutral)
    budget = _simulate(client, built["id"], year=2025, budget="5000000")
    assert budget["summary"]["basis"] == "budget"
    assert abs(Decimal(budget["summary"]["payment"]) - 5_000_000) <= tolerance(budget)
    assert Decimal(budget["point_value"]) < Decimal(neutral["point_value"])
    listed = client.get(f"/api/dip/catalogues/{built['id']}/simulations").json()
    assert len(listed) == 4

    r = client.get(f"/api/dip/simulations/{ten['id']}", params={"format": "xlsx"})
    book = load_workbook(io.BytesIO(r.content))
    rows = list(book["各医院"].iter_rows(values_only=True))
    assert rows[0][0] == "医疗机构编码" and len(rows) - 1 == len(hospitals)
    aux = list(book["辅助目录与监管指标"].iter_rows(values_only=True))
    assert aux[0][:3] == ("医疗机构编码", "病例数", "CCI 1 级（指数 1–2）")
    page = client.get(f"/dip/simulations/{ten['id']}", headers={"accept": "text/html"})
    assert page.text.count('data-testid="dip-aux-row"') == len(hospitals)

    both = client.post(
        f"/api/dip/catalogues/{built['id']}/simulations",
        json={"year": 2025, "point_value": "10", "budget": "100"},
    )
    assert both.status_code == 422 and "只能指定一个" in both.json()["error"]["message"]
    empty = client.post(f"/api/dip/catalogues/{built['id']}/simulations", json={"year": 2030})
    job = wait_job(client, empty.json()["job_id"], timeout=60)
    assert job["status"] == "failed" and "2030 年没有本辖区的病例" in job["error"]


def test_drg_and_dip_side_by_side(analyst, db):  # type: ignore[no-untyped-def]
    from tests.e2e.test_measurement_api import (
        _run,
        _weight_plan,
        create_rate_plan,
        create_simulation,
    )

    client = analyst
    # the base run groups the years' cases (stored groupings): the DIP simulation sums
    # its payments per DRG from them
    plan = _weight_plan(client, _run(client)["id"], "W2026")
    dip_sim = _simulate(client, _build(client, threshold=5)["id"], year=2025)
    rate = create_rate_plan(
        client, {"weight_plan_id": plan["id"], "volume_year": 2025, "params": {}}
    )
    body = {"weight_plan_id": plan["id"], "rate_plan_id": rate["id"], "year": 2025}
    drg = create_simulation(client, {**body, "name": "2025 DRG"})

    shown = client.get(f"/api/dip/simulations/{dip_sim['id']}/compare/{drg['id']}")
    assert shown.status_code == 200, shown.text
    rows = shown.json()["hospitals"]
    dip_paid = {h["hospital_code"]: h["payment"] for h in dip_sim["hospitals"]}
    drg_paid = {h["hospital_code"]: h["drg_payment"] for h in drg["results"]["by_hospital"]}
    assert {r["hospital_code"] for r in rows} == set(dip_paid) | set(drg_paid)
    for row in rows:
        assert row["dip_payment"] == dip_paid.get(row["hospital_code"])
        assert Decimal(row["drg_payment"]) == Decimal(str(drg_paid[row["hospital_code"]]))
        assert Decimal(row["difference"]) == Decimal(row["dip_payment"]) - Decimal(
            row["drg_payment"]
        )
    differences = [Decimal(r["difference"]) for r in rows]
    assert differences == sorted(differences, reverse=True)  # largest gain first
    _check_diseases(db, shown.json(), dip_sim, drg)

    r = client.get(
        f"/api/dip/simulations/{dip_sim['id']}/compare/{drg['id']}", params={"format": "xlsx"}
    )
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["各医院", "各病组"]
    sheet = list(book["各医院"].iter_rows(values_only=True))
    assert (
        sheet[0][:3] == ("医疗机构编码", "医院等级", "DIP 病例数") and len(sheet) == len(rows) + 1
    )
    by_drg = list(book["各病组"].iter_rows(values_only=True))
    assert by_drg[0][:2] == ("DRG 病组", "病组名称")
    assert len(by_drg) == len(shown.json()["diseases"]) + 1

    page = client.get(
        f"/dip/simulations/{dip_sim['id']}/compare/{drg['id']}", headers={"accept": "text/html"}
    )
    assert page.status_code == 200 and page.text.count('data-testid="dip-compare-row"') == len(rows)
    assert 'data-testid="chart-dip-compare-drg"' in page.text
    assert page.text.count('data-testid="dip-disease-row"') > 0
    sim_page = client.get(f"/dip/simulations/{dip_sim['id']}", headers={"accept": "text/html"})
    assert f"/compare/{drg['id']}" in sim_page.text

    other = _simulate(client, dip_sim["catalogue_id"], year=2024)
    wrong = client.get(f"/api/dip/simulations/{other['id']}/compare/{drg['id']}")
    assert wrong.status_code == 422 and "只能对比同一年度" in wrong.json()["error"]["message"]


def _check_diseases(db, shown, dip_sim, drg) -> None:  # type: ignore[no-untyped-def]
    """Per DRG: the DRG side is the DRG simulation's, the DIP side counts exactly the
    2025 cases stored in that DRG (chs-drg-1.1) and adds up to the DIP total."""
    from datetime import date

    from yibao.grouping.models import CaseGrouping

    diseases = {d["drg"]: d for d in shown["diseases"]}
    stored: dict[str, int] = defaultdict(int)
    rows = db.execute(
        select(CaseGrouping.drg)
        .join(Case, Case.id == CaseGrouping.case_id)
        .where(
            CaseGrouping.plan_id == "chs-drg-1.1",
            Case.discharge_date >= date(2025, 1, 1),
            Case.discharge_date <= date(2025, 12, 31),
        )
    )
    for (code,) in rows:
        stored[code] += 1
    dip_cases = {k: v["dip_cases"] for k, v in diseases.items() if v["dip_cases"]}
    assert dip_cases == dict(stored)
    total = sum(Decimal(d["dip_payment"]) for d in diseases.values() if d["dip_payment"])
    assert total == sum(Decimal(h["payment"]) for h in dip_sim["hospitals"])
    for row in drg["results"]["by_drg"]:
        got = diseases[row["drg"]]
        assert Decimal(got["drg_payment"]) == Decimal(str(row["drg_payment"]))
        assert got["drg_cases"] == row["cases"]
        if got["dip_payment"] is not None:
            assert Decimal(got["difference"]) == Decimal(got["dip_payment"]) - Decimal(
                got["drg_payment"]
            )
    assert shown["note"] is None


def test_export_edit_import_as_a_new_version(analyst, db):  # type: ignore[no-untyped-def]
    from openpyxl import Workbook

    client = analyst
    built = _build(client, threshold=5)
    exported = client.get(f"/api/dip/catalogues/{built['id']}", params={"format": "xlsx"})
    book = load_workbook(io.BytesIO(exported.content))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    score_col = header.index("病种分值") + 1
    first = sheet.cell(row=2, column=1).value
    sheet.cell(row=2, column=score_col).value = 1234.56  # the bureau edits a score
    edited = io.BytesIO()
    book.save(edited)

    def upload(content: bytes, name: str = "目录.xlsx", **form):  # type: ignore[no-untyped-def]
        data = {"code": "DIP-T", "name": "调整后的目录", **form}
        return client.post("/api/dip/catalogues/import", data=data, files={"file": (name, content)})

    r = upload(edited.getvalue())
    assert r.status_code == 201, r.text
    imported = r.json()
    assert (imported["version"], imported["status"], imported["code"]) == (2, "draft", "DIP-T")
    assert imported["summary"]["core_groups"] == built["summary"]["core_groups"]
    diff = client.get(f"/api/dip/catalogues/{built['id']}/diff/{imported['id']}").json()
    assert (diff["added"], diff["removed"]) == ([], [])
    assert [c["code"] for c in diff["changed"]] == [first]
    assert diff["changed"][0]["score_after"] == "1234.56"
    groups = {g["code"]: g for g in _all_groups(client, imported["id"])}
    original = {g["code"]: g for g in _all_groups(client, built["id"])}
    same = [c for c in original if c != first]
    assert all(groups[c]["standard_3"] == original[c]["standard_3"] for c in same)

    # the imported version simulates like a built one
    sim = _simulate(client, imported["id"], year=2025, point_value="10")
    assert sim["summary"]["cases"] > 0

    # a sheet with problems names rows and columns and stores nothing
    bad = Workbook()
    ws = bad.active
    ws.append(header)
    ws.append(
        ["K35.8", "名称", "核心病种", "诊断+手术操作组合", "K35.8", "", "手术", "x", "", "", "-1"]
    )
    ws.append(["K35.8", "名称", "某病种", "诊断类目", "K35", "", "保守治疗", "3", "", "", "1"])
    buf = io.BytesIO()
    bad.save(buf)
    before = len(client.get("/api/dip/catalogues").json())
    r = upload(buf.getvalue())
    message = r.json()["error"]["message"]
    assert r.status_code == 422, r.text
    assert "第 2 行“治疗方式”" in message and "第 2 行“历史病例数”" in message
    assert "第 2 行“病种分值”" in message and "第 3 行“病种编码”：K35.8 与第 2 行重复" in message
    assert "第 3 行“类别”" in message
    r = upload(b"not a workbook", "x.xlsx")
    assert r.status_code == 422 and "Excel" in r.json()["error"]["message"]
    r = upload("病种编码,名称\nA,B\n".encode(), "x.csv")
    assert r.status_code == 422 and "缺少列" in r.json()["error"]["message"]
    assert len(client.get("/api/dip/catalogues").json()) == before
