"""Reading the fields of one case: code splitting, integers, sex, input-check texts.

The batch path (:mod:`yibao.engines.grouper.batch`) applies the same rules with
Polars expressions; the parity tests keep the two in step.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

_INT_RE: Final = re.compile(r"-?[0-9]+")
INT_PATTERN: Final = r"^-?[0-9]+$"

CHECK_TRACE_CODES: Final[Mapping[str, str]] = {
    "dx_codes_mapped": "CHECK_DX_MAPPED",
    "proc_codes_mapped": "CHECK_PROC_MAPPED",
    "sex_valid": "CHECK_SEX",
    "age_years_present": "CHECK_AGE_YEARS",
    "age_days_present_if_age_0": "CHECK_AGE_DAYS",
    "birth_weight_present_if_newborn": "CHECK_BIRTH_WEIGHT",
    "dx_list_not_empty": "CHECK_DX_LIST",
    "los_days_present": "CHECK_LOS_DAYS",
    "icu_hours_present": "CHECK_ICU_HOURS",
}


def getter(case: Any) -> Callable[[str], Any]:
    """A ``get(field)`` for a mapping or an object with attributes (missing → ``None``)."""
    if isinstance(case, Mapping):
        return case.get
    return lambda name: getattr(case, name, None)


def split_codes(value: Any, separators: tuple[str, ...], *, empty_is_none: bool) -> list[str]:
    """Split a code field at every separator; lists and tuples are taken as given.

    ``None`` counts as an empty field.  An empty field is no code at all when
    ``empty_is_none`` (procedures) and one empty code otherwise (diagnoses).
    Nothing is trimmed: ``"A||B"`` gives an empty middle code.
    """
    if value is None:
        value = ""
    if isinstance(value, str):
        text: str = value
        if not text and empty_is_none:
            return []
        first = separators[0]
        for sep in separators[1:]:
            text = text.replace(sep, first)
        return text.split(first)
    return [str(v) for v in value]


def as_int(value: Any) -> int | None:
    """An integer field: ints, integral floats and strings of digits; otherwise ``None``."""
    if type(value) is int:
        return value
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return int(value) if _INT_RE.fullmatch(value) else None
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    try:
        return operator.index(value)
    except TypeError:
        return None


def as_sex(value: Any, valid: tuple[int, ...]) -> int | None:
    """The sex code if it is one of ``valid`` (given as int, integral float or exact string)."""
    if isinstance(value, str):
        return int(value) if value in {str(v) for v in valid} else None
    number = as_int(value)
    return number if number in valid else None


def as_text(value: Any) -> str:
    """A text field (``field_in``): the text itself, other values as ``str``, missing → ``""``."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def plan_sex(value: Any, valid: tuple[int, ...], accepted: tuple[str, ...] | None) -> int | None:
    """The sex code under the plan's ``sex_valid`` check.

    With ``accepted`` (the text-only check of some regional plans) only those exact
    texts pass; otherwise :func:`as_sex`.
    """
    if accepted is None:
        return as_sex(value, valid)
    return int(value) if isinstance(value, str) and value in accepted else None


def shown(value: Any) -> str:
    """A case value as a person reads it in a message: 未填写, or the value quoted."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "未填写"
    return f"“{value}”"


def check_message(check: str, *, value: Any = None, newborn_days: int = 28) -> str:
    """Chinese message for a failed input check."""
    texts = {
        "dx_codes_mapped": f'诊断编码 "{value}" 不在诊断映射表中，不能转换为分组器编码',
        "proc_codes_mapped": f'手术操作编码 "{value}" 不在手术操作映射表中，不能转换为分组器编码',
        "sex_valid": f"性别缺失或无效（{shown(value)}），应为 1（男）或 2（女）",
        "age_years_present": f"年龄（岁）缺失或不是整数（{shown(value)}）",
        "age_days_present_if_age_0": "年龄为 0 岁时须填写日龄（天），日龄缺失或不是整数",
        "birth_weight_present_if_newborn": f"日龄 ≤ {newborn_days} 天的新生儿须填写出生体重（克）",
        "dx_list_not_empty": "诊断列表为空",
        "los_days_present": (
            f"住院天数缺失或不是整数（{shown(value)}）：本分组方案按住院天数分组，须填写"
        ),
        "icu_hours_present": (
            f"重症监护时长（小时）缺失或不是整数（{shown(value)}）：本分组方案按重症监护时长分组，"
            "须填写（没有重症监护填 0）"
        ),
    }
    return texts[check]
