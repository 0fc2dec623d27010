"""Every default rule: a passing and a failing hand-made list."""

from __future__ import annotations

import re
from typing import Any

import pytest

from yibao.engines.grouper import CompiledPlan
from yibao.engines.qc import Finding, RuleSet, check_list
from yibao.engines.qc.schema import label, parse_ref

from .conftest import Message

CJK = re.compile(r"[\u4e00-\u9fff]")


def _set(path: str, value: Any) -> Any:
    """A mutation setting ``node[i].field`` / ``setlinfo.field`` (``None`` deletes)."""

    def change(m: Message) -> None:
        head, _, field = path.partition(".")
        target = m["setlinfo"] if head == "setlinfo" else _item(m, head)
        if value is None:
            target.pop(field, None)
        else:
            target[field] = value

    return change


def _item(m: Message, head: str) -> dict[str, Any]:
    node, index = head[:-1].split("[")
    return m[node][int(index)]  # type: ignore[no-any-return]


def _many(*changes: Any) -> Any:
    def change(m: Message) -> None:
        for c in changes:
            c(m)

    return change


def _no_principal(m: Message) -> None:
    for d in m["diseinfo"]:
        d["maindiag_flag"] = "0"


def _swap_icu_out_of_stay(m: Message) -> None:
    m["icuinfo"][0]["scs_cutd_exit_time"] = "2024-03-09 08:00:00"


#: (rule, base list, mutation, field path, offending value)
CASES: list[tuple[str, str, Any, str, str | None]] = [
    ("QC001", "good", _set("setlinfo.gend", None), "setlinfo.gend", None),
    ("QC001", "good", lambda m: m.update(diseinfo=[]), "diseinfo", None),
    ("QC001", "good", _set("oprninfo[0].oprn_oprt_code", ""), "oprninfo[0].oprn_oprt_code", None),
    ("QC002", "good", _set("setlinfo.bill_no", "  "), "setlinfo.bill_no", None),
    ("QC002", "good", _set("oprninfo[0].anst_dr_code", None), "oprninfo[0].anst_dr_code", None),
    ("QC003", "good", _set("setlinfo.gend", "3"), "setlinfo.gend", "3"),
    ("QC003", "good", _set("setlinfo.dscg_way", "6"), "setlinfo.dscg_way", "6"),
    ("QC003", "good", _set("iteminfo[1].med_chrgitm", "15"), "iteminfo[1].med_chrgitm", "15"),
    ("QC004", "good", _set("diseinfo[1].adm_cond_type", "7"), "diseinfo[1].adm_cond_type", "7"),
    ("QC004", "good", _set("oprninfo[0].anst_way", "77"), "oprninfo[0].anst_way", "77"),
    (
        "QC005",
        "good",
        _set("setlinfo.adm_time", "2024-13-01 08:00"),
        "setlinfo.adm_time",
        "2024-13-01 08:00",
    ),
    ("QC005", "good", _set("setlinfo.acct_pay", "1000.001"), "setlinfo.acct_pay", "1000.001"),
    ("QC005", "good", _set("setlinfo.age", "六十三"), "setlinfo.age", "六十三"),
    ("QC005", "good", _set("iteminfo[2].amt", "-5"), "iteminfo[2].amt", "-5"),
    ("QC005", "good", _set("setlinfo.brdy", "1860-05-20"), "setlinfo.brdy", "1860-05-20"),
    ("QC006", "good", _set("setlinfo.poscode", "12345"), "setlinfo.poscode", "12345"),
    ("QC006", "good", _set("setlinfo.ntly", "中国"), "setlinfo.ntly", "中国"),
    ("QC007", "newborn", _set("setlinfo.nwb_bir_wt", "150"), "setlinfo.nwb_bir_wt", "150"),
    (
        "QC007",
        "newborn",
        _set("setlinfo.mul_nwb_bir_wt", "3000,25000"),
        "setlinfo.mul_nwb_bir_wt",
        "3000,25000",
    ),
    ("QC008", "good", _set("diseinfo[2].diag_code", "X99.999"), "diseinfo[2].diag_code", "X99.999"),
    (
        "QC008",
        "good",
        _set("setlinfo.wm_dise_code", "J18.99999"),
        "setlinfo.wm_dise_code",
        "J18.99999",
    ),
    (
        "QC009",
        "good",
        _set("oprninfo[0].oprn_oprt_code", "99.9999x999"),
        "oprninfo[0].oprn_oprt_code",
        "99.9999x999",
    ),
    ("QC010", "good", _set("diseinfo[0].diag_name", "感冒"), "diseinfo[0].diag_name", "感冒"),
    (
        "QC011",
        "good",
        _set("oprninfo[0].oprn_oprt_name", "输血"),
        "oprninfo[0].oprn_oprt_name",
        "输血",
    ),
    (
        "QC012",
        "good",
        _swap_icu_out_of_stay,
        "icuinfo[0].scs_cutd_exit_time",
        "2024-03-09 08:00:00",
    ),
    (
        "QC012",
        "good",
        _set("oprninfo[0].anst_begntime", "2024-02-29 23:00:00"),
        "oprninfo[0].anst_begntime",
        "2024-02-29 23:00:00",
    ),
    (
        "QC012",
        "good",
        _set("setlinfo.setl_end_date", "2024-03-10"),
        "setlinfo.setl_end_date",
        "2024-03-10",
    ),
    (
        "QC013",
        "good",
        _set("setlinfo.dscg_time", "2024-02-28 10:00:00"),
        "setlinfo.dscg_time",
        "2024-02-28 10:00:00",
    ),
    (
        "QC013",
        "good",
        _set("oprninfo[0].anst_endtime", "2024-03-03 08:00:00"),
        "oprninfo[0].anst_endtime",
        "2024-03-03 08:00:00",
    ),
    (
        "QC014",
        "good",
        _set("setlinfo.vent_used_dura", "1/25/00"),
        "setlinfo.vent_used_dura",
        "1/25/00",
    ),
    (
        "QC014",
        "good",
        _set("icuinfo[0].scs_cutd_sum_dura", "50小时"),
        "icuinfo[0].scs_cutd_sum_dura",
        "50小时",
    ),
    ("QC015", "good", _no_principal, "diseinfo", None),
    ("QC015", "good", _set("diseinfo[1].maindiag_flag", "1"), "diseinfo[1].maindiag_flag", "1"),
    (
        "QC016",
        "good",
        _many(_set("diseinfo[0].diag_code", "N70.900"), _set("diseinfo[0].diag_name", None)),
        "diseinfo[0].diag_code",
        "N70.900",
    ),
    (
        "QC016",
        "good",
        _many(
            _set("setlinfo.gend", "2"),
            _set("diseinfo[0].diag_code", "C61.x00"),
            _set("diseinfo[0].diag_name", None),
        ),
        "diseinfo[0].diag_code",
        "C61.x00",
    ),
    ("QC017", "good", _set("setlinfo.age", None), "setlinfo.age", None),
    ("QC017", "good", _set("setlinfo.age", "40"), "setlinfo.age", "40"),
    ("QC017", "newborn", _set("setlinfo.nwb_age", None), "setlinfo.nwb_age", None),
    ("QC017", "newborn", _set("setlinfo.nwb_age", "40"), "setlinfo.nwb_age", "40"),
    ("QC018", "newborn", _set("setlinfo.nwb_bir_wt", None), "setlinfo.nwb_bir_wt", None),
    ("QC019", "good", _set("setlinfo.act_ipt_days", "8"), "setlinfo.act_ipt_days", "8"),
    ("QC019", "good", _set("setlinfo.act_ipt_days", "6"), "setlinfo.act_ipt_days", "6"),
    ("QC031", "good", _set("setlinfo.act_ipt_days", "9"), "setlinfo.act_ipt_days", "9"),
    ("QC031", "good", _set("setlinfo.act_ipt_days", "70"), "setlinfo.act_ipt_days", "70"),
    (
        "QC033",
        "good",
        _set("setlinfo.medfee_sumamt", "0.00"),
        "setlinfo.medfee_sumamt",
        "0.00",
    ),
    (
        "QC032",
        "good",
        _set("setlinfo.dscg_time", "2099-03-08 10:00:00"),
        "setlinfo.dscg_time",
        "2099-03-08 10:00:00",
    ),
    ("QC020", "good", _set("setlinfo.dscg_way", "2"), "setlinfo.acp_medins_name", None),
    ("QC021", "good", _set("iteminfo[3].amt", "5000.01"), "setlinfo.medfee_sumamt", "10000.00"),
    ("QC021", "good", _set("iteminfo[0].claa_sumfee", "600.00"), "iteminfo[0].amt", "700.00"),
    (
        "QC022",
        "good",
        _set("setlinfo.psn_cash_pay", "1999.99"),
        "setlinfo.medfee_sumamt",
        "10000.00",
    ),
    (
        "QC022",
        "good",
        _set("setlinfo.fulamt_ownpay_amt", "2900.00"),
        "setlinfo.fulamt_ownpay_amt",
        "2900.00",
    ),
    (
        "QC023",
        "good",
        _many(_set("diseinfo[0].diag_code", "V89.900"), _set("diseinfo[0].diag_name", None)),
        "diseinfo[0].diag_code",
        "V89.900",
    ),
    (
        "QC024",
        "good",
        _many(_set("diseinfo[0].diag_code", "R50.900"), _set("diseinfo[0].diag_name", "发热")),
        "diseinfo[0].diag_code",
        "R50.900",
    ),
    ("QC025", "good", _set("oprninfo[0].oprn_oprt_type", "2"), "oprninfo", None),
    (
        "QC026",
        "good",
        _set("icuinfo[0].scs_cutd_sum_dura", "0/1/00"),
        "icuinfo[0].scs_cutd_sum_dura",
        "0/1/00",
    ),
    ("QC027", "good", _set("setlinfo.diag_code_cnt", "5"), "setlinfo.diag_code_cnt", "5"),
    (
        "QC028",
        "good",
        _many(_set("diseinfo[2].diag_code", "I10.x00"), _set("diseinfo[2].diag_name", None)),
        "diseinfo[2].diag_code",
        "I10.x00",
    ),
    ("QC029", "good", _set("setlinfo.setl_id", "S" * 31), "setlinfo.setl_id", "S" * 31),
    ("QC029", "good", _set("setlinfo.psn_name", "张" * 51), "setlinfo.psn_name", "张" * 51),
    (
        "QC029",
        "good",
        _set("oprninfo[0].oper_dr_code", "D" * 21),
        "oprninfo[0].oper_dr_code",
        "D" * 21,
    ),
    ("QC029", "good", _set("iteminfo[1].amt", "1e+20"), "iteminfo[1].amt", "1e+20"),
    ("QC029", "good", lambda m: m.update(icuinfo=m["icuinfo"] * 51), "icuinfo", None),
    ("QC030", "good", _set("setlinfo.psn_name", "张\x00三"), "setlinfo.psn_name", "张\\x00三"),
    (
        "QC030",
        "good",
        _set("diseinfo[1].diag_name", "高血压\udc80"),
        "diseinfo[1].diag_name",
        "高血压\\udc80",
    ),
    (
        "QC030",
        "good",
        _set("setlinfo.curr_addr", "北京\n朝阳"),
        "setlinfo.curr_addr",
        "北京\\x0a朝阳",
    ),
]


def _label(path: str) -> str:
    head, _, field = path.partition(".")
    node = head.split("[")[0]
    if not field:
        from yibao.engines.qc.schema import NODE_LABELS

        return NODE_LABELS[node]
    ref = f"{node}.{field}" if node == "setlinfo" else f"{node}[].{field}"
    return label(*parse_ref(ref))


@pytest.mark.parametrize("base", ["good", "newborn"])
def test_valid_lists_pass_every_rule(
    base: str, request: pytest.FixtureRequest, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    message = request.getfixturevalue(base)
    assert check_list(message, ruleset, plan) == []


def test_every_default_rule_has_a_failing_case(ruleset: RuleSet) -> None:
    assert {r.id for r in ruleset.rules} == {c[0] for c in CASES}


@pytest.mark.parametrize(
    ("rule_id", "base", "change", "field", "value"),
    CASES,
    ids=[f"{c[0]}-{c[3]}" for c in CASES],
)
def test_rule_fails(
    rule_id: str,
    base: str,
    change: Any,
    field: str,
    value: str | None,
    request: pytest.FixtureRequest,
    ruleset: RuleSet,
    plan: CompiledPlan,
) -> None:
    message = request.getfixturevalue(base)
    change(message)
    findings = check_list(message, ruleset, plan)
    hits = [f for f in findings if f.rule_id == rule_id and f.field == field]
    assert hits, [f.message for f in findings]
    hit: Finding = hits[0]
    assert hit.value == value
    assert hit.severity == ruleset.rule(rule_id).severity
    assert CJK.search(hit.message)
    assert field in hit.message
    assert _label(field) in hit.message
    assert f"规则 {rule_id} {ruleset.rule(rule_id).name}" in hit.message
    if value is not None:
        assert f"'{value}'" in hit.message


def test_code_validity_message_reads_as_documented(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    good["diseinfo"][2]["diag_code"] = "X99.999"
    findings = [f for f in check_list(good, ruleset, plan) if f.rule_id == "QC008"]
    assert [f.message for f in findings] == [
        "诊断编码 diseinfo[2].diag_code = 'X99.999' 不在医保版 ICD-10 2.0 疾病分类代码中"
        "（分组方案 chs-drg-1.1 的诊断编码表）（规则 QC008 诊断编码有效性）："
        "请按《医疗保障疾病诊断分类与代码》填写"
    ]


def test_tcm_diagnoses_are_not_checked_against_icd10(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    good["diseinfo"].append(
        {
            "diag_type": "2",
            "diag_code": "A01.01.01",
            "diag_name": "感冒病",
            "adm_cond_type": "1",
            "maindiag_flag": "1",
        }
    )
    good["setlinfo"]["diag_code_cnt"] = "4"
    assert check_list(good, ruleset, plan) == []


def test_name_of_a_mapped_code_is_accepted(ruleset: RuleSet, plan: CompiledPlan) -> None:
    dx_map, names = plan.plan.dx_map, plan.plan.dx_names
    code = next(c for c, g in dx_map.items() if c not in names and g in names)
    from yibao.engines.qc.checks import PlanView

    assert PlanView.of(plan).dx_names[dx_map[code]]
    message = {
        "setlinfo": {"setl_id": "1"},
        "diseinfo": [{"diag_code": code, "diag_name": names[dx_map[code]], "maindiag_flag": "1"}],
    }
    assert not [f for f in check_list(message, ruleset, plan) if f.rule_id in ("QC008", "QC010")]


def test_warnings_do_not_hold_a_list(good: Message, ruleset: RuleSet, plan: CompiledPlan) -> None:
    good["setlinfo"]["act_ipt_days"] = "8"
    findings = check_list(good, ruleset, plan)
    assert [f.rule_id for f in findings] == ["QC019"]
    assert not any(f.blocking for f in findings)


def test_newborn_limit_defaults_to_the_plan(
    good: Message, plan: CompiledPlan, ruleset: RuleSet
) -> None:
    rules = ruleset.with_rule("QC018", params={"max_age_days": None})
    good["setlinfo"].update(age="0", nwb_age="28", brdy="2024-02-02")
    findings = check_list(good, rules, plan)
    assert [f.field for f in findings if f.rule_id == "QC018"] == ["setlinfo.nwb_bir_wt"]
    good["setlinfo"].update(nwb_age="29", brdy="2024-02-01")
    assert not [f for f in check_list(good, rules, plan) if f.rule_id == "QC018"]


def test_disabled_rule_does_not_run(good: Message, ruleset: RuleSet, plan: CompiledPlan) -> None:
    good["setlinfo"]["gend"] = "3"
    rules = ruleset.with_rule("QC003", enabled=False)
    assert not [f for f in check_list(good, rules, plan) if f.rule_id == "QC003"]


def test_unknown_codes_suggest_the_nearest_valid_ones(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    # a letter O for a zero, and a code one digit short (issue 10.7)
    good["diseinfo"][0]["diag_code"] = "J18.9O0"
    good["diseinfo"][2]["diag_code"] = "E11.90"
    findings = [f for f in check_list(good, ruleset, plan) if f.rule_id == "QC008"]
    by_field = {f.field: f.message for f in findings}
    first, third = by_field["diseinfo[0].diag_code"], by_field["diseinfo[2].diag_code"]
    assert "相近的有效编码：" in first and "J18.900（" in first.split("相近的有效编码：")[1]
    assert "E11.900" in third.split("相近的有效编码：")[1]
    assert CJK.search(first.split("J18.900（")[1])  # with its Chinese name


def test_hospital_borne_part_completes_the_payment_sum(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    """medfee_sumamt = fund + personal + hosp_part_amt (§3.4): a list whose hospital
    bears part of the cost adds up; the same list without that part does not, and the
    finding names the three parts when one is given."""
    cash = good["setlinfo"]["psn_cash_pay"]
    good["setlinfo"]["psn_cash_pay"] = f"{float(cash) - 150:.2f}"
    findings = [f for f in check_list(good, ruleset, plan) if f.rule_id == "QC022"]
    assert findings and "相差 150.00 元" in findings[0].message
    good["setlinfo"]["hosp_part_amt"] = "150.00"
    assert not [f for f in check_list(good, ruleset, plan) if f.rule_id == "QC022"]
    good["setlinfo"]["hosp_part_amt"] = "100.00"
    [finding] = [f for f in check_list(good, ruleset, plan) if f.rule_id == "QC022"]
    assert "医院负担金额 100.00" in finding.message and "相差 50.00 元" in finding.message
    good["setlinfo"]["hosp_part_amt"] = "1O0.00"  # a letter O: the format rule reports it
    assert not [f for f in check_list(good, ruleset, plan) if f.rule_id == "QC022"]
    assert any(f.field == "setlinfo.hosp_part_amt" for f in check_list(good, ruleset, plan))
