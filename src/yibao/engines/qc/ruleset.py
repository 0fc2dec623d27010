"""QC rule sets as versioned data (``rulesets/*.json``).

A rule set has a code, a version, validity dates and a status; each rule an id
(``QC001`` …), a Chinese name, a kind, a severity, an ``enabled`` flag, the
*check primitive* it uses (:data:`~yibao.engines.qc.checks.PRIMITIVES`) and that
primitive's parameters.  Thresholds, value domains, code-list names and prefixes
all live in the file; the code only holds the generic primitives.

:func:`load_ruleset` validates a file completely and raises :class:`RuleSetError`
with a Chinese message naming the place (``rules[7]（QC008）.params.fields[0]``).
Plan-dependent parameters (code-list names) are checked when the rule set is
compiled against a plan (:func:`yibao.engines.qc.engine.compile_rules`).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from yibao.engines.qc.checks import PRIMITIVES, Params
from yibao.engines.qc.findings import Severity
from yibao.kit import jsonerrors
from yibao.kit.errors import DomainError

RULESET_FORMAT: Final = "yibao-qc-ruleset"
RULESET_FORMAT_VERSION: Final = 1
RULESETS_DIR: Final = Path(__file__).resolve().parent / "rulesets"
DEFAULT_RULESET: Final = RULESETS_DIR / "default.json"

RuleKind = Literal[
    "completeness", "domain", "format", "range", "code_validity", "temporal", "logic", "coding"
]
KIND_LABELS: Final[dict[str, str]] = {
    "completeness": "完整性",
    "domain": "值域",
    "format": "格式",
    "range": "范围",
    "code_validity": "编码有效性",
    "temporal": "时间",
    "logic": "逻辑",
    "coding": "编码规则",
    "structure": "报文结构",
    "internal": "内部错误",
}
_ID = re.compile(r"QC\d{3}")

_MESSAGES: Final[dict[str, str]] = {
    "missing": "缺少此项",
    "extra_forbidden": "未知的项",
    "string_type": "应为文本",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "dict_type": "应为 JSON 对象",
    "list_type": "应为 JSON 数组",
    "tuple_type": "应为 JSON 数组",
    "decimal_type": "应为数字",
    "decimal_parsing": "应为数字",
    "date_type": "应为 YYYY-MM-DD 日期",
    "date_from_datetime_parsing": "应为 YYYY-MM-DD 日期",
    "date_parsing": "应为 YYYY-MM-DD 日期",
    "too_short": "项数不足",
    "too_long": "项数过多",
}


class RuleSetError(DomainError, ValueError):
    """A rule-set file or object is invalid; ``where`` names the place."""

    code = "qc_ruleset_invalid"
    http_status = 422

    def __init__(self, message: str, where: str) -> None:
        super().__init__(message, field=where)
        self.where = where


class Rule(BaseModel):
    """One QC rule: a primitive (``check``) with parameters, a severity and texts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str
    kind: RuleKind
    check: str
    severity: Severity
    enabled: bool = True
    params: dict[str, Any] = Field(default_factory=dict)
    advice: str = ""
    source: str = ""

    def parsed_params(self) -> Params:
        """The parameters validated by the primitive's model (raises ``ValidationError``)."""
        return PRIMITIVES[self.check].params.model_validate(self.params)


class RuleSet(BaseModel):
    """A versioned set of QC rules (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["yibao-qc-ruleset"] = RULESET_FORMAT
    format_version: Literal[1] = RULESET_FORMAT_VERSION
    code: str
    version: str
    title: str
    status: Literal["draft", "published", "retired"] = "published"
    valid_from: date | None = None
    valid_to: date | None = None
    description: str = ""
    rules: tuple[Rule, ...]

    def valid_on(self, day: date) -> bool:
        """True when ``day`` lies in [valid_from, valid_to] (open ends allowed)."""
        if self.valid_from is not None and day < self.valid_from:
            return False
        return self.valid_to is None or day <= self.valid_to

    def rule(self, rule_id: str) -> Rule:
        """The rule ``rule_id`` (``KeyError`` when absent)."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def with_rule(self, rule_id: str, **changes: Any) -> RuleSet:
        """A copy with one rule changed (``enabled=False``, ``params={...}`` …), re-validated."""
        rules = [r.model_copy(update=changes) if r.id == rule_id else r for r in self.rules]
        if all(r.id != rule_id for r in self.rules):
            raise KeyError(rule_id)
        data = self.model_dump(mode="json")
        data["rules"] = [r.model_dump(mode="json") for r in rules]
        return parse_ruleset(data)


def load_ruleset(path: Path | str) -> RuleSet:
    """Read and validate a rule-set JSON file; :class:`RuleSetError` names any problem."""
    file = Path(path)
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RuleSetError(f"无法读取规则集文件 {file}：{exc.strerror}", str(file)) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RuleSetError(
            f"规则集文件 {file} 不是有效的 JSON（{jsonerrors.describe(exc)}）", str(file)
        ) from None
    return parse_ruleset(raw, source=file.name)


@functools.cache
def default_ruleset() -> RuleSet:
    """The rule set shipped with the package (``rulesets/default.json``), cached."""
    return load_ruleset(DEFAULT_RULESET)


def parse_ruleset(raw: Any, source: str = "规则集") -> RuleSet:
    """Validate a rule set given as a JSON-like object (see :func:`load_ruleset`)."""
    if not isinstance(raw, Mapping):
        raise RuleSetError(f"{source}：顶层应为 JSON 对象", "$")
    name = f"{source}（{raw.get('code', '?')} {raw.get('version', '?')}）"
    rules_raw = raw.get("rules")
    if not isinstance(rules_raw, list):
        raise RuleSetError(f"{name}：rules 应为 JSON 数组", "rules")
    rules = [_rule(name, i, item) for i, item in enumerate(rules_raw)]
    seen: dict[str, int] = {}
    for i, rule in enumerate(rules):
        if rule.id in seen:
            where = f"rules[{i}].id"
            raise RuleSetError(
                f"{name}：{where}：规则编号 {rule.id} 与 rules[{seen[rule.id]}] 重复", where
            )
        seen[rule.id] = i
    head = {k: v for k, v in raw.items() if k != "rules"}
    try:
        ruleset = RuleSet.model_validate({**head, "rules": rules})
    except ValidationError as exc:
        where, text = explain(exc)[0]
        raise RuleSetError(f"{name}：{where or '$'}：{text}", where or "$") from None
    if ruleset.valid_from and ruleset.valid_to and ruleset.valid_to < ruleset.valid_from:
        raise RuleSetError(f"{name}：valid_to 早于 valid_from", "valid_to")
    return ruleset


def _rule(name: str, i: int, item: Any) -> Rule:
    place = f"rules[{i}]"
    if not isinstance(item, Mapping):
        raise RuleSetError(f"{name}：{place}：应为 JSON 对象", place)
    rule_id = item.get("id")
    if isinstance(rule_id, str):
        place = f"rules[{i}]（{rule_id}）"
        if not _ID.fullmatch(rule_id):
            raise RuleSetError(
                f"{name}：{place}.id：规则编号 {rule_id!r} 无效（应为 QC + 三位数字，如 QC001）",
                f"rules[{i}].id",
            )
    check = item.get("check")
    if isinstance(check, str) and check not in PRIMITIVES:
        known = "、".join(sorted(PRIMITIVES))
        raise RuleSetError(
            f"{name}：{place}.check：未知的检查 {check!r}（可用：{known}）", f"rules[{i}].check"
        )
    try:
        rule = Rule.model_validate(item)
        rule.parsed_params()
    except ValidationError as exc:
        where, text = explain(exc)[0]
        prefix = "" if exc.title == "Rule" else ("params." if where else "params")
        raise RuleSetError(
            f"{name}：{place}.{prefix}{where}：{text}", f"rules[{i}].{prefix}{where}"
        ) from None
    return rule


def explain(exc: ValidationError) -> list[tuple[str, str]]:
    """(place, Chinese text) for each error of a Pydantic validation."""
    out = []
    for err in exc.errors():
        where = ""
        for part in err["loc"]:
            if isinstance(part, int):
                where += f"[{part}]"
            elif part != "[key]":
                name = f"['{part}']" if "." in part else (f".{part}" if where else part)
                where += name
        kind = err["type"]
        if kind == "value_error":
            text = str(err.get("ctx", {}).get("error", err["msg"]))
        elif kind == "literal_error":
            expected = str(err.get("ctx", {}).get("expected", "")).replace(" or ", " 或 ")
            text = f"取值须为 {expected}"
        else:
            text = _MESSAGES.get(kind, err["msg"])
        if kind not in ("missing", "value_error", "extra_forbidden"):
            text += f"（收到 {err.get('input')!r}）"
        out.append((where, text))
    return out
