"""Lookups and helpers shared by the measurement services.

The region prefix a user sees, an object of that region by id (404 outside the
region), the status guard of the draft-only operations (409 with the status in words),
and records made JSON-safe (decimals as strings, dates in ISO form) for audit rows,
stored results and answers.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.cases.models import Case
from yibao.kit.errors import Conflict, NotFound, ValidationFailed
from yibao.measurement.models import (
    STATUS_LABELS,
    MeasurementRun,
    PaymentStandardSet,
    RatePlanRow,
    Simulation,
    WeightPlan,
)
from yibao.regions.models import region_prefix


def region_of(region_code: str | None) -> str:
    """The region prefix a bureau user sees (no region: nothing)."""
    return region_prefix(region_code or "\x00")


def _get(session: Session, model: type[Any], obj_id: int, label: str, region: str) -> Any:
    obj = session.get(model, obj_id)
    if obj is None or not obj.region_code.startswith(region):
        raise NotFound(f"{label} {obj_id} 不存在 / not found")
    return obj


def get_run(session: Session, run_id: int, region: str) -> MeasurementRun:
    return _get(session, MeasurementRun, run_id, "测算运行", region)  # type: ignore[no-any-return]


def get_weight_plan(session: Session, plan_id: int, region: str) -> WeightPlan:
    return _get(session, WeightPlan, plan_id, "权重方案", region)  # type: ignore[no-any-return]


def get_rate_plan(session: Session, plan_id: int, region: str) -> RatePlanRow:
    return _get(session, RatePlanRow, plan_id, "费率方案", region)  # type: ignore[no-any-return]


def get_simulation(session: Session, sim_id: int, region: str) -> Simulation:
    return _get(session, Simulation, sim_id, "模拟测算", region)  # type: ignore[no-any-return]


def get_standard_set(session: Session, set_id: int, region: str) -> PaymentStandardSet:
    return _get(session, PaymentStandardSet, set_id, "支付标准", region)  # type: ignore[no-any-return]


def jsonable_record(value: dict[str, Any]) -> dict[str, Any]:
    """A record with its decimals as strings and its dates in ISO form, for JSON."""
    return {str(k): _jsonable(v) for k, v in value.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _require_status(obj: Any, allowed: tuple[str, ...], what: str) -> None:
    if obj.status not in allowed:
        now = STATUS_LABELS.get(obj.status, obj.status)
        raise Conflict(f"{what}当前状态为「{now}」，不能执行此操作（已发布的版本不可修改）")


def _status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def year_has_cases(session: Session, region_code: str, year: int, field: str) -> None:
    """Refuse (422 naming ``field``) a year without a case of the region: checked before
    anything is queued, not found by the job."""
    found = session.scalar(
        select(Case.id)
        .where(
            Case.region_code.startswith(region_prefix(region_code)),
            Case.discharge_date >= date(year, 1, 1),
            Case.discharge_date <= date(year, 12, 31),
        )
        .limit(1)
    )
    if found is None:
        raise ValidationFailed(f"{field}：{year} 年没有可用病例", field=field)
