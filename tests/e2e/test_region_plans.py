"""The plan a region pays by (issue 16 item 3, ADR 0039): set by a bureau administrator
with validity dates (an open earlier period closed the day before, overlaps refused,
audited), then used for single-case grouping, stored-case grouping and intake by the
case's region and discharge date; setting one regroups nothing already stored
(SQLite, or PostgreSQL with YIBAO_TEST_DATABASE_URL)."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.builders.demo import demo_region
from tests.builders.settlement import plan_registry
from tests.e2e.test_grouping_api import payload
from tests.e2e.test_maps import _as
from tests.integration.test_grouping_stored import public_rows
from yibao.audit.models import AuditLog
from yibao.audit.service import SYSTEM
from yibao.cases.models import Case
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.grouping.models import CaseGrouping, RegionPlan
from yibao.grouping.service import do_group_stored_cases

HTML = {"accept": "text/html"}


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    demo_region(db, seed=5, years=[2025], cases_per_year=200)
    db.commit()
    return client


def _sha(plan_id: str) -> str:
    """The plan's content checksum, recomputed here (ADR 0040): canonical plan.json
    without the plan's id, title and provenance notes."""
    raw = json.loads((plan_registry().info(plan_id).path / "plan.json").read_text("utf-8"))
    raw.pop("source", None)
    raw["plan"] = {k: v for k, v in raw["plan"].items() if k not in ("id", "title")}
    for spec in raw["tables"].values():
        spec.pop("file", None)
        spec.pop("source", None)
    text = json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _set(client, plan: str, start: str, end: str | None = None, region: str | None = None):  # type: ignore[no-untyped-def]
    body = {"plan_id": plan, "valid_from": start, "valid_to": end, "reason": "医保发〔2025〕1号"}
    if region:
        body["region_code"] = region
    return client.post("/api/grouping/region-plans", json=body)


def test_set_periods_and_refusals(world, db) -> None:  # type: ignore[no-untyped-def]
    client = _as(world, "admin")
    grouped = db.scalar(select(func.count(CaseGrouping.id)))
    first = _set(client, "chs-drg-1.0", "2025-01-01")
    assert first.status_code == 201, first.text
    assert first.json()["region_code"] == "990100" and first.json()["valid_to"] is None
    second = _set(client, "chs-drg-1.1", "2025-07-01")
    assert second.status_code == 201, second.text
    rows = client.get("/api/grouping/region-plans").json()
    assert [(r["plan_id"], r["valid_from"], r["valid_to"]) for r in rows] == [
        ("chs-drg-1.0", "2025-01-01", "2025-06-30"),
        ("chs-drg-1.1", "2025-07-01", None),
    ]
    log = db.scalars(select(AuditLog).where(AuditLog.action == "grouping.region_plan")).all()
    assert len(log) == 2 and log[1].before["plan_id"] == "chs-drg-1.0"
    assert db.scalar(select(func.count(CaseGrouping.id))) == grouped  # nothing regrouped

    overlap = _set(client, "chs-drg-1.0", "2025-03-01", "2025-03-31")
    assert overlap.status_code == 409 and "重叠" in overlap.json()["error"]["message"]
    for body, status, field in (
        (("nothing-9", "2026-01-01"), 404, None),
        (("chs-drg-1.1", "2026-05-01", "2026-04-01"), 422, "valid_to"),
        (("chs-drg-1.1", "2026-01-01", None, "110000"), 403, None),
        (("chs-drg-1.1", "2026-01-01", None, "99x"), 422, "region_code"),
    ):
        r = _set(client, *body)
        assert r.status_code == status, (body, r.text)
        if field:
            assert r.json()["error"]["field"] == field
    assert db.scalar(select(func.count(RegionPlan.id))) == 2  # refusals stored nothing
    for user in ("analyst", "hosp01"):
        assert _set(_as(world, user), "chs-drg-1.1", "2027-01-01").status_code == 403
    page = _as(world, "admin").get("/grouping/region-plans", headers=HTML)
    assert page.status_code == 200 and page.text.count('data-testid="region-plan-row"') == 2


def test_grouping_uses_the_regions_plan(world, db) -> None:  # type: ignore[no-untyped-def]
    client = _as(world, "admin")
    assert _set(client, "chs-drg-1.0", "2025-01-01", "2025-06-30").status_code == 201
    body = payload(public_rows(1)[0])
    del body["plan"]
    for user in ("admin", "hosp01"):  # a hospital inherits its city's plan
        c = _as(world, user)
        body["discharge_date"] = "2025-03-01"
        r = c.post("/api/grouping/group", json=body).json()
        assert (r["plan_id"], r["plan_reason"]) == ("chs-drg-1.0", "region"), (user, r)
        body["discharge_date"] = "2025-08-01"  # after the period: the national plan by date
        r = c.post("/api/grouping/group", json=body).json()
        assert r["plan_reason"] == "discharge_date", (user, r)

    assert r["plan_checksum"] == _sha(r["plan_id"])  # the exact plan, by content

    set_scope(db, SYSTEM_SCOPE)
    do_group_stored_cases(db, plan_registry(), actor=SYSTEM)
    db.commit()
    stored = db.execute(select(CaseGrouping.plan_id, CaseGrouping.plan_checksum)).all()
    assert stored and all(checksum == _sha(plan) for plan, checksum in stored)
    for case_id, day in db.execute(select(Case.id, Case.discharge_date)):
        plans = set(db.scalars(select(CaseGrouping.plan_id).where(CaseGrouping.case_id == case_id)))
        want = "chs-drg-1.0" if date(2025, 1, 1) <= day <= date(2025, 6, 30) else None
        if want:
            assert want in plans, (case_id, day, plans)
        else:
            assert "chs-drg-1.0" not in plans, (case_id, day, plans)
