"""Year-end clearing (年终清算) as the bureau runs it: the computation over the year's
confirmed cases, who may run it, and a clearing kept with its inputs (audited).

The clearing re-uses the confirmations of every ``YYYY-MM`` period of the year and
the statement frames of each month (:mod:`yibao.settlement.statements`); the relative
weight is read from the payment-standard set used in pricing, the item-paid part is
the payment (``items``/``special``) or payment − standard (``excess``), and patient +
other funds = payment − priced fund.  The result names the year's months whose
confirmation is done and those still open: a year cleared before all twelve are
confirmed divides the whole year's budget among part of its cases, so it is saved only
when the bureau says so (ADR 0048).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.audit.service import Actor, record
from yibao.db.scoping import get_scope
from yibao.engines.caseframe import MONEY
from yibao.engines.settlement.clearing import ClearingResult, year_end_clearing
from yibao.engines.settlement.params import (
    ClearingParams,
    StatementParams,
    parse_settlement_params,
)
from yibao.engines.settlement.statements import monthly_statement
from yibao.kit.errors import Forbidden, ValidationFailed
from yibao.measurement.models import PaymentStandardItem, PaymentStandardSet, RatePlanRow
from yibao.measurement.service import payment_rules, standards_frame
from yibao.settlement.auth import STATEMENT_ROLES, region_for
from yibao.settlement.clearing.repository import confirmed_months
from yibao.settlement.clearing.schemas import ClearingIn
from yibao.settlement.models import SettlementClearing
from yibao.settlement.statements.repository import audit_deductions, confirmed_cases
from yibao.settlement.statements.service import (
    additions_frame,
    deductions_frame,
    priced_frame,
)


def _year_cases(session: Session, cases: pl.DataFrame) -> pl.DataFrame:
    """The year's cases as the clearing engine reads them: relative weight (from the
    standard set each was priced with), item-paid part and patient + other funds."""
    weights = []
    for set_id in cases["standard_set_id"].drop_nulls().unique().to_list():
        std = standards_frame(session, int(set_id)).select(
            pl.lit(set_id, dtype=pl.Int64).alias("standard_set_id"),
            "drg",
            "hospital_level",
            "relative_weight",
        )
        weights.append(std)
    joined = (
        cases.join(pl.concat(weights), on=["standard_set_id", "drg", "hospital_level"], how="left")
        if weights
        else cases.with_columns(pl.lit(None, dtype=pl.Decimal(18, 4)).alias("relative_weight"))
    )
    basis = pl.col("payment_basis")
    items = (
        pl.when(basis.is_in(("standard", "score")))
        .then(pl.lit(Decimal("0.00")))
        .when(basis == "excess")
        .then(pl.col("drg_payment") - pl.col("payment_standard").fill_null(Decimal(0)))
        .otherwise(pl.col("drg_payment"))
    )
    return joined.select(
        "setl_id",
        "hospital_code",
        "hospital_level",
        "payment_class",
        "payment_basis",
        "relative_weight",
        "adjusted_score",
        "coefficient",
        "cost_ratio",
        pl.col("case_cost").alias("total_cost"),
        "payment_standard",
        "drg_payment",
        items.cast(MONEY).alias("items_part"),
        (pl.col("drg_payment") - pl.col("original_fund")).cast(MONEY).alias("patient_other"),
        pl.col("original_fund").alias("fund_amount"),
    )


def year_clearing(
    session: Session,
    region_code: str,
    year: int,
    *,
    budget: Decimal,
    scores: Mapping[str, Decimal | int],
    params: ClearingParams,
    statement_params: StatementParams | None = None,
) -> ClearingResult:
    """Year-end clearing of the region's confirmed cases of ``year``."""
    periods = [f"{year:04d}-{m:02d}" for m in range(1, 13)]
    cases = confirmed_cases(session, region_code, periods)
    audited = audit_deductions(session, region_code, periods)
    months = sorted(set(cases["period"]) | set(audited["period"]))
    cleared = set(cases["hospital_code"]) | set(audited["hospital_code"])
    unknown = sorted(set(scores) - cleared)
    if unknown:
        shown = "、".join(unknown[:5]) + (f" 等 {len(unknown)} 家" if len(unknown) > 5 else "")
        raise ValidationFailed(
            f"assessment_scores：{shown} 不是本年度有已确认病例的医疗机构，不能给出考核得分"
            "（请核对机构编码）",
            field="assessment_scores",
        )
    monthly = [
        monthly_statement(
            priced_frame(part),
            statement_params or StatementParams(deposit_rate=params.deposit_rate),
            period=month,
            adjustments=deductions_frame(part),
            additions=additions_frame(part),
            audit_deductions=audited.filter(pl.col("period") == month).select(
                "hospital_code", "amount"
            ),
        )
        for month in months
        for part in [cases.filter(pl.col("period") == month)]
    ]
    if params.high_share_cap is None and params.method != "dip":
        cap = _standards_cap(session, cases)
        if cap is not None:
            params = params.model_copy(update={"high_share_cap": cap})
    if params.level_coefficients is None and params.method != "dip":
        params = params.model_copy(
            update={"level_coefficients": standards_coefficients(session, cases)}
        )
    result = year_end_clearing(_year_cases(session, cases), budget, monthly, scores, params)
    done = confirmed_months(session, region_code, year)
    missing = tuple(p for p in periods if p not in done)
    return replace(result, months=tuple(done), missing_months=missing)


def _standards_cap(session: Session, cases: pl.DataFrame) -> Decimal | None:
    """The cap on high-multiplier cases of the standard sets the year was priced with
    (ADR 0031); sets with different caps must be cleared with an explicit one."""
    caps = set()
    for set_id in cases["standard_set_id"].drop_nulls().unique().to_list():
        row = session.get(PaymentStandardSet, int(set_id))
        if row is not None:
            caps.add(payment_rules(row.payment_rules).rules.high_share_cap)
    if len(caps) > 1:
        shown = "、".join("不设" if c is None else str(c) for c in sorted(caps, key=str))
        raise ValidationFailed(
            f"high_share_cap：本年度病例所用的支付标准高倍率病例比例上限不同（{shown}），"
            "请在清算参数中指定 high_share_cap",
            field="high_share_cap",
        )
    return next(iter(caps), None)


def standards_coefficients(session: Session, cases: pl.DataFrame) -> dict[str, Decimal] | None:
    """The hospital-level coefficients of the standard sets the year was priced with,
    so that the clearing's final rate keeps each level's share of the rate (ADR 0006
    amendment of 2026-12-07): a set measured with ``level_coefficients`` gives its
    coefficients; any other set its level rates ÷ its highest level rate (4 decimals);
    one rate for every level: None (every coefficient 1).  Sets with different
    coefficients must be cleared with explicit ones."""
    found: set[tuple[tuple[str, Decimal], ...]] = set()
    for set_id in cases["standard_set_id"].drop_nulls().unique().to_list():
        coefficients = _set_coefficients(session, int(set_id))
        found.add(tuple(sorted(coefficients.items())))
    if len(found) > 1:
        raise ValidationFailed(
            "level_coefficients：本年度病例所用的支付标准的医院等级系数不同，"
            "请在清算参数中指定 level_coefficients（各等级的系数）",
            field="level_coefficients",
        )
    coefficients = dict(next(iter(found), ()))
    if not coefficients or all(c == 1 for c in coefficients.values()):
        return None
    return coefficients


def _set_coefficients(session: Session, set_id: int) -> dict[str, Decimal]:
    row = session.get(PaymentStandardSet, set_id)
    if row is not None and row.rate_plan_id is not None:
        plan = session.get(RatePlanRow, row.rate_plan_id)
        coefficients = (plan.plan or {}).get("coefficients") if plan is not None else None
        if plan is not None and plan.plan.get("mode") == "level_coefficients" and coefficients:
            return {str(lv): Decimal(str(c)) for lv, c in coefficients.items()}
    rates = dict(
        session.execute(
            select(PaymentStandardItem.hospital_level, func.max(PaymentStandardItem.base_rate))
            .where(PaymentStandardItem.set_id == set_id)
            .group_by(PaymentStandardItem.hospital_level)
        ).all()
    )
    top = max(rates.values(), default=Decimal(0))
    if top <= 0:
        return {}
    return {str(lv): (Decimal(r) / top).quantize(Decimal("0.0001")) for lv, r in rates.items()}


def clearing_result(db: Session, user: User, year: int, body: ClearingIn) -> ClearingResult:
    """The year-end clearing of the user's region (bureau reviewers and admins only);
    the API and the clearing page both come here."""
    scope = get_scope(db)
    if user.role not in STATEMENT_ROLES or scope is None or scope.hospital_id is not None:
        raise Forbidden("仅结算审核员或医保局管理员可进行年终清算")
    if not 2000 <= year <= 2100:
        raise ValidationFailed(f"year：年度须在 2000 到 2100 之间（收到 {year}）", field="year")
    params = parse_settlement_params(ClearingParams, {**body.params, "method": body.method})
    return year_clearing(
        db,
        region_for(db, user, body.region),
        year,
        budget=body.budget,
        scores=body.assessment_scores,
        params=params,
    )


def _note(note: str | None) -> str:
    """The 清算说明, blanks collapsed: required, at most 500 characters."""
    text = " ".join((note or "").split())
    if not text:
        raise ValidationFailed(
            "清算说明 note：保存年终清算须写明说明（如“2024 年度清算，经局务会审定”）",
            field="note",
        )
    if len(text) > 500:
        raise ValidationFailed(f"清算说明 note：最多 500 字（收到 {len(text)} 字）", field="note")
    return text


def _summary(result: ClearingResult) -> dict[str, Any]:
    """A saved clearing's figures besides the hospitals (each level's final value too)
    and the months it covers and misses."""
    return {
        "payment_budget": str(result.payment_budget),
        "fixed_total": str(result.fixed_total),
        "total_points": str(result.total_points),
        "residual": str(result.residual),
        "level_values": {lv: str(v) for lv, v in result.level_values.items()},
        "months": list(result.months),
        "missing_months": list(result.missing_months),
    }


def month_spans(months: Sequence[str]) -> str:
    """``YYYY-MM`` months as runs: ``2024-03 至 2024-05、2024-09``."""
    runs: list[list[str]] = []
    for m in sorted(months):
        y, mm = int(m[:4]), int(m[5:7])
        if runs:
            ly, lm = int(runs[-1][-1][:4]), int(runs[-1][-1][5:7])
            if (y, mm) == ((ly, lm + 1) if lm < 12 else (ly + 1, 1)):
                runs[-1].append(m)
                continue
        runs.append([m])
    return "、".join(r[0] if len(r) == 1 else f"{r[0]} 至 {r[-1]}" for r in runs)


def _whole_year(result: ClearingResult, partial: bool) -> None:
    """A clearing of part of a year is saved only when the bureau says so (ADR 0048)."""
    missing = result.missing_months
    if missing and not partial:
        raise ValidationFailed(
            f"本年度尚有 {len(missing)} 个月未完成结算确认（{month_spans(missing)}）：年终清算"
            "以全年预算分配全年病例，只含部分月份时最终费率（点值）偏高、各医院清算金额偏大。"
            "请在全年确认后保存；确需按已确认月份保存的，请勾选“按已确认月份保存”，"
            "并在清算说明中写明原因",
            field="partial",
        )


def do_save_clearing(
    session: Session,
    region_code: str,
    year: int,
    *,
    budget: Decimal,
    method: str,
    scores: Mapping[str, Decimal | int],
    result: ClearingResult,
    note: str | None,
    actor: Actor,
    partial: bool = False,
) -> SettlementClearing:
    """Keep a clearing's inputs and per-hospital result (audited), with the reason it
    is saved: it fixes each hospital's year-end amount, a money decision.  A year not
    yet wholly confirmed is refused unless ``partial`` (the bureau's explicit choice)."""
    _whole_year(result, partial)
    note = _note(note)
    hospitals = [
        {k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.items()}
        for row in result.hospitals.to_dicts()
    ]
    total = sum((Decimal(str(h["clearing_amount"])) for h in hospitals), Decimal(0))
    summary = _summary(result)
    row = SettlementClearing(
        region_code=region_code,
        year=year,
        method=method,
        budget=budget,
        scores={k: str(v) for k, v in scores.items()},
        final_value=str(result.final_value),
        summary=summary,
        hospitals=hospitals,
        clearing_total=total,
        note=note,
        created_by=actor.name,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "settlement.clearing.save",
        "settlement_clearing",
        row.id,
        after={
            "year": year,
            "region": region_code,
            "method": method,
            "budget": budget,
            "final_value": row.final_value,
            "hospitals": len(hospitals),
            "clearing_total": total,
            "note": note,
            "missing_months": list(result.missing_months),
        },
        region_code=region_code,
    )
    return row
