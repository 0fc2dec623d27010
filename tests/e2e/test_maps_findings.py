"""地图定位 coloured by audit findings (issue 15 items 1 and 3): per district and per
hospital, the year's real-time audits (audits, those with findings, findings,
violation amount) and post-audit findings (published or later, not dismissed — for a
bureau and a hospital alike) equal direct sums over the stored rows, in the viewer's
scope, and the 机构月度 report's 疑点 columns; the page offers 疑点数 / 疑点金额 beside
cost, fund and cases (SQLite, or PostgreSQL with YIBAO_TEST_DATABASE_URL)."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from tests.builders.settlement import plan_registry
from tests.e2e.test_maps import _as
from yibao.analysis.refresh import do_refresh
from yibao.db.scoping import SYSTEM_SCOPE, region_prefix, set_scope
from yibao.demo.seed import SEED_ACTOR, seed_demo
from yibao.kit.timeutil import BUSINESS_TZ, local
from yibao.regions.models import Hospital, Region
from yibao.supervision.findings.models import Finding
from yibao.supervision.realtime.models import AuditRequest

HTML = {"accept": "text/html"}
STATES = ["new", "published", "answered", "upheld", "dismissed", "deducted"]


def _audits(db, hospitals: list[Hospital], rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """Audits of 2025 (and a few of 2024 and of 2026's first hour in business time,
    which 2025 must not count), with and without findings."""
    moments = [datetime(2025, 1, 1, 0, 0, 1, tzinfo=BUSINESS_TZ)]
    moments += [
        datetime(2025, 1, 1, tzinfo=BUSINESS_TZ) + timedelta(hours=rng.randrange(8700))
        for _ in range(70)
    ]
    moments += [
        datetime(2024, 12, 31, 23, 59, tzinfo=BUSINESS_TZ),
        datetime(2026, 1, 1, 0, 30, tzinfo=BUSINESS_TZ),
    ]
    for i, at in enumerate(moments):
        h = hospitals[i] if i < len(hospitals) else rng.choice(hospitals)  # each one some
        found = 1 if i < len(hospitals) else rng.choice([0, 0, 1, 2, 3])
        db.add(
            AuditRequest(
                hospital_id=h.id,
                region_code=h.region_code,
                task_id=f"{i:032x}",
                via="api",
                infno="3101",
                stage="pre",
                psn_no=f"P{i}",
                mdtrt_id=f"M{i}",
                admdvs="990100",
                rule_set_id=1,
                rule_set_version=1,
                findings=found,
                vola_amt=Decimal(rng.randrange(0, 50_000)) / 100 if found else Decimal("0.00"),
                request={},
                result={},
                received_at=at,
                answered_at=at,
            )
        )


def _findings(db, hospitals: list[Hospital], rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    for i in range(60):
        h = rng.choice(hospitals)
        state = rng.choice(STATES)
        period = rng.choice(["2024-12", "2025-01", "2025-06", "2025-12", "2026-01"])
        db.add(
            Finding(
                hospital_id=h.id,
                region_code=h.region_code,
                jr_id=f"MAP-{i}",
                source="rule",
                rule_id="T-AGE",
                rule_version=1,
                rule_name="年龄限定",
                family="age",
                result_type="definite",
                sev_deg=2,
                hospital_code=h.code,
                period=period,
                vola_cont="测试",
                vola_evid="测试",
                vola_amt=Decimal(rng.randrange(100, 90_000)) / 100,
                state=state,
                published_at=None if state == "new" else datetime(2025, 7, 1, tzinfo=BUSINESS_TZ),
            )
        )


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    seed_demo(db, seed=11, years=[2025], cases_per_year=200)
    db.flush()
    hospitals = list(db.scalars(select(Hospital).where(Hospital.region_code.startswith("9901"))))
    rng = random.Random(15)
    _audits(db, hospitals, rng)
    _findings(db, hospitals, rng)
    db.commit()
    return client


def _by_hand(
    db, *, hospital_id: int | None = None, prefix: str = "9901"
) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Per district of the demo city: the 2025 figures summed row by row."""
    set_scope(db, SYSTEM_SCOPE)
    districts = [r.code for r in db.scalars(select(Region).where(Region.parent_code == "990100"))]
    codes = {h.id: h.code for h in db.scalars(select(Hospital))}
    out: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "audits": 0,
            "flagged": 0,
            "rt_findings": 0,
            "rt_amount": Decimal(0),
            "post_findings": 0,
            "post_amount": Decimal(0),
        }
    )

    def district_of(region: str) -> str:
        return next(d for d in districts if region.startswith(region_prefix(d)))

    def mine(hid: int, region: str) -> bool:
        return (hospital_id is None or hid == hospital_id) and region.startswith(prefix)

    for a in db.scalars(select(AuditRequest)):
        if local(a.received_at).year == 2025 and mine(a.hospital_id, a.region_code):
            d = out[district_of(a.region_code)]
            d["audits"] += 1
            d["flagged"] += 1 if a.findings else 0
            d["rt_findings"] += a.findings
            d["rt_amount"] += a.vola_amt
    for f in db.scalars(select(Finding)):
        seen = f.state not in ("new", "dismissed")  # 待公示 ones are not counted yet
        if f.period.startswith("2025-") and seen and mine(f.hospital_id, f.region_code):
            assert codes[f.hospital_id] == f.hospital_code
            d = out[district_of(f.region_code)]
            d["post_findings"] += 1
            d["post_amount"] += f.vola_amt
    return out


def _check(shown: list[dict[str, Any]], want: dict[str, dict[str, Any]]) -> None:
    got = {d["code"]: d for d in shown if d["audits"] or d["post_findings"]}
    assert set(got) == set(want)
    for code, w in want.items():
        g = got[code]
        for key in ("audits", "flagged", "rt_findings", "post_findings"):
            assert g[key] == w[key], (code, key)
        assert Decimal(str(g["rt_amount"])) == w["rt_amount"]
        assert Decimal(str(g["post_amount"])) == w["post_amount"]
        assert g["findings"] == w["rt_findings"] + w["post_findings"]
        assert Decimal(str(g["amount"])) == w["rt_amount"] + w["post_amount"]


def test_map_figures_of_findings_equal_direct_sums(world, db) -> None:  # type: ignore[no-untyped-def]
    client = _as(world, "admin")
    figures = client.get("/api/maps/current/figures", params={"year": 2025}).json()
    want = _by_hand(db)
    assert len(want) >= 3
    _check(figures["districts"], want)
    # per hospital: the same sums again
    assert sum(h["findings"] for h in figures["hospitals"]) == sum(
        w["rt_findings"] + w["post_findings"] for w in want.values()
    )
    assert sum(h["audits"] for h in figures["hospitals"]) == sum(w["audits"] for w in want.values())
    # the page: 疑点 metrics, and 2026 (audits, no discharges) among the years
    page = client.get("/maps", params={"year": 2025, "metric": "findings"}, headers=HTML).text
    assert '<option value="findings" selected>疑点数</option>' in page
    assert (
        ">疑点金额</option>" in page
        and 'name="metric" id="map-metric-keep" value="findings"' in page
    )
    assert re.search(r'<option value="2026"\s*>2026</option>', page)
    assert page.count('data-testid="map-district-findings"') == page.count(
        'data-testid="map-district-row"'
    )

    district = _as(world, "district_reviewer")
    mine = district.get("/api/maps/current/figures", params={"year": 2025}).json()
    assert len(mine["districts"]) == 1
    own = mine["districts"][0]["code"]
    _check(mine["districts"], {own: want[own]})

    hospital = _as(world, "hosp01")
    mine = hospital.get("/api/maps/current/figures", params={"year": 2025}).json()
    assert len(mine["hospitals"]) == 1
    set_scope(db, SYSTEM_SCOPE)
    own_h = db.scalar(select(Hospital).where(Hospital.code == mine["hospitals"][0]["code"]))
    assert own_h is not None
    own_want = _by_hand(db, hospital_id=own_h.id)
    assert own_want and next(iter(own_want.values()))["audits"] > 0
    _check(mine["districts"], own_want)


def test_map_and_institutions_report_count_the_same_findings(world, db) -> None:  # type: ignore[no-untyped-def]
    """The map's 疑点 of a district = the 机构月度 report's 实时疑点数 + 事后疑点数 of its
    hospitals (amounts likewise) = the sums by hand; 待公示 findings count in none."""
    set_scope(db, SYSTEM_SCOPE)
    assert db.scalar(select(Finding.id).where(Finding.state == "new").limit(1)) is not None
    do_refresh(db, "990100", SEED_ACTOR, registry=plan_registry())
    db.commit()
    want = {
        code: (w["rt_findings"] + w["post_findings"], w["rt_amount"] + w["post_amount"])
        for code, w in _by_hand(db).items()
        if w["rt_findings"] + w["post_findings"]
    }
    districts = {h.code: h.region_code for h in db.scalars(select(Hospital))}

    figures = _as(world, "admin").get("/api/maps/current/figures", params={"year": 2025}).json()
    on_map = {
        d["code"]: (d["findings"], Decimal(str(d["amount"])))
        for d in figures["districts"]
        if d["findings"]
    }
    assert on_map == want
    assert "不含待公示" in world.get("/maps", params={"year": 2025}, headers=HTML).text

    body = (
        _as(world, "analyst")
        .get("/api/analysis/reports/institutions", params={"year": 2025})
        .json()
    )
    in_report: dict[str, tuple[int, Decimal]] = defaultdict(lambda: (0, Decimal(0)))
    for r in body["rows"]:
        n, amount = in_report[districts[r["hospital_code"]]]
        n += r["rt_findings"] + r["findings"]
        amount += Decimal(r["vola_amt"]) + Decimal(r["finding_amt"])
        in_report[districts[r["hospital_code"]]] = (n, amount)
    assert {c: v for c, v in in_report.items() if v[0]} == want
    assert any("不含待公示" in n for n in body["notes"])
