"""DRG measurement (测算) engine: case base → weights → rates → standards → simulation.

Pure library (stdlib, Pydantic, NumPy, Polars); see ``docs/adr/0004-measure-engine.md``
and ``docs/domain.md`` §1.2–§1.5 for the policy behind each formula.  Typical use::

    from yibao.engines import measure as m

    frame = m.prepare_cases(cases, grouped, hospitals)       # one row per case
    base = m.apply_exclusions(frame, m.ExclusionRules())     # kept / excluded / summary
    trim = m.trim_outliers(base.kept, m.TrimParams())        # kept / trimmed / fences
    weights = m.relative_weights(trim.kept, m.WeightParams())
    report = m.quality(trim.kept, weights, base)             # RIV, CV, 入组率
    plan = m.adjust_weights(weights, m.Adjustments(tilts=(m.Tilt(factor=1.1, mdcs=("P",)),)))
    newest = base.kept.filter(year=2024)
    rates = m.compute_rates(plan.weights, m.expected_volume(newest), m.RateParams(growth=0.05))
    table = m.payment_standards(plan.weights, rates)        # drg, level, standard (published)
    result = m.simulate(newest, table, m.SimulationParams(), budget=rates.budget)
    exact = m.solve_rate_for_budget(newest, plan.weights, rates)
    indices = m.hospital_indices(newest, plan.weights)

Published numbers are exact: weights are rational arithmetic on integer fen rounded
half up to 4 decimals, rates and standards are ``Decimal``, money sums are integer
fen; every output frame has a fixed sort order.
"""

from yibao.engines.measure.adjust import WeightAdjustment, adjust_weights
from yibao.engines.measure.base import (
    DATA_REASONS,
    REASONS,
    ExclusionResult,
    apply_exclusions,
    grouping_rate,
)
from yibao.engines.measure.errors import MeasureError
from yibao.engines.measure.frames import MEASURE_CASES, prepare_cases
from yibao.engines.measure.indices import RISK_NAMES, hospital_indices, mortality_risk
from yibao.engines.measure.params import (
    LEVEL_NAMES,
    LEVELS,
    Adjustments,
    ExclusionRules,
    RateParams,
    SimulationParams,
    Tilt,
    TrimParams,
    WeightParams,
    explain,
    parse_params,
)
from yibao.engines.measure.rates import (
    STANDARDS_SCHEMA,
    RatePlan,
    compute_rates,
    expected_volume,
    payment_standards,
)
from yibao.engines.measure.simulate import (
    CLASS_NAMES,
    CLASSES,
    ScenarioComparison,
    SimulationResult,
    compare_scenarios,
    simulate,
)
from yibao.engines.measure.solve import RateSolution, solve_rate_for_budget
from yibao.engines.measure.trim import TrimResult, trim_outliers
from yibao.engines.measure.weights import QualityReport, quality, relative_weights

__all__ = [
    "CLASSES",
    "CLASS_NAMES",
    "DATA_REASONS",
    "LEVELS",
    "LEVEL_NAMES",
    "MEASURE_CASES",
    "REASONS",
    "RISK_NAMES",
    "STANDARDS_SCHEMA",
    "Adjustments",
    "ExclusionResult",
    "ExclusionRules",
    "MeasureError",
    "QualityReport",
    "RateParams",
    "RatePlan",
    "RateSolution",
    "ScenarioComparison",
    "SimulationParams",
    "SimulationResult",
    "Tilt",
    "TrimParams",
    "TrimResult",
    "WeightAdjustment",
    "WeightParams",
    "adjust_weights",
    "apply_exclusions",
    "compare_scenarios",
    "compute_rates",
    "expected_volume",
    "explain",
    "grouping_rate",
    "hospital_indices",
    "mortality_risk",
    "parse_params",
    "payment_standards",
    "prepare_cases",
    "quality",
    "relative_weights",
    "simulate",
    "solve_rate_for_budget",
    "trim_outliers",
]
