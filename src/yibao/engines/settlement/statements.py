"""The monthly statement per hospital (月度预拨, domain.md §1.7 [S] S3, S6).

Per hospital, the fund amounts of the month's priced cases (DRG-paid and item-paid),
minus review deductions and intelligent-audit deductions (智能审核扣款, upheld findings,
ADR 0024) and plus review additions (each shown apart, never netted), give the
settlement amount; ``prepay_share`` of it is paid now, the quality deposit (10 %)
is withheld from that, and amounts already advanced are netted:

    settlement  = fund (DRG) + fund (items) − deductions − audit deductions + additions
    prepaid     = settlement × prepay_share            (all of it when ≤ 0)
    deposit     = max(0, prepaid) × deposit_rate
    net payable = prepaid − deposit − advances          (negative: recovered)

Rounding: half up to the fen once per hospital.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Final

import polars as pl

from yibao.engines.caseframe import MONEY
from yibao.engines.measure.frames import round_half_up
from yibao.engines.settlement.errors import SettlementError
from yibao.engines.settlement.frames import fen, require
from yibao.engines.settlement.params import StatementParams
from yibao.engines.settlement.pricing import STANDARD_BASES
from yibao.kit.bounds import is_tame

FEN: Final = Decimal("0.01")
_STATEMENT_SUMS: Final = (
    "cases",
    "drg_cases",
    "item_cases",
    "total_cost",
    "drg_payment",
    "item_payment",
    "fund_drg",
    "fund_items",
)


def _yuan(value: Fraction | Decimal | int) -> Decimal:
    return round_half_up(value if not isinstance(value, int) else Fraction(value), 2)


def _amounts(source: Mapping[str, Decimal] | pl.DataFrame | None, where: str) -> dict[str, Decimal]:
    """{hospital_code: Σ amount} from a mapping or a frame (``hospital_code``, ``amount``)."""
    if source is None:
        return {}
    if isinstance(source, pl.DataFrame):
        require(source, ("hospital_code", "amount"), where)
        rows = source.group_by("hospital_code").agg(fen("amount").sum()).rows()
        return {str(h): Decimal(int(a)) / 100 for h, a in rows}
    amounts = {str(h): Decimal(a) for h, a in source.items()}
    bad = [f"{h}：{a}" for h, a in amounts.items() if not is_tame(a) or a != a.quantize(FEN)]
    if bad:  # a money column holds whole fen: a third decimal would be cut off silently
        raise SettlementError(
            f"{where}：金额须为数字且最多 2 位小数（收到 {'、'.join(bad[:5])}）",
            field=where.split("(")[-1].rstrip(")"),
        )
    return amounts


def monthly_statement(
    priced_cases: pl.DataFrame,
    params: StatementParams | None = None,
    *,
    period: str | None = None,
    adjustments: Mapping[str, Decimal] | pl.DataFrame | None = None,
    advances: Mapping[str, Decimal] | pl.DataFrame | None = None,
    additions: Mapping[str, Decimal] | pl.DataFrame | None = None,
    audit_deductions: Mapping[str, Decimal] | pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The monthly statement, one row per hospital (sorted), module docstring formulas.

    ``priced_cases``: :func:`price_batch` output for the month.  ``adjustments``:
    review deductions per hospital (positive = deducted), ``additions``: review
    additions (调增, positive = added), ``audit_deductions``: upheld intelligent-audit
    findings (positive = deducted), ``advances``: amounts already advanced this
    month (月初预拨); each a mapping or a frame with ``hospital_code`` and ``amount``.
    Columns: ``period, hospital_code, cases, drg_cases, item_cases, total_cost,
    drg_payment, item_payment, fund_drg, fund_items, fund_total, deductions,
    audit_deductions, additions, settlement_amount, prepaid, held_back, deposit_rate,
    deposit_withheld, advances, net_payable`` (money ``Decimal(18, 2)``).
    """
    params = params or StatementParams()
    require(
        priced_cases,
        ("hospital_code", "payment_basis", "total_cost", "drg_payment", "fund_amount"),
        "monthly_statement(priced_cases)",
    )
    drg = pl.col("payment_basis").is_in(STANDARD_BASES)
    sums = priced_cases.group_by("hospital_code").agg(
        pl.len().cast(pl.Int64).alias("cases"),
        drg.sum().cast(pl.Int64).alias("drg_cases"),
        (~drg).sum().cast(pl.Int64).alias("item_cases"),
        fen("total_cost").sum().alias("total_cost"),
        fen("drg_payment").filter(drg).sum().alias("drg_payment"),
        fen("drg_payment").filter(~drg).sum().alias("item_payment"),
        fen("fund_amount").filter(drg).sum().alias("fund_drg"),
        fen("fund_amount").filter(~drg).sum().alias("fund_items"),
    )
    found = {str(r["hospital_code"]): r for r in sums.iter_rows(named=True)}
    deductions = _amounts(adjustments, "monthly_statement(adjustments)")
    added = _amounts(additions, "monthly_statement(additions)")
    audited = _amounts(audit_deductions, "monthly_statement(audit_deductions)")
    advanced = _amounts(advances, "monthly_statement(advances)")
    rows = [
        _statement_row(
            hospital,
            found.get(hospital, {}),
            deductions.get(hospital, Decimal(0)),
            audited.get(hospital, Decimal(0)),
            added.get(hospital, Decimal(0)),
            advanced.get(hospital, Decimal(0)),
            params,
        )
        for hospital in sorted(
            set(found) | set(deductions) | set(audited) | set(added) | set(advanced)
        )
    ]
    rows = [{"period": period, **row} for row in rows]
    return pl.DataFrame(rows, schema=STATEMENT_SCHEMA, orient="row")


def _statement_row(
    hospital: str,
    sums: Mapping[str, object],
    deducted: Decimal,
    audited: Decimal,
    added: Decimal,
    advance: Decimal,
    params: StatementParams,
) -> dict[str, object]:
    """One hospital's statement figures (module docstring formulas)."""
    figures = {k: int(str(sums.get(k) or 0)) for k in _STATEMENT_SUMS}
    money = {k: Decimal(v) / 100 for k, v in figures.items() if k not in _STATEMENT_SUMS[:3]}
    fund_total = money["fund_drg"] + money["fund_items"]
    settlement = fund_total - deducted - audited + added
    prepaid = _yuan(settlement * params.prepay_share) if settlement > 0 else settlement
    deposit = _yuan(max(Decimal(0), prepaid) * params.deposit_rate)
    return {
        "hospital_code": hospital,
        **{k: figures[k] for k in _STATEMENT_SUMS[:3]},
        **money,
        "fund_total": fund_total,
        "deductions": deducted,
        "audit_deductions": audited,
        "additions": added,
        "settlement_amount": settlement,
        "prepaid": prepaid,
        "held_back": settlement - prepaid,
        "deposit_rate": params.deposit_rate,
        "deposit_withheld": deposit,
        "advances": advance,
        "net_payable": prepaid - deposit - advance,
    }


STATEMENT_SCHEMA: Final[dict[str, pl.DataType | type[pl.DataType]]] = {
    "period": pl.String,
    "hospital_code": pl.String,
    "cases": pl.Int64,
    "drg_cases": pl.Int64,
    "item_cases": pl.Int64,
    **dict.fromkeys(_STATEMENT_SUMS[3:], MONEY),
    "fund_total": MONEY,
    "deductions": MONEY,
    "audit_deductions": MONEY,
    "additions": MONEY,
    "settlement_amount": MONEY,
    "prepaid": MONEY,
    "held_back": MONEY,
    "deposit_rate": pl.Decimal(18, 4),
    "deposit_withheld": MONEY,
    "advances": MONEY,
    "net_payable": MONEY,
}
