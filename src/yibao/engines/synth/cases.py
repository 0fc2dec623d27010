"""Vectorised generation of synthetic inpatient settlement lists (结算清单).

:func:`generate_cases` yields :class:`CaseBatch` chunks whose frames follow
:mod:`yibao.engines.caseframe` exactly.  Each chunk is drawn with NumPy from the
compiled :class:`~yibao.engines.synth.model.Model` (no per-case Python loop) and only
turned into Polars frames at the end.  Output depends only on (region, years,
cases_per_year, seed, plan, chunk_size).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.engines.caseframe import CASES, DIAGNOSES, PROCEDURES
from yibao.engines.synth import clinical, money, people
from yibao.engines.synth.model import Model, build_model
from yibao.engines.synth.region import OTHER_REGIONS, Region
from yibao.engines.synth.templates import AGE_INFANT, AGE_NEWBORN, PROFILE_CHILD, PROFILE_GENERAL

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

DEFAULT_CHUNK = 250_000
_EPOCH = dt.date(1970, 1, 1)
_US_PER_DAY = 86_400_000_000

#: (share aged 65+, share aged 1–17) of general-profile patients per MDC [M].
_AGE_SHARES: dict[str, tuple[float, float]] = {
    "A": (0.30, 0.03), "B": (0.50, 0.04), "C": (0.55, 0.05), "D": (0.25, 0.15),
    "E": (0.40, 0.20), "F": (0.60, 0.01), "G": (0.35, 0.06), "H": (0.45, 0.02),
    "I": (0.40, 0.05), "J": (0.30, 0.05), "K": (0.40, 0.03), "L": (0.40, 0.04),
    "M": (0.50, 0.03), "N": (0.15, 0.01), "Q": (0.35, 0.10), "R": (0.45, 0.05),
    "S": (0.25, 0.15), "T": (0.10, 0.05), "U": (0.10, 0.00), "V": (0.30, 0.10),
    "W": (0.20, 0.15), "X": (0.45, 0.03), "Y": (0.15, 0.01), "Z": (0.25, 0.05),
}  # fmt: skip


@dataclass(frozen=True)
class CostParams:
    """Cost recipe of domain.md §6 [M]."""

    average_cost_yuan: float = 12_000.0  # regional mean cost per case in the first year
    yearly_growth: float = 0.04
    level_multiplier: tuple[float, float, float] = (0.62, 0.88, 1.2)  # 一级, 二级, 三级
    level_los: tuple[float, float, float] = (0.9, 1.0, 1.0)
    high_share: float = 0.04  # very high cost cases (×3–6)
    low_share: float = 0.05  # very low cost cases (×0.1–0.3)


@dataclass(frozen=True)
class CaseBatch:
    """One chunk of generated cases.

    ``cases``, ``diagnoses`` and ``procedures`` have exactly the columns and types of
    :data:`~yibao.engines.caseframe.CASES`, ``DIAGNOSES`` and ``PROCEDURES``;
    ``targets`` (setl_id, target_drg) records the DRG each case was built for, kept out
    of ``cases`` so it can be used to check a grouper or a measurement.
    """

    cases: pl.DataFrame
    diagnoses: pl.DataFrame
    procedures: pl.DataFrame
    targets: pl.DataFrame


@dataclass(frozen=True)
class _Hospitals:
    cum: F64
    idx: npt.NDArray[np.int32]
    district: I64
    level: I64
    tcm: npt.NDArray[np.bool_]
    codes: pl.Series
    city_districts: I64


def _hospitals(region: Region) -> _Hospitals:
    cum, idx = region.level_segments()
    h = region.hospitals
    return _Hospitals(
        cum=cum,
        idx=idx,
        district=h["region_code"].cast(pl.Int64).to_numpy(),
        level=h["level"].cast(pl.Int64).to_numpy(),
        tcm=region.hospital_traits["tcm"].to_numpy(),
        codes=h["code"],
        city_districts=np.array([int(c) for c in region.districts], dtype=np.int64),
    )


def generate_cases(
    region: Region,
    years: Sequence[int],
    cases_per_year: int,
    seed: int,
    plan_dir: Path | str,
    chunk_size: int = DEFAULT_CHUNK,
    *,
    params: CostParams | None = None,
) -> Iterator[CaseBatch]:
    """Yield synthetic cases for ``years`` in chunks of at most ``chunk_size``.

    Every case is built from a verified template of a target DRG of the plan at
    ``plan_dir`` (see :mod:`yibao.engines.synth.templates`), so it groups to that DRG;
    ``setl_id`` is ``"S" + year + 9-digit sequence`` and unique over the generation.
    Deterministic: the same arguments (including ``chunk_size``, which sets the random
    streams) give identical frames.  Arguments are checked before anything is drawn.
    """
    if cases_per_year < 0 or cases_per_year >= 10**9:
        raise ValueError("cases_per_year 须在 0 到 999,999,999 之间")
    if chunk_size < 1:
        raise ValueError("chunk_size 至少为 1")
    if seed < 0:
        raise ValueError("seed 不能为负数")
    if len(set(years)) != len(years) or any(not 1900 < y < 10000 for y in years):
        raise ValueError("years 须为不重复的四位年份")
    model = build_model(Path(plan_dir), seed)
    cost = params or CostParams()
    return _generate(model, _hospitals(region), cost, list(years), cases_per_year, seed, chunk_size)


def _generate(
    model: Model,
    hosp: _Hospitals,
    cost: CostParams,
    years: list[int],
    cases_per_year: int,
    seed: int,
    chunk_size: int,
) -> Iterator[CaseBatch]:
    scale = _cost_scale(model, cost)
    first = min(years) if years else 0
    for year in years:
        for chunk_no, start in enumerate(range(0, cases_per_year, chunk_size)):
            n = min(chunk_size, cases_per_year - start)
            rng = np.random.default_rng([seed, year, chunk_no])
            yield _chunk(model, hosp, (cost, scale), year, year - first, start, n, rng)


def _cost_scale(model: Model, cost: CostParams) -> float:
    """Divisor that makes the expected first-year mean cost ``average_cost_yuan``:
    E[RW × level multiplier] (level depends on the DRG) × E[outlier factor]."""
    mult = np.array(cost.level_multiplier)
    level = float(np.sum(model.drg_prob * model.true_rw * (model.level_prob @ mult)))
    outlier = 1.0 + cost.high_share * (4.5 - 1.0) + cost.low_share * (0.2 - 1.0)
    return level * outlier


def _draw_case_mix(
    model: Model, hosp: _Hospitals, n: int, rng: np.random.Generator
) -> tuple[I64, I64, I64, I64]:
    """(DRG position, template, hospital row, hospital level) per case."""
    d = np.minimum(np.searchsorted(model.drg_cum, rng.random(n), side="right"), len(model.drgs) - 1)
    u = np.minimum(rng.random(n), 1.0 - 1e-9)
    pos = np.minimum(np.searchsorted(model.seg_cum, d + u, side="right"), len(model.seg_tpl) - 1)
    t = model.seg_tpl[pos].astype(np.int64)
    lp = model.level_prob[d]
    u = rng.random(n)
    level = 1 + (u >= lp[:, 0]).astype(np.int64) + (u >= lp[:, 0] + lp[:, 1]).astype(np.int64)
    u = np.minimum(rng.random(n), 1.0 - 1e-9)
    hpos = np.minimum(np.searchsorted(hosp.cum, level - 1 + u, side="right"), len(hosp.idx) - 1)
    h = hosp.idx[hpos].astype(np.int64)
    return d.astype(np.int64), t, h, hosp.level[h]


def _demography(model: Model, t: I64, rng: np.random.Generator) -> tuple[I64, I64, I64, I64]:
    """(sex, AGE_* group, target age years, target age days)."""
    n = len(t)
    tpl = model.tpl
    mask = tpl.sex_mask[t]
    sex = np.where(mask == 1, 1, np.where(mask == 2, 2, 1 + (rng.random(n) < 0.48))).astype(
        np.int64
    )
    profile = tpl.profile[t]
    group = tpl.group[t].astype(np.int64)
    infant_p = np.where(
        profile == PROFILE_CHILD, 0.15, np.where(profile == PROFILE_GENERAL, 0.01, 0.0)
    )
    group = np.where(tpl.infant_ok[t] & (rng.random(n) < infant_p), AGE_INFANT, group)
    shares = np.array([_AGE_SHARES.get(x, (0.35, 0.06)) for x in model.plan.mdc_order])
    mdc = tpl.mdc[t]
    years, days = people.draw_ages(profile, group, shares[mdc, 0], shares[mdc, 1], rng)
    return sex, group, years, days


def _cost_and_los(
    model: Model,
    d: I64,
    level: I64,
    year_index: int,
    cost_scale: tuple[CostParams, float],
    rng: np.random.Generator,
) -> tuple[I64, I64, npt.NDArray[np.bool_]]:
    """(total cost in fen, LOS days, very-low-cost flag)."""
    n = len(d)
    cost, scale = cost_scale
    sigma = model.cost_sigma[d]
    z = rng.standard_normal(n)
    noise = np.exp(sigma * z - sigma**2 / 2)
    u = rng.random(n)
    high = u < cost.high_share
    low = (u >= cost.high_share) & (u < cost.high_share + cost.low_share)
    factor = np.where(high, rng.uniform(3.0, 6.0, n), np.where(low, rng.uniform(0.1, 0.3, n), 1.0))
    mult = np.array((0.0, *cost.level_multiplier))[level] * (1 + cost.yearly_growth) ** year_index
    yuan = model.true_rw[d] * cost.average_cost_yuan / scale * mult * noise * factor
    fen = np.maximum(np.round(yuan * 100), 20_000).astype(np.int64)
    stay = np.where(high, rng.uniform(1.5, 5.0, n), np.where(low, rng.uniform(0.2, 0.6, n), 1.0))
    los_f = model.los_base[d] * np.array((0.0, *cost.level_los))[level] * stay
    los_f *= np.exp(0.6 * sigma * z + 0.25 * rng.standard_normal(n))
    los = np.clip(np.round(los_f), 1, 150).astype(np.int64)
    return fen, los, low


def _dates(year: int, los: I64, rng: np.random.Generator) -> tuple[I64, I64, I64, I64, I64]:
    """(admission date, discharge date, day difference, admission µs, discharge µs)."""
    n = len(los)
    jan1 = (dt.date(year, 1, 1) - _EPOCH).days
    length = (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days
    discharge = jan1 + np.floor(rng.random(n) * length).astype(np.int64)
    same_day = (los == 1) & (rng.random(n) < 0.2)
    diff = np.where(same_day, 0, los)
    admission = discharge - diff
    out_sec = rng.integers(9 * 3600, 17 * 3600, n)
    day_time = rng.integers(8 * 3600, 12 * 3600, n)
    any_time = rng.integers(0, 24 * 3600, n)
    in_sec = np.where(rng.random(n) < 0.6, day_time, any_time)
    in_sec = np.where(same_day, rng.integers(6 * 3600, 8 * 3600, n), in_sec)
    adm_us = admission * _US_PER_DAY + in_sec * 1_000_000
    dis_us = discharge * _US_PER_DAY + out_sec * 1_000_000
    return admission, discharge, diff, adm_us, dis_us


def _birth_weight(
    model: Model, t: I64, newborn: npt.NDArray[np.bool_], rng: np.random.Generator
) -> I64:
    lo = model.tpl.bw_lo[t].astype(np.int64)
    hi = model.tpl.bw_hi[t].astype(np.int64)
    uniform = lo + 10 * np.floor(rng.random(len(t)) * ((hi - lo) // 10 + 1)).astype(np.int64)
    normal = np.clip(np.round(rng.normal(3250.0, 420.0, len(t)) / 10) * 10, lo, hi).astype(np.int64)
    weight = np.where(hi - lo >= 1500, normal, uniform)
    return np.where(newborn, weight, -1)


def _insured_region(hosp: _Hospitals, h: I64, rng: np.random.Generator) -> I64:
    n = len(h)
    u = rng.random(n)
    other_city = np.array([int(c) for c in OTHER_REGIONS], dtype=np.int64)
    same = hosp.district[h]
    other = hosp.city_districts[rng.integers(0, len(hosp.city_districts), n)]
    away = other_city[rng.integers(0, len(other_city), n)]
    return np.where(u < 0.80, same, np.where(u < 0.95, other, away))


def _long(
    mat: npt.NDArray[np.int32],
    book: pl.Series,
    setl: pl.Series,
    schema: dict[str, pl.DataType | type[pl.DataType]],
    **extra: pl.Series,
) -> pl.DataFrame:
    """Rows of a code matrix (row-major, blanks dropped) as (setl_id, seq, code,
    is_principal, …extra) with the caseframe ``schema``."""
    rows, cols = np.nonzero(mat >= 0)
    frame = pl.DataFrame(
        {
            "setl_id": setl.gather(rows),
            "seq": cols.astype(np.int16),
            "code": book.gather(mat[rows, cols]),
            "is_principal": cols == 0,
            **extra,
        }
    )
    return frame.select(pl.col(c).cast(tp) for c, tp in schema.items())


def _icu_hours(los: np.ndarray, pre_mdc: np.ndarray, way: Any) -> np.ndarray:
    """Hours in intensive care, without a random draw (the other columns stay as they
    were): half of the stay for the pre-MDC cases (ventilation, ECMO, transplants), the
    last two days (at most the stay) for those who died, none otherwise."""
    died = np.asarray(pl.Series(way).eq("5").to_numpy(), dtype=bool)
    hours = np.where(pre_mdc, los * 12, np.where(died, np.minimum(los * 24, 48), 0))
    return hours.astype(np.int32)


def _ids(year: int, start: int, n: int) -> pl.DataFrame:
    """setl_id "S" + year + 9-digit sequence, mdtrt_id "M" + year + the same sequence."""
    seq = pl.Series("seq", np.arange(start + 1, start + n + 1, dtype=np.int64))
    digits = seq.cast(pl.String).str.zfill(9)
    return pl.DataFrame({"setl_id": f"S{year}" + digits, "mdtrt_id": f"M{year}" + digits})


def _as_string(values: npt.NDArray[np.integer]) -> pl.Series:
    return pl.Series(values).cast(pl.String)


def _as_date(days: npt.NDArray[np.integer]) -> pl.Series:
    return pl.Series(np.asarray(days, dtype=np.int32)).cast(pl.Date)


def _nullable(values: npt.NDArray[np.integer], keep: npt.NDArray[np.bool_]) -> pl.Series:
    return pl.Series(np.asarray(values, dtype=np.int32)).set(pl.Series(~keep), None)


def _money(
    fen: I64,
    stay: tuple[I64, I64, npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]],
    person: pl.DataFrame,
    away: npt.NDArray[np.bool_],
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Fee and payment columns as Decimal(18, 2); stay = (los, level, surgical,
    has procedure, TCM hospital)."""
    los, level, surgical, procedure, tcm = stay
    fees = money.split_fees(fen, los, level, surgical, procedure, tcm, rng)
    employee = (person["insutype"] == "310").to_numpy()
    pays = money.split_payment(fen, level, employee, away, rng)
    return money.fen_to_decimal({"total_cost": fen, **fees, **pays})


# long: every column of a synthetic chunk is drawn in one place so their correlations stay visible
def _chunk(
    model: Model,
    hosp: _Hospitals,
    cost: tuple[CostParams, float],
    year: int,
    year_index: int,
    start: int,
    n: int,
    rng: np.random.Generator,
) -> CaseBatch:
    """One chunk: draw every column with NumPy, then build the three frames."""
    d, t, h, level = _draw_case_mix(model, hosp, n, rng)
    sex, group, years_t, days_t = _demography(model, t, rng)
    fen, los, low = _cost_and_los(model, d, level, year_index, cost, rng)
    admission, discharge, diff, adm_us, dis_us = _dates(year, los, rng)
    birth, age, age_days = people.birth_dates(years_t, days_t, admission, rng)
    newborn = group == AGE_NEWBORN
    weight = _birth_weight(model, t, newborn, rng)
    p_pos = model.plan.mdc_order.index("P") if "P" in model.plan.mdc_order else -1
    domain = clinical.case_domains(model.tpl.mdc[t], model.tpl.profile[t], sex, p_pos)
    dx_mat = clinical.diagnoses(model, t, d, domain, age, rng)
    px_mat = clinical.procedures(model, t, d, newborn, rng)
    surgical, tcm = model.tpl.has_or[t], hosp.tcm[h]
    adm_dept, dis_dept = clinical.departments(model, t, surgical, age, level, tcm, rng)
    a_pos = model.plan.mdc_order.index("A") if "A" in model.plan.mdc_order else -1
    pre_mdc = model.tpl.mdc[t] == a_pos
    way = clinical.discharge_way(
        model.drg_suffix[d].astype(np.int64), pre_mdc, newborn, low, level, rng
    )
    insured = _insured_region(hosp, h, rng)
    person = people.persons(insured, birth, sex, age, rng)
    away = ~np.isin(insured, hosp.city_districts)
    stay = (los, level, surgical, px_mat[:, 0] >= 0, tcm)
    ids = _ids(year, start, n)
    base = pl.DataFrame(
        {
            "hospital_code": hosp.codes.gather(h),
            "region_code": _as_string(hosp.district[h]),
            "sex": _as_string(sex),
            "birth_date": _as_date(birth),
            "age_years": age.astype(np.int16),
            "age_days": _nullable(age_days, age == 0),
            "birth_weight_g": _nullable(weight, newborn),
            "insured_region_code": _as_string(insured),
            "admission_time": pl.Series(adm_us).cast(pl.Datetime("us")),
            "discharge_time": pl.Series(dis_us).cast(pl.Datetime("us")),
            "discharge_date": _as_date(discharge),
            "los_days": np.maximum(diff, 1).astype(np.int32),
            "admission_dept": adm_dept,
            "discharge_dept": dis_dept,
            "discharge_way": way,
            "icu_hours": _icu_hours(np.maximum(diff, 1), pre_mdc, way),
        }
    ).with_columns(pl.col("admission_time", "discharge_time").dt.replace_time_zone("Asia/Shanghai"))
    cases = pl.concat([ids, person, base, _money(fen, stay, person, away, rng)], how="horizontal")
    setl = ids["setl_id"]
    return CaseBatch(
        cases=cases.select(pl.col(c).cast(tp) for c, tp in CASES.items()),
        diagnoses=_long(dx_mat, model.dx.emit, setl, DIAGNOSES),
        procedures=_procedure_frame(px_mat, model, setl, (admission, diff), rng),
        targets=pl.DataFrame({"setl_id": setl, "target_drg": pl.Series(model.drgs).gather(d)}),
    )


def _procedure_frame(
    px_mat: npt.NDArray[np.int32],
    model: Model,
    setl: pl.Series,
    stay: tuple[I64, I64],
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Procedure rows with a procedure_date inside the stay (admission + diff days)."""
    admission, diff = stay
    rows, _ = np.nonzero(px_mat >= 0)
    offset = np.floor(rng.random(len(rows)) ** 1.5 * (diff[rows] + 1)).astype(np.int64)
    when = _as_date(admission[rows] + np.minimum(offset, diff[rows]))
    return _long(px_mat, model.px.emit, setl, PROCEDURES, procedure_date=when)
