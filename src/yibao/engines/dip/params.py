"""DIP parameters (domain.md §2.2–2.4).  Every [M] value of the domain reference is a
default a bureau may change; a wrong value is refused with a Chinese message naming
the field."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, field_validator, model_validator

from yibao.engines.measure.params import TrimParams, _Params, rule

#: base coefficient per hospital level [M] (Xiamen 2024 L0, domain.md §2.6)
LEVEL_COEFFICIENTS: dict[str, Decimal] = {
    "3": Decimal("0.93"),
    "2": Decimal("0.72"),
    "1": Decimal("0.55"),
}
#: words in a procedure's name that make a non-surgical procedure diagnostic (诊断性操作)
#: rather than therapeutic (治疗性操作) [M]
DIAGNOSTIC_WORDS: tuple[str, ...] = (
    "诊断性",
    "活检",
    "活组织检查",
    "检查",
    "造影",
    "探查",
    "镜检",
    "测定",
    "监测",
    "描记",
    "扫描",
    "成像",
)


class CatalogueParams(_Params):
    """How the catalogue is cut (domain.md §2.2).

    * ``dx_chars``: characters of the principal diagnosis (without the dot) that name
      its category — 4 = 亚目 (``K35.8``, the default), 3 = 类目 (``K35``);
    * ``threshold``: cases a combination needs over the history to be a core group
      (核心病种, 15); the others fall into comprehensive groups (综合病种);
    * ``comprehensive_chars``: characters of the diagnosis that key a comprehensive
      group (3 = 类目); a case whose category has none falls back to its chapter
      letter (one group per letter and procedure type);
    * ``diagnostic_words``: what makes a non-surgical procedure 诊断性 (by its name).
    """

    dx_chars: int = 4
    threshold: int = 15
    comprehensive_chars: int = 3
    diagnostic_words: tuple[str, ...] = DIAGNOSTIC_WORDS

    @field_validator("dx_chars")
    @classmethod
    def _dx(cls, v: int) -> int:
        if not 3 <= v <= 6:
            raise rule(f"dx_chars：诊断分类取码位数须在 3 到 6 之间（收到 {v}）")
        return v

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, v: int) -> int:
        if v < 1:
            raise rule(f"threshold：核心病种的病例数阈值必须至少为 1（收到 {v}）")
        return v

    @model_validator(mode="after")
    def _levels(self) -> CatalogueParams:
        if not 1 <= self.comprehensive_chars <= self.dx_chars:
            raise rule(
                f"comprehensive_chars：综合病种取码位数须在 1 到 dx_chars（{self.dx_chars}）"
                f"之间（收到 {self.comprehensive_chars}）"
            )
        return self


class ScoreParams(_Params):
    """病种分值 = group average cost ÷ all-case average cost × ``scale`` (1000; some
    cities use 100), averages weighted by year (``year_weights`` 1:2:7, oldest first,
    over ``years`` or the distinct years of the cases), after trimming each group and
    year like the DRG weights (``trim``); rounded half up to ``places`` decimals."""

    scale: Decimal = Decimal(1000)
    year_weights: tuple[Decimal, ...] = (Decimal(1), Decimal(2), Decimal(7))
    years: tuple[int, ...] | None = None
    places: int = 2
    trim: TrimParams = TrimParams()

    @field_validator("scale")
    @classmethod
    def _scale(cls, v: Decimal) -> Decimal:
        if v <= 0:
            raise rule(f"scale：分值倍数必须大于 0（收到 {v}）")
        return v

    @field_validator("year_weights")
    @classmethod
    def _weights(cls, v: tuple[Decimal, ...]) -> tuple[Decimal, ...]:
        if not v or any(w <= 0 for w in v):
            raise rule("year_weights：年度权重至少一个，且必须全部大于 0")
        return v

    @field_validator("places")
    @classmethod
    def _places(cls, v: int) -> int:
        if not 0 <= v <= 6:
            raise rule(f"places：分值小数位数须在 0 到 6 之间（收到 {v}）")
        return v

    @model_validator(mode="after")
    def _years(self) -> ScoreParams:
        ys = self.years
        if ys is not None and (
            len(set(ys)) != len(ys) or list(ys) != sorted(ys) or len(ys) != len(self.year_weights)
        ):
            raise rule("years：年度须不重复、从早到晚排列，并与 year_weights 一一对应")
        return self


class DeviationParams(_Params):
    """偏差病例 (domain.md §2.4): a case costing below ``low`` × its group's standard is
    paid pro rata (score × ratio), above ``high`` × by the excess formula
    (score × (ratio − 1)); above ``extreme`` × it is flagged for expert review."""

    low: Decimal = Decimal("0.5")
    high: Decimal = Decimal(2)
    extreme: Decimal = Decimal(5)

    @model_validator(mode="after")
    def _order(self) -> DeviationParams:
        if not (0 < self.low < 1 < self.high <= self.extreme):
            raise rule(
                f"low / high / extreme：须满足 0 < 费用超低 {self.low} < 1 < 费用超高 "
                f"{self.high} ≤ 极端异常 {self.extreme}"
            )
        return self


#: the finest coefficient (base or add-on) a scheme may set
COEFFICIENT_STEP = Decimal("0.0001")


class PaymentParams(_Params):
    """How a simulated year is paid (domain.md §2.3, §2.6): the point value given, or
    solved so that the payments spend ``budget`` (without either: the year's total cost,
    cost-neutral); the base coefficient per hospital level (Xiamen L0 by default) plus
    each hospital's add-on; the deviation bounds."""

    point_value: Decimal | None = None
    budget: Decimal | None = None
    coefficients: dict[str, Decimal] = Field(default_factory=lambda: dict(LEVEL_COEFFICIENTS))
    add_ons: dict[str, Decimal] = Field(default_factory=dict)
    deviation: DeviationParams = DeviationParams()
    #: compute each hospital's add-on from the year's cases (Xiamen L1–L3, §2.6);
    #: ``add_ons`` given explicitly still win
    dynamic_add_ons: bool = False

    @field_validator("coefficients", mode="after")
    @classmethod
    def _every_level(cls, given: dict[str, Decimal]) -> dict[str, Decimal]:
        """Levels not given keep the default base (§2.6): a scheme giving level 3 alone
        had left every level-1 and level-2 hospital without one, and their lists were
        refused until a new scheme was made."""
        return {**LEVEL_COEFFICIENTS, **given}

    @model_validator(mode="after")
    def _check(self) -> PaymentParams:
        if self.point_value is not None and self.budget is not None:
            raise rule("point_value / budget：点值与预算只能指定一个（指定预算则求解点值）")
        for name, value in (("point_value", self.point_value), ("budget", self.budget)):
            if value is not None and not 0 < value < Decimal(10) ** 15:
                raise rule(f"{name}：必须大于 0 且小于 10^15（收到 {value}）")
        unknown = [k for k in self.coefficients if k not in ("1", "2", "3")]
        if unknown:
            raise rule(f"coefficients：医院等级须为 1、2、3（收到 {'、'.join(unknown)}）")
        bad = [f"{k}={v}" for k, v in self.coefficients.items() if not 0 < v <= 10]
        bad += [f"{k}={v}" for k, v in self.add_ons.items() if not -1 < v < 10]
        if bad:
            raise rule(f"coefficients / add_ons：系数须大于 0 且不超过 10（{'、'.join(bad)}）")
        # a case's pricing keeps its coefficient to 4 decimals and the year-end clearing
        # re-prices from it: a finer coefficient would pay one amount and clear another
        for name, words, values in (
            ("coefficients", "等级系数", self.coefficients),
            ("add_ons", "医院加成系数", self.add_ons),
        ):
            fine = [f"{k}={v}" for k, v in values.items() if v != v.quantize(COEFFICIENT_STEP)]
            if fine:
                raise rule(f"{name}：{words}最多 4 位小数（{'、'.join(fine)}）")
        return self
