"""Maintaining the register of medical institutions (定点医疗机构): add and edit.

A hospital's code (the NHSA ``fixmedins_code``: ``H``, the 6-digit 医保区划 of the
district it is registered in, a 5-digit serial) is fixed once lists carry it; its
name, level and district can change.  A level change applies to lists
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

#: 定点医药机构编码: ``H`` (医疗机构), the 6-digit 医保区划 of the institution's district,
#: a 5-digit serial within it (NHSA 医疗保障信息业务编码标准: 定点医药机构编码), as the
#: demo's H99010200001 (990102, serial 00001)
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


def check_code_shape(code: str) -> None:
    """Refuse a code that is not ``H`` and 11 digits."""
    if not CODE_RE.match(code):
        raise ValidationFailed(
            "机构编码：须为 12 位，H 加所在区县的 6 位医保区划再加 5 位顺序号，如 H99010200001"
            f"（收到 {code[:20]!r}）",
            field="code",
        )


def check_code_region(code: str, region_code: str, region_name: str = "") -> None:
    """Refuse a code whose embedded 医保区划 (characters 2–7) is not ``region_code``,
    the district the institution is registered in."""
    if code[1:7] != region_code:
        district = f"{region_name}（{region_code}）" if region_name else f" {region_code} "
        raise ValidationFailed(
            f"机构编码：{code[:20]} 中的医保区划 {code[1:7]} 与所在区县{district}不符，"
            f"该区县的机构编码须以 H{region_code} 开头",
            field="code",
        )


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
    check_code_shape(code)
    name = _check(session, scope, name, level, region_code)
    region = session.get(Region, region_code)
    check_code_region(code, region_code, region.name if region is not None else "")
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
