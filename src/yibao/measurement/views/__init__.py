"""Read models for the measurement (测算) web pages.

The pages (``yibao.web.pages.measurement``) show more than the JSON API returns:
overview lists, a run's status derived from its job, chart statistics (RW by MDC, a
DRG's cost distribution against its trim fences), paged tables, and Chinese field
names for parameter errors.  The form operations are in
:mod:`yibao.measurement.workflows`.  Read only.  By topic: :mod:`.overview` (lists
and a run's state), :mod:`.stats` (chart statistics, paged tables) and
:mod:`.labels` (labels, field names in errors, export headers).
"""

from __future__ import annotations

from yibao.measurement.views.labels import (
    EXPORT_LABELS,
    EXPORT_VALUES,
    FIELD_LABELS,
    SOURCE_LABELS,
    STANDARD_SOURCES,
    error_field,
    zh_message,
)
from yibao.measurement.views.overview import (
    Overview,
    RunState,
    drg_names,
    hospital_names,
    overview,
    rate_plans,
    region_of,
    run_state,
    run_with_state,
    simulations,
    standard_item_counts,
    standard_sets,
    weight_plans,
)
from yibao.measurement.views.stats import (
    box_stats,
    drg_distribution,
    page_rows,
    rw_by_mdc,
    trim_by_year,
)

__all__ = [
    "EXPORT_LABELS",
    "EXPORT_VALUES",
    "FIELD_LABELS",
    "SOURCE_LABELS",
    "STANDARD_SOURCES",
    "Overview",
    "RunState",
    "box_stats",
    "drg_distribution",
    "drg_names",
    "error_field",
    "hospital_names",
    "overview",
    "page_rows",
    "rate_plans",
    "region_of",
    "run_state",
    "run_with_state",
    "rw_by_mdc",
    "simulations",
    "standard_item_counts",
    "standard_sets",
    "trim_by_year",
    "weight_plans",
    "zh_message",
]
