from __future__ import annotations

import polars as pl
import pytest

from yibao.engines.synth import make_region


def test_city_and_districts() -> None:
    region = make_region(1)
    city = region.regions.filter(pl.col("level") == "city")
    assert city.rows() == [("990100", "演示市", "city", None)]
    districts = region.regions.filter(pl.col("level") == "district")
    assert 5 <= districts.height <= 6
    assert districts["code"].to_list() == [f"9901{i:02d}" for i in range(2, 2 + districts.height)]
    assert districts["parent_code"].unique().to_list() == ["990100"]
    assert all(n.startswith("演示市") for n in districts["name"])


def test_hospitals() -> None:
    region = make_region(1)
    h = region.hospitals
    assert h.height == 30
    assert h.group_by("level").len().sort("level").rows() == [("1", 12), ("2", 12), ("3", 6)]
    assert h["code"].n_unique() == 30 and h["name"].n_unique() == 30
    districts = set(region.districts)
    for code, region_code in h.select("code", "region_code").iter_rows():
        assert len(code) == 12 and code[0] == "H" and code[1:7] == region_code
        assert code[7:].isdigit()
        assert region_code in districts
    assert h.filter(pl.col("level") == "1")["name"].str.ends_with("卫生院").all()
    assert h.columns == ["code", "name", "level", "region_code"]
    assert region.hospital_traits["code"].equals(h["code"])
    assert region.hospital_traits["tcm"].any()


@pytest.mark.parametrize("count", [1, 7, 30, 45])
def test_hospital_counts(count: int) -> None:
    assert make_region(3, hospitals=count).hospitals.height == count


def test_region_is_deterministic() -> None:
    assert make_region(9).hospitals.equals(make_region(9).hospitals)
    assert make_region(9).hospital_traits.equals(make_region(9).hospital_traits)
    assert not make_region(9).hospital_traits.equals(make_region(10).hospital_traits)
