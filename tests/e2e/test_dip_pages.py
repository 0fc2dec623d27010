"""The DIP 目录 pages walked as the bureau analyst: build form → job → catalogue page
(figures, charts' data, groups with filter and pages, Excel link) → publish → a second
version shows what changed; bad input shows a Chinese message naming the field and
stores nothing; hospital users get 403 (SQLite, or PostgreSQL with
YIBAO_TEST_DATABASE_URL)."""

from __future__ import annotations

import json
import re

import pytest

from tests.builders.demo import demo_region
from tests.e2e.test_dip_catalogue_api import YEARS
from tests.e2e.test_grouping_api import wait_job
from tests.e2e.test_http_scoping import _login
from tests.e2e.test_measurement_pages import HTML, created_id, post, text
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD
from yibao.dip.models import DipCatalogue


@pytest.fixture()
def analyst(client, db):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    demo_region(db, seed=7, years=YEARS, cases_per_year=600)
    db.commit()
    _login(client, "analyst", DEMO_PASSWORD)
    page = client.get("/", headers=HTML)
    client.csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text).group(1)
    return client


FORM = {
    "code": "DIP-2026",
    "name": "2026 年 DIP 目录",
    "plan": "chs-drg-1.1",
    "years": [str(y) for y in YEARS],
    "threshold": "5",
    "dx_chars": "4",
    "comprehensive_chars": "3",
    "year_weights": "1:2:7",
    "scale": "1000",
    "trim": "iqr",
}


def _build(client, **changes):  # type: ignore[no-untyped-def]
    r = post(client, "/dip/catalogues", {**FORM, **changes})
    catalogue_id = created_id(r, "/dip/catalogues/")
    pending = client.get(f"/dip/catalogues/{catalogue_id}", headers=HTML)
    job_id = re.search(r'data-job-wait="(\d+)"', pending.text)
    if job_id:  # the page waits for the job (it may already be done)
        assert wait_job(client, int(job_id.group(1)), timeout=120)["status"] == "succeeded"
    return catalogue_id


def test_build_publish_and_compare_on_the_pages(analyst, db) -> None:  # type: ignore[no-untyped-def]
    client = analyst
    index = text(client.get("/dip", headers=HTML))
    assert "还没有 DIP 目录" in index and 'data-testid="dip-build-form"' in index
    assert 'href="/dip">DIP 目录<' in index  # in the menu

    first = _build(client)
    page = text(client.get(f"/dip/catalogues/{first}", headers=HTML))
    row = db.get(DipCatalogue, first)
    db.refresh(row)
    assert row.status == "draft" and 'data-status="draft"' in page
    assert f'data-testid="fig-core">{row.summary["core_groups"]:,}<' in page
    data = json.loads(
        page.split('<script id="m-data" type="application/json">', 1)[1].split("</script>")[0]
    )
    assert [t["type"] for t in data["dip_types"]] == [
        "相关手术",
        "治疗性操作",
        "诊断性操作",
        "保守治疗",
    ]
    assert sum(t["core_groups"] for t in data["dip_types"]) == row.summary["core_groups"]
    assert sum(b["groups"] for b in data["dip_sizes"]) == row.summary["core_groups"]
    assert data["dip_sizes"][0]["label"] == "5–9"
    assert page.count('data-testid="dip-group"') == min(
        50, row.summary["core_groups"] + row.summary["comprehensive_groups"]
    )
    assert f"/api/dip/catalogues/{first}?format=xlsx" in page

    core_only = text(client.get(f"/dip/catalogues/{first}", params={"kind": "core"}, headers=HTML))
    kinds = re.findall(r'<td class="text-nowrap">(核心病种|综合病种)', core_only)
    assert kinds and set(kinds) == {"核心病种"}
    page2 = client.get(f"/dip/catalogues/{first}", params={"page": 2}, headers=HTML)
    assert page2.status_code == 200 and "第 2/" in text(page2)

    r = post(client, f"/dip/catalogues/{first}/simulations", {"year": "2025", "point_value": "10"})
    sim_id = created_id(r, "/dip/simulations/")
    pending = client.get(f"/dip/simulations/{sim_id}", headers=HTML)
    job_id = re.search(r'data-job-wait="(\d+)"', pending.text)
    if job_id:
        assert wait_job(client, int(job_id.group(1)), timeout=120)["status"] == "succeeded"
    sim_page = text(client.get(f"/dip/simulations/{sim_id}", headers=HTML))
    assert 'data-testid="fig-point">10.0000<' in sim_page and "指定点值" in sim_page
    sim_data = json.loads(
        sim_page.split('<script id="m-data" type="application/json">', 1)[1].split("</script>")[0]
    )
    assert len(sim_data["dip_hospitals"]) == sim_page.count('data-testid="dip-sim-hospital"') > 0
    assert f"/api/dip/simulations/{sim_id}?format=xlsx" in sim_page
    both = post(
        client,
        f"/dip/catalogues/{first}/simulations",
        {"year": "2025", "point_value": "10", "budget": "1000"},
    )
    assert both.status_code == 422 and "只能指定一个" in text(both)
    listed_sims = text(client.get(f"/dip/catalogues/{first}", headers=HTML))
    assert f'href="/dip/simulations/{sim_id}"' in listed_sims

    r = post(client, f"/dip/catalogues/{first}/publish")
    assert r.status_code == 303
    published = text(client.get(f"/dip/catalogues/{first}", headers=HTML))
    assert 'data-status="published"' in published and 'data-testid="dip-publish"' not in published
    again = post(client, f"/dip/catalogues/{first}/publish")
    assert again.status_code == 409 and "不可更改" in text(again)

    exported = client.get(f"/api/dip/catalogues/{first}", params={"format": "xlsx"}).content
    r = client.post(
        "/dip/catalogues/import",
        data={
            "csrf_token": client.csrf,
            "code": "DIP-IMP",
            "name": "导入的目录",
            "plan": "chs-drg-1.1",
        },
        files={"file": ("DIP目录.xlsx", exported)},
        headers=HTML,
        follow_redirects=False,
    )
    imported = created_id(r, "/dip/catalogues/")
    shown_import = text(client.get(f"/dip/catalogues/{imported}", headers=HTML))
    assert "导入自 DIP目录.xlsx" in shown_import and 'data-status="draft"' in shown_import
    broken = client.post(
        "/dip/catalogues/import",
        data={"csrf_token": client.csrf, "code": "DIP-IMP", "name": "x", "plan": "chs-drg-1.1"},
        files={"file": ("坏.xlsx", b"PK not really")},
        headers=HTML,
        follow_redirects=False,
    )
    assert broken.status_code == 422 and "Excel" in text(broken)
    assert 'data-testid="error-import"' in broken.text

    second = _build(client, threshold="8")
    shown = text(client.get(f"/dip/catalogues/{second}", headers=HTML))
    assert 'data-testid="dip-diff"' in shown and "与第 1 版相比" in shown
    listed = text(client.get("/dip", headers=HTML))
    assert listed.count('data-testid="dip-row"') == 3


def test_bad_form_and_other_roles(analyst, client, db) -> None:  # type: ignore[no-untyped-def]
    r = post(client, "/dip/catalogues", {**FORM, "threshold": "0"})
    assert r.status_code == 422 and "核心病种的病例数阈值" in text(r)
    assert 'value="DIP-2026"' in text(r)  # the form keeps what was typed
    r = post(client, "/dip/catalogues", {**FORM, "years": ["2024", "2025"]})
    assert r.status_code == 422 and "年度权重" in text(r)
    r = post(client, "/dip/catalogues", {**FORM, "code": ""})
    assert r.status_code == 422 and "目录编码" in text(r)
    assert db.query(DipCatalogue).count() == 0
    assert client.get("/dip/catalogues/12345", headers=HTML).status_code == 404
    client.post("/logout", data={"csrf_token": client.csrf})
    _login(client, "hosp01", DEMO_PASSWORD)
    assert client.get("/dip", headers=HTML).status_code == 403


def test_payment_scheme_on_the_catalogue_page(analyst, db) -> None:  # type: ignore[no-untyped-def]
    """A published catalogue shows its budget point value and takes a payment scheme;
    wrong input names the field in Chinese and stores nothing."""
    from yibao.dip.models import DipScheme

    client = analyst
    first = _build(client)
    draft = text(client.get(f"/dip/catalogues/{first}", headers=HTML))
    assert 'data-testid="budget-point-value"' in draft
    assert 'data-testid="dip-scheme-form"' not in draft  # only a published one settles
    assert post(client, f"/dip/catalogues/{first}/publish").status_code == 303
    page = text(client.get(f"/dip/catalogues/{first}", headers=HTML))
    value = re.search(r'data-testid="budget-point-value">([\d.]+)<', page).group(1)
    assert f'name="point_value" value="{value}"' in page  # the form proposes it
    form = {
        "name": "2026 年 DIP 付费",
        "valid_from": "2026-01-01",
        "point_value": value,
        "coef_3": "0.93",
        "coef_2": "0.72",
        "coef_1": "0.55",
        "add_ons": "H001 0.03",
    }
    bad = post(client, f"/dip/catalogues/{first}/schemes", form)
    assert bad.status_code == 422 and "医院编码=加成" in text(bad)
    bad = post(
        client, f"/dip/catalogues/{first}/schemes", {**form, "add_ons": "", "point_value": "abc"}
    )
    assert bad.status_code == 422 and "预算点值" in text(bad)
    bad = post(
        client, f"/dip/catalogues/{first}/schemes", {**form, "add_ons": "", "valid_from": ""}
    )
    assert bad.status_code == 422 and "生效日期" in text(bad)
    assert db.query(DipScheme).count() == 0
    ok = post(client, f"/dip/catalogues/{first}/schemes", {**form, "add_ons": "H001=0.03"})
    assert ok.status_code == 303, text(ok)
    shown = text(client.get(f"/dip/catalogues/{first}", headers=HTML))
    assert "2026 年 DIP 付费" in shown and "H001 +0.03" in shown and "已发布" in shown
    row = db.query(DipScheme).one()
    assert str(row.point_value) == value and row.params["add_ons"] == {"H001": "0.03"}
