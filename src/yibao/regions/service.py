"""Maintaining the register of medical institutions (定点医疗机构): add and edit.

A hospital's code (the NHSA ``fixmedins_code``: ``H`` + 11 digits) is fixed once lists
carry it; its name, level and district can change.  A level change applies to lists
priced from then on (the standard is per level); lists already priced keep theirs.
Every change writes an audit row with the before and after."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.db.scoping import Scope
from yibao.kit.errors import Conflict, Forbidden, ValidationFailed
from yibao.regions.models import HOSPITAL_LEVELS, Hospital, Region

CODE_RE = re.compile(r"^H\d{11}$")


def _snapshot(h: Hospital) -> dict[str, Any]:
    return {"code": h.code, "name": h.name, "level": h.level, "region_code": h.region_code}


def _check(session: Session, scope: Scope, name: str, level: str, region_code: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("机构名称：请填写 1–100 个字符", field="name")
    if level not in HOSPITAL_LEVELS:
        raise ValidationFailed(
            f"医院等级：须为 一级、二级 或 三级（收到 {level[:10]!r}）", field="level"
        )
    region = session.get(Region, region_code) if len(region_code or "") == 6 else None
    if region is None or region.level != "district":
        raise ValidationFailed(
            f"所在区县：{(region_code or '')[:10]!r} 不是已登记的区县区划", field="region_code"
        )
    if not scope.allows(None, region_code):
        raise Forbidden(f"区划 {region_code} 不在您的辖区内 / region outside your scope")
    return name


def do_create_hospital(
    session: Session,
    scope: Scope,
    *,
    code: str,
    name: str,
    level: str,
    region_code: str,
    actor: Actor,
) -> Hospital:
    code = (code or "").strip().upper()
    if not CODE_RE.match(code):
        raise ValidationFailed(
            "机构编码：须为 H 加 11 位数字的定点医疗机构编码，如 H99010200001"
            f"（收到 {code[:20]!r}）",
            field="code",
        )
    name = _check(session, scope, name, level, region_code)
    taken = session.scalar(
        select(Hospital.id).where(Hospital.code == code).execution_options(skip_scope=True)
    )
    if taken is not None:
        raise Conflict(f"机构编码 {code} 已登记 / hospital code exists", field="code")
    hospital = Hospital(code=code, name=name, level=level, region_code=region_code)
    session.add(hospital)
    session.flush()
    record(
        session,
        actor,
        "hospital.create",
        "hospital",
        hospital.code,
        after=_snapshot(hospital),
        region_code=region_code,
    )
    return hospital


def do_update_hospital(
    session: Session,
    scope: Scope,
    hospital: Hospital,
    *,
    name: str,
    level: str,
    region_code: str,
    reason: str,
    actor: Actor,
) -> Hospital:
    why = (reason or "").strip()
    if not why or len(why) > 500:
        raise ValidationFailed("原因：请填写修改原因（1–500 字，记入审计日志）", field="reason")
    name = _check(session, scope, name, level, region_code)
    before = _snapshot(hospital)
    hospital.name, hospital.level, hospital.region_code = name, level, region_code
    after = _snapshot(hospital)
    if after == before:
        raise Conflict("没有修改任何内容", field="name")
    session.flush()
    record(
        session,
        actor,
        "hospital.update",
        "hospital",
        hospital.code,
        before=before,
        after={**after, "reason": why},
        region_code=region_code,
    )
    return hospital
