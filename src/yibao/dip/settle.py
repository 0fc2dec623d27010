"""Settlement under DIP (issue 14 item 6, ADR 0030): the cases intake receives while a
DIP scheme is in force are grouped against the scheme's catalogue and priced by score
× hospital coefficient × the scheme's budget point value
(:func:`yibao.engines.settlement.price_dip_batch`); review, special cases, monthly
confirmation and statements then treat them like any priced case, and year-end
clearing re-prices them with the settlement point value (:func:`clearing_cases`)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from yibao.dip.models import DipCatalogue, DipScheme
from yibao.dip.service import Dictionaries, plan_dictionaries
from yibao.dip.simulation import catalogue_of, with_standards
from yibao.engines import dip
from yibao.engines.grouper import PlanRegistry
from yibao.engines.settlement import PolicySet, PricingParams, price_dip_batch
from yibao.grouping.plans import plan_info
from yibao.kit.errors import NotFound

_DICTIONARIES: dict[tuple[str, float, str], Dictionaries] = {}


def _dictionaries(
    registry: PlanRegistry, plan_id: str, params: dip.CatalogueParams
) -> Dictionaries:
    """The plan's dictionaries for a catalogue, read once per plan file version."""
    folder = Path(plan_info(registry, plan_id).path)
    stamp = max(p.stat().st_mtime for p in folder.glob("*.tsv"))
    key = (str(folder), stamp, params.model_dump_json())
    if key not in _DICTIONARIES:
        if len(_DICTIONARIES) > 8:
            _DICTIONARIES.clear()
        _DICTIONARIES[key] = plan_dictionaries(registry, plan_id, params)
    return _DICTIONARIES[key]


def scheme_params(scheme: DipScheme) -> dip.PaymentParams:
    return dip.PaymentParams.model_validate({**scheme.params, "point_value": scheme.point_value})


def price_under_scheme(
    session: Session,
    registry: PlanRegistry,
    scheme: DipScheme,
    settle: pl.DataFrame,
    diagnoses: pl.DataFrame,
    procedures: pl.DataFrame,
    levels: pl.DataFrame,
    policies: PolicySet,
) -> pl.DataFrame:
    """Price the settlement frame ``settle`` (one row per case, ``setl_id`` unique)
    under ``scheme``; ``diagnoses`` (``setl_id``, ``seq``, ``code``, ``is_principal``)
    and ``procedures`` (``setl_id``, ``code``) are the cases' codes, ``levels`` the
    hospitals' (``code``, ``level``)."""
    row = session.get(DipCatalogue, scheme.catalogue_id)
    if row is None:  # pragma: no cover - a scheme's catalogue is never deleted
        raise NotFound(f"DIP 目录 {scheme.catalogue_id} 不存在")
    cparams = dip.CatalogueParams.model_validate(row.params["catalogue"])
    names = _dictionaries(registry, row.plan_id, cparams)
    cases = settle.select("setl_id", pl.col("discharge_date").dt.year().alias("year"), "total_cost")
    principal = diagnoses.filter(pl.col("is_principal")).select("setl_id", "seq", "code")
    combos = dip.case_combinations(
        cases, principal, procedures.select("setl_id", "code"), names.proc_types, cparams
    )
    grouped = dip.group_cases(catalogue_of(session, row, names), combos).join(
        settle.select("setl_id", "hospital_level"), on="setl_id", how="left"
    )
    scored = with_standards(session, row.id, grouped)
    params = scheme_params(scheme)
    present = levels.filter(pl.col("code").is_in(settle["hospital_code"].unique().implode()))
    coefficients = dip.coefficients(
        present,
        {k: Decimal(v) for k, v in params.coefficients.items()},
        {k: Decimal(v) for k, v in params.add_ons.items()},
    )
    return price_dip_batch(
        settle,
        scored.select("setl_id", "dip_code", "score", "standard_cost"),
        coefficients,
        scheme.point_value,
        policies,
        PricingParams(missing_policy="actual"),
        params.deviation,
    )


#: the DIP terms kept with a case's pricing (``terms`` JSON) and read by the clearing
DIP_TERM_KEYS = ("dip_score", "adjusted_score", "coefficient", "point_value", "standard_cost")


def dip_terms(row: dict[str, Any], scheme_id: int) -> dict[str, Any]:
    out: dict[str, Any] = {"method": "dip", "scheme_id": scheme_id}
    for k in DIP_TERM_KEYS:
        out[k] = None if row.get(k) is None else str(row[k])
    out["extreme"] = bool(row.get("extreme"))
    return out


def clearing_points(terms: Any) -> tuple[Decimal | None, Decimal | None]:
    """(adjusted score, coefficient) of a DIP-priced case from its pricing terms."""
    if isinstance(terms, str):
        try:
            terms = json.loads(terms)
        except ValueError:
            return None, None
    if not isinstance(terms, dict) or terms.get("method") != "dip":
        return None, None
    score, coef = terms.get("adjusted_score"), terms.get("coefficient")
    return (
        None if score is None else Decimal(score),
        None if coef is None else Decimal(coef),
    )
