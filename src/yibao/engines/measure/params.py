"""Parameters of the measurement steps: frozen Pydantic models with defaults.

Every model is immutable, rejects unknown keys and serialises to JSON
(``model_dump_json``), so a weight plan or a rate plan can be stored as versioned
data together with the parameters that produced it.  Rule violations raise
Pydantic's ``ValidationError`` with Chinese messages naming the field and the
rule; :func:`parse_params` turns *every* validation problem (types included) into
one :class:`~yibao.engines.measure.errors.MeasureError` in Chinese.

Defaults follow ``docs/domain.md`` §1.2–§1.5; figures tagged [M] there are
configurable defaults, not law.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from decimal import Decimal
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator, model_validator

#: Hospital levels (医院等级 hosp_lv): "1" 一级, "2" 二级, "3" 三级.
Level = Literal["1", "2", "3"]
LEVELS: Final[tuple[str, ...]] = ("1", "2", "3")
LEVEL_NAMES: Final[dict[str, str]] = {"1": "一级", "2": "二级", "3": "三级"}

#: Columns that may be required to be present (non-null) by :class:`ExclusionRules`.
CHECKABLE_COLUMNS: Final[tuple[str, ...]] = (
    "year",
    "hospital_code",
    "hospital_level",
    "status",
    "drg",
    "total_cost",
    "los_days",
    "discharge_way",
    "discharge_dept",
    "fund_payment",
)


def rule(message: str) -> ValueError:
    """A rule violation with a Chinese ``message`` naming the field (Pydantic wraps it
    as a ``value_error``; :func:`explain` shows the message alone)."""
    return ValueError(message)


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


#: the largest amount of yuan a measurement parameter takes (a budget of a province is
#: far below; beyond it the arithmetic of the steps runs out of precision)
MAX_YUAN = Decimal("1e16")


def _yuan(v: Decimal, name: str, *, zero: bool = False) -> Decimal:
    """An amount in yuan: finite, positive (or 0 with ``zero``), at most 2 decimals
    (fen) and below :data:`MAX_YUAN`; a Chinese rule naming ``name`` otherwise."""
    if not v.is_finite() or v < 0 or (v == 0 and not zero):
        least = "不能为负数" if zero else "必须大于 0"
        raise rule(f"{name}{least}（收到 {v}）")
    if _places(v) > 2:
        raise rule(f"{name}最多 2 位小数（到分）（收到 {v}）")
    if v >= MAX_YUAN:
        raise rule(f"{name}过大（须小于 10^16 元，收到 {v}）")
    return v


def check_levels(values: Mapping[str, object]) -> None:
    """Raise a Chinese validation error unless every key is a hospital level."""
    unknown = [k for k in values if k not in LEVELS]
    if unknown:
        raise rule(f"医院等级须为 1、2、3（收到 {'、'.join(unknown)}）")


class _Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ExclusionRules(_Params):
    """Which cases stay out of the case base (domain.md §1.2 "Case exclusions").

    Each case gets the first reason that applies, in this order: ``missing``
    (a ``required`` column is null), ``out_of_years``, ``los_out_of_range``
    (``los_days`` < ``los_min_days`` or > ``los_max_days``), ``cost_below_floor``
    (``total_cost`` < ``cost_floor``), ``ungroupable`` (status other than ``ok`` and
    ``ambiguous_qy``: 0000, check failed, unmapped codes), ``ambiguous_qy`` (QY).
    ``None`` turns a limit off.  Defaults: LOS window 1–60 days and a 5-yuan floor,
    as in the 入组率 exclusions of S14 [S].
    """

    years: tuple[int, ...] | None = None
    los_min_days: int | None = 1
    los_max_days: int | None = 60
    cost_floor: Decimal | None = Decimal("5")
    exclude_ungroupable: bool = True
    exclude_qy: bool = True
    required: tuple[str, ...] = (
        "year",
        "hospital_code",
        "hospital_level",
        "status",
        "drg",
        "total_cost",
        "los_days",
    )

    @field_validator("years")
    @classmethod
    def _years(cls, v: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if v is not None and (not v or len(set(v)) != len(v) or any(y < 1900 for y in v)):
            raise rule("years：年度须为不重复的四位年份，且至少一个")
        return v

    @field_validator("cost_floor")
    @classmethod
    def _floor(cls, v: Decimal | None) -> Decimal | None:
        return None if v is None else _yuan(v, "cost_floor：费用下限", zero=True)

    @field_validator("required")
    @classmethod
    def _required(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [c for c in v if c not in CHECKABLE_COLUMNS]
        if unknown:
            raise rule(
                f"required：不能检查的字段 {'、'.join(unknown)}"
                f"（可选：{'、'.join(CHECKABLE_COLUMNS)}）"
            )
        return v

    @model_validator(mode="after")
    def _window(self) -> ExclusionRules:
        lo, hi = self.los_min_days, self.los_max_days
        if lo is not None and hi is not None and lo > hi:
            raise rule(f"los_min_days / los_max_days：住院天数下限 {lo} 大于上限 {hi}")
        return self


class TrimParams(_Params):
    """Outlier trimming per DRG × year on case cost (domain.md §1.2).

    * ``iqr`` (default, S2 [S]): keep Q1 − ``iqr_lower_k``·IQR ≤ cost ≤
      Q3 + ``iqr_upper_k``·IQR (0.5 and 1.5);
    * ``log_sd``: keep mean − ``sd_k``·SD ≤ ln(cost) ≤ mean + ``sd_k``·SD (3 SD) [M];
    * ``percentile``: keep P(``lower_percentile``) ≤ cost ≤ P(``upper_percentile``)
      (2.5 / 97.5) [M];
    * ``none``: keep everything.

    Quantiles interpolate linearly (type 7); SD uses ddof = 1.  Groups with fewer
    than ``min_cases`` cases are not trimmed.
    """

    method: Literal["iqr", "log_sd", "percentile", "none"] = "iqr"
    iqr_lower_k: Decimal = Decimal("0.5")
    iqr_upper_k: Decimal = Decimal("1.5")
    sd_k: Decimal = Decimal("3")
    lower_percentile: Decimal = Decimal("2.5")
    upper_percentile: Decimal = Decimal("97.5")
    min_cases: int = 10

    @field_validator("iqr_lower_k", "iqr_upper_k")
    @classmethod
    def _k(cls, v: Decimal) -> Decimal:
        if v < 0:
            raise rule(f"IQR 倍数必须大于或等于 0（收到 {v}）")
        return v

    @field_validator("sd_k")
    @classmethod
    def _sd(cls, v: Decimal) -> Decimal:
        if v <= 0:
            raise rule(f"sd_k：标准差倍数必须大于 0（收到 {v}）")
        return v

    @field_validator("min_cases")
    @classmethod
    def _min(cls, v: int) -> int:
        if v < 1:
            raise rule(f"min_cases：最少病例数必须至少为 1（收到 {v}）")
        return v

    @model_validator(mode="after")
    def _percentiles(self) -> TrimParams:
        lo, hi = self.lower_percentile, self.upper_percentile
        if not (0 <= lo < hi <= 100):
            raise rule(
                "lower_percentile / upper_percentile："
                f"须满足 0 ≤ 下百分位 {lo} < 上百分位 {hi} ≤ 100"
            )
        return self


class WeightParams(_Params):
    """Relative-weight computation (domain.md §1.2).

    ``year_weights`` weight the yearly average costs oldest → newest (1:2:7, the DIP
    convention S15, reused for DRG [M]); ``years`` names those years (default: the
    distinct years of the case base, which must then be exactly as many).  A DRG with
    fewer than ``min_cases`` cases (all years together, after trimming) takes the
    weight of its ADRG (``fallback="adrg"``) or keeps its own weight flagged for
    manual review (``"flag"``); an ADRG below the minimum too is flagged.
    """

    year_weights: tuple[Decimal, ...] = (Decimal(1), Decimal(2), Decimal(7))
    years: tuple[int, ...] | None = None
    min_cases: int = 10
    fallback: Literal["adrg", "flag"] = "adrg"

    @field_validator("year_weights")
    @classmethod
    def _weights(cls, v: tuple[Decimal, ...]) -> tuple[Decimal, ...]:
        if not v or any(w <= 0 for w in v):
            raise rule("year_weights：年度权重至少一个，且必须全部大于 0")
        return v

    @field_validator("min_cases")
    @classmethod
    def _min(cls, v: int) -> int:
        if v < 1:
            raise rule(f"min_cases：最少病例数必须至少为 1（收到 {v}）")
        return v

    @model_validator(mode="after")
    def _years(self) -> WeightParams:
        ys = self.years
        if ys is not None:
            if len(set(ys)) != len(ys) or list(ys) != sorted(ys):
                raise rule("years：年度须不重复并按从早到晚排列")
            if len(ys) != len(self.year_weights):
                raise rule(
                    f"years / year_weights：年度 {len(ys)} 个，"
                    f"年度权重 {len(self.year_weights)} 个，须一一对应"
                )
        return self


class Tilt(_Params):
    """A policy tilt: multiply the weights of some MDCs / ADRGs / DRGs by ``factor``
    (e.g. paediatrics ×1.1, domain.md §1.2 "Weight adjustment" [M]).  MDC codes as the
    grouper writes them (``MDCP``); a bare letter (``P``) is accepted too."""

    factor: Decimal
    mdcs: tuple[str, ...] = ()
    adrgs: tuple[str, ...] = ()
    drgs: tuple[str, ...] = ()
    reason: str = ""

    @field_validator("factor")
    @classmethod
    def _factor(cls, v: Decimal) -> Decimal:
        if v <= 0:
            raise rule(f"factor：倾斜系数必须大于 0（收到 {v}）")
        return v

    @field_validator("mdcs")
    @classmethod
    def _mdcs(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(m if m.startswith("MDC") else f"MDC{m}" for m in v)

    @model_validator(mode="after")
    def _targets(self) -> Tilt:
        if not (self.mdcs or self.adrgs or self.drgs):
            raise rule("mdcs / adrgs / drgs：倾斜至少要指定一个 MDC、ADRG 或 DRG")
        return self


class Adjustments(_Params):
    """Edits of a weight plan (domain.md §1.2 "Weight adjustment").

    ``manual`` sets a DRG's weight outright (at most 4 decimals); ``tilts`` multiply
    (several tilts hitting one DRG multiply together).  With ``budget_neutral`` every
    DRG not set manually is then scaled by one factor so that the total weight
    Σ volume × RW is unchanged; manual values are kept exactly as typed.
    """

    manual: dict[str, Decimal] = {}
    tilts: tuple[Tilt, ...] = ()
    budget_neutral: bool = True

    @field_validator("manual")
    @classmethod
    def _manual(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        for drg, rw in v.items():
            if rw <= 0 or _places(rw) > 4:
                raise rule(f"manual.{drg}：人工权重必须大于 0 且最多 4 位小数（收到 {rw}）")
        return v


class RateParams(_Params):
    """Budget and base rate (费率, domain.md §1.3).

    Budget = ``budget`` if given, else ``last_total`` × (1 + ``growth``), where
    ``last_total`` defaults to the total cost of the volume cases.  ``mode``:

    * ``single``: rate = budget ÷ expected total weight;
    * ``per_level``: one rate per hospital level, rate_L = budget_L ÷ weight_L, with
      budget_L from ``level_budgets`` or the level's share of the last total;
    * ``level_coefficients``: base = budget ÷ Σ_L c_L · weight_L and rate_L = base · c_L,
      ``coefficients`` given or derived from the data as the level's cost index.

    Rates are quantised to the fen; payment standards (RW × rate) to the yuan or the
    fen (``rounding``), half up.
    """

    mode: Literal["single", "per_level", "level_coefficients"] = "single"
    budget: Decimal | None = None
    last_total: Decimal | None = None
    growth: Decimal = Decimal(0)
    level_budgets: dict[str, Decimal] | None = None
    coefficients: dict[str, Decimal] | None = None
    rounding: Literal["yuan", "fen"] = "fen"

    @field_validator("budget", "last_total")
    @classmethod
    def _money(cls, v: Decimal | None, info: ValidationInfo) -> Decimal | None:
        name = {"budget": "budget：预算", "last_total": "last_total：上年总额"}[
            str(info.field_name)
        ]
        return None if v is None else _yuan(v, name)

    @field_validator("growth")
    @classmethod
    def _growth(cls, v: Decimal) -> Decimal:
        if v <= -1:
            raise rule(f"growth：增长率必须大于 -1（收到 {v}）")
        return v

    @field_validator("level_budgets", "coefficients")
    @classmethod
    def _positive(
        cls, v: dict[str, Decimal] | None, info: ValidationInfo
    ) -> dict[str, Decimal] | None:
        check_levels(v or {})
        for level, x in (v or {}).items():
            if x <= 0:
                raise rule(f"{level} 级的取值必须大于 0（收到 {x}）")
            if info.field_name == "level_budgets":
                _yuan(x, f"level_budgets.{level}：{level} 级预算")
        return v

    @model_validator(mode="after")
    def _mode(self) -> RateParams:
        if self.level_budgets is not None and self.mode != "per_level":
            raise rule("level_budgets：只有 mode=per_level 时才能分级设定预算")
        if self.coefficients is not None and self.mode != "level_coefficients":
            raise rule("coefficients：只有 mode=level_coefficients 时才能设定等级系数")
        if self.level_budgets is not None and self.budget is not None:
            raise rule("budget / level_budgets：总预算与分级预算只能给出一个")
        return self


class RwBand(_Params):
    """High / low multipliers of the DRGs whose relative weight is at most ``max_rw``
    (``None``: every weight above the bands before it)."""

    max_rw: Decimal | None = None
    high: Decimal
    low: Decimal | None = None

    @model_validator(mode="after")
    def _band(self) -> RwBand:
        if self.high <= 1 or _places(self.high) > 4:
            raise rule(f"rw_bands.high：高倍率阈值必须大于 1 且最多 4 位小数（收到 {self.high}）")
        if self.low is not None and (not 0 <= self.low < 1 or _places(self.low) > 4):
            raise rule(
                f"rw_bands.low：低倍率阈值须在 0 到 1 之间且最多 4 位小数（收到 {self.low}）"
            )
        if self.max_rw is not None and (self.max_rw <= 0 or _places(self.max_rw) > 4):
            raise rule(f"rw_bands.max_rw：权重上限须为正数且最多 4 位小数（收到 {self.max_rw}）")
        return self


class PaymentRules(_Params):
    """DRG payment rules beyond the basic classes (issue 14 item 7, ADR 0031), used by
    simulation and settlement alike; all off by default.

    * ``rw_bands``: high / low multipliers by relative-weight band (ascending
      ``max_rw``, the last may be open) instead of by hospital level.
    * ``qy_fraction``: QY (歧义组) cases are paid this share of their item fees.
    * ``long_stay_days`` and ``per_diem``: a stay longer than ``long_stay_days`` is
      paid per bed-day (按床日付费): days × ``per_diem`` of the hospital's level.
    * ``high_share_cap``: per hospital, at most this share of its grouped cases (with
      a standard) is paid as high-multiplier cases; the high cases beyond it, smallest
      cost − standard first (ADR 0043), are paid the standard (class ``high_capped``).
    """

    rw_bands: tuple[RwBand, ...] = ()
    qy_fraction: Decimal = Decimal(1)
    long_stay_days: int | None = None
    per_diem: dict[str, Decimal] = {}
    high_share_cap: Decimal | None = None

    @model_validator(mode="after")
    def _rules(self) -> PaymentRules:
        bounds = [b.max_rw for b in self.rw_bands]
        if None in bounds[:-1] or any(
            b <= a for a, b in itertools.pairwise(x for x in bounds if x is not None)
        ):
            raise rule("rw_bands：权重分段须按 max_rw 从小到大排列，只有最后一段可以不设上限")
        if not 0 < self.qy_fraction <= 1 or _places(self.qy_fraction) > 4:
            raise rule(f"qy_fraction：歧义组支付比例须大于 0、不超过 1（收到 {self.qy_fraction}）")
        check_levels(self.per_diem)
        if self.long_stay_days is not None:
            if not 1 <= self.long_stay_days <= 3650:
                raise rule(
                    f"long_stay_days：超长住院天数须在 1 到 3650 之间（收到 {self.long_stay_days}）"
                )
            missing = [lv for lv in LEVELS if lv not in self.per_diem]
            if missing:
                raise rule(f"per_diem：缺少 {'、'.join(missing)} 级医院的床日付费标准（元/日）")
        for lv, v in self.per_diem.items():
            if not 0 < v <= 100_000 or _places(v) > 2:  # yuan per day, to the fen
                raise rule(f"per_diem.{lv}：床日付费标准须大于 0、不超过 10 万元（收到 {v}）")
        cap = self.high_share_cap
        if cap is not None and (not 0 <= cap <= 1 or _places(cap) > 4):
            raise rule(f"high_share_cap：高倍率病例比例上限须在 0 到 1 之间（收到 {cap}）")
        return self


class SimulationParams(_Params):
    """Case classification and payment in a simulation (domain.md §1.5, §1.7).

    A case is high-multiplier (费用极高) when cost > ``high_multipliers[level]`` ×
    standard (三级 3×, 二级 and 一级 2× [P] S3), low-multiplier (费用极低) when cost <
    ``low_multiplier`` × standard (0.3 [M]).  High cases are paid by items
    (``high_payment="items"``, [P] S3) or standard + the excess over the threshold
    (``"excess"``, the point-method variant [M]); low, QY, ungroupable cases and
    cases of DRGs without a standard are paid by items.

    The fund's part of a payment is estimated with the case's actual fund ratio
    (fund_payment ÷ total_cost, ``fund_share="actual"``), a flat
    ``fixed_fund_share``, or the insured place's benefit policy valid on the discharge
    date (``"policy"``: the caller passes the computation, see :func:`simulate`).
    ``ratio_bins`` are the edges of the cost ÷ standard distribution.  Multipliers
    have at most 4 decimals (exact integer comparisons).
    """

    high_multipliers: dict[str, Decimal] = {
        "3": Decimal(3),
        "2": Decimal(2),
        "1": Decimal(2),
    }
    low_multiplier: Decimal = Decimal("0.3")
    high_payment: Literal["items", "excess"] = "items"
    fund_share: Literal["actual", "fixed", "policy"] = "actual"
    fixed_fund_share: Decimal = Decimal("0.7")
    ratio_bins: tuple[Decimal, ...] = tuple(
        Decimal(x) for x in ("0.3", "0.5", "0.8", "1", "1.2", "1.5", "2", "3")
    )
    rules: PaymentRules = PaymentRules()

    @field_validator("high_multipliers")
    @classmethod
    def _high(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        check_levels(v)
        missing = [lv for lv in LEVELS if lv not in v]
        if missing:
            raise rule(f"high_multipliers：缺少 {'、'.join(missing)} 级医院的高倍率阈值")
        for level, k in v.items():
            if k <= 1 or _places(k) > 4:
                raise rule(
                    f"high_multipliers.{level}：高倍率阈值必须大于 1 且最多 4 位小数（收到 {k}）"
                )
        return v

    @field_validator("low_multiplier")
    @classmethod
    def _low(cls, v: Decimal) -> Decimal:
        if not (0 <= v < 1) or _places(v) > 4:
            raise rule(
                f"low_multiplier：低倍率阈值须在 0 到 1 之间（不含 1）且最多 4 位小数（收到 {v}）"
            )
        return v

    @field_validator("fixed_fund_share")
    @classmethod
    def _share(cls, v: Decimal) -> Decimal:
        if not (0 <= v <= 1):
            raise rule(f"fixed_fund_share：基金支付比例须在 0 到 1 之间（收到 {v}）")
        return v

    @field_validator("ratio_bins")
    @classmethod
    def _bins(cls, v: tuple[Decimal, ...]) -> tuple[Decimal, ...]:
        if not v or v[0] <= 0 or any(b <= a for a, b in itertools.pairwise(v)):
            raise rule("ratio_bins：分段点须为正数并严格递增")
        if any(_places(b) > 4 for b in v):
            raise rule("ratio_bins：分段点最多 4 位小数")
        return v


# the validation helpers live in .parsing; imported here for the modules that read them
from yibao.engines.measure.parsing import explain as explain  # noqa: E402
from yibao.engines.measure.parsing import parse_params as parse_params  # noqa: E402
