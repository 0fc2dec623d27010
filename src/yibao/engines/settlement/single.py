"""One case priced through the batch code path (:func:`price_case`)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from yibao.engines.caseframe import MONEY
from yibao.engines.settlement.frames import SettlementCase
from yibao.engines.settlement.params import PricingParams
from yibao.engines.settlement.policy import PolicySet
from yibao.engines.settlement.pricing import price_batch


@dataclass(frozen=True, slots=True)
class PricedCase:
    """One priced case: the main figures, the reason codes, the Chinese explanation and
    ``row`` (every :data:`PRICED` column)."""

    setl_id: str
    payment_class: str
    payment_basis: str
    payment_standard: Decimal | None
    cost_ratio: Decimal | None
    drg_payment: Decimal
    fund_formula: str
    fund_amount: Decimal
    reason_codes: tuple[str, ...]
    explanation: str
    row: dict[str, Any]


def price_case(
    case: SettlementCase,
    standards: pl.DataFrame | Decimal | None,
    policies: PolicySet | None = None,
    params: PricingParams | None = None,
) -> PricedCase:
    """Price one case through the same code path as :func:`price_batch`.

    ``standards`` is a standards table or directly the case's payment standard
    (``None``: the DRG × level has no standard).
    """
    if not isinstance(standards, pl.DataFrame):
        standards = pl.DataFrame(
            {
                "drg": [case.drg] if standards is not None else [],
                "hospital_level": [case.hospital_level] if standards is not None else [],
                "payment_standard": [standards] if standards is not None else [],
            },
            schema={"drg": pl.String, "hospital_level": pl.String, "payment_standard": MONEY},
        )
    row = price_batch(case.frame(), standards, policies, params).row(0, named=True)
    return PricedCase(
        setl_id=row["setl_id"],
        payment_class=row["payment_class"],
        payment_basis=row["payment_basis"],
        payment_standard=row["payment_standard"],
        cost_ratio=row["cost_ratio"],
        drg_payment=row["drg_payment"],
        fund_formula=row["fund_formula"],
        fund_amount=row["fund_amount"],
        reason_codes=tuple(row["reason_codes"]),
        explanation=row["explanation"],
        row=row,
    )
