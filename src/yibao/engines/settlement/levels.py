"""The terms a benefit policy sets per hospital level: deductible (起付线), a flat fund
ratio or ratios by cost band, and the cross-region changes (异地就医), plus the
validation helpers shared by the policy's layers (:mod:`.layers`).

Split out of :mod:`.policy` (house rule 9); :mod:`.policy` re-exports every name.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from yibao.engines.measure.params import LEVEL_NAMES, LEVELS

E4: Final = 10_000


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _ratio(value: Decimal, where: str) -> Decimal:
    if not (0 <= value <= 1) or _places(value) > 4:
        raise ValueError(f"{where}：基金支付比例须在 0 到 1 之间且最多 4 位小数（收到 {value}）")
    return value


def _money(value: Decimal, where: str) -> Decimal:
    if value < 0 or _places(value) > 2:
        raise ValueError(f"{where}：金额不能为负数且最多 2 位小数（收到 {value}）")
    return value


def _fen(value: Decimal) -> int:
    return int(value * 100)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CostBand(_Model):
    """One cost band: the part of the in-scope cost up to ``upper`` yuan (``None``: no
    upper limit) is paid at ``ratio``.  Bands are measured on the in-scope cost of the
    stay (after 全自费 and 先自付), the part below the deductible being unpaid [S] S33."""

    upper: Decimal | None = None
    ratio: Decimal

    @field_validator("upper")
    @classmethod
    def _upper(cls, v: Decimal | None) -> Decimal | None:
        if v is not None and (v <= 0 or _places(v) > 2):
            raise ValueError(f"upper：分段上限须大于 0 且最多 2 位小数（收到 {v}）")
        return v

    @field_validator("ratio")
    @classmethod
    def _r(cls, v: Decimal) -> Decimal:
        return _ratio(v, "ratio")


class LevelBenefit(_Model):
    """Deductible (起付线, yuan) and fund ratio of one hospital level: a flat ``ratio`` or
    ``bands`` (ratio by cost band, the last band without upper limit) — exactly one."""

    deductible: Decimal
    ratio: Decimal | None = None
    bands: tuple[CostBand, ...] = ()

    @field_validator("deductible")
    @classmethod
    def _d(cls, v: Decimal) -> Decimal:
        return _money(v, "deductible")

    @field_validator("ratio")
    @classmethod
    def _r(cls, v: Decimal | None) -> Decimal | None:
        return None if v is None else _ratio(v, "ratio")

    @model_validator(mode="after")
    def _one(self) -> LevelBenefit:
        if (self.ratio is None) == (not self.bands):
            raise ValueError(
                "ratio / bands：须给出统一比例 ratio 或分段比例 bands 之一（只能一个）"
            )
        check_bands(self.bands)
        return self

    def segments(self) -> tuple[Segment, ...]:
        """The ratio as (lower, upper, ratio) segments in fen and 1/10,000."""
        if self.ratio is not None:
            return (Segment(0, None, int(self.ratio * E4)),)
        return band_segments(self.bands)


def check_bands(bands: Sequence[CostBand]) -> None:
    """Every band but the last has an upper limit, strictly increasing; the last has none."""
    uppers = [b.upper for b in bands]
    if uppers and uppers[-1] is not None:
        raise ValueError("bands：最后一段不能设上限（upper 须省略）")
    fixed = [u for u in uppers[:-1] if u is not None]
    if len(fixed) != len(uppers) - (1 if uppers else 0) or any(
        b <= a for a, b in itertools.pairwise(fixed)
    ):
        raise ValueError("bands：除最后一段外每段都须有上限，且上限严格递增")


def band_segments(bands: Sequence[CostBand]) -> tuple[Segment, ...]:
    """Cost bands as (lower, upper, ratio) segments in fen and 1/10,000."""
    out: list[Segment] = []
    lower = 0
    for band in bands:
        upper = None if band.upper is None else _fen(band.upper)
        out.append(Segment(lower, upper, int(band.ratio * E4)))
        lower = upper or 0
    return tuple(out)


def check_levels(levels: Mapping[str, LevelBenefit], field: str = "levels") -> None:
    """The levels are exactly 一级, 二级 and 三级 (keys ``1``, ``2``, ``3``)."""
    unknown = [k for k in levels if k not in LEVELS]
    if unknown:
        raise ValueError(f"{field}：医院等级须为 1、2、3（收到 {'、'.join(unknown)}）")
    missing = [LEVEL_NAMES[lv] for lv in LEVELS if lv not in levels]
    if missing:
        raise ValueError(f"{field}：缺少 {'、'.join(missing)} 医院的起付线和支付比例")


class CrossRegionRule(_Model):
    """What changes for an insured person treated outside the pooling region: the
    deductible is replaced (when given) and ``ratio_cut`` is subtracted from every ratio
    (not below 0).  Example: Bengshan out-of-city 2,000 / out-of-province 2,500 yuan,
    ratio 45–75 % [L] S32."""

    deductible: Decimal | None = None
    ratio_cut: Decimal = Decimal(0)

    @field_validator("deductible")
    @classmethod
    def _d(cls, v: Decimal | None) -> Decimal | None:
        return None if v is None else _money(v, "deductible")

    @field_validator("ratio_cut")
    @classmethod
    def _cut(cls, v: Decimal) -> Decimal:
        return _ratio(v, "ratio_cut")


@dataclass(frozen=True, slots=True)
class Segment:
    """In-scope cost from ``lower`` to ``upper`` fen (``None``: unlimited) paid at
    ``ratio_e4`` / 10,000."""

    lower: int
    upper: int | None
    ratio_e4: int
