"""DIP (按病种分值付费, domain.md §2): the catalogue built from historical cases,
grouping a case against it, scores, deviation cases and point values — pure Polars and
exact arithmetic, no database (the measurement and settlement domains store and
publish what these functions compute).

* :mod:`.params` — the knobs, each with its domain default ([M] values configurable);
* :mod:`.catalogue` — procedure types, the case's combination, core and comprehensive
  groups;
* :mod:`.grouping` — one case or a batch against a catalogue, with a Chinese trace;
* :mod:`.scores` — 病种分值 with year weights and trimming, 偏差病例, 点值;
* :mod:`.payment` — a case's payment, hospital coefficients, a year simulated.
"""

from yibao.engines.dip.catalogue import (
    PROC_TYPES,
    Catalogue,
    build_catalogue,
    case_combinations,
    procedure_types,
)
from yibao.engines.dip.grouping import DipChoice, group_cases, group_one
from yibao.engines.dip.params import (
    CatalogueParams,
    DeviationParams,
    PaymentParams,
    ScoreParams,
)
from yibao.engines.dip.payment import (
    case_payments,
    coefficients,
    hospital_summary,
    solve_point_value,
)
from yibao.engines.dip.scores import (
    ScoreResult,
    adjust_scores,
    budget_point_value,
    budget_point_value_of,
    group_scores,
    level_standards,
    settlement_point_value,
)

__all__ = [
    "PROC_TYPES",
    "Catalogue",
    "CatalogueParams",
    "DeviationParams",
    "DipChoice",
    "PaymentParams",
    "ScoreParams",
    "ScoreResult",
    "adjust_scores",
    "budget_point_value",
    "budget_point_value_of",
    "build_catalogue",
    "case_combinations",
    "case_payments",
    "coefficients",
    "group_cases",
    "group_one",
    "group_scores",
    "hospital_summary",
    "level_standards",
    "procedure_types",
    "settlement_point_value",
    "solve_point_value",
]
