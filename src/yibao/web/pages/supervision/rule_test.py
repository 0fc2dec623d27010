"""规则库 test page (issue 13 item 2): audit a sample claim — prefilled from the
knowledge in force, or edited, or pasted as the API's JSON — with one rule-set
version's rules (a draft too); the findings are shown, nothing is stored."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yibao.accounts.models import User
from yibao.api.deps import Db, PostedForm
from yibao.engines.audit import FAMILIES, RESULT_TYPES, SEVERITIES, STAGES
from yibao.kit.bounds import DbId
from yibao.kit.errors import DomainError
from yibao.kit.timeutil import local, utcnow
from yibao.supervision import samples, service
from yibao.supervision.auth import home_region
from yibao.supervision.models import RuleSetVersion
from yibao.web.pages.supervision import claim_form, rule_form
from yibao.web.pages.supervision.common import CSRF, VIEW, summary
from yibao.web.pages.supervision.rules import version_for
from yibao.web.render import render

router = APIRouter(prefix="/supervision/rules")


# ----------------------------------------------------------------------------- test


def _test_page(
    request: Request,
    db: Db,
    user: User,
    row: RuleSetVersion,
    values: dict[str, Any],
    *,
    outcome: tuple[int, list[Any]] | None = None,
    errors: dict[str, str] | None = None,
    error: DomainError | None = None,
    example: bool | None = None,
) -> Response:
    errors = errors or {}
    shown = error or (summary(errors) if errors else None)
    response = render(
        request,
        "supervision/rule_test.html",
        {
            "row": row,
            "v": values,
            "rows": claim_form.rows(values),
            "outcome": outcome,
            "errors": errors,
            "error": shown,
            "example": example,
            "stages": STAGES,
            "trig_scen": rule_form.TRIG_SCEN,
            "severities": SEVERITIES,
            "result_types": RESULT_TYPES,
            "families": FAMILIES,
        },
    )
    if shown is not None:
        response.status_code = 422 if shown.http_status in (400, 404) else shown.http_status
    return response


def _sample_day(row: RuleSetVersion) -> date:
    """The day of the prefilled claim: today within the version's validity, else its
    first day."""
    now = local(utcnow()).date()
    if row.valid_from <= now and (row.valid_to is None or now <= row.valid_to):
        return now
    return row.valid_from


@router.get("/{set_id}/test")
def test_page(set_id: DbId, request: Request, db: Db, user: User = VIEW) -> Response:
    row = version_for(db, user, set_id)
    sample = samples.example_claim(db, row.region_code, _sample_day(row))
    return _test_page(
        request, db, user, row, claim_form.form_values(sample), example=sample is not None
    )


@router.post("/{set_id}/test", dependencies=CSRF)
def run_test(
    set_id: DbId, request: Request, form: PostedForm, db: Db, user: User = VIEW
) -> Response:
    """Audit the posted claim with this version's rules; nothing is stored."""
    row = version_for(db, user, set_id)
    posted = claim_form.read_claim_form(form)
    if posted.data is None:
        return _test_page(request, db, user, row, posted.values, errors=posted.errors)
    data = posted.data
    try:
        outcome = service.test_rules(db, row.id, home_region(user), data)
    except DomainError as exc:
        db.rollback()
        return _test_page(request, db, user, row, posted.values, error=exc)
    return _test_page(request, db, user, row, posted.values, outcome=outcome)
