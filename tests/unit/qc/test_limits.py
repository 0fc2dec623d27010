"""Field limits of the 4101A message: the spec length table, the length and character
rules (QC029 / QC030), the intake's identity check, and hostile values."""

from __future__ import annotations

import copy
import json
import math
import time
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import String

from yibao.cases.models import Case, CaseDiagnosis, CaseProcedure
from yibao.engines.grouper import CompiledPlan
from yibao.engines.qc import (
    FIELD_KINDS,
    FIELD_LIMITS,
    Finding,
    RuleSet,
    check_batch,
    check_list,
    identity_problems,
    parse_list,
)
from yibao.engines.qc.engine import MAX_FINDINGS_PER_RULE
from yibao.engines.qc.limits import IDENTITY_FIELDS, char_problem, length_problem
from yibao.engines.qc.schema import DATE_CHARS, NODE_MODELS
from yibao.engines.qc.values import UNSAFE_CHARS

from .conftest import Message
from .test_hostile import _nested, assert_safe

# --- the length table ----------------------------------------------------------------

#: (node, field, spec) as transcribed from the NHSA tables 154–160 (4101) and 2304
SPEC: list[tuple[str, str, str]] = [
    ("setlinfo", "setl_id", "字符型 30"),
    ("setlinfo", "mdtrt_id", "字符型 30"),
    ("setlinfo", "fixmedins_name", "字符型 200"),
    ("setlinfo", "fixmedins_code", "字符型 12"),
    ("setlinfo", "hi_no", "字符型 30"),
    ("setlinfo", "medcasno", "字符型 40"),
    ("setlinfo", "psn_no", "字符型 30"),
    ("setlinfo", "psn_name", "字符型 50"),
    ("setlinfo", "gend", "字符型 6"),
    ("setlinfo", "age", "数值型 4,1"),
    ("setlinfo", "ntly", "字符型 6"),
    ("setlinfo", "nwb_age", "数值型 3"),
    ("setlinfo", "naty", "字符型 3"),
    ("setlinfo", "certno", "字符型 50"),
    ("setlinfo", "curr_addr", "字符型 200"),
    ("setlinfo", "emp_tel", "字符型 50"),
    ("setlinfo", "poscode", "字符型 6"),
    ("setlinfo", "coner_name", "字符型 50"),
    ("setlinfo", "insutype", "字符型 3"),
    ("setlinfo", "insuplc", "字符型 6"),
    ("setlinfo", "nwb_bir_wt", "数值型 6,2"),
    ("setlinfo", "adm_caty", "字符型 6"),
    ("setlinfo", "refldept_dept", "字符型 6"),
    ("setlinfo", "dscg_caty", "字符型 6"),
    ("setlinfo", "act_ipt_days", "数值型 3"),
    ("setlinfo", "otp_wm_dise", "字符型 200"),
    ("setlinfo", "wm_dise_code", "字符型 20"),
    ("setlinfo", "vent_used_dura", "字符型 10"),
    ("setlinfo", "bld_amt", "数值型 6"),
    ("setlinfo", "dscg_way", "字符型 3"),
    ("setlinfo", "acp_medins_name", "字符型 100"),
    ("setlinfo", "acp_optins_code", "字符型 30"),
    ("setlinfo", "bill_code", "字符型 50"),
    ("setlinfo", "bill_no", "字符型 30"),
    ("setlinfo", "biz_sn", "字符型 50"),
    ("setlinfo", "days_rinp_pup_31", "字符型 200"),
    ("setlinfo", "chfpdr_name", "字符型 50"),
    ("setlinfo", "chfpdr_code", "字符型 30"),
    ("setlinfo", "acct_pay", "数值型 16,2"),
    ("setlinfo", "medfee_sumamt", "数值型 16,2"),
    ("setlinfo", "hsorg", "字符型 100"),
    ("setlinfo", "medins_fill_dept", "字符型 100"),
    ("setlinfo", "medins_fill_psn", "字符型 50"),
    ("diseinfo", "diag_type", "字符型 3"),
    ("diseinfo", "diag_code", "字符型 20"),
    ("diseinfo", "diag_name", "字符型 100"),
    ("diseinfo", "adm_cond_type", "字符型 3"),
    ("oprninfo", "oprn_oprt_type", "字符型 3"),
    ("oprninfo", "oprn_oprt_name", "字符型 500"),
    ("oprninfo", "oprn_oprt_code", "字符型 30"),
    ("oprninfo", "anst_way", "字符型 6"),
    ("oprninfo", "oper_dr_name", "字符型 50"),
    ("oprninfo", "oper_dr_code", "字符型 20"),
    ("oprninfo", "anst_dr_name", "字符型 50"),
    ("oprninfo", "anst_dr_code", "字符型 20"),
    ("icuinfo", "scs_cutd_ward_type", "字符型 6"),
    ("icuinfo", "scs_cutd_sum_dura", "字符型 10"),
    ("iteminfo", "med_chrgitm", "字符型 6"),
    ("iteminfo", "amt", "数值型 16,2"),
]


def test_every_field_has_a_limit() -> None:
    for node, model in NODE_MODELS.items():
        assert set(FIELD_LIMITS[node]) == set(model.model_fields) == set(FIELD_KINDS[node])
        for name, limit in FIELD_LIMITS[node].items():
            kind = FIELD_KINDS[node][name]
            extra = model.model_fields[name].json_schema_extra
            assert isinstance(extra, dict)
            assert 0 < limit.chars <= 500, (node, name)
            if kind in ("date", "datetime"):
                assert "length" not in extra and limit.chars == DATE_CHARS
                assert not limit.from_spec
            else:
                assert isinstance(extra["length"], str), (node, name)
            assert (limit.digits is not None) == (kind in ("int", "num", "money", "weight"))


@pytest.mark.parametrize(("node", "field", "spec"), SPEC, ids=[f"{n}.{f}" for n, f, _ in SPEC])
def test_spec_lengths(node: str, field: str, spec: str) -> None:
    limit = FIELD_LIMITS[node][field]
    assert limit.spec == spec
    assert limit.from_spec
    if spec.startswith("字符型") and limit.part_chars is None:
        assert limit.chars == int(spec.split()[1])


def test_our_own_lengths_are_marked() -> None:
    assumed = {
        f"{node}.{name}"
        for node, limits in FIELD_LIMITS.items()
        for name, limit in limits.items()
        if not limit.from_spec and FIELD_KINDS[node][name] not in ("date", "datetime")
    }
    assert assumed == {
        "setlinfo.mdtrtarea_admvs",
        "setlinfo.mul_nwb_bir_wt",
        "setlinfo.mul_nwb_adm_wt",
        "setlinfo.resp_nurs_name",
        "setlinfo.resp_nurs_code",
        "setlinfo.stas_type",
        "bldinfo.bld_cat",
        "bldinfo.bld_amt",
        "bldinfo.bld_unt",
    }


def test_numbers_have_precision_and_scale() -> None:
    s = FIELD_LIMITS["setlinfo"]
    assert s["medfee_sumamt"].digits == (16, 2) and s["medfee_sumamt"].chars == 18
    assert s["age"].digits == (4, 1)
    assert s["act_ipt_days"].digits == (3, 0)
    assert s["nwb_bir_wt"].digits == (6, 2) and s["nwb_bir_wt"].part_chars == 8
    assert s["refldept_dept"].part_chars == 6 and s["refldept_dept"].seps == ("→",)


#: message field → (table column) it lands in when the list is accepted
COLUMNS = {
    ("setlinfo", "setl_id"): Case.__table__.c.setl_id,
    ("setlinfo", "mdtrt_id"): Case.__table__.c.mdtrt_id,
    ("setlinfo", "fixmedins_code"): Case.__table__.c.hospital_code,
    ("setlinfo", "mdtrtarea_admvs"): Case.__table__.c.region_code,
    ("setlinfo", "psn_no"): Case.__table__.c.psn_no,
    ("setlinfo", "psn_name"): Case.__table__.c.psn_name,
    ("setlinfo", "insutype"): Case.__table__.c.insutype,
    ("setlinfo", "insuplc"): Case.__table__.c.insured_region_code,
    ("setlinfo", "adm_caty"): Case.__table__.c.admission_dept,
    ("setlinfo", "dscg_caty"): Case.__table__.c.discharge_dept,
    ("diseinfo", "diag_code"): CaseDiagnosis.__table__.c.code,
    ("oprninfo", "oprn_oprt_code"): CaseProcedure.__table__.c.code,
}


@pytest.mark.parametrize(("node", "field"), list(COLUMNS), ids=[f"{n}.{f}" for n, f in COLUMNS])
def test_a_value_within_its_limit_fits_its_column(node: str, field: str) -> None:
    column_type = COLUMNS[(node, field)].type
    assert isinstance(column_type, String) and column_type.length is not None
    assert FIELD_LIMITS[node][field].chars <= column_type.length


# --- the rules -------------------------------------------------------------------------


def _hits(findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule_id]


def test_length_finding_reads_as_documented(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    good["setlinfo"]["setl_id"] = "S" * 31
    findings = check_list(good, ruleset, plan)
    assert findings == [
        Finding(
            "QC029",
            "blocking",
            "setlinfo.setl_id",
            "S" * 31,
            f"结算ID setlinfo.setl_id = '{'S' * 31}' 长度 31 超过规范上限 30 个字符"
            f"（规则 QC029 字段长度）：{ruleset.rule('QC029').advice}",
            "format",
        )
    ]


def test_a_value_at_its_limit_passes(good: Message, ruleset: RuleSet, plan: CompiledPlan) -> None:
    s = good["setlinfo"]
    s.update(setl_id="S" * 30, psn_name="张" * 50, fixmedins_code="H" * 12)
    s.update(medfee_sumamt="99999999999999.99", age="120.5", act_ipt_days="999")
    good["oprninfo"][0]["oper_dr_code"] = "D" * 20
    assert _hits(check_list(good, ruleset, plan), "QC029") == []


def test_a_long_value_is_cut_and_its_length_named(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    good["setlinfo"]["medfee_sumamt"] = "1" * 100_000
    (hit,) = _hits(check_list(good, ruleset, plan), "QC029")
    assert hit.field == "setlinfo.medfee_sumamt"
    assert "长度 100000 超过规范上限 18 个字符（数值型 16,2：数字、符号与小数点）" in hit.message
    assert hit.value is not None and len(hit.value) <= 200
    assert hit.value.startswith("111") and hit.value.endswith("…（共 100000 个字符）")
    assert "'" + "1" * 57 + "…'" in hit.message


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        (
            "medfee_sumamt",
            "123456789012345.00",
            "整数部分 15 位，超过规范（数值型 16,2）的上限 14 位",
        ),
        ("medfee_sumamt", "1e+300", "整数部分 301 位，超过规范（数值型 16,2）的上限 14 位"),
        ("age", "1000", "整数部分 4 位，超过规范（数值型 4,1）的上限 3 位"),
        ("act_ipt_days", "1000", "整数部分 4 位，超过规范（数值型 3）的上限 3 位"),
        (
            "adm_time",
            "2024-03-01 08:30:00" + " " * 20 + "x",
            "长度 40 超过上限 32 个字符（日期时间型）",
        ),
        (
            "refldept_dept",
            "0301→0302→0303999",
            "中第 3 个值 '0303999' 长度 7 超过规范上限 6 个字符",
        ),
        ("refldept_dept", "03→" * 40, "长度 120 超过上限 100 个字符（多个值以 “→” 分隔"),
        ("mul_nwb_bir_wt", "3200,12345", "中第 2 个值 '12345' 整数部分 5 位"),
        ("resp_nurs_code", "N" * 31, "长度 31 超过上限 30 个字符"),
    ],
)
def test_length_problems(
    field: str,
    value: str,
    problem: str,
    good: Message,
    ruleset: RuleSet,
    plan: CompiledPlan,
) -> None:
    good["setlinfo"][field] = value
    hits = _hits(check_list(good, ruleset, plan), "QC029")
    assert [f.field for f in hits] == [f"setlinfo.{field}"]
    assert problem in hits[0].message


def test_several_values_within_their_limits_pass(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    good["setlinfo"]["refldept_dept"] = "03.02→04→05.01"
    good["setlinfo"]["mul_nwb_bir_wt"] = "2100,2250，2300"
    assert _hits(check_list(good, ruleset, plan), "QC029") == []


def test_item_counts(good: Message, ruleset: RuleSet, plan: CompiledPlan) -> None:
    good["oprninfo"] = good["oprninfo"] * 101
    hits = _hits(check_list(good, ruleset, plan), "QC029")
    assert [(f.field, f.value) for f in hits] == [("oprninfo", None)]
    assert "手术操作信息 oprninfo 共 101 条，超过上限 100 条" in hits[0].message


@pytest.mark.parametrize(
    ("text", "shown", "words"),
    [
        ("张\x00三", "张\\x00三", "控制字符 U+0000（NUL 空字符，第 2 个字符，共 1 处）"),
        ("张\t三", "张\\x09三", "控制字符 U+0009（制表符，第 2 个字符，共 1 处）"),
        ("北京\r\n朝阳", "北京\\x0d\\x0a朝阳", "控制字符 U+000D（回车符，第 3 个字符，共 2 处）"),
        ("张\x7f", "张\\x7f", "U+007F（DEL 删除符"),
        ("张\x85三", "张\\x85三", "控制字符 U+0085（第 2 个字符，共 1 处）"),
        ("张\udc80三", "张\\udc80三", "无法按 UTF-8 编码的孤立代理字符 U+DC80（第 2 个字符"),
    ],
)
def test_character_problems(
    text: str, shown: str, words: str, good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    good["setlinfo"]["psn_name"] = text
    findings = check_list(good, ruleset, plan)
    (hit,) = _hits(findings, "QC030")
    assert hit.field == "setlinfo.psn_name" and hit.severity == "blocking"
    assert hit.value is not None and shown in hit.value
    assert words in hit.message
    assert "不允许任何控制字符" in hit.message or "孤立代理字符" in hit.message
    assert "规则 QC030 字段字符" in hit.message
    assert UNSAFE_CHARS.search(hit.message) is None


def test_printable_text_passes(good: Message, ruleset: RuleSet, plan: CompiledPlan) -> None:
    good["setlinfo"]["psn_name"] = "阿卜杜·买买提 😀 Ünïcödé"
    good["setlinfo"]["curr_addr"] = "北京市 朝阳区（东三环）#1-2/3"
    assert _hits(check_list(good, ruleset, plan), "QC030") == []


def test_a_control_character_in_any_field_is_reported(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    for node, kinds in FIELD_KINDS.items():
        for name in kinds:
            message = copy.deepcopy(good)
            if node == "setlinfo":
                message[node][name] = "1\x00"
                path = f"setlinfo.{name}"
            else:
                message[node] = [{name: "1\x00"}]
                path = f"{node}[0].{name}"
            findings = check_list(message, ruleset, plan)
            assert [f.field for f in _hits(findings, "QC030")] == [path]
            assert not [f for f in findings if f.kind == "internal"], path
            assert_safe(findings)


# --- the intake's identity check --------------------------------------------------------


def test_identity_fields() -> None:
    assert IDENTITY_FIELDS == ("setl_id", "fixmedins_code")


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("setl_id", "S" * 31, "长度 31 超过规范上限 30 个字符"),
        ("setl_id", "S" * 100_000, "长度 100000 超过规范上限 30 个字符"),
        ("setl_id", "S1\x00", "控制字符 U+0000"),
        ("setl_id", "S1\udc80", "孤立代理字符 U+DC80"),
        ("fixmedins_code", "H" * 13, "长度 13 超过规范上限 12 个字符"),
    ],
)
def test_identity_problems_refuse_bad_keys(
    field: str, value: str, words: str, good: Message
) -> None:
    good["setlinfo"][field] = value
    (problem,) = identity_problems(parse_list(good))
    assert (problem.rule_id, problem.severity, problem.kind) == ("QC000", "blocking", "structure")
    assert problem.field == f"setlinfo.{field}"
    assert words in problem.message and "未被接收" in problem.message
    assert problem.value is not None and len(problem.value) <= 200
    assert_safe([problem])


def test_identity_problems_are_empty_for_good_or_missing_keys(good: Message) -> None:
    assert identity_problems(parse_list(good)) == []
    good["setlinfo"].pop("setl_id")
    good["setlinfo"]["psn_name"] = "张" * 51  # other fields only hold the list
    assert identity_problems(parse_list(good)) == []
    assert identity_problems(parse_list("junk")) == []


# --- hostile values --------------------------------------------------------------------


def _set(path: str, value: Any) -> Any:
    def change(m: Message) -> None:
        node, _, field = path.partition(".")
        target = m["setlinfo"] if node == "setlinfo" else m[node][0]
        target[field] = value

    return change


#: (case, mutation, rule ids expected among the findings)
HOSTILE: list[tuple[str, Any, set[str]]] = [
    ("100k-char setl_id", _set("setlinfo.setl_id", "S" * 100_000), {"QC029"}),
    ("100k-digit money", _set("setlinfo.medfee_sumamt", "1" * 100_000), {"QC029"}),
    ("100k-digit days", _set("setlinfo.act_ipt_days", "7" * 100_000), {"QC029"}),
    ("100k-digit age", _set("setlinfo.age", "6" * 100_000), {"QC029"}),
    ("100k-digit weight list", _set("setlinfo.mul_nwb_bir_wt", "3000," * 20_000), {"QC029"}),
    ("100k-digit duration", _set("setlinfo.vent_used_dura", "9" * 100_000 + "/1/1"), {"QC029"}),
    ("huge exponent", _set("setlinfo.age", "1e999999999"), {"QC005", "QC029"}),
    ("huge exponent money", _set("iteminfo.amt", "9e999999999"), {"QC005", "QC029"}),
    ("huge python int", _set("setlinfo.act_ipt_days", 10**5000), {"QC000"}),
    ("nan", _set("setlinfo.medfee_sumamt", math.nan), {"QC000"}),
    ("decimal nan", _set("setlinfo.medfee_sumamt", Decimal("NaN")), {"QC000"}),
    ("superscript digit", _set("setlinfo.act_ipt_days", "²"), {"QC005"}),
    ("superscript duration", _set("setlinfo.vent_used_dura", "²/1/1"), {"QC014"}),
    ("date before year 1", _set("setlinfo.adm_time", "0001-01-01T00:00:00+14:00"), {"QC005"}),
    ("date after 9999", _set("setlinfo.dscg_time", "9999-12-31T23:59:59-12:00"), {"QC005"}),
    ("long date", _set("setlinfo.adm_time", "2024-01-01 " + " " * 100_000 + "x"), {"QC029"}),
    ("NUL", _set("setlinfo.psn_name", "张\x00三"), {"QC030"}),
    ("NUL code", _set("diseinfo.diag_code", "J18.900\x00"), {"QC030", "QC008"}),
    ("lone surrogate", _set("setlinfo.psn_name", "\udc80"), {"QC030"}),
    ("nested value", _set("setlinfo.psn_name", _nested(100_000)), {"QC000"}),
    ("list value", _set("setlinfo.psn_name", list(range(100_000))), {"QC000"}),
    ("bytes value", _set("setlinfo.psn_name", b"\x00\xff"), {"QC000"}),
    ("bool value", _set("setlinfo.gend", True), {"QC000"}),
    ("1,002 diagnoses", lambda m: m.update(diseinfo=m["diseinfo"] * 334), {"QC029", "QC028"}),
    (
        "30,000 diagnoses",
        lambda m: m.update(diseinfo=m["diseinfo"] * 10_000),
        {"QC000", "QC029", "QC028"},
    ),
    ("100,000 non-objects", lambda m: m.update(oprninfo=[1] * 100_000), {"QC000"}),
    ("nested node", lambda m: m.update(icuinfo=_nested(100_000)), {"QC001"}),
    ("odd keys", lambda m: m["setlinfo"].update({1: "x", (2, 3): "y", "x" * 100_000: "z"}), set()),
]


@pytest.mark.parametrize(("case", "change", "rules"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_values_give_findings(
    case: str, change: Any, rules: set[str], good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    change(good)
    start = time.perf_counter()
    findings = check_list(good, ruleset, plan)
    elapsed = time.perf_counter() - start
    assert rules <= {f.rule_id for f in findings}, [f.message for f in findings]
    assert not [f for f in findings if f.kind == "internal"], [f.message for f in findings]
    if not rules:
        assert findings == []
    assert_safe(findings)
    for rule_id in {f.rule_id for f in findings}:
        assert len(_hits(findings, rule_id)) <= MAX_FINDINGS_PER_RULE + 1
    assert elapsed < 3.0, case  # a 2-core shared machine: linear time, not big-number maths
    json.loads(parse_list(good).raw_json())


def test_a_batch_with_some_hostile_lists(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    messages: list[Any] = []
    for i in range(100):
        m = copy.deepcopy(good)
        m["setlinfo"]["setl_id"] = f"S{i:013d}"
        messages.append(m)
    hostile = {
        7: ("QC029", lambda m: m["setlinfo"].update(setl_id="S" * 31)),
        23: ("QC030", lambda m: m["setlinfo"].update(psn_name="张\x00三")),
        42: ("QC029", lambda m: m.update(diseinfo=m["diseinfo"] * 10_000)),
        61: ("QC029", lambda m: m["setlinfo"].update(medfee_sumamt="1" * 100_000)),
        88: ("QC000", lambda m: m["setlinfo"].update(psn_name=_nested(100_000))),
        99: ("QC030", lambda m: m["oprninfo"][0].update(oprn_oprt_name="\udc80")),
    }
    for i, (_, change) in hostile.items():
        change(messages[i])
    start = time.perf_counter()
    batch = check_batch(messages, ruleset, plan)
    elapsed = time.perf_counter() - start
    assert [i for i, held in enumerate(batch.held) if held] == sorted(hostile)
    for i, findings in enumerate(batch.findings):
        if i in hostile:
            assert hostile[i][0] in {f.rule_id for f in findings if f.blocking}
            assert_safe(findings)
        else:
            assert findings == []
    assert len(batch.accepted()) == 94
    assert batch.to_frame().height == sum(len(fs) for fs in batch.findings)
    assert elapsed < 10.0


def test_problem_texts() -> None:
    setl = FIELD_LIMITS["setlinfo"]
    assert length_problem(setl["setl_id"], "S" * 30) is None
    assert length_problem(setl["psn_name"], "张" * 51) == "长度 51 超过规范上限 50 个字符"
    assert length_problem(setl["age"], "abc") is None  # unreadable: the format rule says so
    assert length_problem(setl["age"], "-0.5") is None
    assert length_problem(setl["age"], "0.00001") is not None  # 7 characters for 数值型 4,1
    assert length_problem(setl["medfee_sumamt"], "-0012345678901234.5") is not None
    assert char_problem("正常") is None
