"""Monthly statements, derived from the stored confirmations.

Nothing here is stored: a statement is recomputed (deterministically) from the
period's :class:`SettlementConfirmation` rows and the case pricings
(:func:`~yibao.settlement.statements.repository.confirmed_cases`), through the pure
engine (:func:`monthly_statement`).  A reviewer's adjustment enters as a deduction in
fund terms (original fund − adjusted fund) and an addition (调增) as an addition,
shown apart, so fund total − deductions + additions = Σ confirmed fund.  Upheld
intelligent-audit findings (智能审核扣款, ADR 0024) enter as a third figure, apart:
settlement = fund total − deductions − audit deductions + additions.  The year-end
clearing (:mod:`yibao.settlement.clearing`) feeds the same three frames to the engine
for every month of the year.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.db.scoping import get_scope
from yibao.engines.caseframe import MONEY
from yibao.engines.settlement.params import StatementParams, parse_settlement_params
from yibao.engines.settlement.statements import monthly_statement
from yibao.kit.bounds import MONEY_MAX, is_tame
from yibao.kit.cache import TTLCache
from yibao.kit.errors import Forbidden, NotFound, ValidationFailed
from yibao.settlement.auth import own_hospital, region_for
from yibao.settlement.review import parse_period
from yibao.settlement.statements.repository import (
    audit_deduction_version,
    audit_deductions,
    confirmation_version,
    confirmed_cases,
)


def priced_frame(cases: pl.DataFrame) -> pl.DataFrame:
    """The engine's priced cases: each case's original payment and fund amount."""
    return cases.select(
        "hospital_code",
        "payment_basis",
        pl.lit(Decimal("0.00")).cast(MONEY).alias("total_cost"),
        "drg_payment",
        pl.col("original_fund").alias("fund_amount"),
    )


def deductions_frame(cases: pl.DataFrame) -> pl.DataFrame:
    """Review deductions in fund terms (an adjustment that lowered the payment)."""
    cut = pl.col("fund_deduction")
    return cases.select(
        "hospital_code",
        pl.when(cut > 0).then(cut).otherwise(pl.lit(Decimal("0.00"))).cast(MONEY).alias("amount"),
    )


def additions_frame(cases: pl.DataFrame) -> pl.DataFrame:
    """Review additions (调增) in fund terms, shown apart from the deductions."""
    cut = pl.col("fund_deduction")
    return cases.select(
        "hospital_code",
        pl.when(cut < 0).then(-cut).otherwise(pl.lit(Decimal("0.00"))).cast(MONEY).alias("amount"),
    )


def period_statements(
    session: Session,
    region_code: str,
    period: str,
    *,
    hospital_code: str | None = None,
    params: StatementParams | None = None,
    advances: Mapping[str, Decimal] | None = None,
    cache_s: float = 0,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(statements, case detail) of a period: one statement row per hospital.

    Confirmations are written once and never change, so a computed statement is kept
    (for ``cache_s`` seconds) under the count and last id of the period's
    confirmations in scope: a new confirmation makes a new key."""
    parse_period(period)
    version = (
        confirmation_version(session, region_code, period, hospital_code),
        audit_deduction_version(session, region_code, period, hospital_code),
    )
    key = (
        get_scope(session),
        region_code,
        period,
        hospital_code,
        params.model_dump_json() if params is not None else None,
        tuple(sorted((advances or {}).items())),
        version,
    )
    return _STATEMENTS.get(
        key,
        cache_s,
        lambda: _compute(session, region_code, period, hospital_code, params, advances),
    )


#: computed statements, by scope, arguments and the version of the confirmations
_STATEMENTS: TTLCache[tuple[pl.DataFrame, pl.DataFrame]] = TTLCache(max_entries=256)


def _compute(
    session: Session,
    region_code: str,
    period: str,
    hospital_code: str | None,
    params: StatementParams | None,
    advances: Mapping[str, Decimal] | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    cases = confirmed_cases(session, region_code, [period], hospital_code)
    audited = audit_deductions(session, region_code, [period], hospital_code)
    known = set(cases["hospital_code"]) | set(audited["hospital_code"])
    wanted = {h: a for h, a in (advances or {}).items() if h in known}
    frame = monthly_statement(
        priced_frame(cases),
        params,
        period=period,
        adjustments=deductions_frame(cases),
        additions=additions_frame(cases),
        audit_deductions=audited.select("hospital_code", "amount"),
        advances=wanted,
    )
    return frame.drop("total_cost"), cases


# --------------------------------------------------------------------------- requests


def _advances(text: str | None) -> dict[str, Decimal]:
    if not text:
        return {}
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError
        amounts = {str(k): Decimal(str(v)) for k, v in data.items()}
        if not all(
            is_tame(a) and 0 <= a <= MONEY_MAX and a == a.quantize(Decimal("0.01"))
            for a in amounts.values()
        ):
            raise ValueError
        return amounts
    except (ValueError, ArithmeticError, RecursionError):
        raise ValidationFailed(
            'advances：已预付金额须为 JSON 对象 {"医院编码": 金额}，金额为 0 到 '
            f"{MONEY_MAX} 元的数字，最多 2 位小数",
            field="advances",
        ) from None


def _statement_params(deposit_rate: Decimal | None, prepay_share: Decimal | None) -> Any:
    given = {"deposit_rate": deposit_rate, "prepay_share": prepay_share}
    return parse_settlement_params(
        StatementParams, {k: v for k, v in given.items() if v is not None}
    )


def trial_parameters(
    deposit_rate: Decimal | None, prepay_share: Decimal | None, advances: str | None
) -> bool:
    """Whether a statement request sets its own parameters (a trial, not the statement)."""
    return deposit_rate is not None or prepay_share is not None or bool(advances)


def compute_statements(
    db: Session,
    user: User,
    period: str,
    hospital: str | None,
    *,
    region: str | None,
    deposit_rate: Decimal | None,
    prepay_share: Decimal | None,
    advances: str | None,
    cache_s: float = 0,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A period's statements as the user may see them: a hospital only its own, a
    bureau reviewer or admin any hospital of its region.  Only the bureau may try other
    parameters (质量保证金比例, 预拨比例, 已预付金额): a hospital's statement is the
    bureau's."""
    own = own_hospital(db, user)
    if own is not None and hospital is not None and hospital != own:
        raise NotFound(f"医院 {hospital} 的结算单不存在 / not found")
    if own is not None and trial_parameters(deposit_rate, prepay_share, advances):
        raise Forbidden(
            "医疗机构不能调整结算单参数（质量保证金比例 deposit_rate、预拨比例 prepay_share、"
            "已预付金额 advances）：结算单按医保局设定的参数计算"
        )
    return period_statements(
        db,
        region_for(db, user, region),
        period,
        hospital_code=hospital or own,
        params=_statement_params(deposit_rate, prepay_share),
        advances=_advances(advances),
        cache_s=cache_s,
    )


def statement_audit_deductions(
    db: Session, user: User, period: str, hospital: str, *, region: str | None
) -> pl.DataFrame:
    """The intelligent-audit deductions of one hospital's statement, one row per
    decided finding (a hospital: its own only)."""
    own = own_hospital(db, user)
    if own is not None and hospital != own:
        raise NotFound(f"医院 {hospital} 的结算单不存在 / not found")
    parse_period(period)
    return audit_deductions(db, region_for(db, user, region), [period], hospital)
