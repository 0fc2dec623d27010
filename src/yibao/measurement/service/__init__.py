"""Measurement operations: base runs, weight plans, rate plans, simulations, standards.

Every state change is a ``do_<verb>_<noun>(…, actor=…)`` that writes its audit row in
the caller's transaction; nothing here commits.  Heavy steps run as jobs
(:mod:`yibao.measurement.tasks`).  One module per object: :mod:`.runs`,
:mod:`.weight_plans`, :mod:`.rate_plans`, :mod:`.simulation`, :mod:`.standards`, with
the region, the lookups in a region and the JSON helpers in :mod:`.common`.  What the
pages show besides: :mod:`.lists` (a region's objects and the names the tables show),
:mod:`.stats` (chart statistics, paged tables) and :mod:`.labels` (labels, field names
in errors, export headers).  API endpoints, pages and the command line all use this
package (``from yibao.measurement import service as svc``).
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
)
from yibao.measurement.service.simulation import (
    do_save_simulation,
    run_simulation,
    simulation_results,
)
from yibao.measurement.service.standards import (
    STANDARD_COLUMNS,
    do_approve_standards,
    do_publish_standards,
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

__all__ = [
    "EXPORT_LABELS",
    "EXPORT_VALUES",
    "FIELD_LABELS",
    "RUN_KIND",
    "SOURCE_LABELS",
    "STANDARD_COLUMNS",
    "STANDARD_SOURCES",
    "WEIGHT_TRANSITIONS",
    "Overview",
    "RunState",
    "_jsonable",
    "box_stats",
    "budget_gap",
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
    "jsonable_record",
    "list_rate_plans",
    "list_simulations",
    "list_standard_sets",
    "list_weight_plans",
    "overview",
    "page_rows",
    "parse_run_params",
    "rate_plan_of",
    "region_of",
    "run_simulation",
    "run_state",
    "run_weights_frame",
    "run_with_state",
    "rw_by_mdc",
    "simulation_results",
    "standard_item_counts",
    "standards_csv",
    "standards_frame",
    "trim_by_year",
    "weight_plan_frame",
    "zh_message",
]
