"""The single-case API input carries what regional plans read.

``parse_case_input`` (POST /api/grouping/group and the web form) knows no
``icu_hours`` field, so a Foshan 2022 case with ICU hours is refused, and without
the field it groups differently from the reference (public case P000120: GC12
with 56 ICU hours, GC11 without).  The API documents ``sex`` as ``str | int``
("1 男，2 女") but hands an integer through, which the text-only sex check of 13
regional plans (additions §5; the packages receive sex as text) refuses.
"""

from __future__ import annotations

from yibao.engines.grouper import PlanRegistry
from yibao.grouping.schemas import parse_case_input
from yibao.grouping.service import group_case_input

P000120 = {
    "sex": "2",
    "age_years": 63,
    "age_days": 23335,
    "dept": "04.01",
    "los_days": 11,
    "discharge_type": "1",
    "diagnoses": "K62.817|H40.000|I10.x10|F06.800x017|Z86.600x001|D64.904",
    "procedures": "44.9100x002|93.4102",
}


def test_api_case_with_icu_hours_groups_like_reference() -> None:
    case = parse_case_input({**P000120, "icu_hours": 56, "plan": "foshan-2022"})
    single = group_case_input(PlanRegistry(), case)
    assert (single.result.status, single.result.drg) == ("ok", "GC12")


def test_api_integer_sex_under_text_only_sex_plan() -> None:
    """JSON ``"sex": 1`` groups under zhejiang-2022 exactly as ``"sex": "1"`` does."""
    body = {"sex": "1", "age_years": 50, "diagnoses": "K22.301|K11.901", "plan": "zhejiang-2022"}
    registry = PlanRegistry()
    as_text = group_case_input(registry, parse_case_input(body)).result
    as_int = group_case_input(registry, parse_case_input({**body, "sex": 1})).result
    assert as_text.status == "ok"
    assert tuple(as_int[:4]) == tuple(as_text[:4])
