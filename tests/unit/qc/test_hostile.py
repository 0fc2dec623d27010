"""Hostile values in the QC engine: safe readers, safe finding values and stored
messages, bounded previews, bounded work per list (issue 9, item 6)."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from yibao.engines.grouper import CompiledPlan
from yibao.engines.qc import Finding, RuleSet, check_list, parse_list
from yibao.engines.qc.engine import MAX_FINDINGS_PER_RULE
from yibao.engines.qc.intake import MAX_NODE_ITEMS
from yibao.engines.qc.values import (
    UNSAFE_CHARS,
    escape,
    safe_value,
    show,
    to_date,
    to_datetime,
    to_decimal,
    to_duration,
    to_int,
    to_weights,
)

from .conftest import Message


def _hits(findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule_id]


def _nested(depth: int) -> Any:
    value: Any = "v"
    for _ in range(depth):
        value = {"a": value}
    return value


def assert_safe(findings: list[Finding]) -> None:
    """Every finding can be stored (no NUL, UTF-8) and shown (no control characters)."""
    for f in findings:
        for text in (f.field, f.message, f.value or ""):
            assert UNSAFE_CHARS.search(text) is None, text[:80]
            text.encode("utf-8")
        assert f.value is None or len(f.value) <= 200
        assert len(f.field) <= 100 and len(f.message) <= 1000, f.message[:80]


def test_readers_refuse_hostile_text() -> None:
    assert to_int("²") is None and to_int("1" * 101) is None
    assert to_int("7" * 100) == int("7" * 100)
    assert to_decimal("1" * 101) is None and to_decimal("1e999999999") is None
    assert to_decimal("1e+99") == Decimal("1e+99")
    assert to_duration("²/1/1") is None and to_duration("9" * 10 + "/1/1") is None
    assert to_duration(" 1 / 13 / 24 ") == (1, 13, 24)
    assert to_datetime("0001-01-01T00:00:00+14:00") is None
    assert to_datetime("9999-12-31T23:59:59-12:00") is None
    assert to_date("2024-01-05" + " " * 100) is None
    assert to_weights("3000," * 30) is None and to_weights("3000,3100") is not None


def test_finding_values_of_every_rule_are_escaped(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    good["setlinfo"]["gend"] = "1\x00"
    good["diseinfo"][2]["diag_code"] = "X99.999\udc80" + "9" * 300
    findings = check_list(good, ruleset, plan)
    (gend,) = [f for f in _hits(findings, "QC003") if f.field == "setlinfo.gend"]
    assert gend.value == "1\\x00" and "'1\\x00'" in gend.message
    (code,) = _hits(findings, "QC008")
    assert code.value is not None and code.value.startswith("X99.999\\udc80999")
    assert code.value.endswith("…（共 308 个字符）")
    assert_safe(findings)


def test_many_findings_of_one_rule_are_counted(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    good["diseinfo"] = good["diseinfo"] * 300  # 900 diagnoses, 3 codes repeated
    findings = check_list(good, ruleset, plan)
    duplicates = _hits(findings, "QC028")
    assert len(duplicates) == MAX_FINDINGS_PER_RULE + 1
    last = duplicates[-1]
    assert (last.field, last.value, last.severity) == ("diseinfo", None, "warning")
    assert f"另有 {900 - 3 - MAX_FINDINGS_PER_RULE} 处问题未逐条列出" in last.message


def test_only_the_first_items_of_a_huge_node_are_read(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    good["diseinfo"] = good["diseinfo"] * 10_000  # 30,000 diagnoses
    parsed = parse_list(good)
    assert parsed.message is not None and len(parsed.message.diseinfo) == MAX_NODE_ITEMS
    assert parsed.sizes == {"diseinfo": 30_000}
    findings = check_list(parsed, ruleset, plan)
    (structure,) = _hits(findings, "QC000")
    assert structure.field == "diseinfo" and structure.blocking
    assert (
        f"诊断信息 diseinfo 共 30000 条，超过可处理的上限 {MAX_NODE_ITEMS} 条" in structure.message
    )


def test_wrong_typed_values_are_briefly_shown(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    good["setlinfo"]["psn_name"] = _nested(100_000)
    good["setlinfo"]["curr_addr"] = ["\x00" * 100] * 100
    nested, listed = _hits(check_list(good, ruleset, plan), "QC000")
    assert nested.value == '{"a": {"a": {…}}}'
    assert '人员姓名 setlinfo.psn_name = {"a": {"a": {…}}} 的类型无效' in nested.message
    assert listed.value is not None and listed.value.startswith('["\\x00\\x00')
    assert listed.value.endswith("…") and len(listed.value) <= 60
    assert_safe([nested, listed])


def test_escape_and_cut() -> None:
    assert escape("a\x00b\x1f\x7f\x9f\udc80c") == "a\\x00b\\x1f\\x7f\\x9f\\udc80c"
    assert escape("普通文本 😀") == "普通文本 😀"
    assert safe_value(None) is None
    assert safe_value("S" * 200) == "S" * 200
    cut = safe_value("S" * 201)
    assert cut is not None and len(cut) <= 200 and cut.endswith("…（共 201 个字符）")
    escaped = safe_value("\x00" * 100)
    assert escaped is not None and len(escaped) <= 200 and escaped.endswith("…（共 100 个字符）")
    assert show("\x00") == "'\\x00'"
    assert len(show("\x00" * 1000)) == 60


def test_raw_json_is_always_storable(good: Message) -> None:
    good["setlinfo"]["psn_name"] = "张\x00三"
    good["setlinfo"]["unknown\x00key"] = "\udc80"
    good["payinfo"] = [{"fund_pay_type": "310100", "fund_payamt": math.inf}]
    good["deep"] = _nested(5000)
    good[7] = 10**5000
    text = parse_list(good).raw_json()
    assert "\\u0000" not in text and "NaN" not in text and "Infinity" not in text
    text.encode("utf-8")
    back = json.loads(text)
    assert back["setlinfo"]["psn_name"] == "张\\x00三"
    assert back["setlinfo"]["unknown\\x00key"] == "\\udc80"
    assert back["payinfo"][0]["fund_payamt"] == "inf"
    assert back["7"] == "（整数位数过多，已省略）"
    depth, node = 0, back["deep"]
    while isinstance(node, dict):
        node, depth = node["a"], depth + 1
    assert node == "（嵌套层数过多，已省略）" and depth < 40


def test_raw_json_of_a_plain_list_is_unchanged(good: Message) -> None:
    good["setlinfo"]["curr_addr"] = "北京\n朝阳"  # held by QC030, but JSON can keep it
    assert json.loads(parse_list(good).raw_json()) == good
