"""Lenient parsing: text, numbers, aliases, envelopes; structural garbage → findings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from yibao.engines.grouper import CompiledPlan
from yibao.engines.qc import (
    STRUCTURE_RULE,
    RuleSet,
    SettlementList,
    check_batch,
    check_list,
    parse_list,
)
from yibao.engines.qc.values import to_date, to_datetime, to_duration, to_int, to_weights

from .conftest import Message


def test_values_become_stripped_text() -> None:
    p = parse_list(
        {
            "setlinfo": {
                "setl_id": 123,
                "gend": " 1 ",
                "age": 63.0,
                "medfee_sumamt": Decimal("10.50"),
                "adm_time": datetime(2024, 3, 1, 8, 30),
                "brdy": date(1960, 5, 20),
                "psn_name": "",
                "unknown_field": {"kept": "in raw"},
            },
            "iteminfo": [{"med_chrgitm": 1, "amt": 0.1 + 0.2}],
        }
    )
    assert p.problems == []
    assert p.message is not None
    s = p.message.setlinfo
    assert (s.setl_id, s.gend, s.age, s.medfee_sumamt) == ("123", "1", "63", "10.50")
    assert (s.adm_time, s.brdy, s.psn_name) == ("2024-03-01 08:30:00", "1960-05-20", None)
    assert p.message.iteminfo[0].med_chrgitm == "01"  # zero-padded bill category
    assert p.message.iteminfo[0].amt == "0.3"
    assert "unknown_field" in p.raw_json()


def test_aliases_upper_case_keys_and_envelope() -> None:
    p = parse_list(
        {
            "input": {
                "SETLINFO": {"HI_TYPE": "390", "psn_cashpay": "5.00", "acp_medins_code": "H1"},
                "oprninfo": {"oprn_begntime": "2024-03-03 09:00:00", "OPRN_OPRT_CODE": "99.0400"},
            }
        }
    )
    assert p.problems == []
    assert p.message is not None
    s = p.message.setlinfo
    assert (s.insutype, s.psn_cash_pay, s.acp_optins_code) == ("390", "5.00", "H1")
    assert len(p.message.oprninfo) == 1  # a single object counts as a one-item array
    assert p.message.oprninfo[0].oprn_oprt_begntime == "2024-03-03 09:00:00"
    assert p.message.oprninfo[0].oprn_oprt_code == "99.0400"


def test_canonical_name_wins_over_alias() -> None:
    p = parse_list({"setlinfo": {"hi_type": "390", "insutype": "310"}})
    assert p.message is not None and p.message.setlinfo.insutype == "310"


def test_a_blank_canonical_field_does_not_hide_its_filled_alias() -> None:
    """Flat files often carry both columns, the new one left empty: the alias's value
    is read (whatever the order of the keys)."""
    for node in ({"insutype": "", "hi_type": "390"}, {"hi_type": "390", "insutype": None}):
        p = parse_list({"setlinfo": node})
        assert p.message is not None and p.message.setlinfo.insutype == "390", node
    p = parse_list({"setlinfo": {"insutype": "  ", "hi_type": " "}})
    assert p.message is not None and p.message.setlinfo.insutype is None


GARBAGE: list[tuple[Any, str]] = [
    (None, "$"),
    ("just text", "$"),
    ([{"setlinfo": {}}], "$"),
    (42, "$"),
    ({}, "setlinfo"),
    ({"diseinfo": []}, "setlinfo"),
    ({"setlinfo": "S1"}, "setlinfo"),
    ({"setlinfo": [1, 2]}, "setlinfo"),
]


@pytest.mark.parametrize(("obj", "field"), GARBAGE)
def test_structural_garbage_is_a_finding(
    obj: Any, field: str, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    findings = check_list(obj, ruleset, plan)
    assert [(f.rule_id, f.field, f.severity) for f in findings] == [
        (STRUCTURE_RULE, field, "blocking")
    ]
    assert "QC000" in findings[0].message and field in findings[0].message


def test_wrong_node_and_value_types(good: Message, ruleset: RuleSet, plan: CompiledPlan) -> None:
    good["icuinfo"] = "none"
    good["diseinfo"][1] = "I10.x00"
    good["setlinfo"]["gend"] = {"code": "1"}
    good["setlinfo"]["dscg_way"] = True
    good["setlinfo"]["medfee_sumamt"] = float("nan")
    good["diseinfo"][2]["diag_code"] = "X99.999"
    findings = check_list(good, ruleset, plan)
    structural = {f.field: f for f in findings if f.rule_id == STRUCTURE_RULE}
    assert set(structural) == {
        "icuinfo",
        "diseinfo[1]",
        "setlinfo.gend",
        "setlinfo.dscg_way",
        "setlinfo.medfee_sumamt",
    }
    assert structural["setlinfo.gend"].value == '{"code": "1"}'
    assert "性别 setlinfo.gend" in structural["setlinfo.gend"].message
    # values dropped as the wrong type are not reported again as missing
    others = {f.field for f in findings if f.rule_id != STRUCTURE_RULE}
    assert not others & set(structural)
    assert not any(f.field.startswith("diseinfo[1]") for f in findings if f.rule_id != "QC000")
    # the remaining diagnoses keep their original positions
    assert any(f.rule_id == "QC008" and f.field == "diseinfo[2].diag_code" for f in findings)


def test_batch_survives_anything(ruleset: RuleSet, plan: CompiledPlan, good: Message) -> None:
    junk: list[object] = [None, "x", {"setlinfo": None}, good, {"setlinfo": {"age": []}}, b"\x00"]
    batch = check_batch(junk, ruleset, plan)
    assert batch.held == [True, True, True, False, True, True]
    assert [p.index for p in batch.lists] == list(range(6))
    frame = batch.to_frame()
    assert set(frame["index"].to_list()) == {0, 1, 2, 4, 5}
    assert batch.accepted()[0].setl_id == "S2024000000001"


def test_settlement_list_model_validates_directly() -> None:
    m = SettlementList.model_validate({"setlinfo": {"setl_id": "S1", "age": 5}})
    assert m.setlinfo.age == "5" and m.diseinfo == []


def test_readers() -> None:
    assert to_datetime("2024-03-01T08:30:00+00:00") == datetime(2024, 3, 1, 16, 30)
    assert to_datetime("2024/3/1 8:30") == datetime(2024, 3, 1, 8, 30)
    assert to_datetime("20240301083000") == datetime(2024, 3, 1, 8, 30)
    assert to_datetime("2024-02-30 08:00:00") is None
    assert to_date("2024-03-01 23:59:59") == date(2024, 3, 1)
    assert to_int("7.0") == 7 and to_int("7.5") is None and to_int("x") is None
    assert to_weights("2100，2250") == [Decimal(2100), Decimal(2250)]
    assert to_weights("2100,abc") is None
    assert to_duration("1/13/24") == (1, 13, 24) and to_duration("1/13") is None


def test_a_failing_rule_becomes_a_finding(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    from yibao.engines.qc import QcChecker

    checker = QcChecker(ruleset, plan)
    rep, _ = checker._checks[0]

    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    checker._checks[0] = (rep, broken)
    findings = checker.check_batch([good, good]).findings
    assert [(f.rule_id, f.severity, f.field) for f in findings[1]] == [("QC001", "blocking", "$")]
    assert "boom" in findings[1][0].message and "无法检查" in findings[1][0].message
