"""Assembly of the JSON API routers."""

from fastapi import APIRouter, Depends

from yibao.accounts.endpoints import router as accounts_router
from yibao.analysis.endpoints import router as analysis_router
from yibao.api.deps import check_csrf
from yibao.api.errors import ERROR_RESPONSES
from yibao.api.fastpath import FastRoute
from yibao.benefits.endpoints import router as benefits_router
from yibao.cases.endpoints import router as cases_router
from yibao.catalogue.endpoints import router as catalogue_router
from yibao.dip.endpoints import router as dip_router
from yibao.exchange.endpoints import FAST_ROUTES as exchange_fast_routes
from yibao.exchange.endpoints import router as exchange_router
from yibao.grouping.endpoints import router as grouping_router
from yibao.insured.endpoints import router as insured_router
from yibao.jobs.endpoints import router as jobs_router
from yibao.maps.endpoints import router as maps_router
from yibao.measurement.endpoints import router as measurement_router
from yibao.messages.endpoints import router as messages_router
from yibao.monitoring.endpoints import router as monitoring_router
from yibao.regions.endpoints import router as regions_router
from yibao.settlement.clearing.endpoints import router as settlement_clearing_router
from yibao.settlement.confirm.endpoints import router as settlement_periods_router
from yibao.settlement.intake.endpoints import router as settlement_intake_router
from yibao.settlement.lists.endpoints import router as settlement_lists_router
from yibao.settlement.review.endpoints import router as settlement_review_router
from yibao.settlement.special.endpoints import router as settlement_special_router
from yibao.settlement.statements.endpoints import router as settlement_statements_router
from yibao.supervision.endpoints import router as supervision_router
from yibao.supervision.findings.endpoints import router as findings_router
from yibao.supervision.realtime.endpoints import FAST_ROUTES as realtime_fast_routes
from yibao.supervision.realtime.endpoints import router as realtime_audit_router

router = APIRouter(dependencies=[Depends(check_csrf)], responses=ERROR_RESPONSES)
# the transaction gateway first: its HIS traffic is the busiest by far, and a request is
# matched against the included routers one by one (ADR 0009 and 0020)
router.include_router(exchange_router)
router.include_router(realtime_audit_router)  # the real-time audit of HIS systems is busy too
router.include_router(accounts_router)
router.include_router(cases_router)
router.include_router(regions_router)
router.include_router(grouping_router)
router.include_router(jobs_router)
router.include_router(measurement_router)
router.include_router(dip_router)
router.include_router(maps_router)
router.include_router(monitoring_router)
router.include_router(messages_router)
router.include_router(analysis_router)
router.include_router(settlement_intake_router)
router.include_router(settlement_lists_router)
router.include_router(settlement_review_router)
router.include_router(settlement_periods_router)
router.include_router(settlement_statements_router)
router.include_router(settlement_clearing_router)
router.include_router(settlement_special_router)
router.include_router(benefits_router)
router.include_router(catalogue_router)
router.include_router(insured_router)
router.include_router(supervision_router)
router.include_router(findings_router)

#: routes also served before the framework (api.fastpath, ADR 0026)
FAST_ROUTES: list[FastRoute] = [*exchange_fast_routes, *realtime_fast_routes]
