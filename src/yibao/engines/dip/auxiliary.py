"""DIP auxiliary catalogue (辅助目录, domain.md §2.5) where the case data supports it:

* **CCI** — the Charlson comorbidity index of a case's *secondary* diagnoses, with the
  ICD-10 coding of Quan et al. (Med Care 2005;43:1130) and Charlson's weights; the
  hierarchy keeps only the worse of diabetes with / without complications, mild /
  severe liver disease and malignancy / metastasis.  The index maps to a severity
  level 0–3 by ``cci_levels`` (1, 3, 5: index 1–2 → 1, 3–4 → 2, ≥ 5 → 3).
* **Age bands** — e.g. children ≤ 6 years and the elderly ≥ 70 (Xiamen, §2.6).
* **Supervision indicators** (违规行为监管辅助目录, for monitoring, not payment):
  二次入院 (the same person admitted again within ``readmit_days`` of a discharge
  with the same principal-diagnosis category), 低标入院 (a stay of at most
  ``low_admission_los`` days costing below the low deviation bound), 超长住院 (longer
  than ``long_stay_days``) and 死亡 (discharge way 5).

Every threshold is configurable (:class:`AuxiliaryParams`); defaults are [M] values.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Final

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from yibao.engines.measure.frames import require


def _expand(spec: str) -> tuple[str, ...]:
    """``"I42.5-I42.9"`` → I425 … I429; ``"J40-J47"`` → J40 … J47; ``"I43"`` → I43."""
    out: list[str] = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        lo, _, hi = part.replace(".", "").partition("-")
        if not hi:
            out.append(lo)
            continue
        head, a, b = lo[:-1] if len(lo) == 4 else lo[:1], lo, hi
        width = len(a) - len(head)
        out.extend(
            f"{head}{n:0{width}d}" for n in range(int(a[len(head) :]), int(b[len(head) :]) + 1)
        )
    return tuple(out)


#: (condition, weight, ICD-10 prefixes without the dot)
CHARLSON: Final[tuple[tuple[str, int, tuple[str, ...]], ...]] = (
    ("心肌梗死", 1, _expand("I21,I22,I25.2")),
    (
        "充血性心力衰竭",
        1,
        _expand("I09.9,I11.0,I13.0,I13.2,I25.5,I42.0,I42.5-I42.9,I43,I50,P29.0"),
    ),
    (
        "周围血管疾病",
        1,
        _expand("I70,I71,I73.1,I73.8,I73.9,I77.1,I79.0,I79.2,K55.1,K55.8,K55.9,Z95.8,Z95.9"),
    ),
    ("脑血管疾病", 1, _expand("G45,G46,H34.0,I60-I69")),
    ("痴呆", 1, _expand("F00-F03,F05.1,G30,G31.1")),
    ("慢性肺病", 1, _expand("I27.8,I27.9,J40-J47,J60-J67,J68.4,J70.1,J70.3")),
    ("结缔组织病", 1, _expand("M05,M06,M31.5,M32-M34,M35.1,M35.3,M36.0")),
    ("消化性溃疡", 1, _expand("K25-K28")),
    (
        "轻度肝病",
        1,
        _expand(
            "B18,K70.0-K70.3,K70.9,K71.3-K71.5,K71.7,K73,K74,K76.0,K76.2-K76.4,K76.8,K76.9,Z94.4"
        ),
    ),
    (
        "糖尿病（无慢性并发症）",
        1,
        _expand(
            "E10.0,E10.1,E10.6,E10.8,E10.9,E11.0,E11.1,E11.6,E11.8,E11.9,E12.0,E12.1,E12.6,"
            "E12.8,E12.9,E13.0,E13.1,E13.6,E13.8,E13.9,E14.0,E14.1,E14.6,E14.8,E14.9"
        ),
    ),
    (
        "糖尿病（有慢性并发症）",
        2,
        _expand(
            "E10.2-E10.5,E10.7,E11.2-E11.5,E11.7,E12.2-E12.5,E12.7,E13.2-E13.5,E13.7,"
            "E14.2-E14.5,E14.7"
        ),
    ),
    ("偏瘫或截瘫", 2, _expand("G04.1,G11.4,G80.1,G80.2,G81,G82,G83.0-G83.4,G83.9")),
    (
        "肾脏疾病",
        2,
        _expand("I12.0,I13.1,N03.2-N03.7,N05.2-N05.7,N18,N19,N25.0,Z49.0-Z49.2,Z94.0,Z99.2"),
    ),
    (
        "恶性肿瘤",
        2,
        _expand("C00-C26,C30-C34,C37-C41,C43,C45-C58,C60-C76,C81-C85,C88,C90-C97"),
    ),
    (
        "中重度肝病",
        3,
        _expand("I85.0,I85.9,I86.4,I98.2,K70.4,K71.1,K72.1,K72.9,K76.5,K76.6,K76.7"),
    ),
    ("转移性实体瘤", 6, _expand("C77-C80")),
    ("艾滋病", 6, _expand("B20-B22,B24")),
)
#: (kept condition, dropped condition): only the worse one counts
HIERARCHY: Final = (
    ("糖尿病（有慢性并发症）", "糖尿病（无慢性并发症）"),
    ("中重度肝病", "轻度肝病"),
    ("转移性实体瘤", "恶性肿瘤"),
)
_WEIGHT = {name: w for name, w, _ in CHARLSON}
_BY_PREFIX: dict[str, str] = {p: name for name, _, prefixes in CHARLSON for p in prefixes}


def conditions(codes: Iterable[str]) -> set[str]:
    """The Charlson conditions among ICD-10 ``codes`` (any form: ``I50.900``, ``I509``)."""
    found = set()
    for code in codes:
        bare = "".join(code.split()).replace(".", "").upper()
        for n in (4, 3):
            name = _BY_PREFIX.get(bare[:n])
            if name:
                found.add(name)
                break
    for worse, lesser in HIERARCHY:
        if worse in found:
            found.discard(lesser)
    return found


def charlson_index(codes: Iterable[str]) -> int:
    return sum(_WEIGHT[c] for c in conditions(codes))


class AgeBand(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    label: str
    min_years: int | None = None
    max_years: int | None = None


class AuxiliaryParams(BaseModel):
    """Thresholds of the auxiliary catalogue (defaults [M], domain.md §2.5–2.6)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    cci_levels: tuple[int, ...] = (1, 3, 5)
    age_bands: tuple[AgeBand, ...] = (
        AgeBand(label="儿童（≤6 岁）", max_years=6),
        AgeBand(label="老年（≥70 岁）", min_years=70),
    )
    readmit_days: int = Field(default=15, ge=1, le=365)
    low_admission_los: int = Field(default=2, ge=0, le=30)
    long_stay_days: int = Field(default=60, ge=1, le=3650)


AUX_COLUMNS: Final = (
    "cci",
    "cci_level",
    "age_band",
    "readmitted",
    "low_admission",
    "long_stay",
    "death",
)


def _age_band(age: int | None, bands: tuple[AgeBand, ...]) -> str:
    if age is None:
        return ""
    for b in bands:
        if (b.min_years is None or age >= b.min_years) and (
            b.max_years is None or age <= b.max_years
        ):
            return b.label
    return ""


def auxiliary(
    cases: pl.DataFrame,
    secondary: pl.DataFrame,
    params: AuxiliaryParams | None = None,
) -> pl.DataFrame:
    """Per case of ``cases`` (``setl_id``, ``psn_no``, ``admission_time``,
    ``discharge_time``, ``dx_cat``, ``age_years``, ``los_days``, ``discharge_way``,
    ``deviation``): the :data:`AUX_COLUMNS`; ``secondary`` (``setl_id``, ``code``) are
    the cases' secondary diagnoses.  Input order is kept."""
    params = params or AuxiliaryParams()
    require(
        cases,
        (
            "setl_id",
            "psn_no",
            "admission_time",
            "discharge_time",
            "dx_cat",
            "age_years",
            "los_days",
            "discharge_way",
            "deviation",
        ),
        "auxiliary",
    )
    require(secondary, ("setl_id", "code"), "auxiliary(secondary)")
    codes: dict[str, list[str]] = {}
    for sid, code in secondary.select("setl_id", "code").iter_rows():
        if code:
            codes.setdefault(sid, []).append(code)
    cci = [charlson_index(codes.get(sid, ())) for sid in cases["setl_id"]]
    levels = [sum(1 for t in params.cci_levels if i >= t) for i in cci]
    bands = [_age_band(a, params.age_bands) for a in cases["age_years"].to_list()]
    return cases.with_columns(
        pl.Series("cci", cci, dtype=pl.Int32),
        pl.Series("cci_level", levels, dtype=pl.Int32),
        pl.Series("age_band", bands, dtype=pl.String),
        _readmitted(cases, params.readmit_days),
        ((pl.col("los_days") <= params.low_admission_los) & (pl.col("deviation") == "low"))
        .fill_null(False)
        .alias("low_admission"),
        (pl.col("los_days") > params.long_stay_days).fill_null(False).alias("long_stay"),
        (pl.col("discharge_way") == "5").fill_null(False).alias("death"),
    )


def _readmitted(cases: pl.DataFrame, days: int) -> pl.Series:
    """True for an admission within ``days`` of the same person's previous discharge
    with the same principal-diagnosis category."""
    ordered = (
        cases.select("setl_id", "psn_no", "dx_cat", "admission_time", "discharge_time")
        .with_row_index("_i")
        .sort("psn_no", "dx_cat", "admission_time", "setl_id")
        .with_columns(
            pl.col("discharge_time").shift(1).over("psn_no", "dx_cat").alias("_prev"),
        )
        .with_columns(
            (
                pl.col("_prev").is_not_null()
                & pl.col("psn_no").is_not_null()
                & pl.col("dx_cat").is_not_null()
                & (pl.col("admission_time") - pl.col("_prev") <= timedelta(days=days))
                & (pl.col("admission_time") >= pl.col("_prev"))
            ).alias("readmitted")
        )
        .sort("_i")
    )
    return ordered["readmitted"].fill_null(False)
