"""Fund-run forecast to year end (基金运行预测, ADR 0037): pure arithmetic, no I/O.

``actual`` holds the year's monthly spending so far (months 1..k, k ≥ 1; ``None`` for a
month in between whose statements are not confirmed yet: it is forecast like the
months to come, never read as nothing spent); ``history`` the monthly spending of
earlier *complete* years (12 values each).  K below is the set of known months.

* With history, each earlier year y gives the share of the known months in its year,
  s_y = Σ_K P_y ÷ Σ₁..₁₂ P_y, and an estimate T_y = YTD ÷ s_y of this year's total;
  the forecast is their mean, its spread their sample standard deviation (one earlier
  year: the month-to-month spread of this year's actual against that year's pattern).
  A year first paid under the system from month f forecasts the span f..12 alone.
  The remaining months are spread by the earlier years' mean monthly shares.
* Without history the months are taken as draws around a mean μ with spread σ: the
  total is YTD + (12 − |K|)·μ, with standard deviation σ·√((12 − |K|) + (12 − |K|)²/|K|)
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
    monthly: list[float]  # actual for the known months, forecast for the others of the span
    method: str  # "history" or "trend"


def _history_shares(history: Sequence[Sequence[float]], n: int) -> list[list[float]]:
    years = [list(map(float, y)) for y in history if len(y) == n and sum(y) > 0]
    return [[m / sum(y) for m in y] for y in years]


# long: the two methods side by side, as the module docstring states them
def forecast_year(
    actual: Sequence[float | None], history: Sequence[Sequence[float]] = (), months: int = 12
) -> Forecast:
    """The total of a ``months``-month span (a year, or the part of it paid under the
    system) forecast from its first ``len(actual)`` months (``None``: not known yet);
    ``history`` rows hold the same span of earlier years."""
    if not 1 <= len(actual) <= months <= 12:
        raise ValueError("actual must hold 1 to `months` months")
    known = [m for m, a in enumerate(actual) if a is not None]
    if not known:
        raise ValueError("actual must hold at least one known month")
    values = [float(actual[m]) for m in known]  # type: ignore[arg-type]
    k, ytd = len(known), float(sum(values))
    if k == months:
        return Forecast(k, ytd, ytd, 0.0, ytd, ytd, values, "actual")
    unknown = [m for m in range(months) if m not in set(known)]
    # an earlier year that spent nothing in the known months says nothing of this one
    shares = [s for s in _history_shares(history, months) if sum(s[m] for m in known) > 0]
    forecast: list[float]
    if shares:
        estimates = [ytd / sum(s[m] for m in known) for s in shares]
        total = fmean(estimates)
        if len(estimates) > 1:
            sd: float | None = stdev(estimates)
        else:  # one earlier year: this year's months against its pattern
            one = shares[0]
            ratios = [a / (one[m] * total) for m, a in zip(known, values, strict=True) if one[m]]
            sd = (
                stdev(ratios) * total * math.sqrt(len(unknown)) / months
                if len(ratios) > 1
                else None
            )
        mean_share = [fmean(s[m] for s in shares) for m in range(months)]
        rest = sum(mean_share[m] for m in unknown)
        remaining = total - ytd
        forecast = [
            remaining * mean_share[m] / rest if rest else remaining / len(unknown) for m in unknown
        ]
        method = "history"
    else:
        mu, left = ytd / k, len(unknown)
        total = ytd + left * mu
        sd = stdev(values) * math.sqrt(left + left**2 / k) if k > 1 else None
        forecast = [mu] * left
        method = "trend"
    by_month = dict(zip(known, values, strict=True)) | dict(zip(unknown, forecast, strict=True))
    monthly = [by_month[m] for m in range(months)]
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
