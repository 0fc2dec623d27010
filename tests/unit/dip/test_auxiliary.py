"""DIP auxiliary catalogue (domain.md §2.5): Charlson index with Quan's ICD-10 coding,
age bands and the supervision indicators, against hand-worked cases."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from yibao.engines.dip.auxiliary import AuxiliaryParams, auxiliary, charlson_index, conditions


def test_charlson_weights_and_hierarchy() -> None:
    assert charlson_index([]) == 0
    # CHF (I50.9) 1 + COPD (J44) 1 + renal (N18.5) 2 = 4
    assert charlson_index(["I50.900", "J44.100", "N18.500"]) == 4
    # diabetes with complications (E11.2) outranks without (E11.9): 2, not 3
    assert charlson_index(["E11.900", "E11.200x011"]) == 2
    # metastasis (C78.0) 6 outranks the primary tumour (C34.1) 2; HIV (B20) 6 → 12
    assert charlson_index(["C34.100", "C78.000", "B20.000"]) == 12
    # severe liver (K72.9) 3 outranks mild (K74.6) 1; the same condition counts once
    assert charlson_index(["K74.600", "K72.900", "K72.100"]) == 3
    assert conditions(["I21.0", "I25.2", "I63.9"]) == {"心肌梗死", "脑血管疾病"}
    assert conditions(["I42.4", "I42.5"]) == {"充血性心力衰竭"}  # I42.5–I42.9 only
    assert conditions(["I42.4"]) == set()


def _cases() -> pl.DataFrame:
    t = datetime
    rows = [
        # setl, person, dx cat, admitted, discharged, age, los, way, deviation
        ("a", "P1", "J18.9", t(2025, 3, 1), t(2025, 3, 10), 5, 9, "1", "normal"),
        ("b", "P1", "J18.9", t(2025, 3, 20), t(2025, 3, 22), 5, 2, "1", "low"),  # 10 days
        ("c", "P1", "J18.9", t(2025, 4, 20), t(2025, 4, 22), 5, 2, "1", "normal"),  # 29 d
        ("d", "P2", "I63.9", t(2025, 5, 1), t(2025, 7, 15), 75, 75, "5", "high"),
        ("e", "P2", "K35.8", t(2025, 7, 20), t(2025, 7, 22), 75, 2, "1", "normal"),  # other dx
        ("f", None, "K35.8", t(2025, 7, 20), t(2025, 7, 22), None, 1, "1", "low"),
    ]
    names = (
        "setl_id", "psn_no", "dx_cat", "admission_time", "discharge_time", "age_years",
        "los_days", "discharge_way", "deviation",
    )  # fmt: skip
    return pl.DataFrame(rows, schema=list(names), orient="row")


def test_age_bands_and_indicators() -> None:
    secondary = pl.DataFrame({"setl_id": ["d", "d", "e"], "code": ["I50.9", "N18.5", "E11.9"]})
    out = auxiliary(_cases(), secondary).rows_by_key("setl_id", named=True, unique=True)
    assert (out["d"]["cci"], out["d"]["cci_level"]) == (3, 2)  # 1 + 2 → level 2 (3–4)
    assert (out["e"]["cci"], out["e"]["cci_level"]) == (1, 1)
    assert (out["a"]["cci"], out["a"]["cci_level"]) == (0, 0)
    assert out["a"]["age_band"] == "儿童（≤6 岁）" and out["d"]["age_band"] == "老年（≥70 岁）"
    assert out["f"]["age_band"] == ""
    # readmitted: b (10 days after a, same category); not c (29 days), not e (other dx)
    assert [out[k]["readmitted"] for k in "abcdef"] == [False, True, False, False, False, False]
    # low admission: ≤ 2 days and below the low bound (b, f); long stay > 60 (d); death (d)
    assert [out[k]["low_admission"] for k in "abcdef"] == [False, True, False, False, False, True]
    assert [out[k]["long_stay"] for k in "abcdef"] == [False, False, False, True, False, False]
    assert [out[k]["death"] for k in "abcdef"] == [False, False, False, True, False, False]


def test_thresholds_are_configurable() -> None:
    params = AuxiliaryParams(readmit_days=30, long_stay_days=90, low_admission_los=1)
    out = auxiliary(
        _cases(), pl.DataFrame(schema={"setl_id": pl.String, "code": pl.String}), params
    )
    got = out.rows_by_key("setl_id", named=True, unique=True)
    assert got["c"]["readmitted"] and not got["d"]["long_stay"]
    assert not got["b"]["low_admission"] and got["f"]["low_admission"]
