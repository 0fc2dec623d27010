"""A built DIP catalogue stores, as each group's "加权均次费用" (``mean_cost``),
the year-weighted mean M_g its score is computed from, not the plain mean of its
history cases (ADR 0029 item 5/7: groups keep the "weighted mean cost"; ADR 0030
item 3 and ``simulation.with_standards``: the deviation standard falls back to "the
group's overall weighted mean" where the case's level has no standard).

(Before the fix ``service.execute_build`` joined ``catalogue.groups``, with its own
plain ``mean_cost`` kept for grouping ties, and ``scored.scores``, whose ``mean_cost``
is M_g; Polars renamed the second and the first was stored.)

Hand check on one group, weights 1:2:7 (2023–2025), no trimming:
M_g = Σ_y w_y · mean_y ÷ Σ_y w_y, and score = M_g ÷ M × 1000, so the stored
``mean_cost`` must equal M_g rounded to the fen (and score ≈ mean_cost ÷ M × 1000)."""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

from tests.e2e.test_dip_catalogue_api import (  # noqa: F401  (fixture)
    _all_groups,
    _build,
    _history,
    _weighted,
    _yuan,
    analyst,
)


def test_stored_group_mean_cost_is_the_year_weighted_mean(analyst, db):  # type: ignore[no-untyped-def]  # noqa: F811
    catalogue = _build(analyst, threshold=5)
    members: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for cat, procs, year, fen, _level in _history(db):
        members[f"{cat}:{procs}" if procs else cat][year].append(fen)
    groups = {g["code"]: g for g in _all_groups(analyst, catalogue["id"]) if g["kind"] == "core"}
    # groups with cases in years of different means, where weighted ≠ plain mean
    checked = 0
    for code, g in sorted(groups.items()):
        by_year = members[code]
        plain = Fraction(
            sum(sum(v) for v in by_year.values()), sum(len(v) for v in by_year.values())
        )
        weighted = _weighted(by_year)
        if _yuan(plain / 100) == _yuan(weighted / 100):
            continue
        assert g["mean_cost"] == str(_yuan(weighted / 100)), (code, g["mean_cost"], plain / 100)
        checked += 1
    assert checked > 0
