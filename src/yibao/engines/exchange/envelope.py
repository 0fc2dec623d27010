"""The NHSA request envelope (domain.md §4.1) and the body it arrives in.

:func:`parse_body` turns the bytes into a JSON object or refuses them;
:func:`read_envelope` reads the envelope leniently (:mod:`.lenient`) and returns it with
the raw ``input`` and the warnings; :func:`read_input` reads ``input`` as a
transaction's input model.  :func:`peek_msgid` reads only the message id, so that a
retry is recognised even when the rest of its envelope would be refused.

What deviates from the spec and is still accepted (with a warning) is listed in ADR
0015; in short: ``msgid`` of another shape (any 1–50 visible ASCII characters; the
rule is institution code 12 + yyyyMMddHHmmss 14 + sequence 4 = 30), ``inf_time`` in a
few other unambiguous layouts, a UTF-8 byte-order mark, ``input`` sent as JSON text,
plus the general liberties of :mod:`.lenient`.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from yibao.engines.exchange.lenient import (
    COMPACT_LAYOUTS,
    TIME_LAYOUTS,
    Refused,
    label,
    read,
)
from yibao.kit import jsonerrors
from yibao.kit.timeutil import BUSINESS_TZ

M = TypeVar("M", bound=BaseModel)

#: the deepest nesting a message may have (the spec's messages have four levels)
MAX_DEPTH = 32
#: msgid: visible ASCII only (it is a key, compared byte for byte)
MSGID = re.compile(r"^[!-~]{1,50}$")
MSGID_RULE = "定点医药机构编号 12 位 + yyyyMMddHHmmss 14 位 + 顺序号 4 位，共 30 位"
#: inf_time as the spec writes it; the other layouts read without doubt are those of
#: every time field (:data:`~yibao.engines.exchange.lenient.TIME_LAYOUTS`, digits only
#: by their count — never seconds since 1970 — and ISO 8601 with an offset)
INF_TIME = "%Y-%m-%d %H:%M:%S"
OPTER_TYPES = {"1": "经办人", "2": "自助终端", "3": "移动终端"}


def read_inf_time(text: str) -> tuple[datetime, bool] | None:
    """``inf_time`` as a (naive, business-time) datetime and whether it had the spec's
    layout; None when it has none of the accepted layouts."""
    text = text.strip()
    if text.isdigit():
        layouts: tuple[str, ...] = (COMPACT_LAYOUTS[len(text)],) if len(text) in (12, 14) else ()
    else:
        layouts = TIME_LAYOUTS
    for layout in layouts:
        try:
            return datetime.strptime(text, layout), layout == INF_TIME
        except ValueError:
            continue
    if text.isdigit():
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    if at.tzinfo is None:
        return None  # a date alone, or another layout: not a transaction time
    return at.astimezone(BUSINESS_TZ).replace(tzinfo=None), False


#: how far a message's inf_time may be from the centre's receiving time before the HIS
#: is told to check its clock [M]; the centre's time is what counts either way
INF_TIME_SKEW = timedelta(minutes=10)


def inf_time_warning(inf_time: str, received: datetime) -> str | None:
    """A warning when ``inf_time`` is more than :data:`INF_TIME_SKEW` from
    ``received`` (aware): a HIS clock that is off dates its own records wrongly."""
    read = read_inf_time(inf_time)
    if read is None:
        return None
    at = received.astimezone(BUSINESS_TZ).replace(tzinfo=None, microsecond=0)
    gap = abs(read[0] - at)
    if gap <= INF_TIME_SKEW:
        return None
    hours, rest = divmod(int(gap.total_seconds()) // 60, 60)
    shown = f"{hours} 小时 {rest} 分" if hours else f"{rest} 分"
    return (
        f"{label('inf_time')}：{read[0]:%Y-%m-%d %H:%M:%S} 与中心接收时间 {at:%Y-%m-%d %H:%M:%S}"
        f" 相差 {shown}，请核对 HIS 服务器时钟（以中心接收时间为准）"
    )


def _inf_time(value: str) -> str:
    if read_inf_time(value) is None:
        raise ValueError(f"应为 yyyy-MM-dd HH:mm:ss 格式的时间（收到“{value[:30]}”）")
    return value


def _admvs(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"\d{6}", value):
        raise ValueError(f"应为 6 位数字的医保区划代码（收到“{value[:20]}”）")
    return value


def _opter_type(value: str) -> str:
    if value not in OPTER_TYPES:
        kinds = "、".join(f"{k}（{v}）" for k, v in OPTER_TYPES.items())
        raise ValueError(f"应为 {kinds}之一（收到“{value[:10]}”）")
    return value


def _fixmedins_code(value: str) -> str:
    if len(value) != 12:
        raise ValueError(f"应为 12 位定点医药机构编号（收到 {len(value)} 位）")
    return value


def _msgid(value: str) -> str:
    if not MSGID.fullmatch(value):
        raise ValueError(
            f"应为 1–50 个可见 ASCII 字符（不含空格和中文），规则为{MSGID_RULE}"
            f"（收到 {len(value)} 个字符）"
        )
    return value


class Envelope(BaseModel):
    """The request envelope of every transaction (NHSA 定点医药机构接口规范 §4.1).

    Every field is text.  Required by the spec: infno, msgid, mdtrtarea_admvs,
    recer_sys_code, infver, opter_type, opter, opter_name, inf_time, fixmedins_code,
    fixmedins_name; sign_no is required by every transaction but 9001/9002."""

    model_config = ConfigDict(frozen=True)

    infno: str = Field(min_length=1, max_length=10, description="交易编号，如 9001 签到")
    msgid: Annotated[str, AfterValidator(_msgid)] = Field(
        max_length=50,
        description=f"发送方报文ID：{MSGID_RULE}；同一机构同一报文ID只处理一次，重发得到原应答",
    )
    mdtrtarea_admvs: Annotated[str, AfterValidator(_admvs)] = Field(
        description="就医地医保区划（6 位）"
    )
    insuplc_admdvs: Annotated[str | None, AfterValidator(_admvs)] = Field(
        None, description="参保地医保区划（6 位；输入含 psn_no 的交易必填）"
    )
    recer_sys_code: str = Field(max_length=10, description="接收方系统代码")
    dev_no: str | None = Field(None, max_length=100, description="设备编号")
    dev_safe_info: str | None = Field(None, max_length=2000, description="设备安全信息")
    cainfo: str | None = Field(None, max_length=1024, description="数字签名信息")
    signtype: str | None = Field(None, max_length=10, description="签名类型（SM2 / SM3）")
    infver: str = Field(max_length=6, description="接口版本号，如 V1.0")
    opter_type: Annotated[str, AfterValidator(_opter_type)] = Field(
        description="经办人类别：1 经办人，2 自助终端，3 移动终端"
    )
    opter: str = Field(max_length=30, description="经办人编号")
    opter_name: str = Field(max_length=50, description="经办人姓名")
    inf_time: Annotated[str, AfterValidator(_inf_time)] = Field(
        description="交易时间 yyyy-MM-dd HH:mm:ss"
    )
    fixmedins_code: Annotated[str, AfterValidator(_fixmedins_code)] = Field(
        description="定点医药机构编号（12 位），须为接口令牌所属机构"
    )
    fixmedins_name: str = Field(max_length=100, description="定点医药机构名称")
    sign_no: str | None = Field(
        None, max_length=30, description="交易签到流水号（9001 签到取得；9001、9002 以外必填）"
    )


# ------------------------------------------------------------------------------ body


def parse_body(raw: bytes, charset: str | None = None) -> tuple[Any, list[str]]:
    """The JSON document of a request body and the warnings of reading it; refuses a
    body that is empty, not UTF-8 (or the ``charset`` its Content-Type declares), not
    JSON, nested too deeply, or carries text no database stores (NUL, lone UTF-16
    surrogates)."""
    warnings: list[str] = []
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
        warnings.append("请求体以 UTF-8 字节顺序标记（BOM）开头，已忽略")
    if not raw.strip():
        raise Refused(None, "请求体为空：应为 JSON 格式的交易报文")
    name = (charset or "utf-8").strip().strip("\"'").lower()
    if name in ("utf-8", "utf8"):
        try:
            return load_json(raw.decode("utf-8")), warnings
        except UnicodeDecodeError as exc:
            raise Refused(
                None, f"请求体不是 UTF-8 编码的文本（第 {exc.start} 字节），请以 UTF-8 发送报文"
            ) from None
    codec = DECLARED_CHARSETS.get(name)
    if codec is None:
        raise Refused(
            None, f"请求头 Content-Type 声明的字符集 {name[:20]} 不能读取：请以 UTF-8 发送报文"
        )
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise Refused(
            None,
            f"请求体不是 {name.upper()} 编码的文本（第 {exc.start} 字节），请以 UTF-8 发送报文",
        ) from None
    warnings.append(f"请求体按 Content-Type 声明的 {name.upper()} 编码读取；建议以 UTF-8 发送报文")
    return load_json(text), warnings


#: charsets a HIS may declare besides UTF-8, and the codec that reads them (GB18030 is
#: a superset of GBK and GB2312: every text of theirs reads the same)
DECLARED_CHARSETS = {"gbk": "gb18030", "gb2312": "gb18030", "gb18030": "gb18030"}


def load_json(text: str, field: str | None = None, warnings: list[str] | None = None) -> Any:
    """JSON ``text`` — the body, or the field ``field`` that carries JSON as text (the
    SOAP binding's ``input``) — as Python objects; refuses text that is no JSON, is
    nested too deeply or carries text no database stores.  A byte-order mark before
    the text is ignored (noted in ``warnings`` when given)."""
    where = "请求体" if field is None else f"{label(field)}："
    if text.startswith("\ufeff"):
        text = text[1:]
        if warnings is not None:
            warnings.append(f"{where.rstrip('：')}以字节顺序标记（BOM）开头，已忽略")
    try:
        doc = json.loads(text, object_pairs_hook=_no_conflicting_keys)
    except json.JSONDecodeError as exc:
        raise Refused(field, f"{where}不是有效的 JSON（{jsonerrors.reason(exc)}）") from None
    except (ValueError, RecursionError):
        raise Refused(field, f"{where}不是可读的 JSON（数字过长或嵌套过深）") from None
    strings = _RISKY_ESCAPE.search(text) is not None
    # no text to check and fewer brackets than the depth allowed: nothing to walk (the
    # nesting cannot be deeper than the number of { and [, inside strings or not)
    if strings or text.count("{") + text.count("[") > MAX_DEPTH:
        _check_text(doc, field or "", strings=strings)
    return doc


def _no_conflicting_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object; a key sent twice with different values is refused (which value
    is meant cannot be known), twice with the same value is read once."""
    out = dict(pairs)
    if len(out) == len(pairs):  # no key twice: the common case, at C speed
        return out
    out = {}
    for key, value in pairs:
        if key in out and out[key] != value:
            raise Refused(
                key,
                f"{label(key)}：同一节点中出现两次且取值不同（“{str(out[key])[:30]}”与"
                f"“{str(value)[:30]}”），无法确定以哪个为准",
            )
        out[key] = value
    return out


def _check_text(doc: Any, root: str = "", strings: bool = True) -> None:
    """Depth and stored-text check, without recursion (a hostile body may be deep).
    ``strings`` False skips the text check: JSON text without a ``\\u0000`` or
    surrogate escape (``_RISKY_ESCAPE``) cannot carry NUL or a lone surrogate (a raw
    control character is no valid JSON, a raw surrogate no valid UTF-8).  The path of a
    node is built only for the message of a refusal (a trail of (parent trail, key)
    pairs until then)."""
    stack: list[tuple[Any, Any, int]] = [(doc, None, 0)]
    while stack:
        value, trail, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Refused(None, f"报文嵌套超过 {MAX_DEPTH} 层，无法处理")
        if isinstance(value, dict):
            for key, item in value.items():
                if strings and _bad_text(key):
                    path = _path(root, trail)
                    raise Refused(None, f"{_shown(path)}：字段名含有 NUL 或无效的 Unicode 字符")
                if strings or isinstance(item, dict | list):
                    stack.append((item, (trail, key), depth + 1))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if strings or isinstance(item, dict | list):
                    stack.append((item, (trail, i), depth + 1))
        elif strings and isinstance(value, str) and _bad_text(value):
            path = _path(root, trail)
            raise Refused(
                path or None,
                f"{_shown(path)}：含有 NUL 控制字符或未成对的 Unicode 代理字符，无法保存",
            )


def _path(root: str, trail: Any) -> str:
    """``a.b[2].c`` from a trail of (parent trail, key) pairs."""
    keys: list[Any] = []
    while trail is not None:
        trail, key = trail
        keys.append(key)
    path = root
    for key in reversed(keys):
        if isinstance(key, int):
            path = f"{path}[{key}]"
        else:
            path = f"{path}.{key}" if path else str(key)
    return path


def _shown(path: str) -> str:
    return label(path) if path else "报文"


_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
#: the only JSON escapes that can put NUL or a lone surrogate into a string: ``\u0000``
#: and ``\uD800``–``\uDFFF`` (a raw control character is no valid JSON, a raw surrogate
#: no valid UTF-8); an escaped backslash before them errs on the safe side (checked)
_RISKY_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def _bad_text(text: str) -> bool:
    return _BAD_TEXT.search(text) is not None


def storable(value: Any) -> Any:
    """``value`` as the journal can store it in any database: NUL and lone surrogates
    replaced by U+FFFD, infinite and NaN numbers as text (call after :func:`parse_body`,
    which bounds the depth)."""
    if isinstance(value, dict):
        return {_clean(str(k)): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _clean(text: str) -> str:
    if not _bad_text(text):
        return text
    return "".join("\ufffd" if ch == "\x00" or "\ud800" <= ch <= "\udfff" else ch for ch in text)


# -------------------------------------------------------------------------- envelope


def _key(doc: dict[str, Any], name: str) -> str | None:
    """The key of ``doc`` that stands for ``name``: itself, else one in other case."""
    if name in doc:
        return name
    return next((k for k in doc if isinstance(k, str) and k.lower() == name), None)


def peek_msgid(doc: Any) -> str | None:
    """The message id as :func:`read_envelope` reads it, or None when there is none
    that can be read (then nothing can be found or kept by it)."""
    if not isinstance(doc, dict):
        return None
    key = _key(doc, "msgid")
    value = doc.get(key) if key is not None else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if MSGID.fullmatch(value) else None


def msgid_warning(msgid: str, fixmedins_code: str) -> str | None:
    """How ``msgid`` departs from the rule (accepted as it is), or None."""
    if len(msgid) != 30:
        problem = f"长度为 {len(msgid)} 位"
    elif msgid[:12] != fixmedins_code:
        problem = "前 12 位不是定点医药机构编号"
    elif not msgid[26:].isdigit() or _stamp(msgid[12:26]) is None:
        problem = "第 13–26 位不是 yyyyMMddHHmmss 时间或后 4 位不是数字"
    else:
        return None
    return f"{label('msgid')}：{problem}，不符合“{MSGID_RULE}”的规则，已按原样作为报文唯一标识"


def _stamp(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%S") if text.isdigit() else None
    except ValueError:
        return None


def read_envelope(doc: Any) -> tuple[Envelope, Any, list[str]]:
    """The envelope of ``doc``, its raw ``input`` and the warnings; raises
    :class:`Refused` naming the first field that cannot be read."""
    if not isinstance(doc, dict):
        raise Refused(None, "请求报文应为 JSON 对象（含 infno、msgid、input 等字段）")
    body = dict(doc)
    key = _key(body, "input")
    raw_input = body.pop(key) if key is not None else None
    envelope, warnings = read(Envelope, body)
    if key not in (None, "input"):
        warnings.append(f"{label('input')}：字段名应为 input，已将 {key} 按 input 读取")
    time_read = read_inf_time(envelope.inf_time)
    if time_read is not None and not time_read[1]:
        warnings.append(f"{label('inf_time')}：应为 yyyy-MM-dd HH:mm:ss 格式，已按时间读取")
    deviation = msgid_warning(envelope.msgid, envelope.fixmedins_code)
    if deviation:
        warnings.append(deviation)
    return envelope, raw_input, warnings


def read_input(model: type[M], raw: Any) -> tuple[M, list[str]]:
    """``input`` read as ``model``: it must be a JSON object (JSON text of an object is
    read with a warning)."""
    warnings: list[str] = []
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise Refused("input", f"{label('input')}：必填")
    if isinstance(raw, str):
        try:
            decoded = json.loads(raw)
        except (ValueError, RecursionError):
            decoded = None
        if not isinstance(decoded, dict):
            raise Refused("input", f"{label('input')}：应为 JSON 对象（收到文本）")
        _check_text(decoded)
        warnings.append(f"{label('input')}：应为 JSON 对象，已将其中的 JSON 文本按对象读取")
        raw = decoded
    if not isinstance(raw, dict):
        kind = "数组" if isinstance(raw, list) else "数字或布尔值"
        raise Refused("input", f"{label('input')}：应为 JSON 对象（收到{kind}）")
    data, more = read(model, raw, "input")
    return data, warnings + more
