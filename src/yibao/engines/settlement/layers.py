"""The optional layers of a benefit policy on top of the basic pooled fund (ADR 0017):
大额 / 大病 insurance, 公务员医疗补助, 医疗救助, and 门诊统筹 (outpatient pooling).

Domain.md §4.4 [M]: "annual cap and 大病/大额 layers sit on top … then medical aid".
Each layer names its fund (``fund_pay_type``, the setldetail code of domain.md §3.4,
[M]) and is validated with Chinese messages naming the field.  What a layer pays is
computed by :mod:`yibao.engines.settlement.realtime`.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Final

from pydantic import field_validator, model_validator

from yibao.engines.insured.messages import IDENTITIES
from yibao.engines.settlement.levels import (
    CostBand,
    CrossRegionRule,
    LevelBenefit,
    Segment,
    _Model,
    _places,
    _ratio,
    band_segments,
    check_bands,
    check_levels,
)

#: the large-amount layer's fund per insutype → its setlinfo field (domain.md §3.4 [M])
LARGE_FUNDS: Final[dict[str, str]] = {"330100": "hifob_pay", "390200": "hifmi_pay"}
LARGE_FUND_OF_INSUTYPE: Final[dict[str, str]] = {"310": "330100", "390": "390200"}
CIVIL_SERVANT_FUND: Final = "320100"
MEDICAL_AID_FUND: Final = "610100"
SCOPE_KEYS: Final = ("in_province", "out_of_province")


def _cap(value: Decimal, where: str) -> Decimal:
    if value <= 0 or _places(value) > 2:
        raise ValueError(f"{where}：年度最高支付限额须大于 0 且最多 2 位小数（收到 {value}）")
    return value


class LargeAmountLayer(_Model):
    """大额 / 大病 layer: on the person's annual cumulative in-scope burden left after the
    basic fund, the part above ``threshold`` yuan is paid by cost band (``bands``
    measured on the cumulative above the threshold, last band open), up to
    ``annual_cap`` a year.  ``330100`` 职工大额医疗费用补助 (setlinfo ``hifob_pay``) or
    ``390200`` 城乡居民大病医疗保险 (``hifmi_pay``)."""

    fund_pay_type: str
    threshold: Decimal
    bands: tuple[CostBand, ...]
    annual_cap: Decimal

    @field_validator("fund_pay_type")
    @classmethod
    def _fund(cls, v: str) -> str:
        if v not in LARGE_FUNDS:
            raise ValueError(
                "fund_pay_type：大额（大病）基金编码须为 330100（职工大额医疗费用补助）"
                f"或 390200（城乡居民大病医疗保险）（收到 {v!r}）"
            )
        return v

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, v: Decimal) -> Decimal:
        if v < 0 or _places(v) > 2:
            raise ValueError(
                f"threshold：大额（大病）起付标准不能为负数且最多 2 位小数（收到 {v}）"
            )
        return v

    @field_validator("annual_cap")
    @classmethod
    def _c(cls, v: Decimal) -> Decimal:
        return _cap(v, "annual_cap")

    @model_validator(mode="after")
    def _bands(self) -> LargeAmountLayer:
        if not self.bands:
            raise ValueError("bands：大额（大病）支付比例须至少有一段")
        check_bands(self.bands)
        return self

    @property
    def setl_field(self) -> str:
        """The setlinfo field of this layer's payment."""
        return LARGE_FUNDS[self.fund_pay_type]

    def segments(self) -> tuple[Segment, ...]:
        """Bands in fen and 1/10,000, measured above the threshold."""
        return band_segments(self.bands)


class CivilServantLayer(_Model):
    """公务员医疗补助 (``320100``, setlinfo ``cvlserv_pay``): ``ratio`` of the in-scope
    burden left after the basic and large layers, for persons with cvlserv_flag 1, up
    to ``annual_cap`` a year."""

    fund_pay_type: str = CIVIL_SERVANT_FUND
    ratio: Decimal
    annual_cap: Decimal

    @field_validator("fund_pay_type")
    @classmethod
    def _fund(cls, v: str) -> str:
        if v != CIVIL_SERVANT_FUND:
            raise ValueError(f"fund_pay_type：公务员医疗补助基金编码须为 320100（收到 {v!r}）")
        return v

    @field_validator("ratio")
    @classmethod
    def _r(cls, v: Decimal) -> Decimal:
        return _ratio(v, "ratio")

    @field_validator("annual_cap")
    @classmethod
    def _c(cls, v: Decimal) -> Decimal:
        return _cap(v, "annual_cap")


class AidTerms(_Model):
    """Medical aid of one identity: ``ratio`` and ``annual_cap`` (yuan)."""

    ratio: Decimal
    annual_cap: Decimal

    @field_validator("ratio")
    @classmethod
    def _r(cls, v: Decimal) -> Decimal:
        return _ratio(v, "ratio")

    @field_validator("annual_cap")
    @classmethod
    def _c(cls, v: Decimal) -> Decimal:
        return _cap(v, "annual_cap")


class MedicalAidLayer(_Model):
    """医疗救助 (``610100``, setlinfo ``maf_pay``) by identity (psn_idet_type, 1101
    idetinfo: 2101 特困, 2102 低保, 2103 低收入, 2104 脱贫, 2201 重度残疾)."""

    fund_pay_type: str = MEDICAL_AID_FUND
    identities: dict[str, AidTerms]

    @field_validator("fund_pay_type")
    @classmethod
    def _fund(cls, v: str) -> str:
        if v != MEDICAL_AID_FUND:
            raise ValueError(f"fund_pay_type：医疗救助基金编码须为 610100（收到 {v!r}）")
        return v

    @field_validator("identities")
    @classmethod
    def _identities(cls, v: dict[str, AidTerms]) -> dict[str, AidTerms]:
        if not v:
            raise ValueError("identities：医疗救助须至少列出一类救助对象身份")
        unknown = [k for k in v if k not in IDENTITIES]
        if unknown:
            known = "、".join(f"{k} {n}" for k, n in IDENTITIES.items())
            raise ValueError(
                f"identities：救助对象身份须为 {known} 之一（收到 {'、'.join(unknown)}）"
            )
        return v

    def held(self, identities: Iterable[str]) -> list[tuple[str, AidTerms]]:
        """The person's identities this layer aids, with their terms, by code."""
        return [(k, self.identities[k]) for k in sorted(set(identities)) if k in self.identities]

    def best(self, identities: Iterable[str]) -> tuple[str, AidTerms] | None:
        """Of equally paying identities the preferred one: the highest ratio, then the
        highest annual cap, then the smallest code; ``None`` without one.  (Settlement
        first takes the identity that pays the most this time, ADR 0017.)"""
        held = self.held(identities)
        if not held:
            return None
        return max(held, key=_preference)


def _preference(kv: tuple[str, AidTerms]) -> tuple[Decimal, Decimal, int]:
    return kv[1].ratio, kv[1].annual_cap, -int(kv[0])


class OutpatientBenefit(_Model):
    """门诊统筹: deductible and ratio per hospital level (like the inpatient ``levels``),
    its own ``annual_cap``; ``cross_region`` when given replaces the policy's rules for
    outpatient visits, else the policy's rules apply."""

    levels: dict[str, LevelBenefit]
    annual_cap: Decimal
    cross_region: dict[str, CrossRegionRule] | None = None

    @field_validator("levels")
    @classmethod
    def _levels(cls, v: dict[str, LevelBenefit]) -> dict[str, LevelBenefit]:
        check_levels(v)
        return v

    @field_validator("annual_cap")
    @classmethod
    def _c(cls, v: Decimal) -> Decimal:
        if v <= 0 or _places(v) > 2:
            raise ValueError(f"annual_cap：门诊统筹年度封顶线须大于 0 且最多 2 位小数（收到 {v}）")
        return v

    @field_validator("cross_region")
    @classmethod
    def _cross(cls, v: dict[str, CrossRegionRule] | None) -> dict[str, CrossRegionRule] | None:
        unknown = [k for k in v or {} if k not in SCOPE_KEYS]
        if unknown:
            raise ValueError(
                "cross_region：异地范围须为 in_province（省内）或 out_of_province（跨省）"
                f"（收到 {'、'.join(unknown)}）"
            )
        return v
