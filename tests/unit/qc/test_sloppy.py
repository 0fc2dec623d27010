"""What real hospital uploads look like: date-only times, Excel artefacts, loose headers.

Each test is a defect found on review (a valid list held, or a value misread)."""

from __future__ import annotations

from yibao.engines.grouper import CompiledPlan
from yibao.engines.qc import RuleSet, check_list

from .conftest import Message


def _rules(message: Message, ruleset: RuleSet, plan: CompiledPlan) -> list[tuple[str, str]]:
    return [(f.rule_id, f.field) for f in check_list(message, ruleset, plan)]


def test_discharge_given_as_a_date_covers_the_whole_discharge_day(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    """``dscg_time`` = ``2024-03-08`` (no time, as many HIS export 出院日期) is the whole
    day: an operation on the morning of the discharge day is inside the stay, and a
    same-day admission at 09:00 is not "after the discharge"."""
    good["setlinfo"]["dscg_time"] = "2024-03-08"
    good["oprninfo"][0].update(
        oprn_oprt_date="2024-03-08",
        oprn_oprt_begntime="2024-03-08 09:10:00",
        oprn_oprt_endtime="2024-03-08 09:50:00",
        anst_begntime="2024-03-08 09:00:00",
        anst_endtime="2024-03-08 10:00:00",
    )
    good["icuinfo"][0]["scs_cutd_exit_time"] = "2024-03-08 07:00:00"
    good["icuinfo"][0]["scs_cutd_sum_dura"] = "5/21/0"
    assert _rules(good, ruleset, plan) == []
    # still a finding: the day after the discharge day, and an operation before admission
    good["oprninfo"][0]["anst_endtime"] = "2024-03-09 00:10:00"
    good["oprninfo"][0]["oprn_oprt_begntime"] = "2024-03-01 08:00:00"
    assert _rules(good, ruleset, plan) == [
        ("QC012", "oprninfo[0].oprn_oprt_begntime"),
        ("QC012", "oprninfo[0].anst_endtime"),
    ]


def test_same_day_stay_with_a_date_only_discharge(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    good["setlinfo"].update(
        adm_time="2024-03-08 09:00:00",
        dscg_time="20240308",
        act_ipt_days="1",
        setl_begn_date="2024-03-08",
    )
    good["oprninfo"][0].update(
        oprn_oprt_date="2024-03-08",
        oprn_oprt_begntime="2024-03-08 10:10:00",
        oprn_oprt_endtime="2024-03-08 10:50:00",
        anst_begntime="2024-03-08 10:00:00",
        anst_endtime="2024-03-08 11:00:00",
    )
    good["icuinfo"] = []
    assert _rules(good, ruleset, plan) == []
    good["setlinfo"]["dscg_time"] = "2024-03-07"  # a day before the admission: still wrong
    assert ("QC013", "setlinfo.dscg_time") in _rules(good, ruleset, plan)


def test_item_times_given_as_dates_compare_by_day(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    """An anaesthesia begin written ``2024-03-01`` on the admission day (admitted 08:30)
    is that day, not its midnight before the admission; an end written as a date is
    not "before" a begin at 09:00 of that day."""
    good["oprninfo"][0].update(
        oprn_oprt_date="2024-03-01",
        oprn_oprt_begntime="2024-03-01 09:10:00",
        oprn_oprt_endtime="2024-03-01",
        anst_begntime="2024-03-01",
        anst_endtime="2024-03-01 10:00:00",
    )
    assert _rules(good, ruleset, plan) == []
