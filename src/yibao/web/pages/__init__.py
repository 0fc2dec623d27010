"""Browser pages (Jinja2 + HTMX)."""

from fastapi import APIRouter

from yibao.web.pages import (
    admin,
    analysis,
    auth,
    benefits,
    cases,
    catalogue,
    dip,
    exchange,
    findings,
    grouping,
    home,
    hospitals,
    insured,
    jobs,
    local_plans,
    maps,
    measurement,
    messages,
    ops,
    screens,
    settlement,
    supervision,
)

router = APIRouter(include_in_schema=False)
for module in (
    auth,
    home,
    cases,
    settlement,
    grouping,
    local_plans,
    jobs,
    hospitals,
    admin,
    measurement,
    dip,
    benefits,
    catalogue,
    insured,
    exchange,
    supervision,
    findings,
    maps,
    ops,
    messages,
    screens,
    analysis,
):
    router.include_router(module.router)
