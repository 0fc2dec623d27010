"""What the gateway's read views share: labels, the permission, masking of ID
numbers, months and dates, the institutions in scope."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, has_permission
from yibao.engines.exchange import mask_ids
from yibao.engines.exchange.answer import mask_id
from yibao.engines.exchange.visits import MED_TYPES
from yibao.engines.insured import CERT_TYPES, GENDERS, INSUTYPES, PSN_TYPES
from yibao.engines.insured.messages import PSN_CERT_TYPES
from yibao.exchange.settle import MONEY
from yibao.exchange.transactions import TRANSACTIONS
from yibao.kit.errors import ValidationFailed
from yibao.kit.timeutil import BUSINESS_TZ
from yibao.regions.models import Hospital

#: the permission of every page and read API of the gateway (bureau roles that read
#: settlement data, hospital users and HIS clients — theirs only, by scope)
VIEW_PERMISSION = Permission.VIEW_CASES
SCOPES = {"local": "本地", "in_province": "省内异地", "out_of_province": "跨省异地"}
CROSS_REGION = ("in_province", "out_of_province")
SETTLEMENT_STATES = {"settled": "已结算", "reversed": "已撤销"}
KINDS = {"ipt": "住院", "otp": "门诊"}
RESULTS = {"ok": "成功", "failed": "失败"}
FEE_STATES = {"open": "待结算", "settled": "已结算", "cancelled": "已撤销"}
CHRGITM_LEVELS = {"01": "甲类", "02": "乙类", "03": "丙类"}
RECONCILIATIONS = ("3201", "3202")
#: setlinfo fields that are amounts of money (shown as yuan)
SETLINFO_AMOUNTS = frozenset((*MONEY, "balc"))
#: words of the coded setlinfo fields
SETLINFO_WORDS: dict[str, dict[str, str]] = {
    "gend": GENDERS,
    "insutype": INSUTYPES,
    "psn_type": PSN_TYPES,
    "psn_cert_type": PSN_CERT_TYPES,
    "mdtrt_cert_type": CERT_TYPES,
    "med_type": MED_TYPES,
    "setl_type": {"1": "结算", "2": "撤销"},
    "cvlserv_flag": {"0": "否", "1": "是"},
    "out_setl_flag": {"0": "本地", "1": "异地"},
    "clr_type": {"11": "门诊", "21": "住院"},
    "clr_way": {"1": "按项目"},
}
#: what a field description says for the API (format, values) but a page's label need not
LABEL_NOTES = re.compile(r"：.*$| yyyy.*$|（预结算为空）")
#: an ID number in free text (a body kept as text): 15 digits, or 17 and a check digit
_ID_IN_TEXT = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])|(?<![0-9])[0-9]{15}(?![0-9])")
_MONTH = re.compile(r"^(\d{4})-?(0[1-9]|1[0-2])$")


def reveals_ids(user: User) -> bool:
    """Whether ``user`` sees ID numbers in full."""
    return has_permission(user.role, Permission.VIEW_ID_NUMBERS)


def transaction_name(infno: str | None) -> str:
    """The Chinese name of a transaction ("" for an unknown or absent one)."""
    found = TRANSACTIONS.find(infno) if infno else None
    return found.name if found else ""


def transaction_names() -> dict[str, str]:
    return {t.infno: t.name for t in sorted(TRANSACTIONS, key=lambda t: t.infno)}


def masked(value: Any) -> Any:
    """A message for a reader who may not see ID numbers: by key, and in free text."""
    if isinstance(value, str):
        return _ID_IN_TEXT.sub(lambda m: mask_id(m.group(0)), value)
    return mask_ids(value)


def month_code(raw: str | None, field: str = "month") -> str | None:
    """``YYYYMM`` from ``YYYYMM`` or ``YYYY-MM`` (None when blank); 422 otherwise."""
    text = (raw or "").strip()
    if not text:
        return None
    found = _MONTH.match(text)
    if found is None:
        raise ValidationFailed(
            f"年月 {field}：应为 YYYYMM 或 YYYY-MM，如 202605（收到 {text[:20]!r}）", field=field
        )
    return found.group(1) + found.group(2)


def institutions(session: Session) -> list[tuple[str, str]]:
    """(code, name) of the institutions the user sees, for the filters."""
    rows = session.execute(select(Hospital.code, Hospital.name).order_by(Hospital.code)).all()
    return [(r[0], r[1]) for r in rows]


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), BUSINESS_TZ)


def duration_ms(received: datetime, answered: datetime) -> int:
    return max(0, int((answered - received) / timedelta(milliseconds=1)))
