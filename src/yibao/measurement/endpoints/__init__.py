"""JSON API for measurement (测算): runs, weight plans, rate plans, simulations, standards.

One module per resource group, each with its own router; :data:`router` includes them
under ``/api/measurement`` in the order the routes have always been registered (runs,
weight plans, rate plans, simulations, indices, standards), so the paths, names and
the OpenAPI document stay as they were.  The shared pieces (the analyst requirement,
a table as JSON, CSV or XLSX) are in :mod:`.common`.
"""

from __future__ import annotations

from fastapi import APIRouter

from yibao.measurement import tasks  # noqa: F401  (registers the job kind)
from yibao.measurement.endpoints import (
    indices,
    rate_plans,
    runs,
    simulations,
    standards,
    weight_plans,
)

router = APIRouter(prefix="/api/measurement", tags=["measurement 测算"])
router.include_router(runs.router)
router.include_router(weight_plans.router)
router.include_router(rate_plans.router)
router.include_router(simulations.router)
router.include_router(indices.router)
router.include_router(standards.router)

__all__ = ["router"]
