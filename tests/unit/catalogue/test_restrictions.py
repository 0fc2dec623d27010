"""Typed payment restrictions (限定支付范围) read from JSON, refused in Chinese."""

from __future__ import annotations

from decimal import Decimal

import pytest

from yibao.engines.catalogue import describe, dump_restrictions, parse_restrictions


def test_restrictions_round_trip_and_read_as_the_catalogue_words() -> None:
    data = [
        {"kind": "sex", "sex": "2"},
        {"kind": "age", "min_years": 18},
        {"kind": "hospital_level", "min_level": "2"},
        {"kind": "indication", "diagnoses": ["C50", "C56"]},
        {"kind": "quantity", "per_day": "3"},
        {"kind": "setting", "setting": "inpatient"},
    ]
    rules = parse_restrictions(data)
    assert [describe(r) for r in rules] == [
        "限女性",
        "限 18 岁及以上",
        "限二级及以上医疗机构",
        "限诊断 C50、C56",
        "每日不超过 3",
        "限住院使用",
    ]
    assert parse_restrictions(dump_restrictions(rules)) == rules
    assert rules[4].per_day == Decimal(3)  # type: ignore[union-attr]
    assert parse_restrictions(None) == () and dump_restrictions(()) is None
    assert len(parse_restrictions({"kind": "sex", "sex": "1"})) == 1


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ([{"kind": "colour"}], "kind 须为"),
        ([{"kind": "sex", "sex": "3"}], "第 1 条限制字段 sex：取值不合规定"),
        ([{"kind": "age"}], "须给出 min_years 或 max_years"),
        ([{"kind": "age", "min_years": 60, "max_years": 18}], "下限不能大于上限"),
        ([{"kind": "sex", "sex": "1", "x": 1}], "不认识的字段"),
        ("限女性", "须为 JSON 对象"),
    ],
)
def test_bad_restrictions_are_refused_in_chinese(data: object, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_restrictions(data)
