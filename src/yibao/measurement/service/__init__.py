"""Measurement operations: base runs, weight plans, rate plans, simulations, standards.

Every state change is a ``do_<verb>_<noun>(…, actor=…)`` that writes its audit row in
the caller's transaction; nothing here commits.  The form and API operations on a
year's cases (``start_run``, ``create_rate_plan``, ``create_simulation``,
``publish_standards``, ``import_standards``, ``indices_table``) group and read the
cases first (:mod:`.year_frames`) and then call the ``do_`` functions, so that API
endpoints, pages and the command line take one path.  Heavy steps run as jobs
(:mod:`yibao.measurement.tasks`, which imports this package; nothing here imports it).
One module per object: :mod:`.runs`, :mod:`.weight_plans`, :mod:`.rate_plans`,
:mod:`.simulation`, :mod:`.standards`, :mod:`.indices`, with the region, the lookups
in a region and the JSON helpers in :mod:`.common`.  What the pages show besides:
:mod:`.lists` (a region's objects and the names the tables show), :mod:`.stats`
(chart statistics, paged tables) and :mod:`.labels` (labels, field names in errors,
export headers).  Callers use this package
(``from yibao.measurement import service as svc``).
"""

from __future__ import annotations

from yibao.measurement.service.common import (
    _jsonable,
    get_rate_plan,
    get_run,
    get_simulation,
    get_standard_set,
    get_weight_plan,
    jsonable_record,
    region_of,
)
from yibao.measurement.service.indices import indices_table
from yibao.measurement.service.labels import (
    EXPORT_LABELS,
    EXPORT_VALUES,
    FIELD_LABELS,
    SOURCE_LABELS,
    STANDARD_SOURCES,
    error_field,
    zh_message,
)
from yibao.measurement.service.lists import (
    Overview,
    drg_names,
    hospital_names,
    list_rate_plans,
    list_simulations,
    list_standard_sets,
    list_weight_plans,
    overview,
    standard_item_counts,
)
from yibao.measurement.service.rate_plans import (
    budget_gap,
    create_rate_plan,
    do_apply_simulation_rates,
    do_create_rate_plan,
    do_set_rates,
    rate_plan_of,
)
from yibao.measurement.service.runs import (
    RUN_KIND,
    RunState,
    do_create_run,
    execute_run,
    parse_run_params,
    run_state,
    run_weights_frame,
    run_with_state,
    start_run,
)
from yibao.measurement.service.simulation import (
    create_simulation,
    do_save_simulation,
    run_simulation,
    simulation_results,
)
from yibao.measurement.service.standards import (
    STANDARD_COLUMNS,
    BudgetMissed,
    check_budget,
    do_approve_standards,
    do_publish_standards,
    import_standards,
    payment_rules,
    publish_standards,
    rules_json,
    rules_text,
    standard_sets_in_force,
    standards_csv,
    standards_frame,
)
from yibao.measurement.service.stats import (
    box_stats,
    drg_distribution,
    page_rows,
    rw_by_mdc,
    trim_by_year,
)
from yibao.measurement.service.weight_plans import (
    WEIGHT_TRANSITIONS,
    do_create_weight_plan,
    do_transition_weight_plan,
    do_update_weight_plan,
    weight_plan_frame,
)
from yibao.measurement.service.year_frames import (
    SIMULATION_RULES,
    measured_cases,
    paid_total,
    run_rules,
    ungrouped_cases,
    year_frame,
)

__all__ = [
    "EXPORT_LABELS",
    "EXPORT_VALUES",
    "FIELD_LABELS",
    "RUN_KIND",
    "SIMULATION_RULES",
    "SOURCE_LABELS",
    "STANDARD_COLUMNS",
    "STANDARD_SOURCES",
    "WEIGHT_TRANSITIONS",
    "BudgetMissed",
    "Overview",
    "RunState",
    "_jsonable",
    "box_stats",
    "budget_gap",
    "check_budget",
    "create_rate_plan",
    "create_simulation",
    "do_apply_simulation_rates",
    "do_approve_standards",
    "do_create_rate_plan",
    "do_create_run",
    "do_create_weight_plan",
    "do_publish_standards",
    "do_save_simulation",
    "do_set_rates",
    "do_transition_weight_plan",
    "do_update_weight_plan",
    "drg_distribution",
    "drg_names",
    "error_field",
    "execute_run",
    "get_rate_plan",
    "get_run",
    "get_simulation",
    "get_standard_set",
    "get_weight_plan",
    "hospital_names",
    "import_standards",
    "indices_table",
    "jsonable_record",
    "list_rate_plans",
    "list_simulations",
    "list_standard_sets",
    "list_weight_plans",
    "measured_cases",
    "overview",
    "page_rows",
    "paid_total",
    "parse_run_params",
    "payment_rules",
    "publish_standards",
    "rate_plan_of",
    "region_of",
    "rules_json",
    "rules_text",
    "run_rules",
    "run_simulation",
    "run_state",
    "run_weights_frame",
    "run_with_state",
    "rw_by_mdc",
    "simulation_results",
    "standard_item_counts",
    "standard_sets_in_force",
    "standards_csv",
    "standards_frame",
    "start_run",
    "trim_by_year",
    "ungrouped_cases",
    "weight_plan_frame",
    "year_frame",
    "zh_message",
]
