from __future__ import annotations

from pathlib import Path

import polars as pl

from yibao.engines.caseframe import CASES, DIAGNOSES, PROCEDURES
from yibao.engines.synth import CaseBatch, write_parquet


def test_write_parquet_streams_all_batches(batches: list[CaseBatch], tmp_path: Path) -> None:
    counts = write_parquet(iter(batches), tmp_path / "out", targets=True)
    assert counts["cases"] == sum(b.cases.height for b in batches)
    assert counts["diagnoses"] == sum(b.diagnoses.height for b in batches)
    assert counts["procedures"] == sum(b.procedures.height for b in batches)
    assert counts["targets"] == counts["cases"]
    for name, schema in (("cases", CASES), ("diagnoses", DIAGNOSES), ("procedures", PROCEDURES)):
        frame = pl.read_parquet(tmp_path / "out" / f"{name}.parquet")
        assert frame.height == counts[name]
        assert list(frame.schema) == list(schema)
        assert all(frame.schema[c] == t for c, t in schema.items())
    back = pl.read_parquet(tmp_path / "out" / "cases.parquet")
    assert back.equals(pl.concat([b.cases for b in batches]))


def test_write_parquet_without_batches(tmp_path: Path) -> None:
    assert write_parquet([], tmp_path) == {"cases": 0, "diagnoses": 0, "procedures": 0}
