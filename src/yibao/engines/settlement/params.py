"""Parameters of the settlement steps: frozen Pydantic models with documented defaults.

Every model is immutable, rejects unknown keys and serialises to JSON, so a settlement
run can be stored with the parameters that produced it.  Rule violations carry
Chinese messages naming the field; :func:`parse_settlement_params` turns every
validation problem into one :class:`~yibao.engines.settlement.errors.SettlementError`.

Figures tagged [M] in ``docs/domain.md`` are configurable defaults, not law.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from yibao.engines.measure.params import SimulationParams, check_levels, explain
from yibao.engines.settlement.errors import SettlementError
from yibao.kit.bounds import is_tame

_P = TypeVar("_P", bound=BaseModel)


def _places(value: Decimal) -> int:
    """Decimals of ``value`` without trailing zeros (``1.500`` → 1), from its digits
    alone: ``normalize()`` overflows for ``Decimal("1e999999999")``."""
    _sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0 or not any(digits):
        return 0
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -exponent - trailing)


#: the largest point scale, level coefficient and assessment score a region may set: far
#: beyond any policy, and small enough that no figure derived from them runs to
#: billions of digits (``Decimal("1e999999999")`` is a valid positive integer)
MAX_POINT_SCALE = Decimal(1_000_000)
MAX_COEFFICIENT = Decimal(100)
MAX_SCORE = Decimal(1000)


def _score(value: Decimal | None, field: str) -> Decimal | None:
    if value is not None and not (is_tame(value) and abs(value) <= MAX_SCORE):
        raise ValueError(f"{field}：考核得分须在 -{MAX_SCORE} 到 {MAX_SCORE} 之间（收到 {value}）")
    return value


def _share(value: Decimal, field: str, *, zero: bool = True) -> Decimal:
    low_ok = value >= 0 if zero else value > 0
    if not (low_ok and value <= 1) or _places(value) > 4:
        bound = "0 到 1 之间" if zero else "大于 0 且不超过 1"
        raise ValueError(f"{field}：须在 {bound}，最多 4 位小数（收到 {value}）")
    return value


class _Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PricingParams(_Params):
    """How a case is priced (domain.md §1.5, §1.7, §4.4).

    * ``classification``: the measurement engine's :class:`SimulationParams` — high
      multiplier per level (三级 3×, 二级/一级 2× [P] S3), low multiplier (0.3 [M]) and
      ``high_payment`` (``items`` [P] or ``excess``); its ``fund_share`` and
      ``ratio_bins`` are not used here.
    * ``fund_formula``: ``national`` — fund = max(0, (standard − 全自费 − 先自付 −
      起付线) × ratio) with the insured place's deductible and ratio [P] S3;
      ``local`` — the Beijing-style total-fixed variant fund = standard − patient
      payment − other-fund payments, which may be negative [S] S4.
    * ``qy_fraction``: share of the item fees paid for QY cases (1 = by items; cities
      use 0.7–0.9 [M]).
    * ``items_fund``: fund part of item-paid cases — ``actual`` (the case's pooled fund,
      ``fund_payment − other_fund_payment``) or ``policy`` (the insured place's benefit
      split of the total cost); either is scaled by payment ÷ cost when the hospital
      is paid less than the item fees.
    * ``missing_policy``: when no policy of the insured place is valid on the discharge
      date — ``error`` (default), ``treating_place`` (use the treating place's policy,
      with its cross-region rule) or ``actual`` (the case's actual pooled fund).
    * ``cap_drg_fund``: the remaining annual cap (封顶线) limits the DRG fund amount too:
      the pooled fund never pays more for a person in a year than its cap, whatever the
      payment method (ADR 0013; off reproduces the bare national formula of §1.7).
    * ``include_drafts``: price with draft policies as well (simulation only).
    """

    classification: SimulationParams = SimulationParams()
    fund_formula: Literal["national", "local"] = "national"
    qy_fraction: Decimal = Decimal(1)
    items_fund: Literal["actual", "policy"] = "actual"
    missing_policy: Literal["error", "treating_place", "actual"] = "error"
    cap_drg_fund: bool = True
    include_drafts: bool = False

    @field_validator("qy_fraction")
    @classmethod
    def _qy(cls, v: Decimal) -> Decimal:
        return _share(v, "qy_fraction：歧义组按项目支付比例", zero=False)


class QuotaParams(_Params):
    """The special-case (特例单议) quota and eligibility rules (domain.md §1.6).

    Quota = ``rate`` × the hospital's DRG cases in the period (5 ‰ [M] / [L] S8),
    rounded by ``rounding`` (``floor`` by default, so the quota never exceeds the
    rate) and then raised to ``min_quota`` when the hospital has at least one case
    (default 1, so that a small hospital can apply at all).  ``count_classes``
    restricts which payment classes count as DRG cases (``None``: every case).

    An application is eligible when ``any`` (or ``all``) of the enabled criteria hold:
    cost ≥ ``min_cost_multiple`` × standard (2× [S] S10: provinces use 2–5×), LOS ≥
    ``min_los_days`` (60 [M]) or the case uses a new drug / device / technology
    (``new_tech`` flag) [P] S9.  ``None`` / ``False`` switches a criterion off.  When
    more applications are eligible than the quota, they are ranked by ``order``:
    ``excess_cost`` (cost − standard, largest first, as in the §1.5 ranking) or
    ``applied`` (``applied_at``, earliest first); ties by ``setl_id``.
    """

    rate: Decimal = Decimal("0.005")
    rounding: Literal["floor", "ceil", "half_up"] = "floor"
    min_quota: int = 1
    min_cost_multiple: Decimal | None = Decimal(2)
    min_los_days: int | None = 60
    new_tech: bool = True
    combine: Literal["any", "all"] = "any"
    order: Literal["excess_cost", "applied"] = "excess_cost"
    count_classes: tuple[str, ...] | None = None

    @field_validator("rate")
    @classmethod
    def _rate(cls, v: Decimal) -> Decimal:
        if not (0 < v <= 1):
            raise ValueError(f"rate：名额比例须大于 0 且不超过 1（收到 {v}）")
        return v

    @field_validator("min_quota")
    @classmethod
    def _min(cls, v: int) -> int:
        if v < 0:
            raise ValueError(f"min_quota：最少名额不能为负数（收到 {v}）")
        return v

    @field_validator("min_cost_multiple")
    @classmethod
    def _multiple(cls, v: Decimal | None) -> Decimal | None:
        if v is not None and (v <= 0 or _places(v) > 4):
            raise ValueError(f"min_cost_multiple：费用倍数须大于 0 且最多 4 位小数（收到 {v}）")
        return v

    @field_validator("min_los_days")
    @classmethod
    def _los(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError(f"min_los_days：住院天数须至少为 1（收到 {v}）")
        return v

    @model_validator(mode="after")
    def _some(self) -> QuotaParams:
        if self.min_cost_multiple is None and self.min_los_days is None and not self.new_tech:
            raise ValueError(
                "min_cost_multiple / min_los_days / new_tech：至少要启用一条特例单议资格条件"
            )
        return self


class StatementParams(_Params):
    """Monthly statement (月度结算, domain.md §1.7).

    ``prepay_share``: share of the month's settlement amount paid now (1 by default;
    some cities pre-pay 90–95 % [S] S6 / [M]); the rest waits for year-end clearing.
    ``deposit_rate``: quality deposit (质量保证金) withheld from the pre-paid amount
    (10 % [S] S3; some regions 3 %).
    """

    deposit_rate: Decimal = Decimal("0.10")
    prepay_share: Decimal = Decimal(1)

    @field_validator("deposit_rate", "prepay_share")
    @classmethod
    def _shares(cls, v: Decimal) -> Decimal:
        return _share(v, "比例")


class ReleaseBand(_Params):
    """Deposit release: an assessment score ≥ ``min_score`` releases ``share``."""

    min_score: Decimal
    share: Decimal

    @field_validator("share")
    @classmethod
    def _s(cls, v: Decimal) -> Decimal:
        return _share(v, "share：返还比例")

    @field_validator("min_score")
    @classmethod
    def _min(cls, v: Decimal) -> Decimal:
        _score(v, "min_score：最低分")
        return v


class ClearingParams(_Params):
    """Year-end clearing (年终清算, domain.md §1.3, §1.7, §2.3).

    * ``method``: ``rate`` — final rate = budget ÷ Σ weight [P] S1; ``point`` — points
      = RW × ``point_scale`` (100 [M]) and final point value = budget ÷ Σ points [L/S]
      S5, S6; ``dip`` — points = the DIP adjusted score × the hospital's coefficient
      of each case's pricing, final value = the 结算点值 (ADR 0030).
      ``level_coefficients`` multiply the weights / points of each level (and
      so the level's final rate); default 1 for every level.
    * ``budget_covers``: ``all`` — item-paid amounts (high/low/QY/ungroupable/no
      standard, special cases with a fixed amount, the excess part of
      ``high_payment="excess"``) are paid as priced and taken off the budget first;
      ``drg`` — the budget is for the weight-paid part only.
    * ``fund_ratio``: when given, ``budget`` is a fund budget and the payment budget is
      budget ÷ ``fund_ratio`` (the DIP 结算点值 rule [S] S15).
    * ``value_places``: decimals of the final rate / point value (half up; ``None``:
      exact, each case then rounded to the fen).
    * ``fund_basis``: how a hospital's fund due follows from its final payments —
      ``total`` (point-method rule [L/S] S6: final payment − patient and other-fund
      amounts; consistent with the ``local`` pricing formula) or ``priced`` (Σ the
      priced fund amounts + Σ (final − provisional payment): the fund formula used in
      pricing is kept and the rate change is borne by the fund alone).
    * ``deposit_rate`` (10 % [S] S3) and the release of the deposit by assessment
      score: ``linear`` — share = score ÷ 100 clipped to [0, 1]; ``bands`` — the
      share of the highest band whose ``min_score`` the score reaches (0 below all).
      ``missing_score``: score used for hospitals without one (``None``: error).
    """

    method: Literal["rate", "point", "dip"] = "rate"
    point_scale: Decimal = Decimal(100)
    level_coefficients: dict[str, Decimal] | None = None
    budget_covers: Literal["all", "drg"] = "all"
    fund_ratio: Decimal | None = None
    value_places: int | None = 4
    fund_basis: Literal["total", "priced"] = "total"
    deposit_rate: Decimal = Decimal("0.10")
    release: Literal["linear", "bands"] = "linear"
    release_bands: tuple[ReleaseBand, ...] = (
        ReleaseBand(min_score=Decimal(90), share=Decimal(1)),
        ReleaseBand(min_score=Decimal(80), share=Decimal("0.8")),
        ReleaseBand(min_score=Decimal(70), share=Decimal("0.5")),
        ReleaseBand(min_score=Decimal(60), share=Decimal("0.2")),
    )
    missing_score: Decimal | None = None
    #: at most this share of each hospital's year of normal, high and low cases is paid
    #: as high-multiplier cases; the others (smallest cost − standard first, ADR 0043)
    #: are re-paid by weight (ADR 0031); None: no cap
    high_share_cap: Decimal | None = Field(default=None, ge=0, le=1, decimal_places=4)

    @field_validator("point_scale")
    @classmethod
    def _scale(cls, v: Decimal) -> Decimal:
        if v <= 0 or _places(v) > 0 or v > MAX_POINT_SCALE:
            raise ValueError(
                f"point_scale：点数倍数须为不超过 {MAX_POINT_SCALE} 的正整数（收到 {v}）"
            )
        return v

    @field_validator("level_coefficients")
    @classmethod
    def _coef(cls, v: dict[str, Decimal] | None) -> dict[str, Decimal] | None:
        check_levels(v or {})
        for level, c in (v or {}).items():
            if c <= 0 or _places(c) > 4 or c > MAX_COEFFICIENT:
                raise ValueError(
                    f"level_coefficients.{level}：等级系数须大于 0、不超过 {MAX_COEFFICIENT}"
                    f" 且最多 4 位小数（收到 {c}）"
                )
        return v

    @field_validator("fund_ratio")
    @classmethod
    def _fund(cls, v: Decimal | None) -> Decimal | None:
        return None if v is None else _share(v, "fund_ratio：医保报销比例", zero=False)

    @field_validator("value_places")
    @classmethod
    def _vp(cls, v: int | None) -> int | None:
        if v is not None and not (0 <= v <= 10):
            raise ValueError(f"value_places：费率/点值小数位须在 0 到 10 之间（收到 {v}）")
        return v

    @field_validator("deposit_rate")
    @classmethod
    def _deposit(cls, v: Decimal) -> Decimal:
        return _share(v, "deposit_rate：质量保证金比例")

    @field_validator("missing_score")
    @classmethod
    def _missing(cls, v: Decimal | None) -> Decimal | None:
        return _score(v, "missing_score：缺少得分时使用的得分")

    @field_validator("release_bands")
    @classmethod
    def _bands(cls, v: tuple[ReleaseBand, ...]) -> tuple[ReleaseBand, ...]:
        scores = [b.min_score for b in v]
        if any(b >= a for a, b in itertools.pairwise(scores)):
            raise ValueError("release_bands：各档最低分须从高到低严格递减")
        return v


def parse_settlement_params(model: type[_P], data: Mapping[str, Any] | str | bytes) -> _P:
    """Build ``model`` from a mapping or JSON text; every problem → SettlementError."""
    try:
        if isinstance(data, str | bytes):
            return model.model_validate_json(data)
        return model.model_validate(dict(data))
    except ValidationError as exc:
        problems = explain(exc, model.__name__)
        first = exc.errors()[0]["loc"]
        field = ".".join(str(p) for p in first) if first else None
        raise SettlementError("；".join(problems), field=field, problems=problems) from None
