"""Patients: ages, birth dates, insurance, and clearly synthetic identities.

A person is identified by (参保地, birth date, sex, a small slot number), so the same
person can come back for another stay and always has the same ``psn_no``, name,
sex, birth date and insurance type.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.engines.synth.templates import (
    AGE_INFANT,
    AGE_NEWBORN,
    PROFILE_CHILD,
    PROFILE_ELDERLY,
    PROFILE_OBSTETRIC,
)

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

#: Surname-like characters for synthetic names ("测试" + surname + number).
_SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章"
#: Persons per (参保地, birth date, sex): fewer slots → more returning patients.
PERSON_SLOTS = 20
_EPOCH_YEAR = 1970


def ymd(days: npt.NDArray[np.integer]) -> tuple[I64, I64, I64]:
    """Year, month, day of days since 1970-01-01."""
    d = np.asarray(days, dtype="datetime64[D]")
    months = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]").astype(np.int64) + _EPOCH_YEAR
    month = months.astype(np.int64) % 12 + 1
    day = (d - months).astype(np.int64) + 1
    return year, month, day


def exact_age_years(birth: I64, at: I64) -> I64:
    """Completed years between two dates (days since epoch)."""
    by, bm, bd = ymd(birth)
    ay, am, ad = ymd(at)
    before = (am < bm) | ((am == bm) & (ad < bd))
    years: I64 = ay - by - before.astype(np.int64)
    return years


def draw_ages(
    profile: npt.NDArray[np.integer],
    group: npt.NDArray[np.integer],
    elderly_share: F64,
    child_share: F64,
    rng: np.random.Generator,
) -> tuple[I64, I64]:
    """Target (age in years, age in days) per case; days only used for age 0.

    ``group`` is the AGE_* group (newborn/infant/older), ``profile`` the PROFILE_* age
    profile of the template, the shares apply to the general profile.
    """
    n = len(profile)
    u = rng.random(n)
    adult = rng.integers(18, 65, n)
    elderly = 65 + np.floor(31 * rng.random(n) ** 1.4).astype(np.int64)
    child = 1 + np.floor(17 * rng.random(n) ** 1.3).astype(np.int64)
    years = np.where(
        u < elderly_share, elderly, np.where(u < elderly_share + child_share, child, adult)
    )
    years = np.where(profile == PROFILE_CHILD, np.minimum(child, 14), years)
    years = np.where(profile == PROFILE_ELDERLY, 60 + np.floor(36 * rng.random(n)), years)
    obstetric = np.clip(np.round(rng.normal(30.0, 5.0, n)), 17, 46)
    years = np.where(profile == PROFILE_OBSTETRIC, obstetric, years).astype(np.int64)
    days = np.zeros(n, dtype=np.int64)
    newborn = group == AGE_NEWBORN
    infant = group == AGE_INFANT
    days = np.where(newborn, np.floor(29 * rng.random(n) ** 2.5), days)
    days = np.where(infant, rng.integers(29, 365, n), days).astype(np.int64)
    years = np.where(newborn | infant, 0, years)
    return years, days


def birth_dates(
    years: I64, days: I64, admission: I64, rng: np.random.Generator
) -> tuple[I64, I64, I64]:
    """Birth date consistent with the target age at ``admission``.

    Returns (birth date, exact age in years, age in days); for age 0 the birth date is
    ``admission - days`` exactly.
    """
    n = len(years)
    offset = np.floor((years + 0.003 + 0.994 * rng.random(n)) * 365.2425).astype(np.int64)
    birth = np.where(years == 0, admission - days, admission - offset)
    age = exact_age_years(birth, admission)
    fix = (years > 0) & (age < 1)
    birth = np.where(fix, birth - 366, birth)
    age = np.where(fix, exact_age_years(birth, admission), age)
    return birth, age, admission - birth


def _splitmix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def persons(
    insured_region: I64, birth: I64, sex: I64, age: I64, rng: np.random.Generator
) -> pl.DataFrame:
    """``psn_no``, ``psn_name`` and ``insutype`` for each case.

    ``psn_no`` = "P" + 参保地 (6) + birth date (8) + sex (1) + slot (2), 18 characters;
    name and insurance type are derived from a hash of the same key, so they are the
    same whenever the person comes back.  Children (< 18) are always 居民 (390).
    """
    n = len(sex)
    slot = rng.integers(0, PERSON_SLOTS, n)
    y, m, d = ymd(birth)
    stamp = y * 10000 + m * 100 + d
    key = ((insured_region * 100_000_000 + stamp) * 10 + sex) * 100 + slot
    with np.errstate(over="ignore"):
        h = _splitmix(key.astype(np.uint64))
    name_no = (h % np.uint64(997)).astype(np.int64) + 1
    surname = ((h >> np.uint64(16)) % np.uint64(len(_SURNAMES))).astype(np.int64)
    employee = (((h >> np.uint64(32)) % np.uint64(100)).astype(np.int64) < 50) & (age >= 18)
    frame = pl.DataFrame(
        {
            "region": insured_region,
            "stamp": stamp,
            "sex": sex,
            "slot": slot,
            "surname": surname,
            "name_no": name_no,
            "employee": employee,
        }
    )
    names = pl.Series(list(_SURNAMES), dtype=pl.String)
    return frame.select(
        pl.concat_str(
            pl.lit("P"),
            pl.col("region").cast(pl.String),
            pl.col("stamp").cast(pl.String),
            pl.col("sex").cast(pl.String),
            pl.col("slot").cast(pl.String).str.zfill(2),
        ).alias("psn_no"),
        pl.concat_str(
            pl.lit("测试"),
            pl.lit(names).gather(pl.col("surname")),
            pl.col("name_no").cast(pl.String),
        ).alias("psn_name"),
        pl.when(pl.col("employee")).then(pl.lit("310")).otherwise(pl.lit("390")).alias("insutype"),
    )
