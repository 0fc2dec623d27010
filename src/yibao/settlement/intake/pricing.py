"""Intake's grouping and pricing of the cases it has just created.

The new cases are grouped from the frames in hand (the plan valid on each discharge
date), the results stored; then priced with the published payment standards valid
on their discharge date, one batch per standard set, and the pricing bulk-inserted.
Called by :func:`~yibao.settlement.intake.store._load_cases` in the caller's
transaction.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.benefits.service import policy_set
from yibao.db.bulk import insert_frame
from yibao.dip.schemes import schemes_in_force
from yibao.dip.settle import DIP_TERM_KEYS, dip_terms, price_under_scheme
from yibao.engines.caseframe import to_grouper_input
from yibao.engines.grouper import PlanRegistry, group_batch
from yibao.engines.measure import STANDARDS_SCHEMA
from yibao.engines.settlement import (
    PolicySet,
    PricingParams,
    prepare_settlement_cases,
    price_batch,
)
from yibao.grouping.plans import compiled_plan, plan_info
from yibao.grouping.region_plans import plan_chooser, with_plan_ids
from yibao.grouping.service import store_groupings
from yibao.kit.timeutil import utcnow
from yibao.measurement.service import payment_rules, standard_sets_in_force, standards_frame
from yibao.regions.models import Hospital
from yibao.settlement.models import CasePricing


def _group(
    session: Session,
    registry: PlanRegistry,
    cases: pl.DataFrame,
    diagnoses: pl.DataFrame,
    procedures: pl.DataFrame,
    actor: Actor,
) -> pl.DataFrame:
    """Group the new cases from the frames in hand (plan by region and discharge date),
    store results.

    Returns ``id, plan_id, status, drg`` of the grouped cases (none without a plan).
    """
    frame = to_grouper_input(cases, diagnoses, procedures).join(
        cases.select(
            pl.col("setl_id").alias("case_id"), "id", "hospital_id", "region_code", "discharge_date"
        ),
        on="case_id",
    )
    frame = with_plan_ids(frame, plan_chooser(session, registry))  # region's plan (ADR 0039)
    now = utcnow()
    counts: dict[str, int] = {}
    results = [pl.DataFrame(schema=GROUPED_SCHEMA)]
    for (pid,), part in frame.group_by("plan_id", maintain_order=True):
        if pid is None:
            continue  # no plan valid on that discharge date: the case stays ungrouped
        info = plan_info(registry, str(pid))
        grouped = group_batch(compiled_plan(registry, info), part)
        store_groupings(session, info, grouped, now, new_cases=True)
        counts[str(pid)] = grouped.height
        results.append(grouped.select(list(GROUPED_SCHEMA)).cast(GROUPED_SCHEMA))
    record(session, actor, "grouping.intake", "case_groupings", None, after={"plans": counts})
    return pl.concat(results)


#: column → Polars type (keys typed Any: Polars' ``cast`` takes selectors as keys too)
GROUPED_SCHEMA: dict[Any, Any] = {
    "id": pl.Int64,
    "plan_id": pl.String,
    "status": pl.String,
    "drg": pl.String,
}


EMPTY_STANDARDS = pl.DataFrame(schema=dict(STANDARDS_SCHEMA))
CASE_COLUMNS = (
    "id",
    "hospital_id",
    "setl_id",
    "hospital_code",
    "region_code",
    "insured_region_code",
    "insutype",
    "discharge_date",
    "los_days",
    "total_cost",
    "self_pay_full",
    "self_pay_first",
    "fund_payment",
    "account_payment",
    "cash_payment",
)


def _price(
    session: Session,
    registry: PlanRegistry,
    cases: pl.DataFrame,
    grouped: pl.DataFrame,
    hospitals: dict[str, Hospital],
    codes: tuple[pl.DataFrame, pl.DataFrame],
) -> pl.DataFrame:
    """Price the new cases by what is in force on their discharge date; store the result.

    ``cases`` are the inserted case rows, ``grouped`` their grouping (:func:`_group`),
    ``codes`` their diagnoses and procedures.  A case of a region with a DIP scheme in
    force is priced under DIP (ADR 0030); the others with the DRG payment standards
    valid that day.  Cases are priced in one batch per scheme or standard set (not per
    day), and the results are bulk-inserted."""
    frame = cases.select(CASE_COLUMNS).join(grouped, on="id", how="inner")
    if frame.height == 0:
        return pl.DataFrame()
    frame = frame.with_columns(pl.col("region_code").str.slice(0, 4).alias("city"))
    levels = pl.DataFrame(
        {
            "code": [h.code for h in hospitals.values()],
            "level": [h.level for h in hospitals.values()],
        }
    )
    policies = policy_set(session)
    keys = frame.select("region_code", "discharge_date").unique()
    schemes = schemes_in_force(session, keys.rows())
    choice = pl.DataFrame(
        [(c, d, s.id if (s := schemes.get((c, d))) else None) for c, d in keys.rows()],
        schema={"region_code": pl.String, "discharge_date": pl.Date, "scheme_id": pl.Int64},
        orient="row",
    )
    frame = frame.join(choice, on=["region_code", "discharge_date"], how="left", nulls_equal=True)
    out = []
    by_id = {s.id: s for s in schemes.values()}
    for (scheme_id,), part in frame.filter(pl.col("scheme_id").is_not_null()).group_by(
        "scheme_id", maintain_order=True
    ):
        scheme = by_id[int(str(scheme_id))]
        settle = prepare_settlement_cases(part, _grouped(part), levels)
        ids = part["setl_id"].implode()
        dx, px = (c.filter(pl.col("setl_id").is_in(ids)) for c in codes)
        priced = price_under_scheme(session, registry, scheme, settle, dx, px, levels, policies)
        out.append(
            _keyed(priced, part).with_columns(
                pl.lit(None, pl.Int64).alias("set_id"),
                # the blank group (空白病组) has no code: the case is paid by items
                pl.col("drg").fill_null(DIP_BLANK),
            )
        )
    drg = frame.filter(pl.col("scheme_id").is_null())
    if drg.height:
        out.append(price_drg(session, drg, levels, policies))
    priced = pl.concat(out, how="diagonal_relaxed")
    _store_pricing(session, priced)
    return priced


#: the group shown for a case in DIP's blank group (no core or comprehensive group)
DIP_BLANK = "空白病组"


def _grouped(part: pl.DataFrame) -> pl.DataFrame:
    return part.select(pl.col("setl_id").alias("case_id"), "status", "drg")


def _keyed(priced: pl.DataFrame, part: pl.DataFrame) -> pl.DataFrame:
    keys = part.select("setl_id", "id", "hospital_id", "region_code", "plan_id", "scheme_id")
    return priced.join(keys, on="setl_id")


def intake_params(rules: dict[str, Any] | None) -> PricingParams:
    """How intake prices under a standard set's payment rules (ADR 0031).  The cap on
    high-multiplier cases is a share of a hospital's *year*: a list is priced as the
    high case it is, and the cap is applied at year-end clearing."""
    cls = payment_rules(rules)
    uncapped = cls.model_copy(
        update={"rules": cls.rules.model_copy(update={"high_share_cap": None})}
    )
    return PricingParams(missing_policy="actual", classification=uncapped)


def price_drg(
    session: Session,
    frame: pl.DataFrame,
    levels: pl.DataFrame,
    policies: PolicySet,
    *,
    standards_on: date | None = None,
) -> pl.DataFrame:
    """The DRG pricing of ``frame``, one batch per standard set in force on each case's
    discharge date (or, with ``standards_on``, on that day: a trial "under the current
    standards")."""
    day = pl.lit(standards_on) if standards_on else pl.col("discharge_date")
    frame = frame.with_columns(day.alias("standards_day"))
    keys = frame.select("city", "standards_day").unique()
    in_force = standard_sets_in_force(session, keys.rows())
    choice = pl.DataFrame(
        [(c, d, s.id if (s := in_force.get((c, d))) else None) for c, d in keys.rows()],
        schema={"city": pl.String, "standards_day": pl.Date, "set_id": pl.Int64},
        orient="row",
    )
    frame = frame.join(choice, on=["city", "standards_day"], how="left", nulls_equal=True)
    sets = {s.id: s for s in in_force.values()}
    out = []
    for (set_id,), part in frame.group_by("set_id", maintain_order=True):
        standards = EMPTY_STANDARDS if set_id is None else standards_frame(session, int(set_id))
        rules = sets[int(set_id)].payment_rules if set_id is not None else None
        settle = prepare_settlement_cases(part, _grouped(part), levels)
        priced = price_batch(settle, standards, policies, intake_params(rules))
        out.append(_keyed(priced, part).join(part.select("setl_id", "set_id"), on="setl_id"))
    return pl.concat(out, how="diagonal_relaxed")


TERMS = (
    "payment_standard",
    "cost_ratio",
    "high_threshold",
    "low_threshold",
    "fund_formula",
    "term_standard",
    "term_self_pay_full",
    "term_self_pay_first",
    "term_deductible",
    "term_ratio",
    "term_patient_payment",
    "term_other_funds",
    "reason_codes",
    "payment_basis",
    "policy_key",
)


def _terms(row: dict[str, Any]) -> str:
    out = {
        k: None if row.get(k) is None else (row[k] if isinstance(row[k], list) else str(row[k]))
        for k in TERMS
    }
    if row.get("scheme_id") is not None:
        out.update(dip_terms(row, int(row["scheme_id"])))
    return json.dumps(out, ensure_ascii=False)


def _store_pricing(session: Session, priced: pl.DataFrame) -> None:
    """Insert the pricing of cases created in this transaction (none stored yet)."""
    extra = [c for c in ("scheme_id", *DIP_TERM_KEYS, "extreme") if c in priced.columns]
    terms = [_terms(r) for r in priced.select(*TERMS, *extra).iter_rows(named=True)]
    rows = priced.select(
        pl.col("id").alias("case_id"),
        "hospital_id",
        "region_code",
        "plan_id",
        pl.col("set_id").alias("standard_set_id"),
        "drg",
        "payment_class",
        "payment_standard",
        "drg_payment",
        "fund_amount",
        pl.col("explanation").fill_null("").str.slice(0, 1000),
        pl.Series("terms", terms, dtype=pl.String),
        pl.lit(utcnow()).alias("priced_at"),
    )
    insert_frame(session, CasePricing.__table__, rows)
