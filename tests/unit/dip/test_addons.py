"""Dynamic coefficient add-ons of the Xiamen scheme (domain.md §2.6), by hand."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from yibao.engines.dip.addons import XiamenRules, add_on_map, dynamic_add_ons

D = Decimal


def _hospitals() -> pl.DataFrame:
    # 三级: mean CMI (1.0 + 1.26 + 0.74) / 3 = 1.0; H2 is 26 % above → 5 full steps of
    # 5 % → 0.05.  Children: mean (0.10 + 0.30 + 0.20) / 3 = 0.20; H2 0.30 is 50 % above →
    # 5 steps of 10 % → 0.05; H1 none.  Elderly: mean 0.20; H3 0.36 is 80 % above → 4
    # steps of 20 % → 0.04, capped at 0.03.  TCM: mean 0.05; H1 0.10 is 100 % above →
    # 33 steps of 3 % → 0.33, capped at 0.05.  二级 H4 alone: at its mean, nothing.
    # 一级 H5: no dynamic add-on at all.
    return pl.DataFrame(
        {
            "code": ["H1", "H2", "H3", "H4", "H5"],
            "level": ["3", "3", "3", "2", "1"],
            "cmi": ["1.00", "1.26", "0.74", "0.8", "2.0"],
            "child_share": ["0.10", "0.30", "0.20", "0.5", "0.9"],
            "elderly_share": ["0.12", "0.12", "0.36", "0.1", "0.9"],
            "tcm_share": ["0.10", "0.025", "0.025", "0.2", "0.9"],
        }
    )


def test_xiamen_parts_steps_and_caps() -> None:
    out = dynamic_add_ons(_hospitals()).rows_by_key("code", named=True, unique=True)
    assert (out["H1"]["l1_difficulty"], out["H2"]["l1_difficulty"]) == (D(0), D("0.05"))
    assert (out["H2"]["l2_children"], out["H1"]["l2_children"]) == (D("0.05"), D(0))
    assert out["H3"]["l2_elderly"] == D("0.03")  # 0.04 capped
    assert out["H1"]["l3_tcm"] == D("0.05")  # 0.33 capped
    assert out["H1"]["add_on"] == D("0.05") and out["H2"]["add_on"] == D("0.10")
    assert out["H3"]["add_on"] == D("0.03")
    assert out["H4"]["add_on"] == D(0) and out["H5"]["add_on"] == D(0)


def test_rules_configurable_and_explicit_add_ons_win() -> None:
    rules = XiamenRules(unit=D("0.02"))
    out = dynamic_add_ons(_hospitals(), rules).rows_by_key("code", named=True, unique=True)
    assert out["H2"]["l1_difficulty"] == D("0.10")  # 5 steps × 0.02, under the 三级 cap 0.13
    frame = dynamic_add_ons(_hospitals())
    assert add_on_map(frame, {"H1": D("0.2")})["H1"] == D("0.2")
    assert add_on_map(frame)["H2"] == D("0.10")
