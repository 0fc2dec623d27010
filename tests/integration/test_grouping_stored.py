"""Grouping stored cases into ``case_groupings``: parity with the public reference
results, one current row per (case, plan), plan by discharge date, scoping, audit."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import builders as b
from tests.conftest import SHARED
from yibao.audit.models import AuditLog
from yibao.cases.models import Case, CaseDiagnosis, CaseProcedure
from yibao.cases.repository import CaseFilter
from yibao.db.scoping import SYSTEM_SCOPE, Scope, set_scope
from yibao.grouping.models import CaseGrouping
from yibao.grouping.plans import plan_registry
from yibao.grouping.service import do_group_stored_cases
from yibao.regions.models import Hospital

PUBLIC = SHARED / "data" / "chs-drg-1.1" / "cases-public.csv"
ACTOR = b.TEST_ACTOR


def public_rows(n: int, *, valid_sex: bool = True) -> list[dict[str, Any]]:
    """The first public reference cases (strings; empty cells None)."""
    if not PUBLIC.exists():
        pytest.skip(f"共享数据不存在（{PUBLIC}）/ ../shared/data not beside the repository")
    df = pl.read_csv(PUBLIC, infer_schema=False)
    if valid_sex:
        df = df.filter(pl.col("sex").is_in(["1", "2"]) & pl.col("age_years").is_not_null())
    return df.head(n).to_dicts()


def _int(value: str | None) -> int | None:
    return None if value in (None, "") else int(value)


def stored_case(
    db: Session, hospital: Hospital, row: dict[str, Any], discharge: date = date(2024, 3, 1)
) -> Case:
    """A stored case with the demographics and codes of a public reference case."""
    c = b.case(
        db,
        hospital,
        sex=row["sex"],
        age_years=_int(row["age_years"]),
        age_days=_int(row["age_days"]),
        birth_weight_g=_int(row["birth_weight_g"]),
        los_days=_int(row["los_days"]) or 1,
        discharge_dept=row["dept"],
        discharge_date=discharge,
    )
    c.diagnoses.clear()
    c.procedures.clear()
    db.flush()
    c.diagnoses = [
        CaseDiagnosis(seq=i, code=code, is_principal=i == 0)
        for i, code in enumerate((row["diagnoses"] or "").split("|"))
    ]
    c.procedures = [
        CaseProcedure(seq=i, code=code, is_principal=i == 0)
        for i, code in enumerate(row["procedures"].split("|") if row["procedures"] else [])
    ]
    db.flush()
    return c


def _groupings(db: Session) -> dict[tuple[int, str], CaseGrouping]:
    db.expire_all()
    rows = db.scalars(select(CaseGrouping).execution_options(skip_scope=True)).all()
    return {(g.case_id, g.plan_id): g for g in rows}


def test_stored_cases_match_public_results_and_rerun_replaces(db, settings) -> None:  # type: ignore[no-untyped-def]
    rows = public_rows(120)
    ha = b.hospital(db, "990102")
    cases = [stored_case(db, ha, r) for r in rows]
    db.commit()
    set_scope(db, SYSTEM_SCOPE)
    registry = plan_registry(settings)
    seen: list[tuple[int, int]] = []
    summary = do_group_stored_cases(
        db,
        registry,
        plan_id="chs-drg-1.1",
        actor=ACTOR,
        progress=lambda done, total: seen.append((done, total)),
        chunk_rows=50,  # three chunks
    )
    db.commit()
    assert summary["total"] == summary["grouped"] == 120
    assert seen[0] == (0, 120) and seen[-1] == (120, 120) and len(seen) == 4
    stored = _groupings(db)
    assert len(stored) == 120
    for case, row in zip(cases, rows, strict=True):
        g = stored[(case.id, "chs-drg-1.1")]
        assert (g.status, g.mdc, g.adrg, g.drg) == (
            row["status"],
            row["mdc"],
            row["adrg"],
            row["drg"],
        ), row["case_id"]
        assert g.plan_version == "1.1"
        assert (g.hospital_id, g.region_code) == (ha.id, ha.region_code)
        assert g.grouped_at.tzinfo is not None
    assert sum(summary["by_status"].values()) == 120
    first_at = stored[(cases[0].id, "chs-drg-1.1")].grouped_at

    # re-running replaces the rows of the same (case, plan); nothing is duplicated
    do_group_stored_cases(db, registry, plan_id="chs-drg-1.1", actor=ACTOR)
    db.commit()
    again = _groupings(db)
    assert len(again) == 120
    assert again[(cases[0].id, "chs-drg-1.1")].grouped_at >= first_at
    # another plan adds its own rows next to them
    do_group_stored_cases(db, registry, plan_id="chs-drg-1.0", case_ids=[cases[0].id], actor=ACTOR)
    db.commit()
    assert len(_groupings(db)) == 121
    audits = db.scalars(select(AuditLog).where(AuditLog.action == "grouping.regroup")).all()
    assert len(audits) == 3  # one per run, not per case
    assert audits[0].after["grouped"] == 120 and audits[0].after["total"] == 120


def test_plan_by_discharge_date(db, settings) -> None:  # type: ignore[no-untyped-def]
    row = public_rows(1)[0]
    h = b.hospital(db, "990102")
    new = stored_case(db, h, row, date(2023, 5, 1))
    old = stored_case(db, h, row, date(2021, 5, 1))
    none = stored_case(db, h, row, date(2019, 5, 1))  # before any plan's validity
    db.commit()
    set_scope(db, SYSTEM_SCOPE)
    summary = do_group_stored_cases(db, plan_registry(settings), actor=ACTOR)
    db.commit()
    stored = _groupings(db)
    assert set(stored) == {(new.id, "chs-drg-1.1"), (old.id, "chs-drg-1.0")}
    assert none.id not in {k[0] for k in stored}
    assert summary["no_plan"] == 1 and summary["grouped"] == 2
    assert set(summary["plans"]) == {"chs-drg-1.0", "chs-drg-1.1"}


def test_scope_limits_what_is_grouped(db, settings) -> None:  # type: ignore[no-untyped-def]
    rows = public_rows(3)
    ha = b.hospital(db, "990102")
    hb = b.hospital(db, "990103")
    a_cases = [stored_case(db, ha, r) for r in rows[:2]]
    b_case = stored_case(db, hb, rows[2])
    db.commit()
    registry = plan_registry(settings)
    set_scope(db, Scope(hospital_id=ha.id))
    # even asking for B's case by id (or by B's code) groups nothing of B
    summary = do_group_stored_cases(
        db, registry, case_ids=[c.id for c in a_cases] + [b_case.id], actor=ACTOR
    )
    db.commit()
    assert summary["total"] == 2
    summary = do_group_stored_cases(
        db, registry, flt=CaseFilter(hospital_code=hb.code), actor=ACTOR
    )
    db.commit()
    assert summary["total"] == 0
    assert {cid for cid, _ in _groupings(db)} == {c.id for c in a_cases}
    # a hospital session reads only its own results
    assert db.scalar(select(func.count(CaseGrouping.id))) == 2
    set_scope(db, Scope(hospital_id=hb.id))
    assert db.scalar(select(func.count(CaseGrouping.id))) == 0


def test_deleting_a_case_removes_its_groupings(db, settings) -> None:  # type: ignore[no-untyped-def]
    h = b.hospital(db, "990102")
    c = stored_case(db, h, public_rows(1)[0])
    db.commit()
    set_scope(db, SYSTEM_SCOPE)
    do_group_stored_cases(db, plan_registry(settings), plan_id="chs-drg-1.1", actor=ACTOR)
    db.commit()
    db.delete(db.get(Case, c.id))
    db.commit()
    assert _groupings(db) == {}
