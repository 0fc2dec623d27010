"""The rule form of the rule base pages: the fields of a family's parameters, read from
the family's parameter model (:data:`yibao.engines.audit.rules.FAMILIES`), and a posted
form turned into the API's :class:`RuleIn` data with Chinese errors per field.

A parameter field's widget follows its type: ``bool`` a checkbox, a ``Literal`` a
select, a tuple of ``Literal`` checkboxes, a tuple of text a list typed with 、 or
spaces, ``int`` / ``Decimal`` a number.  Values equal to the model's default are left
out of ``params``, so a rule saved unchanged from the page keeps its version.
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from starlette.datastructures import FormData

from yibao.engines.audit import FAMILIES, RESULT_TYPES, SEVERITIES, STAGES, WINDOWS
from yibao.engines.audit.errors import words
from yibao.supervision.models import StoredRule
from yibao.supervision.schemas import RuleIn
from yibao.web.forms import text

#: Chinese labels and help of the parameter fields (by name, across families)
PARAM_WORDS: dict[str, tuple[str, str]] = {
    "codes": (
        "限定项目编码",
        "只审核这些医保编码（以、逗号或空格分隔）；留空：知识库中带该限制的全部项目",
    ),
    "principal_only": ("只认主诊断", "勾选：只有主诊断符合适应症才不算违规"),
    "max_per_day": ("每日最大数量", "替换知识库中这些项目的每日限量（时间窗口须为自然日）"),
    "max_per_visit": ("每次就诊最大数量", "替换知识库中的每次住院限量（时间窗口须为当次就诊）"),
    "max_times": ("最多次数", "替换知识库中这些项目的频次限制（须同时给出限定项目编码）"),
    "max_sessions": ("疗程最多次数", "替换知识库中的疗程次数（须同时给出限定项目编码）"),
    "max_days": ("疗程最多天数", "替换知识库中的疗程天数（须同时给出限定项目编码）"),
    "units": ("计量单位", "计入的收费单位；留空：自然日窗口为 小时，当次就诊窗口为 日、天、床日"),
    "types": ("关系类型", "审核哪些项目关系"),
    "mode": ("分解方式", ""),
}
CHOICE_WORDS: dict[str, dict[str, str]] = {
    "types": {"exclusive": "互斥项目", "inclusive": "包含项目"},
    "mode": {
        "both": "两种都审核",
        "with_package": "组成项目与打包项目同时收费",
        "instead": "以组成项目代替打包项目收费",
    },
}
#: form field → Chinese name (error summaries)
FIELD_WORDS: dict[str, str] = {
    "rule_id": "规则编码",
    "name": "规则名称",
    "family": "规则族",
    "stages": "审核阶段",
    "trig_scen": "触发场景",
    "window": "时间窗口",
    "result_type": "结果类型",
    "sev_deg": "严重程度",
    "enabled": "启用",
    "valid_from": "生效日期",
    "valid_to": "失效日期",
    "params": "参数",
} | {f"params.{k}": v[0] for k, v in PARAM_WORDS.items()}
#: trig_scen codes (domain.md §4.2: 1–5 事前, 6–10 事中)
TRIG_SCEN: dict[int, str] = {
    1: "门诊挂号",
    2: "门诊收费登记",
    3: "住院登记",
    4: "住院收费登记",
    5: "住院执行医嘱",
    6: "门诊结算",
    7: "门诊预结算",
    8: "住院结算",
    9: "住院预结算",
    10: "购药划卡",
}
_SPLIT = re.compile(r"[、,，;；\s]+")


@dataclass(frozen=True)
class ParamField:
    """One parameter of a family as the form shows it."""

    name: str
    label: str
    help: str
    widget: Literal["check", "select", "checks", "list", "int", "decimal"]
    choices: dict[str, str] = field(default_factory=dict)
    default: Any = None
    minimum: Any = None
    maximum: Any = None

    @property
    def input_name(self) -> str:
        return f"p_{self.name}"

    def shown(self, params: dict[str, Any]) -> Any:
        """The value to show for ``params`` (stored or posted): a list joined with 、."""
        value = params.get(self.name, self.default)
        if self.widget == "list":
            return "、".join(value or ())
        if self.widget == "checks":
            return list(value or ())
        return "" if value is None else value


def _strip(annotation: Any) -> tuple[Any, list[Any]]:
    """The type under ``X | None`` and ``Annotated[X, …]``, with the metadata."""
    meta: list[Any] = []
    while True:
        origin = get_origin(annotation)
        if origin in (Union, types.UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        elif origin is Annotated:
            annotation, *more = get_args(annotation)
            meta.extend(more)
        else:
            return annotation, meta


def _bounds(meta: list[Any]) -> tuple[Any, Any]:
    low = high = None
    for m in meta:
        for item in getattr(m, "metadata", [m]):
            for name in ("ge", "gt"):
                low = getattr(item, name) if getattr(item, name, None) is not None else low
            for name in ("le", "lt"):
                high = getattr(item, name) if getattr(item, name, None) is not None else high
    return low, high


def _field(name: str, info: FieldInfo) -> ParamField:
    kind, meta = _strip(info.annotation)
    low, high = _bounds([info, *meta])
    label, hint = PARAM_WORDS.get(name, (name, info.description or ""))
    default = info.default if info.default is not None else None
    if kind is bool:
        return ParamField(name, label, hint, "check", default=bool(default))
    if get_origin(kind) is Literal:
        choices = {str(c): CHOICE_WORDS.get(name, {}).get(str(c), str(c)) for c in get_args(kind)}
        return ParamField(name, label, hint, "select", choices, default=default)
    if get_origin(kind) is tuple:
        inner, _ = _strip(get_args(kind)[0])
        if get_origin(inner) is Literal:
            words_ = CHOICE_WORDS.get(name, {})
            choices = {str(c): words_.get(str(c), str(c)) for c in get_args(inner)}
            return ParamField(name, label, hint, "checks", choices, default=default)
        return ParamField(name, label, hint, "list", default=default)
    widget: Literal["int", "decimal"] = "int" if kind is int else "decimal"
    return ParamField(name, label, hint, widget, default=default, minimum=low, maximum=high)


def param_fields(family: str) -> list[ParamField]:
    """The parameter fields of ``family`` in the model's order (none for an unknown one)."""
    info = FAMILIES.get(family)
    if info is None:
        return []
    return [_field(name, f) for name, f in info.params.model_fields.items()]


def family_choices() -> dict[str, str]:
    return {key: f"{info.name}（{key}）" for key, info in FAMILIES.items()}


def windows_of(family: str) -> dict[str, str]:
    info = FAMILIES.get(family)
    keys = info.windows if info else tuple(WINDOWS)
    return {k: WINDOWS[k] for k in keys}


def stored_values(rule: StoredRule) -> dict[str, Any]:
    """A stored rule as the form shows it."""
    data = rule.data()
    return {
        **data,
        "valid_from": data["valid_from"].isoformat() if data["valid_from"] else "",
        "valid_to": data["valid_to"].isoformat() if data["valid_to"] else "",
    }


def blank_values(family: str) -> dict[str, Any]:
    return {
        "rule_id": "",
        "name": "",
        "family": family,
        "params": {},
        "stages": ["mid", "post"],
        "trig_scen": [],
        "window": next(iter(windows_of(family))),
        "result_type": "suspicious",
        "sev_deg": 2,
        "enabled": True,
        "valid_from": "",
        "valid_to": "",
    }


@dataclass
class PostedRule:
    """What a rule form sent: the values to show again, the API data when it reads,
    and the errors by field."""

    values: dict[str, Any]
    data: RuleIn | None
    errors: dict[str, str]


# long: the common fields, then the family's own parameters, each checked where it is read
def read_rule_form(form: FormData) -> PostedRule:
    """The posted rule form as :class:`RuleIn` (errors per field, Chinese)."""
    errors: dict[str, str] = {}
    family = text(form, "family")
    params: dict[str, Any] = {}
    shown_params: dict[str, Any] = {}
    for f in param_fields(family):
        raw = form.getlist(f.input_name)
        one = text(form, f.input_name)
        key = f"params.{f.name}"
        if f.widget == "check":
            value: Any = one in ("on", "1", "true")
            shown_params[f.name] = value
            if value != bool(f.default):
                params[f.name] = value
        elif f.widget == "checks":
            picked = [v for v in raw if isinstance(v, str) and v in f.choices]
            shown_params[f.name] = picked
            if not picked:
                errors[key] = f"{f.label}：请至少选择一项"
            elif tuple(picked) != tuple(f.default or ()):
                params[f.name] = picked
        elif f.widget == "list":
            items = [v for v in _SPLIT.split(one) if v]
            shown_params[f.name] = items
            if items:
                params[f.name] = items
        elif f.widget == "select":
            shown_params[f.name] = one
            if one and one not in f.choices:
                errors[key] = f"{f.label}：须为 {'、'.join(f.choices.values())} 之一"
            elif one and one != f.default:
                params[f.name] = one
        else:
            shown_params[f.name] = one
            if one:
                number, problem = _number(one, f)
                if problem:
                    errors[key] = problem
                else:
                    params[f.name] = number
    stages = [v for v in form.getlist("stages") if isinstance(v, str)]
    trig: list[int] = []
    for v in form.getlist("trig_scen"):
        if isinstance(v, str) and v.isdigit() and 1 <= int(v) <= 10:
            trig.append(int(v))
        else:
            errors["trig_scen"] = "触发场景：须为 1–10"
    sev = text(form, "sev_deg")
    values: dict[str, Any] = {
        "rule_id": text(form, "rule_id"),
        "name": text(form, "name"),
        "family": family,
        "params": shown_params,
        "stages": stages,
        "trig_scen": trig,
        "window": text(form, "window"),
        "result_type": text(form, "result_type"),
        "sev_deg": int(sev) if sev.isdigit() else sev,
        "enabled": text(form, "enabled") in ("on", "1", "true"),
        "valid_from": text(form, "valid_from"),
        "valid_to": text(form, "valid_to"),
    }
    if family not in FAMILIES:
        errors["family"] = "规则族：请选择一个规则族"
    if not stages:
        errors["stages"] = "审核阶段：请至少选择一个"
    elif any(s not in STAGES for s in stages):
        errors["stages"] = f"审核阶段：须为 {'、'.join(STAGES.values())}"
    if values["result_type"] not in RESULT_TYPES:
        errors["result_type"] = "结果类型：请选择可疑或明确"
    if values["sev_deg"] not in SEVERITIES:
        errors["sev_deg"] = "严重程度：请选择提示、警告或严重"
    if errors:
        return PostedRule(values, None, errors)
    try:
        data = RuleIn.model_validate(
            {
                **{k: v for k, v in values.items() if k not in ("valid_from", "valid_to")},
                "params": params,
                "valid_from": values["valid_from"] or None,
                "valid_to": values["valid_to"] or None,
            }
        )
    except ValidationError as exc:
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "form"
            label = FIELD_WORDS.get(name, name)
            if err["type"] in ("missing", "string_too_short"):
                errors.setdefault(name, f"{label}：不能为空")
            else:
                errors.setdefault(name, f"{label}：{words(err)}")
        return PostedRule(values, None, errors)
    return PostedRule(values, data, errors)


def _number(raw: str, f: ParamField) -> tuple[Any, str]:
    """The number typed into a parameter field (a Decimal as its plain text, as the
    JSON stores it), or the Chinese error."""
    kind = "整数" if f.widget == "int" else "数字"
    try:
        value: Any = int(raw) if f.widget == "int" else Decimal(raw)
    except (ValueError, InvalidOperation):
        return None, f"{f.label}：须为{kind}（收到 {raw[:20]}）"
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None, f"{f.label}：须为{kind}（收到 {raw[:20]}）"
        return f"{value.normalize():f}", ""
    return value, ""


_HEAD = re.compile(r"^规则 [^：]*（第 [^：]* 版）：")
_NAMED = re.compile(r"^(字段 )?[a-z_][a-z0-9_.\[\]]*：")


def service_error(message: str, path: str | None) -> tuple[str, str]:
    """A service's error on a rule as (form field, message next to it): the rule's head
    and the machine path are replaced by the field's Chinese name."""
    key = re.sub(r"\[\d+\]$", "", (path or "form").removeprefix("rules."))
    key = key if key in FIELD_WORDS else ("params" if key.startswith("params") else key)
    body = _NAMED.sub("", _HEAD.sub("", message))
    label = FIELD_WORDS.get(key)
    return key, f"{label}：{body}" if label else body
