"""The demo seed's catalogue and insured register (issue 12 items 2 and 4): a published
catalogue of a few thousand synthetic entries for 演示市, people of three insured
places (one in another province) with valid ID numbers, accounts for employees only,
this year's figures that their postings add up to, and benefit policies for every
insured place; all deterministic and all removed by the reset."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from yibao.benefits.models import StoredPolicy
from yibao.catalogue.models import CatalogueEntry, CatalogueVersion
from yibao.catalogue.repository import catalogue_in_force
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.catalogue import demo_catalogue
from yibao.demo.insured import demo_places, demo_register
from yibao.demo.seed import reset_demo, seed_demo
from yibao.engines.insured import Delta, certno_problem, sex_of, total_of
from yibao.insured.models import (
    InsuredAccount,
    InsuredCumulative,
    InsuredIdentity,
    InsuredPerson,
    InsuredPosting,
)
from yibao.insured.repository import cumulative


@pytest.fixture()
def seeded(db):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    result = seed_demo(db, seed=11, years=[2024], cases_per_year=30)
    db.commit()
    return result


def test_people_of_three_places_with_valid_numbers(db, seeded) -> None:  # type: ignore[no-untyped-def]
    people = db.scalars(select(InsuredPerson)).all()
    assert len(people) == seeded.insured["persons"] == 1600
    places = Counter(p.insuplc_admdvs[:4] + "00" for p in people)
    assert places == {"990100": 1200, "990200": 200, "980100": 200}
    assert {p.insuplc_admdvs[:2] for p in people} == {"99", "98"}  # another province
    assert len({p.certno for p in people}) == len({p.psn_no for p in people}) == len(people)
    for p in people:
        assert certno_problem(p.certno) is None, p.certno
        assert p.certno[:6] == p.insuplc_admdvs and p.certno[6:14] == f"{p.brdy:%Y%m%d}"
        assert sex_of(p.certno) == p.gend
        assert p.psn_name.startswith("测试")
        assert (p.insutype == "310") == bool(p.emp_name)
        assert p.psn_type in (
            ("1101", "1102") if p.insutype == "310" else ("1401", "1402", "1403", "1404")
        )
    insutypes = Counter((p.insuplc_admdvs[:4], p.insutype) for p in people)
    assert all(
        insutypes[(place, kind)] > 0
        for place in ("9901", "9902", "9801")
        for kind in ("310", "390")
    )


def test_accounts_identities_and_figures(db, seeded) -> None:  # type: ignore[no-untyped-def]
    by_id = {p.id: p for p in db.scalars(select(InsuredPerson))}
    accounts = db.scalars(select(InsuredAccount)).all()
    assert {by_id[a.person_id].insutype for a in accounts} == {"310"}
    assert len(accounts) == sum(1 for p in by_id.values() if p.insutype == "310")
    assert all(0 < a.balc_e2 <= 2_000_000 for a in accounts)
    identities = db.scalars(select(InsuredIdentity)).all()
    assert identities and {by_id[i.person_id].insutype for i in identities} == {"390"}
    # every person's figures are exactly what their postings add up to
    year = db.scalar(select(func.max(InsuredPosting.year)))
    postings = db.scalars(select(InsuredPosting)).all()
    assert len(postings) == seeded.insured["openings"] > 100
    assert {p.kind for p in postings} == {"opening"}
    for posting in postings:
        figures = cumulative(db, posting.person_id, year)
        assert figures == total_of(year, [Delta.from_json(posting.deltas)])
        assert figures.get("medfee_sumamt") == (
            figures.get("fund_pay_sumamt") + figures.get("acct_pay") + figures.get("psn_cash_pay")
        )
        assert figures.get("act_pay_dedc") <= figures.get("inscp_scp_amt")
        # the kinds of figures a settlement posts (ADR 0017): the inpatient basic fund
        # counts against the cap, the burden left feeds the large-amount layer
        funds = figures.get("ipt_hifp") + figures.get("otp_hifp")
        assert funds == figures.get("fund_pay_sumamt")
        if figures.get("ipt_cnt"):
            assert figures.get("ipt_hifp") > 0 or figures.get("large_base") > 0
        # the outpatient fund paid only above a deductible paid first (the smallest one
        # of the demo policies: met at any level)
        if figures.get("otp_hifp") > 0:
            assert figures.get("otp_dedc") == (
                100 if by_id[posting.person_id].insutype == "390" else 200
            )
    rows = db.scalar(select(func.count()).select_from(InsuredCumulative))
    assert rows == sum(len(Delta.from_json(p.deltas).values) for p in postings)


def test_catalogue_and_policies_published(db, seeded) -> None:  # type: ignore[no-untyped-def]
    version = db.get(CatalogueVersion, seeded.catalogue_id)
    assert version.status == "published" and version.region_code == "990100"
    assert version.entry_count == 3000 and len(version.checksum) == 64
    kinds = dict(
        db.execute(
            select(CatalogueEntry.kind, func.count())
            .where(CatalogueEntry.version_id == version.id)
            .group_by(CatalogueEntry.kind)
        ).all()
    )
    assert set(kinds) == {"western", "patent", "herbal", "service", "material"}
    catalogue = catalogue_in_force(db, "990103", date.today())
    assert len(catalogue) == 3000
    classes = Counter(item.chrgitm_lv for item in catalogue.values())
    assert all(classes[c] > 200 for c in ("01", "02", "03"))
    assert sum(1 for i in catalogue.values() if i.restrictions) > 100
    b_items = [i for i in catalogue.values() if i.chrgitm_lv == "02"]
    assert all(Decimal(0) <= i.selfpay_prop < 1 for i in b_items)
    assert any(i.cap("1") != i.cap("3") for i in catalogue.values() if i.kind == "service")
    names = [i.name for i in catalogue.values() if i.kind in ("western", "patent", "herbal")]
    assert all("演" in n for n in names)  # clearly synthetic
    published = {
        (r.region_code, r.insutype)
        for r in db.scalars(select(StoredPolicy).where(StoredPolicy.status == "published"))
    }
    for place in ("990100", "990200", "980100"):
        assert {(place, "310"), (place, "390")} <= published


def test_generation_is_deterministic_and_reset_removes_it(db, seeded) -> None:  # type: ignore[no-untyped-def]
    assert demo_catalogue(11) == demo_catalogue(11) != demo_catalogue(12)
    places = demo_places(("990102", "990103"), 100)
    today = date(2026, 6, 1)
    assert demo_register(11, places, today) == demo_register(11, places, today)
    reset_demo(db)
    db.commit()
    for model in (
        InsuredPerson,
        InsuredAccount,
        InsuredPosting,
        InsuredCumulative,
        CatalogueVersion,
        CatalogueEntry,
    ):
        assert db.scalar(select(func.count()).select_from(model)) == 0, model
    assert db.scalar(select(func.count()).select_from(StoredPolicy)) == 0
