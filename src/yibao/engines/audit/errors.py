"""The audit engine's one error: bad knowledge, rules, claims or frames."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Any

from pydantic import ValidationError


class AuditError(ValueError):
    """Input the audit engine cannot use; ``message`` is Chinese and names the field,
    ``field`` is the machine path of it (``rules[3].params.codes``)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def explain(
    exc: ValidationError, head: str, root: str = "", tags: Collection[str] = ()
) -> AuditError:
    """A pydantic error as an :class:`AuditError`: ``head：字段 <path>：<words>`` for
    the first (up to three) problems, the field path of the first.  ``tags``: union
    tags to leave out of the path."""
    parts: list[str] = []
    first: str | None = None
    for err in exc.errors()[:3]:
        path = _path([p for p in err["loc"] if p not in tags], root)
        text = words(err)
        named = re.match(r"^([a-z_][a-z0-9_.\[\]]*)：", text)
        first = first or path or (named.group(1) if named else None)
        parts.append(f"字段 {path}：{text}" if path else text)
    return AuditError(f"{head}：" + "；".join(parts), field=first)


def _path(loc: Sequence[int | str], root: str) -> str:
    out = root
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not part.startswith(("function-", "tagged-union")) and "[" not in part:
            out = f"{out}.{part}" if out else part
    return out


def words(err: Any) -> str:
    """One pydantic error in Chinese."""
    kind = str(err.get("type", ""))
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    if kind == "value_error":
        return msg
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return "kind 取值不合规定"
    if kind == "extra_forbidden":
        return "有不认识的字段"
    if kind == "missing":
        return "缺少必填字段"
    if "pattern" in kind:
        return "格式不合规定"
    if kind.startswith(("too_short", "too_long")):
        return "条目数不合规定"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        limit = err.get("ctx", {})
        return f"超出允许范围（{_bound(kind)} {next(iter(limit.values()), '')}）"
    if kind.startswith(("int_", "decimal_", "float_")):
        return "须为数字"
    if kind.startswith(("date_",)):
        return "须为日期（YYYY-MM-DD）"
    if kind.startswith(("bool_",)):
        return "须为 true 或 false"
    if kind.startswith("string_"):
        return "须为文本"
    return "取值不合规定"


def _bound(kind: str) -> str:
    return {
        "greater_than": "须大于",
        "greater_than_equal": "须不小于",
        "less_than": "须小于",
        "less_than_equal": "须不大于",
    }[kind]
