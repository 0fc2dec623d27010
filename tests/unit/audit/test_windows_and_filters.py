"""Windows across a person's encounters (history), validity and enabled flags, stage /
trig_scen / rule_ids filtering, deterministic ids, and Chinese errors."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.unit.audit.builders import DAY, both, claim, compiled, knowledge, ln, rule
from yibao.engines.audit import AuditError, Knowledge, Rule, compile_rules


def test_month_window_counts_the_persons_other_encounters() -> None:
    rs = compiled(rule("frequency", window="month"))  # 4 a month
    first = claim([ln("a1", "S006", 3)], mdtrt="M1")
    second = claim(
        [ln("b1", "S006", 2, day=DAY + timedelta(10))], mdtrt="M2", begin=DAY + timedelta(10)
    )
    assert rs.audit(second, stage="mid") == []  # alone: 2 of 4
    real_time = rs.audit(second, stage="mid", history=[first])
    assert [f.vola_amt for f in real_time] == [Decimal("10.00")]  # the 5th time
    assert "2024-03 月内计 5 次" in real_time[0].vola_cont
    batch = both(rs, [first, second])  # the batch sees both encounters of the person
    assert [f.jr_id for f in batch] == [real_time[0].jr_id]
    other_month = claim(
        [ln("c1", "S006", 2, day=date(2024, 4, 2))], mdtrt="M3", begin=date(2024, 4, 2)
    )
    assert rs.audit(other_month, stage="mid", history=[first]) == []
    someone_else = claim([ln("d1", "S006", 2, day=DAY)], psn="P2", mdtrt="M4")
    assert both(rs, [first, someone_else]) == []


def test_day_window_joins_same_day_encounters_and_visit_window_does_not() -> None:
    day = compiled(rule("duplicate", window="day"))
    visit = compiled(rule("duplicate", "R2", window="visit"))
    morning = claim([ln("1", "S101")], mdtrt="M1")
    evening = claim([ln("2", "S102")], mdtrt="M2")
    assert len(both(day, [morning, evening])) == 1
    assert both(visit, [morning, evening]) == []
    assert len(day.audit(evening, stage="pre", history=[morning])) == 1


def test_visit_window_reads_earlier_lines_of_the_same_encounter_from_history() -> None:
    rs = compiled(rule("frequency", window="visit"))  # 3 a visit
    earlier = claim([ln("1", "S006", 3)], mode="ipt")
    now = claim([ln("2", "S006", 1, day=DAY + timedelta(1))], mode="ipt")
    found = rs.audit(now, stage="pre", trig_scen=5, history=[earlier])
    assert [(x.rx_id, x.vola_item_type) for x in found[0].lines] == [("2", 1)]


def test_rules_apply_only_when_enabled_and_valid() -> None:
    c = claim([ln("1", "S002")])
    assert compiled(rule("sex", enabled=False)).audit(c, stage="mid") == []
    window = {"valid_from": date(2024, 2, 1), "valid_to": date(2024, 12, 31)}
    assert compiled(rule("sex", **window), on=date(2024, 1, 31)).audit(c, stage="mid") == []
    assert len(compiled(rule("sex", **window), on=date(2024, 2, 1)).audit(c, stage="mid")) == 1
    assert compiled(rule("sex", **window), on=date(2025, 1, 1)).audit(c, stage="mid") == []
    v1 = rule("sex", valid_to=date(2024, 5, 31))
    v2 = rule("sex", version=2, valid_from=date(2024, 6, 1), name="限性别 v2")
    found = compiled(v1, v2, on=date(2024, 6, 1)).audit(c, stage="mid")
    assert [(f.rule_version, f.rule_name) for f in found] == [(2, "限性别 v2")]


def test_stage_trig_scen_and_rule_ids_select_rules() -> None:
    rs = compiled(
        rule("sex", "PRE", stages=["pre"], trig_scen=[2]),
        rule("sex", "MID", stages=["mid"]),
        rule("sex", "POST", stages=["post"]),
        rule("age", "AGE", stages=["pre", "mid"]),
    )
    c = claim([ln("1", "S002"), ln("2", "D001")])
    ids = lambda fs: sorted(f.rule_id for f in fs)  # noqa: E731
    assert ids(rs.audit(c, stage="pre")) == ["AGE", "PRE"]
    assert ids(rs.audit(c, stage="pre", trig_scen=2)) == ["AGE", "PRE"]
    assert ids(rs.audit(c, stage="pre", trig_scen=1)) == ["AGE"]
    assert ids(rs.audit(c, stage="mid", trig_scen=6)) == ["AGE", "MID"]
    assert ids(rs.audit(c, stage="post")) == ["POST"]
    assert ids(rs.audit(c, stage="mid", rule_ids=["AGE"])) == ["AGE"]
    assert ids(both(rs, [c], stage="pre", rule_ids=["PRE"])) == ["PRE"]
    with pytest.raises(AuditError, match="rule_ids：规则 NOPE 不存在") as err:
        rs.audit(c, stage="mid", rule_ids=["NOPE"])
    assert err.value.field == "rule_ids"
    # the day named is the encounter's, not the day the rule set was compiled for
    later = claim([ln("1", "S002", day=DAY + timedelta(9))], begin=DAY + timedelta(9))
    with pytest.raises(AuditError, match=f"在 {DAY + timedelta(9)} 未启用"):
        rs.audit(later, stage="mid", rule_ids=["NOPE"])
    # a 事前+事中 rule naming only 事前 scenarios: narrowed at 事前, every 事中 scenario
    both_stages = compiled(rule("sex", "BOTH", stages=["pre", "mid"], trig_scen=[2]))
    assert ids(both_stages.audit(c, stage="pre", trig_scen=2)) == ["BOTH"]
    assert ids(both_stages.audit(c, stage="pre", trig_scen=1)) == []
    assert ids(both_stages.audit(c, stage="mid", trig_scen=6)) == ["BOTH"]
    assert ids(both_stages.audit(c, stage="mid", trig_scen=9)) == ["BOTH"]
    mid_named = compiled(rule("sex", "BOTH", stages=["pre", "mid"], trig_scen=[2, 7]))
    assert ids(mid_named.audit(c, stage="mid", trig_scen=6)) == []
    assert ids(mid_named.audit(c, stage="mid", trig_scen=7)) == ["BOTH"]
    with pytest.raises(AuditError, match="触发场景 6 属于事中，与审核阶段事前不符"):
        rs.audit(c, stage="pre", trig_scen=6)
    with pytest.raises(AuditError, match="stage 须为"):
        rs.audit(c, stage="later")


def test_jr_id_is_deterministic_and_tied_to_rule_version_encounter_and_lines() -> None:
    c = claim([ln("1", "S002")])
    a = compiled(rule("sex")).audit(c, stage="mid")[0]
    assert a.jr_id == compiled(rule("sex")).audit(c, stage="mid")[0].jr_id
    assert len(a.jr_id) == 32
    assert a.jr_id != compiled(rule("sex", version=2)).audit(c, stage="mid")[0].jr_id
    moved = claim([ln("1", "S002")], mdtrt="M9")
    assert a.jr_id != compiled(rule("sex")).audit(moved, stage="mid")[0].jr_id
    more = claim([ln("1", "S002"), ln("2", "S002")])
    assert a.jr_id != compiled(rule("sex")).audit(more, stage="mid")[0].jr_id


def test_refund_lines_are_not_audited() -> None:
    rs = compiled(rule("sex"))
    assert both(rs, [claim([ln("1", "S002", -1, amount="-10.00")])]) == []


@pytest.mark.parametrize(
    ("data", "words", "field"),
    [
        (rule("sex", window="day"), "超性别规则的窗口须为 visit", "window"),
        (rule("sex", stages=[]), "字段 stages：条目数不合规定", "stages"),
        (rule("sex", stages=["mid"], trig_scen=[1]), "触发场景 1 属于事前", "trig_scen"),
        (rule("sex", sev_deg=4), "字段 sev_deg：超出允许范围（须不大于 3）", "sev_deg"),
        (
            rule("sex", params={"codes": ["有空格 的码"]}),
            r"字段 params.codes\[0\]：格式不合规定",
            None,
        ),
        (rule("sex", params={"colour": 1}), "字段 params.colour：有不认识的字段", None),
        (
            rule("frequency", params={"max_times": 2}),
            "params.max_times：替换知识库阈值时须同时给出 codes",
            None,
        ),
        (
            rule("quantity", window="visit", params={"codes": ["D004"], "max_per_day": 2}),
            "仅用于 window 为 day",
            None,
        ),
        (
            rule("sex", valid_from=date(2024, 2, 1), valid_to=date(2024, 1, 1)),
            "失效日期不能早于生效日期",
            "valid_to",
        ),
        (rule("mood"), "字段 family：取值不合规定", "family"),
    ],
)
def test_bad_rules_are_refused_in_chinese(
    data: dict[str, object], words: str, field: str | None
) -> None:
    with pytest.raises(AuditError, match=words) as err:
        Rule.from_data(data)
    assert err.value.message.startswith("规则 R_")
    if field:
        assert err.value.field == field


def test_two_active_versions_of_a_rule_are_refused() -> None:
    with pytest.raises(AuditError, match="规则 R_sex 在 2024-01-01 有两个有效版本"):
        compiled(rule("sex"), rule("sex", version=2))


@pytest.mark.parametrize(
    ("items", "relations", "words"),
    [
        (
            [{"code": "X", "name": "甲", "kind": "service", "fee_type": "05", "chrgitm_lv": "01"}]
            * 2,
            [],
            "项目 X 重复",
        ),
        (
            [{"code": "X", "name": "甲", "kind": "toy", "fee_type": "05", "chrgitm_lv": "01"}],
            [],
            "目录类别须为",
        ),
        (
            [
                {
                    "code": "X",
                    "name": "甲",
                    "kind": "service",
                    "fee_type": "05",
                    "chrgitm_lv": "01",
                    "restrictions": [{"kind": "sex", "sex": "1"}, {"kind": "sex", "sex": "2"}],
                }
            ],
            [],
            "使用限制 sex 重复",
        ),
        (
            [],
            [{"kind": "exclusive", "codes": ["A", "A"]}],
            r"第 1 条项目关系：字段 relations\[0\]：互斥的两个项目不能相同",
        ),
        (
            [],
            [{"kind": "package", "package": "P", "components": ["A"]}],
            "字段 relations\\[0\\].components",
        ),
        ([], [{"kind": "sibling"}], "kind 取值不合规定"),
        (
            [],
            [{"kind": "package", "package": "P", "components": ["A", "B"], "min_components": 3}],
            "min_components 不能大于组成项目个数",
        ),
    ],
)
def test_bad_knowledge_is_refused_in_chinese(
    items: list[dict[str, object]], relations: list[dict[str, object]], words: str
) -> None:
    with pytest.raises(AuditError, match=words):
        Knowledge.from_data(items, relations)


def test_bad_claims_are_refused_naming_the_field() -> None:
    with pytest.raises(AuditError, match="cnt（数量）最多 4 位小数") as err:
        claim([ln("1", "S002", "1.23456")])
    assert err.value.field == "fsi_order_dtos[0].cnt"
    with pytest.raises(AuditError, match="rx_id 1 重复"):
        claim([ln("1", "S002"), ln("1", "S001")])
    with pytest.raises(AuditError, match="医院等级（medins_lv）须为 1、2、3"):
        claim([], level="5")
    with pytest.raises(AuditError, match="性别（gend）"):
        claim([], sex="M")


def test_knowledge_accepts_catalogue_items_and_batch_refuses_orphans() -> None:
    k = knowledge()
    again = Knowledge.from_data(list(k.items.values()), list(k.relations))
    assert again == k
    rs = compile_rules([rule("sex")], k, on=date(2024, 1, 1))
    import polars as pl

    from yibao.engines.audit import claims_to_frames

    p, e, d, lines = claims_to_frames([claim([ln("1", "S002")])])
    with pytest.raises(AuditError, match="就诊 M1 不在 encounters 中"):
        rs.audit_frames(p, e.filter(pl.lit(False)), d, lines)
