"""The response envelope (domain.md §4.1) and the masking of ID numbers in journaled
messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from yibao.kit.timeutil import local

ERR_MSG_MAX = 200
WARN_MSG_MAX = 500
#: keys whose values are ID numbers (身份证件号码, 就诊凭证编号): masked when shown
ID_KEYS = frozenset({"certno", "mdtrt_cert_no", "psn_cert_no", "idcard", "id_no"})


def stamp_ms(moment: datetime) -> str:
    """yyyyMMddHHmmssSSS in business time (refmsg_time, respond_time)."""
    at = local(moment)
    return f"{at:%Y%m%d%H%M%S}{at.microsecond // 1000:03d}"


def wall_time(moment: datetime) -> str:
    """yyyy-MM-dd HH:mm:ss in business time (sign_time and other output times)."""
    return f"{local(moment):%Y-%m-%d %H:%M:%S}"


def ref_msgid(admvs: str, received: datetime, seq: int) -> str:
    """inf_refmsgid: receiver admdvs (6) + yyyyMMddHHmmss (14) + sequence (10) = 30."""
    return f"{admvs[:6]:0>6}{local(received):%Y%m%d%H%M%S}{seq % 10**10:010d}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def warn_text(warnings: Sequence[str]) -> str | None:
    """The warnings as one ``warn_msg`` (at most :data:`WARN_MSG_MAX` characters)."""
    if not warnings:
        return None
    text = "；".join(dict.fromkeys(warnings))
    if len(text) > WARN_MSG_MAX:
        text = _clip(text, WARN_MSG_MAX - 12) + f"（共 {len(warnings)} 条）"
    return text


def response(
    *,
    ref: str,
    received: datetime,
    responded: datetime,
    output: dict[str, Any] | None = None,
    error: str | None = None,
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """The response envelope: infcode 0 with ``output``, or −1 with ``error``."""
    return {
        "infcode": -1 if error is not None else 0,
        "inf_refmsgid": ref,
        "refmsg_time": stamp_ms(received),
        "respond_time": stamp_ms(responded),
        "err_msg": None if error is None else _clip(error, ERR_MSG_MAX),
        "warn_msg": warn_text(warnings),
        "output": None if error is not None else (output or {}),
    }


def mask_id(value: str) -> str:
    """An ID number with its middle hidden: 18 digits keep the first 6 and last 4
    (the birth date is hidden); shorter ones keep a quarter at each end."""
    if len(value) >= 15:
        keep_head, keep_tail = 6, 4
    else:
        keep_head = keep_tail = len(value) // 4
    hidden = len(value) - keep_head - keep_tail
    return value[:keep_head] + "*" * hidden + value[len(value) - keep_tail :]


def mask_ids(value: Any) -> Any:
    """A copy of a journaled message with every ID number masked (:data:`ID_KEYS`),
    for users who need not see them."""
    if isinstance(value, dict):
        return {
            k: mask_id(v) if k in ID_KEYS and isinstance(v, str) else mask_ids(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_ids(v) for v in value]
    return value
