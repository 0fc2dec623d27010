"""Fund-run forecast to year end (基金运行预测, ADR 0037): pure arithmetic, no I/O.

``actual`` holds the year's monthly spending so far (months 1..k, k ≥ 1); ``history``
the monthly spending of earlier *complete* years (12 values each).

* With history, each earlier year y gives the share of its first k months in its year,
  s_y = Σ₁..ₖ P_y ÷ Σ₁..₁₂ P_y, and an estimate T_y = YTD ÷ s_y of this year's total;
  the forecast is their mean, its spread their sample standard deviation (one earlier
  year: the month-to-month spread of this year's actual against that year's pattern).
  A year first paid under the system from month f forecasts the span f..12 alone.
  The remaining months are spread by the earlier years' mean monthly shares.
* Without history the months are taken as draws around a mean μ with spread σ: the
  total is YTD + (12 − k)·μ, with standard deviation σ·√((12 − k) + (12 − k)²/k)
  (the remaining months' own spread plus the uncertainty of μ).  One month alone gives
  no spread.

The interval is the forecast ± 1.96 standard deviations (about 95 %), and against a
budget the probability of overrunning it is read off the normal distribution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist, fmean, stdev

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Forecast:
    months_known: int
    ytd: float
    total: float
    sd: float | None
    low: float | None
    high: float | None
    monthly: list[float]  # actual for the known months, forecast for the rest of the span
    method: str  # "history" or "trend"


def _history_shares(history: Sequence[Sequence[float]], n: int) -> list[list[float]]:
    years = [list(map(float, y)) for y in history if len(y) == n and sum(y) > 0]
    return [[m / sum(y) for m in y] for y in years]


# long: the two methods side by side, as the module docstring states them
def forecast_year(
    actual: Sequence[float], history: Sequence[Sequence[float]] = (), months: int = 12
) -> Forecast:
    """The total of a ``months``-month span (a year, or the part of it paid under the
    system) forecast from its first ``len(actual)`` months; ``history`` rows hold the
    same span of earlier years."""
    k = len(actual)
    if not 1 <= k <= months <= 12:
        raise ValueError("actual must hold 1 to `months` months")
    ytd = float(sum(actual))
    if k == months:
        return Forecast(k, ytd, ytd, 0.0, ytd, ytd, [float(a) for a in actual], "actual")
    # an earlier year that spent nothing in its first k months says nothing of this one
    shares = [s for s in _history_shares(history, months) if sum(s[:k]) > 0]
    if shares:
        estimates = [ytd / sum(s[:k]) for s in shares]
        total = fmean(estimates)
        if len(estimates) > 1:
            sd: float | None = stdev(estimates)
        else:  # one earlier year: this year's months against its pattern
            ratios = [a / (s * total) for a, s in zip(actual, shares[0][:k], strict=False) if s]
            left = months - k
            sd = stdev(ratios) * total * math.sqrt(left) / months if len(ratios) > 1 else None
        mean_share = [fmean(s[m] for s in shares) for m in range(months)]
        rest = sum(mean_share[k:])
        remaining = total - ytd
        monthly = [float(a) for a in actual] + [
            remaining * mean_share[m] / rest if rest else remaining / (months - k)
            for m in range(k, months)
        ]
        method = "history"
    else:
        mu, left = ytd / k, months - k
        total = ytd + left * mu
        sd = stdev(actual) * math.sqrt(left + left**2 / k) if k > 1 else None
        monthly = [float(a) for a in actual] + [mu] * left
        method = "trend"
    low = total - Z95 * sd if sd is not None else None
    high = total + Z95 * sd if sd is not None else None
    return Forecast(k, ytd, total, sd, low, high, monthly, method)


def overrun_probability(fc: Forecast, budget: float) -> float | None:
    """P(total > budget) under the forecast's normal approximation."""
    if fc.sd is None:
        return None
    if fc.sd == 0:
        return 1.0 if fc.total > budget else 0.0
    return 1.0 - NormalDist(fc.total, fc.sd).cdf(budget)
