"""Weight plans: manual weights, policy tilts and budget-neutral re-normalisation."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

import polars as pl

from yibao.engines.measure.errors import MeasureError
from yibao.engines.measure.frames import require, round_half_up, weight_dtype
from yibao.engines.measure.params import Adjustments, Tilt
from yibao.engines.measure.weights import SOURCE_MANUAL


class WeightAdjustment(NamedTuple):
    """Output of :func:`adjust_weights`.

    ``weights``: the input frame with ``relative_weight`` replaced, plus
    ``base_relative_weight`` (the input value) and ``adjustment`` (Chinese text);
    manual rows get ``rw_source="manual"`` and ``needs_review=False``.
    ``scale``: the budget-neutral factor applied to the non-manual weights (1 when
    off).  ``total_before`` / ``total_after``: Σ volume × RW before and after.
    """

    weights: pl.DataFrame
    scale: Decimal
    total_before: Decimal
    total_after: Decimal


def _check_codes(weights: pl.DataFrame, adjustments: Adjustments) -> None:
    known = {c: set(weights[c].to_list()) for c in ("mdc", "adrg", "drg")}
    problems = [
        f"Adjustments.manual：DRG {d} 不在权重表中"
        for d in adjustments.manual
        if d not in known["drg"]
    ]
    for i, tilt in enumerate(adjustments.tilts):
        for column, codes in (("mdc", tilt.mdcs), ("adrg", tilt.adrgs), ("drg", tilt.drgs)):
            problems += [
                f"Adjustments.tilts.{i}.{column}s：{code} 不在权重表中"
                for code in codes
                if code not in known[column]
            ]
    if problems:
        raise MeasureError("；".join(problems), field="adjustments", problems=problems)


def _tilt_factor(tilts: tuple[Tilt, ...], mdc: str, adrg: str, drg: str) -> tuple[Fraction, str]:
    """Product of the factors of the tilts that hit a DRG, and their description."""
    factor, texts = Fraction(1), []
    for tilt in tilts:
        if mdc in tilt.mdcs or adrg in tilt.adrgs or drg in tilt.drgs:
            factor *= Fraction(tilt.factor)
            texts.append(f"倾斜 ×{tilt.factor}" + (f"（{tilt.reason}）" if tilt.reason else ""))
    return factor, "；".join(texts)


def adjust_weights(weights: pl.DataFrame, adjustments: Adjustments) -> WeightAdjustment:
    """Apply manual weights and tilts, then re-normalise (domain.md §1.2 [M]).

    With v_g = ``volume`` (newest-year cases; replace the column to use another
    reference volume), base weights b_g, tilt products t_g and manual values m_g:

        T  = Σ_g v_g · b_g                         (total weight before)
        λ  = (T − Σ_manual v_g · m_g) ÷ Σ_other v_g · t_g · b_g   (1 if not budget-neutral)
        RW_g = m_g (manual) or round_half_up(λ · t_g · b_g, 4)

    so tilted groups keep exactly their factor relative to untilted ones, manual
    values are kept as typed and the total weight is unchanged up to the 4-decimal
    rounding.  Exact rational arithmetic.
    """
    require(weights, ("mdc", "adrg", "drg", "relative_weight", "volume"), "adjust_weights")
    _check_codes(weights, adjustments)
    rows = weights.select("mdc", "adrg", "drg", "relative_weight", "volume").rows()
    total = Fraction(0)
    manual_total = Fraction(0)
    other_total = Fraction(0)
    tilted: dict[str, tuple[Fraction, str]] = {}
    for mdc, adrg, drg, rw, volume in rows:
        base = Fraction(rw) if rw is not None else None
        total += volume * base if base is not None else 0
        if drg in adjustments.manual:
            manual_total += volume * Fraction(adjustments.manual[drg])
        elif base is not None:
            factor, text = _tilt_factor(adjustments.tilts, mdc, adrg, drg)
            tilted[drg] = (base * factor, text)
            other_total += volume * base * factor
    scale = Fraction(1)
    if adjustments.budget_neutral and total > 0:
        if other_total <= 0 or total - manual_total <= 0:
            raise MeasureError(
                "Adjustments.budget_neutral：人工设定的权重总量不小于原总权重，无法保持总权重不变",
                field="budget_neutral",
            )
        scale = (total - manual_total) / other_total
    final: dict[str, Decimal] = {}
    notes: dict[str, str] = {}
    for drg, typed in adjustments.manual.items():
        final[drg] = typed.quantize(Decimal("0.0001"))
        notes[drg] = f"人工设定 {final[drg]}"
    for drg, (tilted_rw, text) in tilted.items():
        final[drg] = round_half_up(tilted_rw * scale, 4)
        notes[drg] = text
    return _result(weights, final, notes, scale, total)


def _result(
    weights: pl.DataFrame,
    final: dict[str, Decimal],
    notes: dict[str, str],
    scale: Fraction,
    total: Fraction,
) -> WeightAdjustment:
    drgs = weights["drg"].to_list()
    new = pl.Series("relative_weight", [final.get(d) for d in drgs], dtype=weight_dtype())
    manual = pl.Series([notes.get(d, "").startswith("人工") for d in drgs])
    out = weights.with_columns(
        pl.col("relative_weight").alias("base_relative_weight"),
        new,
        pl.Series("adjustment", [notes.get(d, "") for d in drgs], dtype=pl.String),
    )
    if "rw_source" in out.columns:
        out = out.with_columns(
            pl.when(manual)
            .then(pl.lit(SOURCE_MANUAL))
            .otherwise(pl.col("rw_source"))
            .alias("rw_source")
        )
    if "needs_review" in out.columns:
        out = out.with_columns((pl.col("needs_review") & ~manual).alias("needs_review"))
    after = sum(
        (
            Fraction(v) * Fraction(rw)
            for v, rw in out.select("volume", "relative_weight").rows()
            if rw is not None
        ),
        Fraction(0),
    )
    return WeightAdjustment(
        weights=out,
        scale=round_half_up(scale, 8),
        total_before=round_half_up(total, 4),
        total_after=round_half_up(after, 4),
    )
