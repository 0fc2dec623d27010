"""Measurement operations: base runs, weight plans, rate plans, simulations, standards.

Every state change is a ``do_<verb>_<noun>(…, actor=…)`` that writes its audit row in
the caller's transaction; nothing here commits.  Heavy steps run as jobs
(:mod:`yibao.measurement.tasks`).  One module per object: :mod:`.runs`,
:mod:`.weight_plans`, :mod:`.rate_plans`, :mod:`.simulation`, :mod:`.standards`, with
the lookups in a region and the JSON helpers in :mod:`.common`; callers use this
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
    do_create_run,
    execute_run,
    parse_run_params,
    run_weights_frame,
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
from yibao.measurement.service.weight_plans import (
    WEIGHT_TRANSITIONS,
    do_create_weight_plan,
    do_transition_weight_plan,
    do_update_weight_plan,
    weight_plan_frame,
)

__all__ = [
    "RUN_KIND",
    "STANDARD_COLUMNS",
    "WEIGHT_TRANSITIONS",
    "_jsonable",
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
    "execute_run",
    "get_rate_plan",
    "get_run",
    "get_simulation",
    "get_standard_set",
    "get_weight_plan",
    "jsonable_record",
    "parse_run_params",
    "rate_plan_of",
    "run_simulation",
    "run_weights_frame",
    "simulation_results",
    "standards_csv",
    "standards_frame",
    "weight_plan_frame",
]
