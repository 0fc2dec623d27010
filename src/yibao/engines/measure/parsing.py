"""Validation of measurement parameters into one Chinese error (:func:`parse_params`)
and the Chinese message of each Pydantic error (:func:`explain`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

from yibao.engines.measure.errors import MeasureError

_P = TypeVar("_P", bound=BaseModel)


_MESSAGES: Final[dict[str, str]] = {
    "missing": "缺少必填项",
    "extra_forbidden": "不是可识别的参数",
    "int_parsing": "必须是整数",
    "int_type": "必须是整数",
    "int_from_float": "必须是整数",
    "decimal_parsing": "必须是数字",
    "decimal_type": "必须是数字",
    "float_parsing": "必须是数字",
    "bool_parsing": "必须是 true 或 false",
    "bool_type": "必须是 true 或 false",
    "string_type": "必须是文本",
    "tuple_type": "必须是列表",
    "list_type": "必须是列表",
    "dict_type": "必须是键值对象",
    "model_type": "必须是对象",
    "model_attributes_type": "必须是对象",
    "finite_number": "必须是有限的数字（不能是 NaN 或无穷大）",
    "float_type": "必须是数字",
    "greater_than": "必须大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than": "必须小于 {lt}",
    "less_than_equal": "不能大于 {le}",
    "multiple_of": "必须是 {multiple_of} 的整数倍",
    "decimal_max_digits": "数字位数过多（最多 {max_digits} 位）",
    "decimal_max_places": "小数位数过多（最多 {decimal_places} 位）",
    "decimal_whole_digits": "整数部分位数过多（最多 {whole_digits} 位）",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "date_parsing": "必须是日期（yyyy-MM-dd）",
    "date_type": "必须是日期（yyyy-MM-dd）",
    "date_from_datetime_parsing": "必须是日期（yyyy-MM-dd）",
    "date_from_datetime_inexact": "必须是日期（yyyy-MM-dd，不带时刻）",
    "datetime_parsing": "必须是日期时间（yyyy-MM-dd HH:mm:ss）",
    "datetime_type": "必须是日期时间（yyyy-MM-dd HH:mm:ss）",
    "json_invalid": "不是有效的 JSON",
    "json_type": "必须是 JSON 文本",
}
#: an error type without a Chinese message above
_UNKNOWN: Final = "取值不正确"


def _text(kind: str, ctx: Mapping[str, Any]) -> str:
    """The Chinese rule of a Pydantic error type, its limits filled in."""
    template = _MESSAGES.get(kind, _UNKNOWN)
    try:
        return template.format(**ctx)
    except (KeyError, IndexError, ValueError):
        return template.split("{", 1)[0].rstrip() or _UNKNOWN


def explain(exc: ValidationError, model: str) -> list[str]:
    """Chinese messages ``<model>.<field>：<rule>`` for every error in ``exc``."""
    out: list[str] = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        where = ".".join((model, *loc))
        kind = err["type"]
        if kind == "value_error":  # our rules: the message names the field itself
            text = str(err.get("ctx", {}).get("error", err["msg"]))
            if not loc or text.startswith(loc[-1]):
                out.append(".".join((model, *loc[:-1], text)))
                continue
        elif kind == "literal_error":
            expected = str(err.get("ctx", {}).get("expected", "")).replace(" or ", "、")
            text = f"取值必须是 {expected} 之一"
        else:
            text = _text(kind, err.get("ctx") or {})
        received = err.get("input")
        if kind not in ("missing", "value_error") and not isinstance(received, Mapping):
            text += f"（收到 {received!r}）"
        out.append(f"{where}：{text}")
    return out


def parse_params(model: type[_P], data: Mapping[str, Any] | str | bytes) -> _P:
    """Build ``model`` from a mapping or JSON text; every problem → :class:`MeasureError`.

    >>> parse_params(TrimParams, {"method": "iqr", "iqr_upper_k": "2"}).iqr_upper_k
    Decimal('2')
    """
    try:
        if isinstance(data, str | bytes):
            return model.model_validate_json(data)
        return model.model_validate(dict(data))
    except ValidationError as exc:
        problems = explain(exc, model.__name__)
        first = exc.errors()[0]["loc"]
        field = ".".join(str(p) for p in first) if first else None
        raise MeasureError("；".join(problems), field=field, problems=problems) from None
