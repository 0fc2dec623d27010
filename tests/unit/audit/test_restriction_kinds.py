"""The restriction kinds the audit added (insutype, frequency, course): read from JSON,
described in the catalogue's words, refused in Chinese; the old kinds are untouched."""

from __future__ import annotations

import pytest

from yibao.engines.catalogue import describe, dump_restrictions, parse_restrictions
from yibao.engines.catalogue.restrictions import CourseRule, FrequencyRule, InsutypeRule


def test_new_kinds_round_trip_and_read_as_catalogue_words() -> None:
    data = [
        {"kind": "insutype", "insutypes": ["510"]},
        {"kind": "frequency", "max_times": 1, "per": "day"},
        {"kind": "frequency", "max_times": 4, "per": "month"},
        {"kind": "course", "per": "visit", "max_sessions": 20},
        {"kind": "course", "per": "month", "max_sessions": 10, "max_days": 7},
    ]
    rules = parse_restrictions(data)
    assert isinstance(rules[0], InsutypeRule)
    assert isinstance(rules[1], FrequencyRule) and isinstance(rules[3], CourseRule)
    assert [describe(r) for r in rules] == [
        "限险种 510",
        "每日不超过 1 次",
        "每自然月不超过 4 次",
        "疗程每次就诊不超过 20 次",
        "疗程每自然月不超过 10 次、7 天",
    ]
    assert parse_restrictions(dump_restrictions(rules)) == rules


def test_old_json_shapes_stay_valid() -> None:
    old = [
        {"kind": "sex", "sex": "2"},
        {"kind": "age", "max_years": 14},
        {"kind": "hospital_level", "min_level": "3"},
        {"kind": "setting", "setting": "outpatient"},
        {"kind": "department", "departments": ["A03"]},
        {"kind": "indication", "diagnoses": ["E11"]},
        {"kind": "quantity", "per_day": "3", "per_stay": "30"},
    ]
    assert dump_restrictions(parse_restrictions(old)) == old


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"kind": "insutype", "insutypes": []}, "字段 insutypes：取值不合规定"),
        ({"kind": "insutype", "insutypes": ["51"]}, "字段 insutypes：格式不合规定"),
        ({"kind": "frequency", "max_times": 0, "per": "day"}, "字段 max_times"),
        ({"kind": "frequency", "max_times": 1, "per": "week"}, "字段 per：取值不合规定"),
        ({"kind": "course", "per": "visit"}, "须给出 max_sessions 或 max_days"),
        ({"kind": "course", "per": "day", "max_days": 3}, "字段 per"),
    ],
)
def test_bad_new_kinds_are_refused_in_chinese(data: object, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_restrictions(data)
