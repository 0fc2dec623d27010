"""Each rule family on hand-made claims: a positive and a negative case, the amount at
issue and the lines involved; every case also checks that the batch path agrees."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.unit.audit.builders import DAY, both, claim, compiled, ln, rule
from yibao.engines.audit import Finding, Knowledge, compile_rules


def _one(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, [f.vola_cont for f in findings]
    return findings[0]


def _lines(f: Finding) -> list[tuple[str, int, Decimal]]:
    return [(x.rx_id, x.vola_item_type, x.vola_amt) for x in f.lines]


def test_sex_flags_the_whole_line_and_spares_the_right_sex() -> None:
    rs = compiled(rule("sex", result_type="definite", sev_deg=3))
    f = _one(both(rs, [claim([ln("1", "S002", 2), ln("2", "S001")], sex="1")]))
    assert (f.rule_id, f.vola_amt, f.sev_deg, f.result_type) == (
        "R_sex",
        Decimal("20.00"),
        3,
        "definite",
    )
    assert f.vola_bhvr_type == "sex" and _lines(f) == [("1", 1, Decimal("20.00"))]
    assert "限女性使用，患者为男性" in f.vola_cont and "患者性别 男性" in f.vola_evid
    assert both(rs, [claim([ln("1", "S002")], sex="2")]) == []
    assert both(rs, [claim([ln("1", "S002")], sex="9")]) == []  # unknown sex: no finding


def test_age_uses_completed_years_at_the_encounter_begin() -> None:
    rs = compiled(rule("age"))
    child = claim([ln("1", "D001")], birth=date(2009, 3, 5))  # 14 on 2024-03-04
    assert both(rs, [child]) == []
    adult = claim([ln("1", "D001")], birth=date(2009, 3, 4))  # 15 that day
    f = _one(both(rs, [adult]))
    assert "患者就诊时 15 岁" in f.vola_cont and "出生日期 2009-03-04" in f.vola_evid


def test_indication_needs_a_qualifying_diagnosis_prefix() -> None:
    rs = compiled(rule("indication"))
    assert both(rs, [claim([ln("1", "D002")], dx=("J18.9", "C50.9"))]) == []
    f = _one(both(rs, [claim([ln("1", "D002", price="300.00")], dx=("J18.9",))]))
    assert f.vola_amt == Decimal("300.00") and "诊断 J18.9" in f.vola_evid
    principal = compiled(rule("indication", params={"principal_only": True}))
    assert len(both(principal, [claim([ln("1", "D002")], dx=("J18.9", "C50.9"))])) == 1
    assert both(principal, [claim([ln("1", "D002")], dx=("C56", "J18.9"))]) == []


def _drug_for(code: str, name: str, diagnoses: list[str]) -> Knowledge:
    """A knowledge base of one western drug restricted to ``diagnoses`` (prefixes)."""
    item = {"code": code, "name": name, "kind": "western", "fee_type": "09"}
    restriction = {"kind": "indication", "diagnoses": diagnoses}
    return Knowledge.from_data([item | {"chrgitm_lv": "01", "restrictions": [restriction]}])


def test_indication_codes_match_whatever_their_letter_case() -> None:
    """ICD-10 医保版 codes carry a lower-case x (I10.x00x002) that many HIS systems send
    in upper case, and some send the whole code in lower case: the letters are the same
    code, so a qualifying diagnosis qualifies in any case, in both paths."""
    k = _drug_for("D010", "降压药", ["I10.x", "C50"])
    rs = compile_rules([rule("indication")], k, on=date(2024, 1, 1))
    for dx in ("I10.x00x002", "I10.X00X002", "i10.x00", "c50.900"):
        assert both(rs, [claim([ln("1", "D010")], dx=("J18.9", dx))]) == [], dx
    principal = compile_rules(
        [rule("indication", params={"principal_only": True})], k, on=date(2024, 1, 1)
    )
    assert both(principal, [claim([ln("1", "D010")], dx=("i10.X00", "J18.9"))]) == []
    # a code that only starts alike still does not qualify, in any case
    f = _one(both(rs, [claim([ln("1", "D010")], dx=("i11.x00",))]))
    assert "限诊断 I10.x、C50" in f.vola_cont and "i11.x00" in f.vola_evid


def test_indication_codes_match_with_or_without_the_dot() -> None:
    """HIS systems send 医保版 codes without their dot (E11900 for E11.900), and
    knowledge bases write prefixes either way (E11.9, I10x): the dot is no part of the
    code, so either form qualifies in both paths; another code still does not."""
    k = _drug_for("D011", "降糖药", ["E11.9", "I10x"])
    rs = compile_rules([rule("indication")], k, on=date(2024, 1, 1))
    for dx in ("E11900", "E11.900", "e11.9", "I10.x00", "I10x00x002"):
        assert both(rs, [claim([ln("1", "D011")], dx=("J18.9", dx))]) == [], dx
    for dx in ("E11800", "E11.8", "I11.x00", "E1"):
        assert len(both(rs, [claim([ln("1", "D011")], dx=(dx,))])) == 1, dx


def test_scope_families_care_mode_institution_insutype_specialty() -> None:
    rs = compiled(rule("care_mode"), rule("institution"), rule("insutype"), rule("specialty"))
    bad = claim(
        [ln("1", "D003"), ln("2", "S003"), ln("3", "S004"), ln("4", "S005", dept_code="A03")],
        mode="otp",
        level="2",
        insutype="310",
    )
    found = {f.family: f for f in both(rs, [bad])}
    assert set(found) == {"care_mode", "institution", "insutype", "specialty"}
    assert "限住院使用，本次为门诊" in found["care_mode"].vola_cont
    assert "限三级及以上医疗机构，本院为二级" in found["institution"].vola_cont
    assert "限险种 510，患者险种为 310" in found["insutype"].vola_cont
    assert "由科室 A03 开具" in found["specialty"].vola_cont
    good = claim(
        [ln("1", "D003"), ln("2", "S003"), ln("3", "S004"), ln("4", "S005")],
        mode="ipt",
        level="3",
        insutype="510",
        dept="A1001",  # the line has no department: the encounter's counts
    )
    assert both(rs, [good]) == []
    # a department code in lower case is the same department, in both paths
    lower = claim([ln("4", "S005", dept_code="a1001")], mode="ipt", level="3", insutype="510")
    assert both(rs, [lower]) == []


def test_price_over_cap_is_the_excess_times_quantity_at_the_hospital_level() -> None:
    rs = compiled(rule("price"))
    f = _one(both(rs, [claim([ln("1", "D004", 3, "9.333333", amount="28.00")], level="2")]))
    # (9.333333 − 9.00) × 3 = 0.999999 → 1.00, half up to the fen
    assert f.vola_amt == Decimal("1.00") and "二级医院限价 9.00 元" in f.vola_cont
    assert both(rs, [claim([ln("1", "D004", 3, "9.00")], level="2")]) == []


def test_quantity_is_daily_max_times_days_of_supply_and_the_excess_is_priced() -> None:
    rs = compiled(rule("quantity", window="day"))
    ok = claim([ln("1", "D004", 21, "2.00", days=7)])  # 3 a day × 7 days
    assert both(rs, [ok]) == []
    over = claim([ln("1", "D004", 10, "2.00", days=2), ln("2", "D004", 2, "2.00", days=1)])
    f = _one(both(rs, [over]))
    # allowed 3 × 2 = 6; line 1 brings 10 (4 over), line 2 adds 2 more
    assert _lines(f) == [("1", 1, Decimal("8.00")), ("2", 1, Decimal("4.00"))]
    assert f.vola_amt == Decimal("12.00") and "超出 6" in f.vola_cont
    stay = compiled(rule("quantity", "Q2", window="visit"))
    many = claim([ln(str(i), "D004", 5, "1.00", day=DAY + timedelta(i)) for i in range(5)])
    f = _one(both(stay, [many]))  # 25 against 20 a stay: the last line's 5
    assert _lines(f)[0] == ("4", 1, Decimal("5.00")) and f.vola_amt == Decimal("5.00")


def test_quantity_threshold_can_be_narrowed_by_parameters() -> None:
    rs = compiled(rule("quantity", window="day", params={"codes": ["D004"], "max_per_day": "1"}))
    f = _one(both(rs, [claim([ln("1", "D004", 2, "1.50")])]))
    assert f.vola_amt == Decimal("1.50")


def test_frequency_per_day_visit_and_month() -> None:
    day = compiled(rule("frequency", window="day"))
    assert both(day, [claim([ln("1", "S006", 2)])]) == []
    f = _one(both(day, [claim([ln("1", "S006", 1), ln("2", "S006", 2)])]))
    assert _lines(f) == [("2", 1, Decimal("10.00")), ("1", 2, Decimal("0.00"))]
    visit = compiled(rule("frequency", window="visit"))
    days = [ln(str(i), "S006", 1, day=DAY + timedelta(i)) for i in range(4)]
    assert _one(both(visit, [claim(days)])).vola_amt == Decimal("10.00")


def test_course_sessions_and_days() -> None:
    sessions = compiled(rule("course", window="visit"))
    assert both(sessions, [claim([ln("1", "S007", 3)])]) == []
    assert _one(both(sessions, [claim([ln("1", "S007", 4)])])).vola_amt == Decimal("10.00")
    days = compiled(rule("course", window="month"))
    three = [ln(str(i), "S007", 1, day=DAY + timedelta(i)) for i in range(3)]
    f = _one(both(days, [claim(three)]))
    assert "治疗天数 3 天，疗程限 2 天" in f.vola_cont
    assert _lines(f)[0] == ("2", 1, Decimal("10.00"))


def test_course_sessions_and_days_count_a_line_once() -> None:
    """Both limits on one rule: 4 sessions on 4 days against 2 sessions and 2 days.
    Each limit has its finding, but a line past both counts once for the rule."""
    both_limits = compiled(
        rule("course", window="visit", params={"codes": ["S007"], "max_sessions": 2, "max_days": 2})
    )
    four = [ln(str(i), "S007", 1, day=DAY + timedelta(i)) for i in range(4)]
    found = both(both_limits, [claim(four)])
    assert len(found) == 2
    by_measure = {("次" if "疗程限 2 次" in f.vola_cont else "天"): f for f in found}
    assert set(by_measure) == {"次", "天"}, [f.vola_cont for f in found]
    assert by_measure["次"].vola_amt == Decimal("20.00")  # sessions 3 and 4
    assert by_measure["天"].vola_amt == Decimal("0.00")  # the same two lines: counted once
    assert sum(f.vola_amt for f in found) == Decimal("20.00")
    # lines 3 and 4 are still named as violating the day limit
    assert [x[:2] for x in _lines(by_measure["天"]) if x[1] == 1] == [("2", 1), ("3", 1)]
    # two sessions a day on three days: sessions 3–6 past the count, the third day past
    # the days; the third day's lines were counted by sessions already
    six = [ln(f"{d}{k}", "S007", 1, day=DAY + timedelta(d)) for d in range(3) for k in "ab"]
    found = both(both_limits, [claim(six)])
    assert sum(f.vola_amt for f in found) == Decimal("40.00")


def test_phantom_hours_per_day_and_days_of_stay() -> None:
    hours = compiled(rule("phantom", window="day"))
    assert both(hours, [claim([ln("1", "S008", 24, "2.00")])]) == []
    f = _one(both(hours, [claim([ln("1", "S008", 20, "2.00"), ln("2", "S008", 6, "2.00")])]))
    assert f.vola_amt == Decimal("4.00") and "多计 2 小时" in f.vola_cont
    beds = compiled(rule("phantom", window="visit"))
    stay = claim([ln("1", "S009", 5, "50.00")], mode="ipt", end=DAY + timedelta(4))
    f = _one(both(beds, [stay]))  # 4 days of stay (discharge − admission), 5 billed
    assert f.vola_amt == Decimal("50.00") and "本次就诊共 4 天" in f.vola_cont
    assert (
        both(beds, [claim([ln("1", "S009", 4, "50.00")], mode="ipt", end=DAY + timedelta(4))]) == []
    )


def test_duplicate_exclusive_and_inclusive_pairs() -> None:
    rs = compiled(rule("duplicate"))
    both_billed = claim(
        [ln("1", "S101"), ln("2", "S102", price="12.00"), ln("3", "S103"), ln("4", "S104")]
    )
    found = {f.vola_cont: f for f in both(rs, [both_billed])}
    assert len(found) == 2
    excl = next(f for c, f in found.items() if "血细胞分析（S102）重复收费" in c)
    assert _lines(excl) == [("2", 1, Decimal("12.00")), ("1", 2, Decimal("0.00"))]
    assert any("全身麻醉（S103）已包含气管插管（S104）" in f.vola_evid for f in found.values())
    assert both(rs, [claim([ln("1", "S101"), ln("3", "S103")])]) == []
    only_inclusive = compiled(rule("duplicate", params={"types": ["inclusive"]}))
    assert len(both(only_inclusive, [both_billed])) == 1


def test_missing_linkage() -> None:
    rs = compiled(rule("linkage"))
    assert both(rs, [claim([ln("1", "A001"), ln("2", "O001")])]) == []
    f = _one(both(rs, [claim([ln("1", "A001", price="80.00")])]))
    assert f.vola_amt == Decimal("80.00") and "之一同时发生" in f.vola_cont


def test_unbundling_with_the_package_and_instead_of_it() -> None:
    rs = compiled(rule("unbundling"))
    withp = claim([ln("1", "P001", price="30.00"), ln("2", "C001")])
    f = _one(both(rs, [withp]))
    assert _lines(f) == [("2", 1, Decimal("10.00")), ("1", 2, Decimal("0.00"))]
    assert "已收取打包项目" in f.vola_cont
    instead = claim([ln("1", "C001"), ln("2", "C002"), ln("3", "C003")])
    f = _one(both(rs, [instead]))
    assert f.vola_amt == Decimal("30.00") and "分别收取其 3 个组成项目" in f.vola_cont
    assert both(rs, [claim([ln("1", "C001")])]) == []  # one component alone is fine
    only_with = compiled(rule("unbundling", params={"mode": "with_package"}))
    assert both(only_with, [instead]) == []


def test_two_relations_of_one_item_are_two_findings_with_two_ids() -> None:
    """Two ``requires`` of one item, or two packages of one package code, are two
    relations: two findings with distinct ``jr_id`` (they once shared one, so a stored
    run kept only one and the batch order of the two was left to chance)."""
    items = [
        {"code": c, "name": f"项目{c}", "kind": "service", "fee_type": "05", "chrgitm_lv": "01"}
        for c in ("A1", "O1", "O2", "P1", "C1", "C2", "C3")
    ]
    relations = [
        {"kind": "requires", "item": "A1", "any_of": ["O1"]},
        {"kind": "requires", "item": "A1", "any_of": ["O2"]},
        {"kind": "package", "package": "P1", "components": ["C1", "C2"]},
        {"kind": "package", "package": "P1", "components": ["C1", "C3"]},
        {"kind": "package", "package": "P1", "components": ["C2", "C1"]},  # the first again
    ]
    k = Knowledge.from_data(items, relations)
    rs = compile_rules([rule("linkage"), rule("unbundling")], k, on=date(2024, 1, 1))
    found = both(rs, [claim([ln("1", "A1"), ln("2", "P1"), ln("3", "C1")])])
    assert len({f.jr_id for f in found}) == len(found) == 4
    linkage = sorted(f.vola_cont for f in found if f.family == "linkage")
    assert ["（O1）" in linkage[0], "（O2）" in linkage[1]] == [True, True]
    packages = sorted(f.vola_evid for f in found if f.family == "unbundling")
    assert ["C2" in packages[0], "C3" in packages[1]] == [True, True]


@pytest.mark.parametrize("family", ["sex", "price", "duplicate"])
def test_codes_narrow_a_rule_to_some_items(family: str) -> None:
    rs = compiled(rule(family, params={"codes": ["ZZZ1"]}))
    c = claim([ln("1", "S002"), ln("2", "D004", 1, "99.00"), ln("3", "S101"), ln("4", "S102")])
    assert both(rs, [c]) == []
