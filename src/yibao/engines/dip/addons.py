"""Dynamic hospital coefficient add-ons, the Xiamen 2024 scheme (domain.md §2.6, [L]
S17), computed from a year of cases:

* **L1 difficulty** — each full ``cmi_step`` (5 %) by which the hospital's CMI
  exceeds the mean CMI of its level adds ``unit`` (0.01), capped (三级 0.13, 二级 0.06);
* **L2 age** — each full ``child_step`` (10 %) by which its share of patients aged
  ≤ 6 exceeds its level's mean adds 0.01 (cap 0.06 / 0.03); each full
  ``elderly_step`` (20 %) above for patients aged ≥ 70 adds 0.01 (cap 0.03 / 0.01);
* **L3 TCM** — each full ``tcm_step`` (3 %) above for the share of traditional
  Chinese medicine in its costs adds 0.01 (cap 0.05 / 0.03).

"Exceeds by 5 %" is read as relative to the level's mean (value ÷ mean − 1), the
level's mean being the plain mean over its hospitals; 一级 hospitals get no dynamic
add-on (no cap).  The hospital CMI under DIP is its mean group score ÷ the score
scale (1000: a case of average cost).  Exact rational arithmetic (ADR 0030)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Final

import polars as pl
from pydantic import BaseModel, ConfigDict

from yibao.engines.measure.frames import require

INPUTS: Final = ("code", "level", "cmi", "child_share", "elderly_share", "tcm_share")
PARTS: Final = {
    "cmi": "l1_difficulty",
    "child_share": "l2_children",
    "elderly_share": "l2_elderly",
    "tcm_share": "l3_tcm",
}


class XiamenRules(BaseModel):
    """Steps and caps (per level) of the dynamic add-ons; ``unit`` per full step."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    unit: Decimal = Decimal("0.01")
    steps: dict[str, Decimal] = {
        "cmi": Decimal("0.05"),
        "child_share": Decimal("0.10"),
        "elderly_share": Decimal("0.20"),
        "tcm_share": Decimal("0.03"),
    }
    caps: dict[str, dict[str, Decimal]] = {
        "cmi": {"3": Decimal("0.13"), "2": Decimal("0.06")},
        "child_share": {"3": Decimal("0.06"), "2": Decimal("0.03")},
        "elderly_share": {"3": Decimal("0.03"), "2": Decimal("0.01")},
        "tcm_share": {"3": Decimal("0.05"), "2": Decimal("0.03")},
    }


def _part(
    value: Fraction, mean: Fraction, step: Fraction, unit: Fraction, cap: Fraction
) -> Fraction:
    if mean <= 0 or value <= mean:
        return Fraction(0)
    steps = math.floor((value / mean - 1) / step)
    return min(steps * unit, cap)


def _exact(text: str) -> Fraction:
    """A share or CMI as given: a decimal (``"0.3667"``) or an exact ratio
    (``"11/30"``, as :func:`yibao.dip.auxiliary.hospital_inputs` gives it)."""
    return Fraction(text.strip())


def dynamic_add_ons(hospitals: pl.DataFrame, rules: XiamenRules | None = None) -> pl.DataFrame:
    """Per hospital of ``hospitals`` (:data:`INPUTS`; shares as fractions 0–1, decimals
    or exact ratios ``"n/d"``, compared in exact rational arithmetic): the
    four parts (:data:`PARTS`) and their sum ``add_on``, all ``Decimal(18, 4)``,
    sorted by code."""
    rules = rules or XiamenRules()
    require(hospitals, INPUTS, "dynamic_add_ons")
    rows = [
        {k: r[k] for k in INPUTS}
        for r in hospitals.select(
            "code", pl.col("level").cast(pl.String), *(pl.col(k).cast(pl.String) for k in PARTS)
        ).iter_rows(named=True)
    ]
    values = {
        r["code"]: {k: _exact(r[k]) if r[k] is not None else None for k in PARTS} for r in rows
    }
    means: dict[tuple[str, str], Fraction] = {}
    for level in {r["level"] for r in rows}:
        for k in PARTS:
            xs = [values[r["code"]][k] for r in rows if r["level"] == level]
            known = [x for x in xs if x is not None]
            means[level, k] = sum(known, Fraction(0)) / len(known) if known else Fraction(0)
    unit = Fraction(rules.unit)
    out = []
    for r in sorted(rows, key=lambda r: r["code"]):
        parts: dict[str, Fraction] = {}
        for k, name in PARTS.items():
            cap = rules.caps.get(k, {}).get(r["level"])
            v = values[r["code"]][k]
            parts[name] = (
                Fraction(0)
                if cap is None or v is None
                else _part(v, means[r["level"], k], Fraction(rules.steps[k]), unit, Fraction(cap))
            )
        out.append({"code": r["code"], **parts, "add_on": sum(parts.values(), Fraction(0))})
    dec = pl.Decimal(18, 4)
    return pl.DataFrame(
        [
            {k: (v if k == "code" else Decimal(v.numerator) / v.denominator) for k, v in o.items()}
            for o in out
        ],
        schema={"code": pl.String, **dict.fromkeys((*PARTS.values(), "add_on"), dec)},
    )


def add_on_map(
    frame: pl.DataFrame, explicit: Mapping[str, Decimal] | None = None
) -> dict[str, Decimal]:
    """Hospital → add-on: the dynamic ones, overridden by ``explicit`` entries."""
    out = {c: Decimal(str(a)) for c, a in frame.select("code", "add_on").iter_rows()}
    out.update(explicit or {})
    return out
