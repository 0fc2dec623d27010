"""Reading what HIS systems really send (issue 12 item 6, ADR 0015).

A message is loosened towards its model before the model validates it, and every
liberty taken becomes a warning (``warn_msg``):

* a whole number where text is expected is read as that text (``440300`` → ``"440300"``);
* numeric text where a number is expected is read as the number (``"12.50"`` → 12.50);
* surrounding blanks are removed; an empty or blank string, like ``null``, means absent
  (no warning: the spec's clients do it everywhere);
* a key in other letter case (``SignIn`` for ``signIn``) is read as the model's key;
* an object where an array of objects is expected is read as an array of one;
* a time or a date in another unambiguous layout (``yyyyMMddHHmmss``, ``yyyyMMdd``,
  ``yyyy/MM/dd HH:mm:ss`` …, :func:`_moment`) is read as that time; a date field
  sent a time keeps its day;
* keys the model does not define are ignored.

Anything else that does not fit — a decimal or ``true`` where text is expected, text
that is no number, a required field that is absent, text over its length, digits
where a time is expected in none of those layouts (never read as seconds since 1970)
— is refused with :class:`Refused`, whose message is Chinese first and names the
field.
"""

from __future__ import annotations

import functools
import re
import types
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class Refused(Exception):
    """A message, or one field of it, that cannot be read: answered with infcode −1,
    nothing done.  ``message`` is Chinese first and names the field."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


#: field name → what a HIS developer reads in the spec (Chinese first in every message)
LABELS: dict[str, str] = {
    "infno": "交易编号",
    "msgid": "发送方报文ID",
    "mdtrtarea_admvs": "就医地医保区划",
    "insuplc_admdvs": "参保地医保区划",
    "recer_sys_code": "接收方系统代码",
    "dev_no": "设备编号",
    "dev_safe_info": "设备安全信息",
    "cainfo": "数字签名信息",
    "signtype": "签名类型",
    "infver": "接口版本号",
    "opter_type": "经办人类别",
    "opter": "经办人",
    "opter_name": "经办人姓名",
    "inf_time": "交易时间",
    "fixmedins_code": "定点医药机构编号",
    "fixmedins_name": "定点医药机构名称",
    "sign_no": "交易签到流水号",
    "input": "交易输入",
    "message": "整条报文",
    "signIn": "签到信息",
    "signOut": "签退信息",
    "opter_no": "操作员编号",
    "mac": "MAC 地址",
    "ip": "IP 地址",
    "setlinfo": "结算清单信息",
    "payinfo": "基金支付信息",
    "opspdiseinfo": "门诊慢特病诊断信息",
    "diseinfo": "诊断信息",
    "iteminfo": "收费项目信息",
    "oprninfo": "手术操作信息",
    "icuinfo": "重症监护信息",
    "bldinfo": "输血信息",
    # 3101 / 3102 / 3103 明细审核（ADR 0023）
    "data": "交易数据",
    "patient_dtos": "参保人信息",
    "patn_id": "参保人标识",
    "gend": "性别",
    "brdy": "出生日期",
    "curr_mdtrt_id": "当前就诊标识",
    "fsi_encounter_dtos": "就诊信息",
    "adm_date": "入院日期",
    "dscg_date": "出院日期",
    "med_mdtrt_type": "就诊类型",
    "fsi_diagnose_dtos": "诊断信息",
    "dise_codg": "诊断编码",
    "fsi_order_dtos": "处方（医嘱）信息",
    "fsi_operation_dtos": "手术操作信息",
    "rx_id": "处方（医嘱）标识",
    "feedetail": "费用明细",
    "mdtrtinfo": "就诊信息",
    "dscginfo": "出院信息",
    "adminfo": "入院信息",
    "hilist_code": "医保目录代码",
    "cnt": "数量",
    "pric": "单价",
    "sumamt": "总费用",
    "drord_begn_date": "医嘱开始日期",
    "prd_days": "用药周期天数",
    "rule_ids": "规则标识集合",
    "trig_scen": "触发场景",
    "warn_type": "反馈类型",
    "warns": "处理数据",
    "warn_rslt_id": "违规标识",
    "dspo_way": "处理方式",
    "dspo_way_rea": "处理原因",
}

#: pydantic error type → the rule in Chinese ({…} filled from the error's context)
RULES: dict[str, str] = {
    "missing": "必填",
    "string_type": "应为文本",
    "string_too_short": "长度不能少于 {min_length} 个字符",
    "string_too_long": "长度不能超过 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "decimal_type": "应为数字",
    "decimal_parsing": "应为数字",
    "decimal_max_digits": "数字位数过多（最多 {max_digits} 位）",
    "decimal_max_places": "小数位数过多（最多 {decimal_places} 位）",
    "decimal_whole_digits": "数值过大（整数部分最多 {whole_digits} 位）",
    "finite_number": "应为有限数字",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "date_type": "应为日期（yyyy-MM-dd）",
    "date_parsing": "应为日期（yyyy-MM-dd）",
    "date_from_datetime_parsing": "应为日期（yyyy-MM-dd）",
    "date_from_datetime_inexact": "应为日期（yyyy-MM-dd，不带时刻）",
    "datetime_type": "应为日期时间（yyyy-MM-dd HH:mm:ss）",
    "datetime_parsing": "应为日期时间（yyyy-MM-dd HH:mm:ss）",
    "datetime_from_date_parsing": "应为日期时间（yyyy-MM-dd HH:mm:ss）",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "dict_type": "应为 JSON 对象",
    "model_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "list_type": "应为数组",
    "too_long": "最多 {max_length} 项",
    "too_short": "至少 {min_length} 项",
    "literal_error": "取值应为 {expected} 之一",
    "value_error": "{error}",
}


def label(path: str, described: str | None = None) -> str:
    """``交易编号（infno）`` for a field path: the name of :data:`LABELS`, else
    ``described`` (the model field's Chinese description, :func:`short_name`); the
    path alone when it has neither."""
    last = path.rsplit(".", 1)[-1].split("[", 1)[0]
    name = LABELS.get(last) or described
    return f"{name}（{path}）" if name else path


def short_name(description: str | None) -> str | None:
    """A field's Chinese name: its description up to the first explanation
    (``医疗费总额（须等于…）`` → ``医疗费总额``)."""
    if not description:
        return None
    name = re.split(r"[（(：:，,；;]", description, maxsplit=1)[0].strip()
    return name or None


def _described(model: Any, loc: Any) -> str | None:
    """The Chinese name of the field at ``loc`` (a pydantic error location) in
    ``model``, if its description gives one."""
    name: str | None = None
    for part in loc:
        if isinstance(part, int):
            continue
        if not _is_model(model) or part not in model.model_fields:
            return None
        info = model.model_fields[part]
        name = short_name(info.description)
        model = _kind(info.annotation)[1]
    return name


def _unwrap(annotation: Any) -> Any:
    """The type inside ``Annotated[…]`` and ``X | None``."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    return annotation


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _kind(annotation: Any) -> tuple[str, Any]:
    tp = _unwrap(annotation)
    if tp is str:
        return "text", tp
    if tp is int:
        return "int", tp
    if tp in (Decimal, float):
        return "number", tp
    if tp in (datetime, date):
        return "time", tp
    if _is_model(tp):
        return "model", tp
    if get_origin(tp) is list:
        inner = _unwrap(get_args(tp)[0]) if get_args(tp) else Any
        return "list", inner
    return "other", tp


@functools.cache
def _plan(
    model: type[BaseModel],
) -> tuple[dict[str, tuple[str, Any, str | None]], dict[str, str]]:
    """Each field's kind and type (:func:`_kind`) and Chinese name (:func:`short_name`),
    and the field names by lower case, worked out once per model (a busy route reads
    thousands of messages a second)."""
    fields = model.model_fields
    kinds = {name: (*_kind(f.annotation), short_name(f.description)) for name, f in fields.items()}
    return kinds, {name.lower(): name for name in fields}


def loosen(model: type[BaseModel], data: Any, path: str, warnings: list[str]) -> Any:
    """``data`` brought as near to ``model`` as can be done unambiguously (see the
    module docstring); what still does not fit is left for the model to refuse.

    A value that already fits — text without surrounding blanks where text is
    expected, a number where a number is, any other non-blank value where the model
    reads it itself (dates) — is taken as it is without building its path: a busy
    route reads a hundred such values per message."""
    if not isinstance(data, dict):
        return data
    fields, by_lower = _plan(model)
    out: dict[str, Any] = {}
    ignored: list[str] = []
    for key, value in data.items():
        plan = fields.get(key)
        if plan is not None:
            name = key
            if value is None:
                continue
            kind = plan[0]
            kt = type(value)
            if kt is str:
                fits = value and not value[0].isspace() and not value[-1].isspace()
                if fits and kind in ("text", "other"):
                    out[name] = value
                    continue
                if fits and kind == "time" and _iso(value, plan[1]):
                    out[name] = value
                    continue
            elif kind in _AS_SENT and kt in _AS_SENT[kind]:
                out[name] = value
                continue
        else:
            name = by_lower.get(str(key).lower())
            if name is None or name in data:
                ignored.append(str(key))
                continue
        where = f"{path}.{name}" if path else name
        if name != key:
            warnings.append(
                f"{label(where, fields[name][2])}：字段名应为 {name}，已将 {key} 按 {name} 读取"
            )
        loose = _loosen_value(fields[name], value, where, warnings)
        if loose is not None:
            out[name] = loose
    if ignored:
        shown = "、".join(ignored[:8]) + (f" 等 {len(ignored)} 个" if len(ignored) > 8 else "")
        if isinstance(warnings, Notes) and path.endswith("]"):
            warnings.fold_ignored(path, shown)  # said once for all items of the array
        else:
            warnings.append(f"{path or '报文'}：忽略未定义的字段 {shown}")
    return out


#: value types taken as sent for each kind (a bool is no number: refused below)
_AS_SENT: dict[str, tuple[type, ...]] = {"int": (int,), "number": (int, float, Decimal)}


def _loosen_value(
    plan: tuple[str, Any, str | None], value: Any, path: str, warnings: list[str]
) -> Any:
    kind, tp, described = plan
    where = label(path, described)
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        return None  # "" and blanks mean absent
    if kind == "text":
        if isinstance(value, int) and not isinstance(value, bool):
            warnings.append(f"{where}：应为文本，已将数字 {value} 按文本读取")
            return str(value)
        if isinstance(value, str) and value != value.strip():
            warnings.append(f"{where}：已去除首尾空白")
            return value.strip()
        return value
    if kind in ("int", "number"):
        if isinstance(value, bool):
            raise Refused(path, f"{where}：应为数字，不能是 {str(value).lower()}")
        if isinstance(value, str):
            return _number(value.strip(), tp, path, where, warnings)
        return value
    if kind == "time":
        return _moment(value, tp, path, where, warnings)
    if kind == "model":
        return loosen(tp, value, path, warnings)
    if kind == "list":
        if isinstance(value, dict):
            warnings.append(f"{where}：应为数组，已将单个对象按一项的数组读取")
            value = [value]
        if isinstance(value, list) and _is_model(tp):
            return [loosen(tp, v, f"{path}[{i}]", warnings) for i, v in enumerate(value)]
    return value


class Notes(list[str]):
    """The warnings of one message.  Many HIS systems send every number as text: past
    :data:`SHOWN_NOTES` warnings (more than ``warn_msg`` shows), such numbers are only
    counted (``folded``) and summed up in one last warning by :func:`read`.  Keys the
    model does not define, sent in every item of an array (a vendor's own fields on
    each order line), are said once for the array (``fold_ignored``, :meth:`close`)."""

    folded: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.ignored: dict[tuple[str, str], list[int]] = {}

    def fold_ignored(self, path: str, shown: str) -> None:
        """Item ``path`` (``a.b[3]``) had the undefined keys ``shown``."""
        parent, _, index = path.rpartition("[")
        self.ignored.setdefault((parent, shown), []).append(int(index[:-1]))

    def close(self) -> None:
        """Write out the folded warnings."""
        for (parent, shown), items in self.ignored.items():
            if len(items) == 1:
                where = f"{parent}[{items[0]}]"
            elif items == list(range(items[0], items[-1] + 1)):
                where = f"{parent}[{items[0]}–{items[-1]}]（{len(items)} 项）"
            else:
                where = f"{parent}[{items[0]}]、[{items[1]}] 等 {len(items)} 项"
            self.append(f"{where}：忽略未定义的字段 {shown}")
        self.ignored.clear()
        if self.folded:
            self.append(f"另有 {self.folded} 个数字字段以文本发送，已按数字读取")
            self.folded = 0


#: warnings written out in full before numbers read from text are only counted
SHOWN_NOTES = 8


#: most digits of a whole number read from text (an exponent can hide millions)
MAX_INT_DIGITS = 30


def _number(text: str, tp: Any, path: str, where: str, warnings: list[str]) -> Any:
    """``text`` as a number of type ``tp`` (``where``: the field's label), or the text
    for the model to refuse."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text  # the model refuses it: 应为数字
    if not number.is_finite():
        return text
    value: Decimal | int = number
    if tp is int:
        # "1e500000" is 8 characters but half a million digits: refused before int()
        if number.adjusted() > MAX_INT_DIGITS or number != number.to_integral_value():
            return text
        value = int(number)
    if isinstance(warnings, Notes) and len(warnings) >= SHOWN_NOTES:
        warnings.folded += 1
    else:
        warnings.append(f"{where}：应为数字，已将文本“{text}”按数字读取")
    return value


#: time layouts with separators read besides the spec's ``yyyy-MM-dd HH:mm:ss`` (first)
TIME_LAYOUTS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
)
#: date layouts with separators, the spec's ``yyyy-MM-dd`` first
DATE_LAYOUTS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d")
#: digits only: by their number (yyyyMMdd, yyyyMMddHHmm, yyyyMMddHHmmss) — any other
#: count is refused, never read as seconds since 1970
COMPACT_LAYOUTS = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}


def _iso(text: str, tp: Any) -> bool:
    """Whether ``text`` is in the spec's layout, which the model reads itself:
    ``yyyy-MM-dd`` for a date; that (many fields named ``…_date`` are times: a day
    alone is their midnight) or ``yyyy-MM-dd HH:mm:ss`` for a time.  Any other layout
    (``T``, fractions, an offset, no seconds) goes through :func:`_moment`, which reads
    it and says so."""
    if len(text) < 10 or text[4] != "-" or text[7] != "-":
        return False
    if len(text) == 10:
        return True
    if tp is date:
        return False
    return len(text) == 19 and text[10] == " " and text[13] == ":" and text[16] == ":"


def _moment(value: Any, tp: Any, path: str, where: str, warnings: list[str]) -> Any:
    """A time or date in one of the accepted layouts (:data:`TIME_LAYOUTS`,
    :data:`DATE_LAYOUTS`, :data:`COMPACT_LAYOUTS`; a date field takes the day of a
    time), with a warning when not the spec's.  Digits in none of them are refused;
    other text is left for the model (an ISO time with an offset) to read or refuse."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return value
    text = str(value).strip()
    want = "日期（yyyy-MM-dd）" if tp is date else "日期时间（yyyy-MM-dd HH:mm:ss）"
    if text.isdigit():
        compact = COMPACT_LAYOUTS.get(len(text))
        layouts: tuple[str, ...] = (compact,) if compact else ()
    elif tp is date:
        layouts = (*DATE_LAYOUTS, *TIME_LAYOUTS)
    else:
        layouts = (*TIME_LAYOUTS, *DATE_LAYOUTS)
    for i, layout in enumerate(layouts):
        try:
            moment = datetime.strptime(text, layout)
        except ValueError:
            continue
        shown: date | datetime = moment.date() if tp is date else moment
        if i > 0 or text.isdigit() or text != value:
            warnings.append(f"{where}：应为{want}格式，已将“{text[:30]}”按 {shown} 读取")
        return shown
    if text.isdigit():
        raise Refused(path, f"{where}：应为{want}（收到“{text[:30]}”）")
    try:  # ISO 8601 with an offset or Z: the model reads it, the HIS is told
        at = datetime.fromisoformat(text)
    except ValueError:
        return text
    if tp is date:
        return text  # a date field: the model takes the day or refuses the time
    warnings.append(f"{where}：应为{want}格式，已将“{text[:30]}”按 ISO 8601 时间读取")
    return at


def refusal(exc: ValidationError, path: str = "", model: Any = None) -> Refused:
    """The first problem of ``exc`` as a refusal naming its field (and how many more),
    in Chinese when ``model`` (what was validated) describes it."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    where = path
    for part in first.get("loc", ()):
        if isinstance(part, int):
            where += f"[{part}]"
        else:
            where = f"{where}.{part}" if where else str(part)
    ctx = dict(first.get("ctx") or {})
    template = RULES.get(str(first.get("type")), "取值不正确")
    if first.get("type") == "string_too_short" and ctx.get("min_length") == 1:
        template = "不能为空"
    try:
        rule = template.format(**ctx)
    except (KeyError, IndexError, ValueError):
        rule = "取值不正确"
    if first.get("type") == "string_too_long" and isinstance(first.get("input"), str):
        rule += f"（收到 {len(first['input'])} 个字符）"
    more = f"（另有 {len(errors) - 1} 处问题）" if len(errors) > 1 else ""
    shown = label(where, _described(model, first.get("loc", ()))) if where else "报文"
    return Refused(where or None, f"{shown}：{rule}{more}")


def read(model: type[M], data: Any, path: str = "") -> tuple[M, list[str]]:
    """``data`` read as ``model``, loosened first; the warnings of what was loosened.
    Raises :class:`Refused` naming the first field that cannot be read."""
    warnings = Notes()
    loose = loosen(model, data, path, warnings)
    warnings.close()
    try:
        return model.model_validate(loose), warnings
    except ValidationError as exc:
        raise refusal(exc, path, model) from None
