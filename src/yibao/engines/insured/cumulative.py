"""A person's annual cumulative figures (人员累计信息, 5206) and the deltas a
settlement posts to them (ADR 0016).

A figure is a ``cum_type`` and a value per person and year: money in yuan to the fen,
counts as whole numbers.  Fixed types (:data:`CUM_TYPES`) plus one per fund,
``fund:<fund_pay_type>`` (``fund:310100`` the employees' pooled fund …), so a fund or
a figure the benefit rules need later is a new type, not a new column.

A settlement posts a :class:`Delta`; its reversal posts :meth:`Delta.negated` — the
same numbers with the other sign — so the figures return exactly to where they were,
whatever was posted in between.  The personal account moves by ``acct_pay``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

CUM_TYPES: Final[dict[str, str]] = {
    "medfee_sumamt": "医疗费总额",
    "inscp_scp_amt": "政策范围内费用",
    "act_pay_dedc": "已付起付线",
    "fund_pay_sumamt": "基金支付合计",
    "acct_pay": "个人账户支出",
    "psn_cash_pay": "个人现金支出",
    "ipt_cnt": "住院结算次数",
    "otp_cnt": "门诊结算次数",
    # ADR 0017: the figures the real-time benefit layers count against
    "ipt_hifp": "住院基本统筹基金支付",
    "otp_dedc": "门诊已付起付线",
    "otp_hifp": "门诊统筹基金支付",
    "large_base": "大额（大病）累计基数",
}
COUNTS: Final = frozenset({"ipt_cnt", "otp_cnt"})
FUND_PREFIX: Final = "fund:"
#: fund_pay_type → name (domain.md §3.4; 310100 [S], the rest [M])
FUND_TYPES: Final[dict[str, str]] = {
    "310100": "职工基本医疗保险统筹基金",
    "320100": "公务员医疗补助资金",
    "330100": "职工大额医疗费用补助",
    "390100": "城乡居民基本医疗保险基金",
    "390200": "城乡居民大病医疗保险",
    "610100": "医疗救助基金",
}
_CENT = Decimal("0.01")
#: figures stay below this in magnitude (hundredths fit a 64-bit integer many times)
_LIMIT = Decimal(10) ** 13


class CumulativeError(ValueError):
    """A delta that cannot be posted (Chinese message)."""


def cum_label(cum_type: str) -> str:
    """The Chinese name of a figure."""
    if cum_type.startswith(FUND_PREFIX):
        code = cum_type[len(FUND_PREFIX) :]
        return f"{FUND_TYPES.get(code, '基金 ' + code)}支付"
    return CUM_TYPES.get(cum_type, cum_type)


def _check_type(cum_type: str) -> None:
    if cum_type in CUM_TYPES:
        return
    code = cum_type.removeprefix(FUND_PREFIX)
    if cum_type.startswith(FUND_PREFIX) and len(code) == 6 and code.isdigit():
        return
    raise CumulativeError(f"不认识的累计类别 {cum_type!r}")


def _value(cum_type: str, value: Decimal) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise CumulativeError(f"{cum_label(cum_type)}须为有限的 Decimal（收到 {value!r}）")
    if abs(value) >= _LIMIT:
        raise CumulativeError(f"{cum_label(cum_type)}超出范围（绝对值须小于 10¹³）")
    if cum_type in COUNTS:
        if value != value.to_integral_value():
            raise CumulativeError(f"{cum_label(cum_type)}须为整数（收到 {value}）")
        return value.quantize(Decimal(1))
    if value != value.quantize(_CENT):
        raise CumulativeError(f"{cum_label(cum_type)}最多 2 位小数（收到 {value}）")
    return value.quantize(_CENT)


@dataclass(frozen=True)
class Delta:
    """What one settlement adds to a person's figures of one year (zeros dropped)."""

    values: Mapping[str, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        clean = {}
        for cum_type, value in sorted(self.values.items()):
            _check_type(cum_type)
            number = _value(cum_type, value)
            if number:
                clean[cum_type] = number
        object.__setattr__(self, "values", clean)

    @property
    def acct_pay(self) -> Decimal:
        """What the personal account pays (its balance goes down by this)."""
        return self.values.get("acct_pay", Decimal("0.00"))

    def negated(self) -> Delta:
        """The reversal's delta: every value with the other sign."""
        return Delta({k: -v for k, v in self.values.items()})

    def as_json(self) -> dict[str, str]:
        """Values as text (exact in JSON)."""
        return {k: str(v) for k, v in self.values.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> Delta:
        return cls({k: Decimal(v) for k, v in data.items()})


def settlement_delta(
    *,
    medfee_sumamt: Decimal,
    inscp_scp_amt: Decimal,
    act_pay_dedc: Decimal,
    funds: Mapping[str, Decimal],
    acct_pay: Decimal = Decimal(0),
    psn_cash_pay: Decimal = Decimal(0),
    inpatient: bool = True,
) -> Delta:
    """The delta of one settlement (setlinfo figures; ``funds``: fund_pay_type →
    fund_payamt of its setldetail rows).  ``fund_pay_sumamt`` is the sum of the funds;
    the count of inpatient or outpatient settlements goes up by one."""
    values: dict[str, Decimal] = {
        "medfee_sumamt": medfee_sumamt,
        "inscp_scp_amt": inscp_scp_amt,
        "act_pay_dedc": act_pay_dedc,
        "acct_pay": acct_pay,
        "psn_cash_pay": psn_cash_pay,
        ("ipt_cnt" if inpatient else "otp_cnt"): Decimal(1),
    }
    for name, value in values.items():
        if isinstance(value, Decimal) and value < 0:
            raise CumulativeError(f"{cum_label(name)}不能为负数（收到 {value}）")
    total = Decimal("0.00")
    for code, amount in funds.items():
        if not (len(code) == 6 and code.isdigit()):
            raise CumulativeError(f"基金支付类型须为 6 位数字（收到 {code!r}）")
        if amount < 0:
            raise CumulativeError(f"{cum_label(FUND_PREFIX + code)}不能为负数（收到 {amount}）")
        values[FUND_PREFIX + code] = amount
        total += amount
    values["fund_pay_sumamt"] = total
    return Delta(values)


@dataclass(frozen=True)
class Cumulative:
    """A person's figures of one year (absent types are 0)."""

    year: int
    values: Mapping[str, Decimal] = field(default_factory=dict)

    def get(self, cum_type: str) -> Decimal:
        zero = Decimal(0) if cum_type in COUNTS else Decimal("0.00")
        return self.values.get(cum_type, zero)

    @property
    def deductible_paid(self) -> Decimal:
        return self.get("act_pay_dedc")

    def fund_paid(self, fund_pay_type: str) -> Decimal:
        return self.get(FUND_PREFIX + fund_pay_type)

    def plus(self, delta: Delta) -> Cumulative:
        """The figures after posting ``delta``."""
        out = dict(self.values)
        for k, v in delta.values.items():
            out[k] = self.get(k) + v
        return Cumulative(self.year, {k: v for k, v in out.items() if v})

    def rows(self) -> list[dict[str, object]]:
        """5206-style rows: year, cum_type_code, its name, cum (sorted by type)."""
        return [
            {"year": self.year, "cum_type_code": k, "cum_type_name": cum_label(k), "cum": v}
            for k, v in sorted(self.values.items())
        ]


def total_of(year: int, deltas: Iterable[Delta]) -> Cumulative:
    """The figures that a series of postings leaves (from nothing)."""
    out = Cumulative(year)
    for d in deltas:
        out = out.plus(d)
    return out
