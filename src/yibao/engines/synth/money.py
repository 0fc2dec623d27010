"""Money for synthetic cases: integer fen throughout, ``Decimal(18, 2)`` at the end.

* :func:`split_fees` divides a total into the 14 bill categories so that they add up
  exactly to the total;
* :func:`split_payment` computes the patient-level split (全自费, 先自付, 起付线, fund
  ratio, personal account, cash) so that fund + account + cash == total exactly;
* :func:`fen_to_decimal` turns fen into Polars ``Decimal(18, 2)`` columns without any
  floating-point step.

Benefit parameters are illustrative defaults [M] (domain.md §4.4: 起付线 by hospital
level, ratio by level and insurance type; cross-region patients pay more).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.engines.caseframe import FEE_COLUMNS, MONEY

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

# Per-day amounts in fen by hospital level 1, 2, 3 (index 0 unused).
_BED = np.array([0, 2500, 4000, 6000])
_NURSING = np.array([0, 2000, 3000, 4000])
_CONSULT = np.array([0, 1000, 1500, 2000])
_GENERAL = np.array([0, 1000, 0, 0])  # 一般诊疗费 is charged by primary-care hospitals

#: Shares of the variable part: examination, laboratory, treatment, surgery, materials,
#: western medicine, herbal pieces, Chinese patent medicine, other.
_VAR_COLUMNS = (
    "fee_examination",
    "fee_laboratory",
    "fee_treatment",
    "fee_surgery",
    "fee_materials",
    "fee_western_medicine",
    "fee_herbal_pieces",
    "fee_chinese_patent_medicine",
    "fee_other",
)
_VAR_SURGICAL = np.array([0.08, 0.10, 0.10, 0.18, 0.24, 0.22, 0.01, 0.03, 0.04])
_VAR_PROCEDURE = np.array([0.12, 0.15, 0.16, 0.05, 0.10, 0.33, 0.02, 0.05, 0.02])
_VAR_MEDICAL = np.array([0.15, 0.18, 0.15, 0.00, 0.06, 0.36, 0.02, 0.06, 0.02])
_TCM_BOOST = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 6.0, 3.0, 1.0])

#: 起付线 in fen by level (index = level) for 职工 (310) and 居民 (390); ratios likewise.
_DEDUCTIBLE = {
    "310": np.array([0, 20000, 50000, 80000]),
    "390": np.array([0, 20000, 60000, 100000]),
}
_RATIO = {"310": np.array([0, 0.90, 0.85, 0.80]), "390": np.array([0, 0.80, 0.70, 0.60])}
_OUT_OF_REGION_DEDUCTIBLE = 150000
_OUT_OF_REGION_RATIO_CUT = 0.10
_ACCOUNT_CAP = 500000


def split_fees(
    total: I64,
    los: npt.NDArray[np.integer],
    level: npt.NDArray[np.integer],
    surgical: B,
    procedure: B,
    tcm: B,
    rng: np.random.Generator,
) -> dict[str, I64]:
    """Split ``total`` (fen) into the 14 fee columns; each row adds up exactly.

    Bed, nursing, consultation and general-service fees grow with the length of stay
    (capped at 45 % of the total); the rest is shared by category weights that depend
    on surgery (OR procedure), other procedures and TCM hospitals, with noise.  The
    surgery fee is 0 for cases without procedures.
    """
    n = len(total)
    days = np.asarray(los, dtype=np.int64)
    lv = np.asarray(level, dtype=np.int64)
    fixed = np.stack(
        [
            days * _BED[lv],
            days * _CONSULT[lv],
            days * _NURSING[lv],
            days * _GENERAL[lv],
            np.where(rng.random(n) < 0.3, rng.integers(500, 1001, n), 0),
        ],
        axis=1,
    ).astype(np.float64)
    fixed *= rng.lognormal(0.0, 0.15, fixed.shape)
    cap = 0.45 * total
    scale = np.minimum(1.0, cap / np.maximum(fixed.sum(axis=1), 1.0))
    fixed_fen = np.floor(fixed * scale[:, None]).astype(np.int64)
    rest = total - fixed_fen.sum(axis=1)
    base = np.where(
        surgical[:, None], _VAR_SURGICAL, np.where(procedure[:, None], _VAR_PROCEDURE, _VAR_MEDICAL)
    )
    weights = base * np.where(tcm[:, None], _TCM_BOOST, 1.0) * rng.lognormal(0.0, 0.35, base.shape)
    weights /= weights.sum(axis=1, keepdims=True)
    var_fen = np.floor(rest[:, None] * weights).astype(np.int64)
    var_fen[:, 5] += rest - var_fen.sum(axis=1)  # rounding remainder → western medicine
    named = dict(zip(_VAR_COLUMNS, var_fen.T, strict=True))
    named.update(
        fee_bed=fixed_fen[:, 0],
        fee_consultation=fixed_fen[:, 1],
        fee_nursing=fixed_fen[:, 2],
        fee_general_service=fixed_fen[:, 3],
        fee_registration=fixed_fen[:, 4],
    )
    return {c: np.ascontiguousarray(named[c]) for c in FEE_COLUMNS}


def split_payment(
    total: I64,
    level: npt.NDArray[np.integer],
    employee: B,
    out_of_region: B,
    rng: np.random.Generator,
) -> dict[str, I64]:
    """Patient-level split in fen (domain.md §1.7 / §3.4); ``employee`` = 职工 (310).

    fund = max(0, total − 全自费 − 先自付 − 起付线) × ratio; the personal account
    (职工 only, some cases) pays part of the rest; cash is what remains, so
    fund + account + cash == total.
    """
    n = len(total)
    lv = np.asarray(level, dtype=np.int64)
    full = np.floor(total * rng.uniform(0.02, 0.08, n)).astype(np.int64)
    first = np.floor(total * rng.uniform(0.03, 0.10, n)).astype(np.int64)
    deductible = np.where(employee, _DEDUCTIBLE["310"][lv], _DEDUCTIBLE["390"][lv])
    deductible = np.where(out_of_region, _OUT_OF_REGION_DEDUCTIBLE, deductible)
    ratio = np.where(employee, _RATIO["310"][lv], _RATIO["390"][lv])
    ratio = ratio - np.where(out_of_region, _OUT_OF_REGION_RATIO_CUT, 0.0)
    base = np.maximum(0, total - full - first - deductible)
    fund = np.floor(base * ratio).astype(np.int64)
    personal = total - fund
    uses_account = employee & (rng.random(n) < 0.4)
    account = np.floor(personal * rng.uniform(0.0, 0.6, n)).astype(np.int64)
    account = np.where(uses_account, np.minimum(account, _ACCOUNT_CAP), 0)
    return {
        "fund_payment": fund,
        "account_payment": account,
        "cash_payment": personal - account,
        "self_pay_full": full,
        "self_pay_first": first,
    }


def fen_to_decimal(columns: dict[str, I64]) -> pl.DataFrame:
    """Exact ``Decimal(18, 2)`` columns from integer fen.

    Integer → ``Decimal(38, 0)`` → × ``Decimal("0.01")`` is exact integer arithmetic in
    Polars; no float or string step is involved.
    """
    cent = pl.lit(Decimal("0.01"))
    frame = pl.DataFrame({k: np.ascontiguousarray(v, dtype=np.int64) for k, v in columns.items()})
    return frame.select(
        (pl.col(k).cast(pl.Decimal(38, 0)) * cent).cast(MONEY).alias(k) for k in columns
    )
