"""The knowledge base forms: an item's restrictions as one field group per kind of the
catalogue's restrictions (:mod:`yibao.engines.catalogue.restrictions`), and a relation
as the fields of its kind.  Both read into the API's data with Chinese errors per
field; the services check them again with the engines."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from yibao.engines.audit.errors import words
from yibao.supervision.schemas import RelationIn
from yibao.web.forms import text

_SPLIT = re.compile(r"[、,，;；\s]+")
PERIODS = {"day": "每日", "visit": "每次就诊", "month": "每自然月"}
COURSE_PERIODS = {"visit": "每次就诊", "month": "每自然月"}
SEXES = {"1": "限男性", "2": "限女性"}
LEVELS = {"1": "一级及以上", "2": "二级及以上", "3": "三级"}
SETTINGS = {"inpatient": "限住院", "outpatient": "限门诊"}
RESTRICTION_FIELDS = (
    "sex",
    "age_min",
    "age_max",
    "level",
    "setting",
    "departments",
    "diagnoses",
    "per_day",
    "per_stay",
    "insutypes",
    *(f"freq_{p}" for p in PERIODS),
    *(f"course_{p}_{m}" for p in COURSE_PERIODS for m in ("sessions", "days")),
)
#: form field → Chinese name
WORDS: dict[str, str] = {
    "code": "医保编码",
    "name": "项目名称",
    "sex": "性别",
    "age_min": "最小年龄",
    "age_max": "最大年龄",
    "level": "医院等级",
    "setting": "就医方式",
    "departments": "科室代码",
    "diagnoses": "诊断编码",
    "per_day": "每日最大数量",
    "per_stay": "每次住院最大数量",
    "insutypes": "险种",
    **{f"freq_{p}": f"{name}最多次数" for p, name in PERIODS.items()},
    **{f"course_{p}_sessions": f"疗程{name}最多次数" for p, name in COURSE_PERIODS.items()},
    **{f"course_{p}_days": f"疗程{name}最多天数" for p, name in COURSE_PERIODS.items()},
    "restrictions": "使用限制",
}


def restriction_values(code: str, name: str, rules: list[dict[str, Any]]) -> dict[str, str]:
    """Stored restrictions as the form's values."""
    v = dict.fromkeys(RESTRICTION_FIELDS, "") | {"code": code, "name": name}
    for r in rules:
        kind = r.get("kind")
        if kind == "sex":
            v["sex"] = str(r["sex"])
        elif kind == "age":
            v["age_min"] = _s(r.get("min_years"))
            v["age_max"] = _s(r.get("max_years"))
        elif kind == "hospital_level":
            v["level"] = str(r["min_level"])
        elif kind == "setting":
            v["setting"] = str(r["setting"])
        elif kind in ("department", "indication", "insutype"):
            key = {"department": "departments", "indication": "diagnoses"}.get(kind, "insutypes")
            v[key] = "、".join(r.get(key) or [])
        elif kind == "quantity":
            v["per_day"], v["per_stay"] = _s(r.get("per_day")), _s(r.get("per_stay"))
        elif kind == "frequency":
            v[f"freq_{r['per']}"] = _s(r.get("max_times"))
        elif kind == "course":
            v[f"course_{r['per']}_sessions"] = _s(r.get("max_sessions"))
            v[f"course_{r['per']}_days"] = _s(r.get("max_days"))
    return v


def _s(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass
class PostedRestrictions:
    values: dict[str, str]
    rules: list[dict[str, Any]]
    errors: dict[str, str]


# long: one field group per restriction kind, read and checked in the form's order
def read_restriction_form(form: FormData) -> PostedRestrictions:
    """The restriction form as the catalogue's restriction JSON (errors per field)."""
    v = {k: text(form, k) for k in ("code", "name", *RESTRICTION_FIELDS)}
    errors: dict[str, str] = {}
    rules: list[dict[str, Any]] = []

    def number(key: str, whole: bool = True) -> Any:
        raw = v[key]
        if not raw:
            return None
        try:
            value: Any = int(raw) if whole else Decimal(raw)
        except (ValueError, InvalidOperation):
            errors[key] = f"{WORDS[key]}：须为{'整数' if whole else '数字'}（收到 {raw[:20]}）"
            return None
        if isinstance(value, Decimal):
            if not value.is_finite() or value <= 0:
                errors[key] = f"{WORDS[key]}：须为大于 0 的数字"
                return None
            return f"{value.normalize():f}"
        return value

    if not v["code"]:
        errors["code"] = "医保编码：不能为空"
    elif len(v["code"]) > 50:
        errors["code"] = "医保编码：至多 50 位"
    if v["sex"]:
        if v["sex"] not in SEXES:
            errors["sex"] = "性别：请选择限男性或限女性"
        rules.append({"kind": "sex", "sex": v["sex"]})
    low, high = number("age_min"), number("age_max")
    if low is not None or high is not None:
        rule: dict[str, Any] = {"kind": "age"}
        if low is not None:
            rule["min_years"] = low
        if high is not None:
            rule["max_years"] = high
        rules.append(rule)
    if v["level"]:
        rules.append({"kind": "hospital_level", "min_level": v["level"]})
    if v["setting"]:
        rules.append({"kind": "setting", "setting": v["setting"]})
    for key, kind in (
        ("departments", "department"),
        ("diagnoses", "indication"),
        ("insutypes", "insutype"),
    ):
        items = [x for x in _SPLIT.split(v[key]) if x]
        if items:
            rules.append({"kind": kind, key: items})
    per_day, per_stay = number("per_day", whole=False), number("per_stay", whole=False)
    if per_day is not None or per_stay is not None:
        rule = {"kind": "quantity"}
        if per_day is not None:
            rule["per_day"] = per_day
        if per_stay is not None:
            rule["per_stay"] = per_stay
        rules.append(rule)
    for per in PERIODS:
        times = number(f"freq_{per}")
        if times is not None:
            rules.append({"kind": "frequency", "max_times": times, "per": per})
    for per in COURSE_PERIODS:
        sessions, days = number(f"course_{per}_sessions"), number(f"course_{per}_days")
        if sessions is not None or days is not None:
            rule = {"kind": "course", "per": per}
            if sessions is not None:
                rule["max_sessions"] = sessions
            if days is not None:
                rule["max_days"] = days
            rules.append(rule)
    return PostedRestrictions(v, rules, errors)


# ------------------------------------------------------------------------ relations

RELATION_FIELDS = (
    "kind",
    "a",
    "b",
    "whole",
    "part",
    "item",
    "any_of",
    "package",
    "components",
    "min_components",
    "note",
)
RELATION_WORDS: dict[str, str] = {
    "kind": "关系类型",
    "a": "项目一",
    "b": "项目二",
    "codes": "互斥项目",
    "whole": "包含方",
    "part": "被包含方",
    "item": "项目",
    "any_of": "关联项目",
    "package": "打包项目",
    "components": "组成项目",
    "min_components": "分解的最少项数",
    "note": "备注",
}


def relation_values(kind: str, body: dict[str, Any] | None, note: str = "") -> dict[str, str]:
    body = body or {}
    codes = list(body.get("codes") or ["", ""])
    return {
        "kind": kind,
        "a": codes[0],
        "b": codes[1] if len(codes) > 1 else "",
        "whole": body.get("whole") or "",
        "part": body.get("part") or "",
        "item": body.get("item") or "",
        "any_of": "、".join(body.get("any_of") or []),
        "package": body.get("package") or "",
        "components": "、".join(body.get("components") or []),
        "min_components": _s(body.get("min_components")),
        "note": note,
    }


@dataclass
class PostedRelation:
    values: dict[str, str]
    data: RelationIn | None
    errors: dict[str, str]


def read_relation_form(form: FormData) -> PostedRelation:
    v = {k: text(form, k) for k in RELATION_FIELDS}
    kind = v["kind"]
    body: dict[str, Any] = {"kind": kind, "note": v["note"]}
    errors: dict[str, str] = {}
    need: tuple[str, ...] = ()
    if kind == "exclusive":
        body["codes"] = [v["a"], v["b"]]
        need = ("a", "b")
    elif kind == "inclusive":
        body |= {"whole": v["whole"], "part": v["part"]}
        need = ("whole", "part")
    elif kind == "requires":
        body |= {"item": v["item"], "any_of": [x for x in _SPLIT.split(v["any_of"]) if x]}
        need = ("item", "any_of")
    elif kind == "package":
        body |= {
            "package": v["package"],
            "components": [x for x in _SPLIT.split(v["components"]) if x],
        }
        need = ("package", "components")
        if v["min_components"]:
            if not v["min_components"].isdigit():
                errors["min_components"] = "分解的最少项数：须为整数"
            else:
                body["min_components"] = int(v["min_components"])
    else:
        errors["kind"] = "关系类型：请选择互斥、包含、关联或打包"
    for key in need:
        if not v[key]:
            errors[key] = f"{RELATION_WORDS[key]}：不能为空"
    if errors:
        return PostedRelation(v, None, errors)
    try:
        return PostedRelation(v, RelationIn.model_validate(body), errors)
    except ValidationError as exc:
        for err in exc.errors():
            key = str(err["loc"][0]) if err["loc"] else "kind"
            key = {"codes": "a"}.get(key, key)
            errors.setdefault(key, f"{RELATION_WORDS.get(key, key)}：{words(err)}")
        return PostedRelation(v, None, errors)


def relation_error(message: str, path: str | None) -> tuple[str, str]:
    """A service error on a relation as (form field, message)."""
    key = re.sub(r"\[\d+\]$", "", (path or "kind").removeprefix("relation."))
    body = re.sub(r"^项目关系：(字段 [a-z_.\[\]0-9]+：)?", "", message)
    if key == "components" and "条目数" in body:
        body = "至少 2 项，至多 200 项"
    label = RELATION_WORDS.get(key, "项目关系")
    key = {"codes": "a"}.get(key, key)
    return key, f"{label}：{body}"
