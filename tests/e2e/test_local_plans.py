"""Local plans through HTTP (issue 16 item 4, ADR 0040): export a plan's workbook, a
malformed import refused by sheet and row with nothing stored, an edited import as a
draft with its checksum and diff, a trial on stored cases that agrees with regrouping
them, publication (immutable after), the region paying by it and every grouping result
carrying its checksum (SQLite, or PostgreSQL with YIBAO_TEST_DATABASE_URL)."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest
from sqlalchemy import func, select

from tests.e2e.test_grouping_api import wait_job
from tests.e2e.test_maps import _as
from tests.e2e.test_region_plans import world  # noqa: F401  (fixture)
from tests.unit.grouper.test_grouper_workbook import Sheets, _save, _sheets
from yibao.audit.models import AuditLog
from yibao.audit.service import SYSTEM
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.grouping.models import CaseGrouping, LocalPlan
from yibao.grouping.plans import plan_registry
from yibao.grouping.service import do_group_stored_cases

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _busiest_adrg(db) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    rows = db.execute(
        select(CaseGrouping.adrg, func.count())
        .where(CaseGrouping.plan_id == "chs-drg-1.1", CaseGrouping.status == "ok")
        .group_by(CaseGrouping.adrg)
        .order_by(func.count().desc())
    ).first()
    return str(rows[0]), int(rows[1])


def _split_all(sheets: Sheets, adrg: str) -> None:
    """A new first DRG of ``adrg`` for every case with an age: all its cases move."""
    drg = sheets["DRG"]
    at = next(i for i, r in enumerate(drg) if r[1] == adrg)
    drg.insert(at, [f"{adrg}0", adrg, "试点细分组（全部年龄）", "按条件", "年龄岁数 ≥ 0", ""])


def _import(client, data: bytes, plan_id: str):  # type: ignore[no-untyped-def]
    files = {"file": ("本地方案.xlsx", data, XLSX)}
    form = {"plan_id": plan_id, "reason": "医保发〔2026〕7号 试点细分"}
    return client.post("/api/grouping/local-plans", files=files, data=form)


@pytest.mark.slow
def test_local_plan_lifecycle(world, db, tmp_path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    client = _as(world, "admin")
    set_scope(db, SYSTEM_SCOPE)
    do_group_stored_cases(db, plan_registry(world.app.state.settings), actor=SYSTEM)
    db.commit()

    exported = client.get("/api/grouping/plans/chs-drg-1.1/workbook")
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith(XLSX)
    sheets = _sheets(exported.content)
    assert {"MDC", "ADRG", "DRG", "编码列表", "CC与MCC", "CC排除"} <= set(sheets)

    bad = {name: [list(r) for r in rows] for name, rows in sheets.items()}
    bad["DRG"][3][3] = "按年龄"
    refused = _import(client, _save(bad), "city-2026")
    assert refused.status_code == 422, refused.text
    issue = refused.json()["error"]["issues"][0]
    assert (issue["sheet"], issue["row"]) == ("DRG", 4) and "细分方式" in issue["message"]
    assert db.scalar(select(func.count(LocalPlan.id))) == 0
    local_dir = world.app.state.settings.var_dir / "local-plans"
    assert not (local_dir / "city-2026").exists()

    adrg, n_cases = _busiest_adrg(db)
    edited = {name: [list(r) for r in rows] for name, rows in sheets.items()}
    _split_all(edited, adrg)
    workbook = _save(edited)  # written once (seconds for the full plan), sent three times
    made = _import(client, workbook, "city-2026")
    assert made.status_code == 201, made.text
    draft = made.json()
    assert draft["status"] == "draft" and draft["base_plan_id"] == "chs-drg-1.1"
    assert f"{adrg}0" in draft["changes"]["text"] and draft["changes"]["empty"] is False
    assert (local_dir / "city-2026" / "plan.json").is_file()

    trial = client.post("/api/grouping/local-plans/city-2026/trial", json={"year": 2025})
    assert trial.status_code == 202, trial.text
    job = wait_job(client, trial.json()["job_id"])
    assert job["status"] == "succeeded", job
    result = client.get("/api/grouping/local-plans/city-2026").json()["trial"]
    # the trial agrees with grouping the stored cases by both plans
    do_group_stored_cases(
        db, plan_registry(world.app.state.settings), plan_id="city-2026", actor=SYSTEM
    )
    db.commit()
    by_plan: dict[str, dict[int, str]] = {"chs-drg-1.1": {}, "city-2026": {}}
    for case_id, plan, drg in db.execute(
        select(CaseGrouping.case_id, CaseGrouping.plan_id, CaseGrouping.drg).where(
            CaseGrouping.plan_id.in_(list(by_plan))
        )
    ):
        by_plan[plan][case_id] = drg
    changed = sum(1 for c, d in by_plan["city-2026"].items() if by_plan["chs-drg-1.1"][c] != d)
    assert result["cases"] == len(by_plan["city-2026"]) and result["changed"] == changed
    assert changed >= n_cases > 0
    moves = Counter({(m["from"], m["to"]): m["cases"] for m in result["moves"]})
    assert all(to == f"{adrg}0" for _, to in moves) and sum(moves.values()) == changed
    assert result["no_standard"] == changed  # the new group has no payment standard yet

    published = client.post(
        "/api/grouping/local-plans/city-2026/publish", json={"reason": "医保发〔2026〕8号"}
    )
    assert published.status_code == 200, published.text
    assert published.json()["checksum"] == draft["checksum"]
    again = _import(client, workbook, "city-2026")
    assert again.status_code == 409 and "已发布" in again.json()["error"]["message"]
    assert client.delete("/api/grouping/local-plans/city-2026").status_code == 409
    actions = set(db.scalars(select(AuditLog.action).where(AuditLog.object_type == "local_plan")))
    assert actions == {
        "grouping.local_plan_import",
        "grouping.local_plan_trial",
        "grouping.local_plan_publish",
    }

    # a server that has never seen the plan (another host): it is unpacked from the database
    shutil.rmtree(local_dir / "city-2026")
    plan_registry(world.app.state.settings).forget("city-2026")
    body = {"plan_id": "city-2026", "valid_from": "2026-01-01", "reason": "医保发〔2026〕8号"}
    assert client.post("/api/grouping/region-plans", json=body).status_code == 201
    info = plan_registry(world.app.state.settings).info("city-2026")
    assert info.meta.status == "published" and info.checksum == draft["checksum"]
    checksums = set(
        db.scalars(select(CaseGrouping.plan_checksum).where(CaseGrouping.plan_id == "city-2026"))
    )
    assert checksums == {draft["checksum"]}

    page = client.get("/grouping/local-plans", headers={"accept": "text/html"})
    assert page.status_code == 200 and "city-2026" in page.text and "已发布" in page.text
    hospital = _as(world, "hosp01")
    assert _import(hospital, workbook, "hosp-plan").status_code == 403
    seen = hospital.get("/api/grouping/local-plans/city-2026").json()
    assert seen["checksum"] == draft["checksum"] and seen["trial"] is None  # no region figures
    trial = hospital.post("/api/grouping/local-plans/city-2026/trial", json={"year": 2025})
    assert trial.status_code == 403
