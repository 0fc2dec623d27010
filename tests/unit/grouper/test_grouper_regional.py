"""The regional plan-format additions (PLAN-FORMAT-ADDITIONS.md) on hand-made cases.

The public cases of the regional plans never reach some constructs (an ADRG that
falls through with ``if_no_drg``, the text-only sex check with an integer sex, a
raw code with ``00`` in characters 2–3), so a variant of CHS-DRG 1.1 uses all of
them here; every case goes through the single, traced and batch paths.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from yibao.engines.grouper import (
    CompiledPlan,
    Plan,
    PlanError,
    compile_plan,
    group_batch,
    group_one,
)
from yibao.engines.grouper.conditions import AllOf, AnyOf, Prim
from yibao.engines.grouper.model import AdrgSpec
from yibao.engines.grouper.tables import Checker, cc_mcc_table

MCC, CC = "A01.100", "A00.100"  # valid MCC / CC for principal K22.301 (exclusion table 111)


@pytest.fixture(scope="module")
def regional(request: pytest.FixtureRequest) -> CompiledPlan:
    """CHS-DRG 1.1 with GZ1 split by conditions, ``if_no_drg``, result codes, text-only sex."""
    from tests.unit.grouper.conftest import _plan

    plan: Plan = _plan("chs-drg-1.1")
    icu = Prim("field_range", field="icu_hours", gt=120)
    icu_mcc = AllOf((Prim("field_in", field="dept", values=("ICU",)), Prim("has_mcc")))
    drgs = dict(plan.drgs)
    drgs["GZ13"] = dataclasses.replace(
        drgs["GZ13"], split="condition", condition=AnyOf((icu, icu_mcc))
    )
    drgs["GZ15"] = dataclasses.replace(drgs["GZ15"], split="cc")
    adrgs = dict(plan.adrgs)
    adrgs["GZ1"] = dataclasses.replace(adrgs["GZ1"], next_adrg=True)
    # an ADRG without DRGs whose code has "00" in characters 2–3 (additions §6)
    lists = {**plan.code_lists, "G00.lit1": ("K22.300",)}
    adrgs["G00"] = AdrgSpec("G00", "G", Prim("principal_dx_in", list_name="G00.lit1"), ())
    mdcs = dict(plan.mdcs)
    mdcs["G"] = dataclasses.replace(mdcs["G"], adrgs=("G00", *mdcs["G"].adrgs))
    variant = dataclasses.replace(
        plan,
        drgs=drgs,
        adrgs=adrgs,
        mdcs=mdcs,
        code_lists=lists,
        sex_accepted=("1", "2"),
        no_group=("0000", "00", "0000A"),
        no_group_raw="0000",
        mdc_no_group=("00", "0000B"),
        input_failure=("", "", ""),
    )
    return compile_plan(variant)


def _case(dx: str, **extra: Any) -> dict[str, Any]:
    return {"sex": "1", "age_years": 50, "diagnoses": dx, "procedures": "", **extra}


CASES: list[tuple[dict[str, Any], tuple[str, str, str, str]]] = [
    # GZ13 = ICU hours > 120, or department ICU with a valid MCC; GZ15 = split "cc"
    (_case("K22.301", icu_hours=121), ("ok", "MDCG", "GZ1", "GZ13")),
    (_case(f"K22.301|{MCC}", dept="ICU", icu_hours=0), ("ok", "MDCG", "GZ1", "GZ13")),
    (_case(f"K22.301|{CC}", icu_hours=0), ("ok", "MDCG", "GZ1", "GZ15")),
    (_case(f"K22.301|{MCC}|{CC}", dept="04", icu_hours=0), ("ok", "MDCG", "GZ1", "GZ15")),
    # no split holds → if_no_drg: the walk goes on and finds nothing (raw 0000 → 0000A)
    (_case("K22.301", icu_hours=120), ("ungroupable", "0000", "00", "0000A")),
    (_case(f"K22.301|{MCC}", dept="04", icu_hours=0), ("ungroupable", "0000", "00", "0000A")),
    (_case("K22.301", icu_hours="0"), ("ungroupable", "0000", "00", "0000A")),
    # the ADRG G00 (no DRG) gives the raw code G00 → mdc_no_group
    (_case("K22.300", icu_hours=0), ("ungroupable", "MDCG", "00", "0000B")),
    # input failures use result_codes.input_failure
    (_case("NOT.A.CODE"), ("dx_not_mapped", "", "", "")),
    (_case("K22.301", sex="男", icu_hours=0), ("check_failed", "", "", "")),
    # a plan that reads icu_hours needs it in every case (additions §2): missing, or
    # not a whole number, is an input failure, not a case without intensive care
    (_case(f"K22.301|{MCC}", dept="ICU"), ("check_failed", "", "", "")),
    (_case("K22.301", icu_hours="4.5"), ("check_failed", "", "", "")),
]


@pytest.mark.parametrize(("case", "want"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_single_and_traced_paths(
    regional: CompiledPlan, case: dict[str, Any], want: tuple[str, ...]
) -> None:
    assert tuple(group_one(regional, case)[:4]) == want
    traced = group_one(regional, case, trace=True)
    assert tuple(traced[:4]) == want
    assert traced.trace is not None and traced.trace[-1].code == "RESULT"


def test_batch_path(regional: CompiledPlan) -> None:
    def text(value: Any) -> str | None:  # as a case file gives it: text, or missing
        return None if value is None else str(value)

    frame = pl.DataFrame(
        [{"dept": None, **case, "icu_hours": text(case.get("icu_hours"))} for case, _ in CASES],
        schema_overrides={"icu_hours": pl.String, "dept": pl.String},
    )
    got = group_batch(regional, frame).select("status", "mdc", "adrg", "drg").rows()
    assert got == [want for _, want in CASES]


def test_text_only_sex_refuses_numbers_in_every_path(regional: CompiledPlan) -> None:
    case = _case(f"K22.301|{CC}", sex=1)
    want = ("check_failed", "", "", "")
    assert tuple(group_one(regional, case)[:4]) == want
    assert tuple(group_one(regional, case, trace=True)[:4]) == want
    frame = pl.DataFrame([case, {**case, "sex": 2}])
    assert group_batch(regional, frame).select("status").to_series().to_list() == [
        "check_failed",
        "check_failed",
    ]


def test_if_no_drg_is_traced(regional: CompiledPlan) -> None:
    result = group_one(regional, _case("K22.301", icu_hours=0), trace=True)
    assert result.trace is not None
    assert "ADRG_NO_DRG" in [step.code for step in result.trace]


def test_code_listed_as_mcc_and_cc_counts_as_both() -> None:
    table = cc_mcc_table(Checker("t"), [["X1", "MCC", "9"], ["X1", "CC", "9"], ["X2", "CC", "1"]])
    assert table["X1"].level == "MCC+CC" and table["X2"].level == "CC"
    with pytest.raises(PlanError, match="cc_mcc"):
        cc_mcc_table(Checker("t"), [["X1", "MCC", "9"], ["X1", "CC", "8"]])


Change = Callable[[dict[str, Any]], None]


def _gz13(raw: dict[str, Any], **spec: Any) -> None:
    raw["drgs"]["GZ13"].update(spec)


REFUSED: list[tuple[Change, str]] = [
    (lambda r: r.update(icu_rules=[]), "icu_rules"),
    (lambda r: r["plan"].update(region="x"), "plan.region"),
    (lambda r: r["drgs"]["GZ13"].update(weight=1), "drgs.GZ13.weight"),
    (lambda r: r["adrgs"]["GZ1"].update(if_no_drg="stop"), "adrgs.GZ1.if_no_drg"),
    (lambda r: r.update(no_group_retry="all"), "no_group_retry"),
    (lambda r: r["result_codes"].update(other={}), "result_codes.other"),
    (lambda r: _gz13(r, split="condition"), "drgs.GZ13.condition"),
    (lambda r: _gz13(r, split="cc_only"), "drgs.GZ13.split"),
    (
        lambda r: _gz13(r, split="condition", condition={"op": "icu_between", "lo": 1}),
        "drgs.GZ13.condition.op",
    ),
    (
        lambda r: _gz13(r, split="condition", condition={"op": "field_range", "field": "weight"}),
        "drgs.GZ13.condition.field",
    ),
    (
        lambda r: _gz13(r, split="condition", condition={"op": "field_range", "field": "los_days"}),
        "drgs.GZ13.condition",
    ),
    (
        lambda r: _gz13(
            r, split="condition", condition={"op": "field_in", "field": "dept", "values": "ICU"}
        ),
        "drgs.GZ13.condition.values",
    ),
    (
        lambda r: _gz13(r, split="condition", condition={"op": "secondary_dx_in", "list": "nope"}),
        "drgs.GZ13.condition.list",
    ),
    (
        lambda r: r["input_checks"][2].update(accepted=["男"]),
        "input_checks[2].accepted",
    ),
]


@pytest.mark.parametrize(("change", "where"), REFUSED, ids=[w for _, w in REFUSED])
def test_unknown_or_malformed_construct_is_refused(
    plan_copy: Path, edit_json: Any, change: Change, where: str
) -> None:
    edit_json(plan_copy / "plan.json", change)
    from yibao.engines.grouper import load_plan

    with pytest.raises(PlanError) as info:
        load_plan(plan_copy)
    assert info.value.where == where
    assert str(info.value).startswith("方案 chs-drg-1.1: ")


def test_regional_plans_are_chosen_only_for_their_region() -> None:
    from datetime import date

    from yibao.engines.grouper import PlanRegistry

    reg = PlanRegistry()
    assert reg.info_for_date(date(2023, 5, 1)).id == "chs-drg-1.1"
    assert reg.info_for_date(date(2023, 5, 1), region="yunnan").id == "yunnan-2023"
    assert reg.info_for_date(date(2022, 5, 1), region="yunnan").id == "yunnan-2022"
    assert reg.info_for_date(date(2023, 5, 1), region="nowhere").id == "chs-drg-1.1"
