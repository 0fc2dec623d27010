"""Input handling of group_one and group_batch, and their parity on awkward rows."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest

from yibao.engines.caseframe import GROUPER_INPUT
from yibao.engines.grouper import CaseFileError, CompiledPlan, group_batch, group_one
from yibao.engines.grouper import batch as batch_module

BASE: dict[str, Any] = {
    "case_id": "x",
    "sex": "1",
    "age_years": 50,
    "age_days": None,
    "birth_weight_g": None,
    "dept": None,
    "los_days": None,
    "discharge_type": None,
    "diagnoses": "K22.301|K11.901",
    "procedures": None,
}

ROWS: list[tuple[dict[str, Any], tuple[str, str]]] = [
    ({}, ("ok", "GZ13")),
    ({"diagnoses": "K22.301,K11.901"}, ("ok", "GZ13")),
    ({"diagnoses": "K22.301,K22.300|K11.901"}, ("ok", "GZ13")),
    ({"diagnoses": "K22.301|"}, ("dx_not_mapped", "0000")),  # empty segment = empty code
    ({"diagnoses": "K22.301||K11.901"}, ("dx_not_mapped", "0000")),
    ({"diagnoses": ""}, ("dx_not_mapped", "0000")),
    ({"diagnoses": None}, ("dx_not_mapped", "0000")),
    ({"diagnoses": " K22.301"}, ("dx_not_mapped", "0000")),  # nothing is trimmed
    ({"diagnoses": "B06.801+J17.1*"}, ("ungroupable", "0000")),  # maps to " B06.801+J17.1*"
    ({"procedures": ""}, ("ok", "GZ13")),
    ({"procedures": "45.1300"}, ("ok", "GZ13")),
    ({"procedures": "45.1300|"}, ("proc_not_mapped", "0000")),
    ({"procedures": "NOPE", "diagnoses": "NOPE"}, ("dx_not_mapped", "0000")),  # order of checks
    ({"sex": "3"}, ("check_failed", "0000")),
    ({"sex": None}, ("check_failed", "0000")),
    ({"sex": "1.0"}, ("check_failed", "0000")),
    ({"sex": "2", "diagnoses": "N40.x00"}, ("ungroupable", "0000")),  # male diagnosis, woman
    ({"age_years": None}, ("check_failed", "0000")),
    ({"age_years": 0, "diagnoses": "P07.100"}, ("check_failed", "0000")),  # no age in days
    ({"age_years": 0, "age_days": 10, "diagnoses": "P07.100"}, ("check_failed", "0000")),
    ({"age_years": 0, "age_days": 10, "birth_weight_g": 0, "diagnoses": "P07.100"}, ("ok", "PV15")),
    ({"age_years": 0, "age_days": 100, "diagnoses": "P07.100"}, ("ok", "PV15")),
    ({"diagnoses": "S06.000|S27.000|S36.000"}, ("ok", "ZZ11")),  # multiple trauma
]


@pytest.mark.parametrize(("change", "expected"), ROWS)
def test_group_one_awkward_rows(
    grouper11: CompiledPlan, change: dict[str, Any], expected: tuple[str, str]
) -> None:
    result = group_one(grouper11, {**BASE, **change})
    assert (result.status, result.drg) == expected
    assert result.message


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"sex": 1}, "ok"),
        ({"sex": 1.0}, "ok"),
        ({"sex": True}, "check_failed"),
        ({"sex": "01"}, "check_failed"),
        ({"sex": " 1"}, "check_failed"),
        ({"age_years": "50"}, "ok"),
        ({"age_years": 50.0}, "ok"),
        ({"age_years": "50.5"}, "check_failed"),
        ({"age_years": "abc"}, "check_failed"),
        ({"diagnoses": ["K22.301", "K11.901"]}, "ok"),
        ({"diagnoses": ("K22.301",), "procedures": ["45.1300"]}, "ok"),
        ({"diagnoses": []}, "check_failed"),  # empty list: "diagnosis list is empty"
    ],
)
def test_group_one_python_types(
    grouper11: CompiledPlan, change: dict[str, Any], status: str
) -> None:
    assert group_one(grouper11, {**BASE, **change}).status == status


def test_group_one_accepts_objects_and_missing_keys(grouper11: CompiledPlan) -> None:
    case = SimpleNamespace(sex=1, age_years=50, diagnoses="K22.301|K11.901")
    assert group_one(grouper11, case).drg == "GZ13"
    assert group_one(grouper11, {"sex": 1, "age_years": 50, "diagnoses": "K22.301"}).drg == "GZ15"
    assert group_one(grouper11, {}).status == "dx_not_mapped"


def _frame(
    rows: list[dict[str, Any]], **overrides: pl.DataType | type[pl.DataType]
) -> pl.DataFrame:
    schema = {**GROUPER_INPUT, **overrides}
    return pl.DataFrame(rows, schema=schema)


def _assert_parity(plan: CompiledPlan, frame: pl.DataFrame) -> None:
    batch = group_batch(plan, frame).select("status", "mdc", "adrg", "drg", "drg_name").rows()
    single = [tuple(group_one(plan, row)[:5]) for row in frame.iter_rows(named=True)]
    assert batch == single


def test_batch_parity_on_awkward_rows(grouper11: CompiledPlan) -> None:
    rows = [{**BASE, **change, "case_id": str(i)} for i, (change, _) in enumerate(ROWS)]
    frame = _frame(rows)
    _assert_parity(grouper11, frame)
    expected = [e for _, e in ROWS]
    assert group_batch(grouper11, frame).select("status", "drg").rows() == expected


def test_batch_parity_with_other_column_types(grouper11: CompiledPlan) -> None:
    sexes = [1, 2, 0, 3, None, 1, 1]
    ages = ["50", "abc", "50.5", "0", None, "7", "-1"]
    rows = [
        {**BASE, "case_id": str(i), "sex": s, "age_years": a, "age_days": 10}
        for i, (s, a) in enumerate(zip(sexes, ages, strict=True))
    ]
    _assert_parity(grouper11, _frame(rows, sex=pl.Int64, age_years=pl.String))
    floats = [{**r, "sex": None if r["sex"] is None else float(r["sex"])} for r in rows]
    _assert_parity(grouper11, _frame(floats, sex=pl.Float64, age_years=pl.String))
    texts = [{**r, "sex": None if r["sex"] is None else str(r["sex"])} for r in rows]
    _assert_parity(grouper11, _frame(texts, sex=pl.Categorical, age_years=pl.String))
    lists = [
        {**BASE, "case_id": "a", "diagnoses": ["K22.301", "K11.901"], "procedures": ["45.1300"]},
        {**BASE, "case_id": "b", "diagnoses": [], "procedures": []},
        {**BASE, "case_id": "c", "diagnoses": None, "procedures": None},
        {**BASE, "case_id": "d", "diagnoses": ["K22.301", "NOPE"], "procedures": None},
    ]
    frame = _frame(lists, diagnoses=pl.List(pl.String), procedures=pl.List(pl.String))
    assert group_batch(grouper11, frame).get_column("status").to_list() == [
        "ok",
        "check_failed",
        "check_failed",
        "dx_not_mapped",
    ]


def test_batch_keeps_input_and_replaces_result_columns(grouper11: CompiledPlan) -> None:
    frame = _frame([BASE]).with_columns(pl.lit("old").alias("status"), pl.lit(7).alias("extra"))
    out = group_batch(grouper11, frame)
    assert out.columns == [*GROUPER_INPUT, "status", "extra", "mdc", "adrg", "drg", "drg_name"]
    assert out.row(0, named=True)["status"] == "ok"
    assert out.get_column("extra").to_list() == [7]


def test_batch_edge_frames(grouper11: CompiledPlan) -> None:
    empty = group_batch(grouper11, _frame([]))
    assert empty.height == 0 and "drg" in empty.columns
    minimal = pl.DataFrame({"sex": ["1"], "age_years": [50], "diagnoses": ["K22.301"]})
    assert group_batch(grouper11, minimal).get_column("drg").to_list() == ["GZ15"]
    with pytest.raises(CaseFileError, match='缺少必需列 "diagnoses"'):
        group_batch(grouper11, pl.DataFrame({"sex": ["1"], "age_years": [50]}))


def test_batch_in_chunks_equals_one_pass(
    grouper11: CompiledPlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [{**BASE, **change, "case_id": str(i)} for i, (change, _) in enumerate(ROWS)]
    frame = _frame(rows)
    whole = group_batch(grouper11, frame)
    monkeypatch.setattr(batch_module, "CHUNK_ROWS", 4)
    assert group_batch(grouper11, frame).equals(whole)
