"""Settlement-list (4101A) intake and quality control: cases found in review, each
a hand-computed example the product once got wrong; the docstring gives the
computation and the spec reference (domain.md §3, §4.1)."""

from __future__ import annotations

from yibao.engines.grouper import CompiledPlan
from yibao.engines.qc import RuleSet, check_list, parse_list, to_case_frames

from .conftest import Message


def test_ten_day_newborn_given_age_one_is_not_accepted(
    newborn: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    """brdy 2024-02-20, admitted 2024-03-01 08:30: 10 days old, 0 completed years
    (2024 − 2024 = 0), and the list itself says nwb_age = 10.  The HIS filled age = '1'
    (nominal age) and sent no birth weight.

    Spec §3.5 #10: age < 1 year ⇒ nwb_age (days); #11 / §1.1: age in days ≤ 28 ⇒ birth
    weight required.  QC017's ±1-year tolerance (meant for "age at discharge", which
    cannot be 1 for a 10-day-old) accepts age 1 vs 0 computed years, and QC018 returns
    early for age ≥ 1, so the list passes with no blocking finding and the case frame
    has age_years 1, age_days None, birth_weight_g None: the newborn is grouped as a
    1-year-old, outside MDCP, without the birth weight the grouper requires."""
    s = newborn["setlinfo"]
    s["age"] = "1"
    del s["nwb_bir_wt"]
    findings = check_list(newborn, ruleset, plan)
    blocking = [(f.rule_id, f.field) for f in findings if f.severity == "blocking"]
    assert blocking, "a 10-day-old without birth weight was accepted as a 1-year-old"


def test_region_of_an_nhsa_envelope_reaches_the_case(good: Message) -> None:
    """domain.md §4.1: mdtrtarea_admvs (就医地医保区划) is a field of the NHSA request
    envelope, next to ``input``; ADR 0005 maps it to the case's region_code and says an
    envelope ``{"input": {...}}`` is unwrapped.  parse_list unwraps ``input`` and drops
    the envelope's own fields, so a 4101A request sent as the spec frames it gives a
    case with region_code None (no finding either): the case is grouped and priced
    without its treatment region (plan and payment standards are chosen by region)."""
    setl = good.pop("setlinfo")
    region = setl.pop("mdtrtarea_admvs")
    envelope = {
        "infno": "4101A",
        "msgid": "H99010230001202403081000000001",
        "mdtrtarea_admvs": region,
        "insuplc_admdvs": setl["insuplc"],
        "fixmedins_code": setl["fixmedins_code"],
        "input": {"setlinfo": setl, **good},
    }
    cases, _, _ = to_case_frames([parse_list(envelope)])
    assert cases["region_code"].to_list() == [region]


def test_code_count_rule_does_not_crash_on_unicode_digits(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    """diag_code_cnt = '³' (a superscript typed or pasted into the count): str.isdigit()
    is True for it but int() raises ValueError.  QC027 (a *warning* rule) tests
    ``value.isdigit()`` and then calls ``int(value)``, so the rule crashes and the engine
    adds a blocking ``internal`` finding "无法检查此清单 … 请联系系统管理员" instead of
    leaving the unreadable number to QC005 (which reports it correctly)."""
    good["setlinfo"]["diag_code_cnt"] = "³"
    findings = check_list(good, ruleset, plan)
    assert [f.rule_id for f in findings if f.kind == "internal"] == []


def test_money_with_trailing_zeros_is_exact_to_the_fen(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    """'10000.0000' (a SQL Server money export) is 10,000.00 exactly: no finding; a
    third decimal that is not zero still is one."""
    s = good["setlinfo"]
    s["medfee_sumamt"] = (
        f"{s['medfee_sumamt']}00"
        if "." in str(s["medfee_sumamt"])
        else f"{s['medfee_sumamt']}.0000"
    )
    findings = check_list(good, ruleset, plan)
    assert not [f for f in findings if f.field == "setlinfo.medfee_sumamt"], findings
    s["medfee_sumamt"] = "100.005"
    findings = check_list(good, ruleset, plan)
    assert [f.rule_id for f in findings if f.field == "setlinfo.medfee_sumamt"][:1] == ["QC005"]


def test_zero_weight_is_a_placeholder_for_an_adult_only(
    good: Message, newborn: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    good["setlinfo"]["nwb_bir_wt"] = "0"  # a common HIS placeholder: not a newborn
    assert not [f for f in check_list(good, ruleset, plan) if f.rule_id == "QC007"]
    newborn["setlinfo"]["nwb_bir_wt"] = "0"
    assert [f for f in check_list(newborn, ruleset, plan) if f.rule_id == "QC007"]


def test_a_midnight_time_stands_for_the_whole_day_as_a_bare_date() -> None:
    """A HIS that keeps only dates exports '2024-03-08 00:00:00' (and an Excel date
    cell reads so): the same as '2024-03-08', in JSON as in a spreadsheet."""
    from yibao.engines.qc.values import is_bare_date

    for text in ("2024-03-08", "2024-03-08 00:00:00", "2024/3/8 00:00", "2024-03-08T00:00:00"):
        assert is_bare_date(text), text
    for text in ("2024-03-08 00:00:01", "2024-03-08 08:30:00", None):
        assert not is_bare_date(text), text
