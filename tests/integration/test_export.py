"""Cases export to Parquet with the caseframe schema; Polars reads it back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl

from tests import builders as b
from yibao.cases.service import export_parquet
from yibao.db.scoping import Scope, set_scope
from yibao.engines.caseframe import CASES, DIAGNOSES, PROCEDURES, to_grouper_input


def test_export_roundtrip(db, tmp_path):  # type: ignore[no-untyped-def]
    ha = b.hospital(db, "990102")
    hb = b.hospital(db, "990103")
    b.case(db, ha, total_cost="1234.56", discharge_date=date(2024, 5, 1))
    b.case(db, ha, discharge_date=date(2025, 1, 2))
    b.case(db, hb)
    db.commit()
    counts = export_parquet(db, tmp_path / "all", batch_rows=2)
    assert counts == {"cases": 3, "diagnoses": 6, "procedures": 3}
    cases = pl.read_parquet(tmp_path / "all" / "cases.parquet")
    assert cases.schema == pl.Schema(CASES)
    assert pl.read_parquet(tmp_path / "all" / "diagnoses.parquet").schema == pl.Schema(DIAGNOSES)
    assert pl.read_parquet(tmp_path / "all" / "procedures.parquet").schema == pl.Schema(PROCEDURES)
    assert Decimal("1234.56") in cases["total_cost"].to_list()
    # a hospital-scoped export only has that hospital's rows
    set_scope(db, Scope(hospital_id=hb.id))
    counts = export_parquet(db, tmp_path / "hb")
    assert counts["cases"] == 1
    # year filter
    set_scope(db, Scope(is_global=True))
    assert export_parquet(db, tmp_path / "y", year=2024)["cases"] == 1
    grouped = to_grouper_input(
        cases,
        pl.read_parquet(tmp_path / "all" / "diagnoses.parquet"),
        pl.read_parquet(tmp_path / "all" / "procedures.parquet"),
    )
    assert grouped["diagnoses"].to_list() == ["I21.000|E11.900"] * 3
