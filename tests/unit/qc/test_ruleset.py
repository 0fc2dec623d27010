"""Rule sets as data: the default file, validation errors in Chinese naming the place."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from yibao.engines.grouper import CompiledPlan
from yibao.engines.qc import (
    DEFAULT_RULESET,
    KIND_LABELS,
    PRIMITIVES,
    RuleSet,
    RuleSetError,
    compile_rules,
    load_ruleset,
    parse_ruleset,
)

RAW: dict[str, Any] = json.loads(DEFAULT_RULESET.read_text(encoding="utf-8"))
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_default_ruleset(ruleset: RuleSet) -> None:
    assert (ruleset.code, ruleset.version, ruleset.status) == ("default", "1.0", "published")
    ids = [r.id for r in ruleset.rules]
    assert len(ids) == len(set(ids)) >= 15
    assert ids == sorted(ids)
    for rule in ruleset.rules:
        assert CJK.search(rule.name) and CJK.search(rule.advice), rule.id
        assert rule.kind in KIND_LABELS and rule.check in PRIMITIVES
    assert {r.severity for r in ruleset.rules} == {"blocking", "warning"}
    assert ruleset.valid_on(ruleset.valid_from) if ruleset.valid_from else True


def test_round_trip_through_json(ruleset: RuleSet) -> None:
    again = parse_ruleset(json.loads(ruleset.model_dump_json()))
    assert again == ruleset


def _broken(change: Callable[[dict[str, Any]], None]) -> RuleSetError:
    raw = copy.deepcopy(RAW)
    change(raw)
    with pytest.raises(RuleSetError) as info:
        parse_ruleset(raw, "default.json")
    return info.value


def _param(rule: int, **values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda raw: raw["rules"][rule]["params"].update(values)


BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    (
        "unknown check",
        lambda r: r["rules"][0].update(check="foo"),
        "rules[0].check",
        "未知的检查 'foo'",
    ),
    ("bad id", lambda r: r["rules"][0].update(id="X1"), "rules[0].id", "规则编号 'X1' 无效"),
    ("duplicate id", lambda r: r["rules"][1].update(id="QC001"), "rules[1].id", "重复"),
    (
        "unknown field",
        lambda r: r["rules"][0]["params"]["fields"].__setitem__(2, "setlinfo.nope"),
        "rules[0].params.fields[2]",
        "setlinfo 节点没有字段 nope",
    ),
    (
        "list node without []",
        lambda r: r["rules"][0]["params"]["fields"].__setitem__(2, "diseinfo.diag_code"),
        "rules[0].params.fields[2]",
        "应写作 diseinfo[].diag_code",
    ),
    ("unknown param", _param(0, foo=1), "rules[0].params.foo", "未知的项"),
    ("not a number", _param(6, min_g="abc"), "rules[6].params.min_g", "应为数字"),
    (
        "bad regex",
        lambda r: r["rules"][5]["params"]["patterns"]["setlinfo.poscode"].update(regex="[0-9"),
        "rules[5].params.patterns['setlinfo.poscode'].regex",
        "正则表达式",
    ),
    (
        "bad severity",
        lambda r: r["rules"][0].update(severity="fatal"),
        "rules[0].severity",
        "取值须为 'blocking' 或 'warning'",
    ),
    (
        "bad min_items",
        _param(0, min_items={"setlinfo": 1}),
        "rules[0].params.min_items",
        "列表节点",
    ),
    (
        "domain of unknown field",
        lambda r: r["rules"][2]["params"]["domains"].update({"setlinfo.foo": {"1": "a"}}),
        "rules[2].params.domains['setlinfo.foo']",
        "没有字段 foo",
    ),
    ("missing name", lambda r: r["rules"][0].pop("name"), "rules[0].name", "缺少此项"),
    (
        "not a time field",
        _param(11, fields=["setlinfo.gend"]),
        "rules[11].params.fields",
        "不是日期",
    ),
    (
        "pair across nodes",
        _param(12, pairs=[["setlinfo.adm_time", "oprninfo[].anst_endtime"]]),
        "rules[12].params",
        "须在同一节点中",
    ),
    ("dates reversed", lambda r: r.update(valid_to="2000-01-01"), "valid_to", "早于"),
    ("bad date", lambda r: r.update(valid_from="2000-13-01"), "valid_from", "YYYY-MM-DD"),
    ("rules not a list", lambda r: r.update(rules={}), "rules", "JSON 数组"),
    ("rule not an object", lambda r: r["rules"].insert(3, 5), "rules[3]", "JSON 对象"),
]


@pytest.mark.parametrize(("case", "change", "where", "text"), BROKEN, ids=[b[0] for b in BROKEN])
def test_validation_errors_name_the_place(
    case: str, change: Callable[[dict[str, Any]], None], where: str, text: str
) -> None:
    error = _broken(change)
    assert error.where == where, error.message
    assert text in error.message
    assert error.message.startswith("default.json（default 1.0）：")
    assert where in re.sub(r"（[A-Za-z0-9]+）", "", error.message)
    assert error.http_status == 422


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(RuleSetError, match="无法读取规则集文件"):
        load_ruleset(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(RuleSetError, match="不是有效的 JSON"):
        load_ruleset(bad)
    good = tmp_path / "local.json"
    raw = copy.deepcopy(RAW)
    raw.update(code="local", version="2.0")
    raw["rules"][6]["params"]["max_g"] = 10000
    good.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    local = load_ruleset(good)
    assert local.code == "local" and local.rule("QC007").params["max_g"] == 10000


def test_plan_dependent_params_are_checked_on_compile(ruleset: RuleSet, plan: CompiledPlan) -> None:
    broken = ruleset.with_rule(
        "QC016", params={"male_lists": ["MDCM.dx"], "female_lists": ["NO_SUCH.dx"]}
    )
    with pytest.raises(RuleSetError) as info:
        compile_rules(broken, plan)
    assert info.value.where == "rules[15].params"
    assert "分组方案 chs-drg-1.1 中没有编码表 NO_SUCH.dx" in info.value.message
    assert "QC016" in info.value.message


def test_with_rule_revalidates(ruleset: RuleSet) -> None:
    with pytest.raises(RuleSetError, match="min_g"):
        ruleset.with_rule("QC007", params={"fields": ["setlinfo.nwb_bir_wt"], "min_g": "x"})
    with pytest.raises(KeyError):
        ruleset.with_rule("QC999", enabled=False)
    assert ruleset.with_rule("QC007", severity="warning").rule("QC007").severity == "warning"
