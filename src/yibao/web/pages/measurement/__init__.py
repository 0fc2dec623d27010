"""测算 pages (bureau analyst, Permission.MEASURE) under ``/measurement``.

``runs``: overview and the new-run form, the base run page; ``plans``: weight plans and
rate plans; ``results``: simulations, comparison, hospital indices; ``standards``:
published payment standards, publish and import.
"""

from fastapi import APIRouter

from yibao.web.pages.measurement import plans, results, runs, standards

router = APIRouter()
for module in (runs, plans, results, standards):
    router.include_router(module.router)
