"""The rate meets the budget (issue 10.2): the budget covers every case a simulation
pays, a solved rate is applied to its rate plan, and publishing standards that miss
the budget by more than the tolerance is refused until confirmed (then audited)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from tests.e2e.test_measurement_api import (  # noqa: F401
    _run,
    _weight_plan,
    analyst,
    create_rate_plan,
    create_simulation,
)
from yibao.audit.models import AuditLog
from yibao.db.scoping import SYSTEM_SCOPE, set_scope


def _rate_plan(client, plan_id: int) -> dict:  # type: ignore[no-untyped-def,type-arg]
    body = {"weight_plan_id": plan_id, "volume_year": 2025, "params": {}}
    return create_rate_plan(client, body)  # type: ignore[no-any-return]


def _simulate(client, plan_id: int, rate_id: int, solve: bool) -> dict:  # type: ignore[no-untyped-def,type-arg]
    body = {
        "weight_plan_id": plan_id,
        "rate_plan_id": rate_id,
        "year": 2025,
        "name": "求解" if solve else "原费率",
        "solve_budget": solve,
    }
    return create_simulation(client, body)  # type: ignore[no-any-return]


def test_rate_meets_budget(analyst, db):  # type: ignore[no-untyped-def]  # noqa: F811
    client = analyst
    run = _run(client)
    plan = _weight_plan(client, run["id"], "WBUDGET")
    rate = _rate_plan(client, plan["id"])

    # the budget's base is the total cost of every case the simulation pays
    first = _simulate(client, plan["id"], rate["id"], solve=False)
    totals = first["results"]["totals"]
    assert Decimal(rate["params"]["last_total"]) == Decimal(totals["total_cost"])
    assert Decimal(rate["plan"]["budget"]) == Decimal(totals["budget"])
    gap = Decimal(totals["budget_gap"]) / Decimal(totals["budget"])
    assert abs(gap) > Decimal("0.01"), gap  # the first rate misses (outliers by items)

    # publishing it is refused with the figures, in Chinese
    body = {"weight_plan_id": plan["id"], "rate_plan_id": rate["id"], "valid_from": "2026-01-01"}
    r = client.post("/api/measurement/standards", json=body)
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "budget_gap" and error["field"] == "confirm_budget_gap"
    assert "预算" in error["message"] and "%" in error["message"] and "求解费率" in error["message"]
    assert client.get("/api/measurement/standards").json() == []

    # solve, apply to the rate plan, publish: within the tolerance
    solved = _simulate(client, plan["id"], rate["id"], solve=True)
    assert "solved" in solved["results"]
    r = client.post(f"/api/measurement/simulations/{first['id']}/apply-rates")
    assert r.status_code == 409  # that one solved nothing
    r = client.post(f"/api/measurement/simulations/{solved['id']}/apply-rates")
    assert r.status_code == 200, r.text
    assert r.json()["plan"]["level_rates"] == solved["rates"]["level_rates"]
    r = client.post("/api/measurement/standards", json=body)
    assert r.status_code == 201, r.text
    r = client.post(f"/api/measurement/simulations/{solved['id']}/apply-rates")
    assert r.status_code == 409  # the rate plan is published now

    # an analyst may still publish a missing rate, knowingly: the gap is audited
    other = _rate_plan(client, plan["id"])
    body = {"weight_plan_id": plan["id"], "rate_plan_id": other["id"], "valid_from": "2027-01-01"}
    assert client.post("/api/measurement/standards", json=body).status_code == 409
    r = client.post("/api/measurement/standards", json={**body, "confirm_budget_gap": True})
    assert r.status_code == 201, r.text
    set_scope(db, SYSTEM_SCOPE)
    row = db.scalar(
        select(AuditLog).where(
            AuditLog.action == "measurement.standards.publish",
            AuditLog.object_id == str(r.json()["id"]),
        )
    )
    assert row is not None and row.after["budget_gap_confirmed"]["year"] == "2025"

    # the simulation page offers the solved rate (the page of a solved simulation)
    doc = client.get(f"/measurement/simulations/{solved['id']}", headers={"accept": "text/html"})
    assert 'data-testid="apply-rates"' in doc.text
