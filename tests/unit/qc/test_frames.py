"""Case frames ↔ 4101A messages ↔ flat tables; synthetic batches with injected errors."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import polars as pl

from yibao.engines.caseframe import CASES, DIAGNOSES, FEE_COLUMNS, PROCEDURES, to_grouper_input
from yibao.engines.grouper import CompiledPlan, group_batch
from yibao.engines.qc import (
    RuleSet,
    check_batch,
    from_case_frames,
    lists_to_flat,
    parse_list,
    parse_lists,
    raw_frame,
    read_flat,
    read_flat_csv,
    to_case_frames,
    unknown_flat_columns,
)
from yibao.engines.qc.bench import inject_errors
from yibao.engines.synth import CaseBatch

from .conftest import Message


def _messages(batch: CaseBatch, plan: CompiledPlan) -> list[Message]:
    return from_case_frames(batch.cases, batch.diagnoses, batch.procedures, plan)


def test_round_trip_equals_the_original_frames(synth_batch: CaseBatch, plan: CompiledPlan) -> None:
    messages = _messages(synth_batch, plan)
    # through JSON text, as a HIS would send them
    parsed = parse_lists(json.loads(json.dumps(messages, ensure_ascii=False)))
    cases, diagnoses, procedures = to_case_frames(parsed)
    assert cases.schema == pl.Schema(CASES)
    assert diagnoses.schema == pl.Schema(DIAGNOSES)
    assert procedures.schema == pl.Schema(PROCEDURES)
    assert cases.equals(synth_batch.cases)
    assert diagnoses.equals(synth_batch.diagnoses)
    assert procedures.equals(synth_batch.procedures)
    assert cases["admission_time"].dtype == pl.Datetime("us", "Asia/Shanghai")


def test_flat_round_trip(synth_batch: CaseBatch, plan: CompiledPlan, tmp_path: Path) -> None:
    flat = lists_to_flat(_messages(synth_batch, plan))
    assert flat.height == synth_batch.cases.height
    assert {"diag_codes", "oprn_codes", "fee_bed", "setl_id"} <= set(flat.columns)
    path = tmp_path / "lists.csv"
    flat.write_csv(path)
    cases, diagnoses, procedures = to_case_frames(parse_lists(read_flat_csv(path)))
    assert cases.equals(synth_batch.cases)
    assert diagnoses.equals(synth_batch.diagnoses)
    assert procedures.equals(synth_batch.procedures)


def test_flat_chinese_headers_and_unknown_columns() -> None:
    frame = pl.DataFrame(
        {
            "结算ID": ["S1"],
            "性别": ["2"],
            "诊断编码": ["O80.000|Z37.000"],
            "诊断名称": ["头位顺产|"],
            "床位费": ["100.00"],
            "fee_05": ["0"],
            "备注": ["x"],
        }
    )
    assert unknown_flat_columns(frame.columns) == ["备注"]
    [message] = read_flat(frame)
    assert message["setlinfo"] == {"setl_id": "S1", "gend": "2"}
    assert message["diseinfo"] == [
        {"diag_code": "O80.000", "diag_name": "头位顺产", "diag_type": "1", "maindiag_flag": "1"},
        {"diag_code": "Z37.000", "diag_type": "1", "maindiag_flag": "0"},
    ]
    assert message["iteminfo"] == [{"med_chrgitm": "01", "amt": "100.00"}]


def test_lists_without_fees_or_setlinfo() -> None:
    bare = parse_list({"setlinfo": {"setl_id": "S1", "age": "0", "nwb_age": "3"}})
    garbage = parse_list("junk")
    cases, diagnoses, procedures = to_case_frames([bare, garbage])
    assert cases.height == 1 and diagnoses.height == 0 and procedures.height == 0
    row = cases.row(0, named=True)
    assert all(row[c] is None for c in FEE_COLUMNS)
    assert (row["age_years"], row["age_days"]) == (0, 3)
    raw = raw_frame([bare, garbage])
    assert raw["raw"].to_list() == [
        '{"setlinfo": {"setl_id": "S1", "age": "0", "nwb_age": "3"}}',
        '"junk"',
    ]


def test_garbage_values_become_nulls() -> None:
    p = parse_list(
        {
            "setlinfo": {
                "setl_id": "S1",
                "age": "99999",
                "nwb_bir_wt": "1e40",
                "medfee_sumamt": "1e30",
                "adm_time": "yesterday",
            },
            "iteminfo": [{"med_chrgitm": "99", "amt": "12.5"}],
            "oprninfo": [{"oprn_oprt_code": "x", "oprn_oprt_date": "garbage"}],
        }
    )
    cases, _, procedures = to_case_frames([p])
    row = cases.row(0, named=True)
    assert (row["age_years"], row["birth_weight_g"], row["total_cost"]) == (None, None, None)
    assert (row["admission_time"], row["fee_other"]) == (None, Decimal("12.50"))
    assert procedures["procedure_date"].to_list() == [None]


def test_money_is_exact_to_the_fen() -> None:
    p = parse_list(
        {
            "setlinfo": {"setl_id": "S1", "medfee_sumamt": "0.1"},
            "iteminfo": [{"med_chrgitm": "1", "amt": 0.1}, {"med_chrgitm": "01", "amt": "0.2"}],
        }
    )
    cases, _, _ = to_case_frames([p])
    assert cases["total_cost"][0] == Decimal("0.10")
    assert cases["fee_bed"][0] == Decimal("0.30")


def test_synthetic_lists_pass_and_group(
    synth_batch: CaseBatch, plan: CompiledPlan, ruleset: RuleSet
) -> None:
    batch = check_batch(_messages(synth_batch, plan), ruleset, plan)
    assert batch.held_count == 0
    # only the R-code warning can appear on clean synthetic data
    assert {f.rule_id for fs in batch.findings for f in fs} <= {"QC024"}
    # lists that pass QC never fail the grouper's input checks
    grouped = group_batch(plan, to_grouper_input(*to_case_frames(batch.accepted())))
    assert not grouped.filter(
        pl.col("status").is_in(["check_failed", "dx_not_mapped", "proc_not_mapped"])
    ).height


def test_injected_errors_are_caught(
    synth_batch: CaseBatch, plan: CompiledPlan, ruleset: RuleSet
) -> None:
    messages, expected = inject_errors(_messages(synth_batch, plan), share=0.3, seed=5)
    assert len(expected) > 100
    start = time.perf_counter()
    batch = check_batch(messages, ruleset, plan)
    seconds = time.perf_counter() - start
    for i, rule in expected.items():
        assert any(f.rule_id == rule for f in batch.findings[i]), (rule, batch.findings[i])
    assert set(batch.held) == {True, False}
    assert [i for i, h in enumerate(batch.held) if h] == sorted(expected)
    summary = batch.summary()
    assert summary.columns == ["rule_id", "severity", "findings", "lists"]
    frame = batch.to_frame()
    assert frame.height == sum(len(f) for f in batch.findings)
    # a smoke figure, not an assertion (see yibao.engines.qc.bench for the 10,000-list run)
    print(f"\nparse + QC: {len(messages) / seconds:,.0f} lists/s ({len(messages)} lists)")


def test_icu_hours_from_the_icuinfo_durations(synth_batch: CaseBatch, plan: CompiledPlan) -> None:
    message = _messages(synth_batch, plan)[0]

    def hours(icuinfo: list[dict[str, str]]) -> object:
        m = json.loads(json.dumps({**message, "icuinfo": icuinfo}, ensure_ascii=False))
        cases, _, _ = to_case_frames(parse_lists([m]))
        return cases["icu_hours"][0]

    day = message["setlinfo"]["dscg_time"]
    stay = {"scs_cutd_ward_type": "1", "scs_cutd_inpool_time": day, "scs_cutd_exit_time": day}
    assert hours([]) == 0  # no intensive care
    # 1 day 2 h 30 min + 5 h 45 min = 32 h 15 min: whole hours
    assert (
        hours([{**stay, "scs_cutd_sum_dura": "1/2/30"}, {**stay, "scs_cutd_sum_dura": "0/5/45"}])
        == 32
    )
    assert hours([{**stay, "scs_cutd_sum_dura": "两天"}]) is None  # unreadable: unknown
    icu = synth_batch.cases.filter(pl.col("icu_hours") > 0)
    assert icu.height > 0  # the synthetic stays in intensive care round-trip (test above)
