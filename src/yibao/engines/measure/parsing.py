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
}


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
            text = f"取值必须是 {err.get('ctx', {}).get('expected', '')}"
        else:
            text = _MESSAGES.get(kind, err["msg"])
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
