"""The shape of a 定点医疗机构编码 (regions.service): H, the district's 6-digit 医保区划,
a 5-digit serial — and the demo's hospitals keep it."""

from __future__ import annotations

import pytest

from yibao.engines.synth.region import make_region
from yibao.kit.errors import ValidationFailed
from yibao.regions.service import check_code_region, check_code_shape


@pytest.mark.parametrize("hospitals", [1, 30, 200])
def test_every_demo_hospital_code_carries_its_district(hospitals: int) -> None:
    region = make_region(20260101, hospitals=hospitals)
    for row in region.hospitals.iter_rows(named=True):
        check_code_shape(row["code"])
        check_code_region(row["code"], row["region_code"])


@pytest.mark.parametrize(
    ("code", "region", "words"),
    [
        ("H12345678901", "990102", "医保区划 123456 与所在区县 990102 不符"),
        ("H99010300001", "990102", "须以 H990102 开头"),
        ("X99010200001", "990102", "须为 12 位"),
        ("H990102000011", "990102", "须为 12 位"),
    ],
)
def test_bad_codes_are_refused_naming_the_field(code: str, region: str, words: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        check_code_shape(code)
        check_code_region(code, region)
    assert info.value.field == "code" and info.value.message.startswith("机构编码：")
    assert words in info.value.message, info.value.message
