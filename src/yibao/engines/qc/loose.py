"""Values written loosely, read as what they unambiguously mean (ADR 0005 amendment of
2026-12-07): a hospital's spreadsheet or HIS writes full-width digits (``１００００．００``,
``３１０``), thousands separators and currency (``10,000.00``, ``¥10000.00``,
``10000.00元``) and lower-case diagnosis codes (``j18.900``).  They were held as 不是数字
or 不在值域内 while the user saw the right value.

:func:`loosen` returns the value as read and what was done, which the intake reports as
a warning naming the field (the list is not held for it).  Only what has one reading is
loosened: full-width forms in numbers, dates and codes (not in names or addresses),
separators only in a correctly grouped number, and only the first letter of an
ICD-10 code (its ``x`` stays lower case: ``I10.x00``).
"""

from __future__ import annotations

import re
from typing import Final

#: full-width ASCII forms (U+FF01–U+FF5E) → ASCII; not the ideographic space (U+3000):
#: a blank inside a number or a code has no one reading (the value's own check says so)
FULL_WIDTH: Final[dict[int, int]] = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULL_WIDTH_CHARS: Final = re.compile("[\uff01-\uff5e]")
#: kinds whose values are numbers, dates or codes, never prose (schema module docstring)
NOT_PROSE: Final = frozenset({"code2", "int", "num", "money", "weight", "date", "datetime", "dura"})
#: text fields that hold codes or identifiers (full-width forms are folded there too)
CODE_FIELDS: Final[dict[str, frozenset[str]]] = {
    "setlinfo": frozenset(
        {
            "setl_id",
            "mdtrt_id",
            "psn_no",
            "certno",
            "fixmedins_code",
            "hi_no",
            "medcasno",
            "gend",
            "insutype",
            "psn_cert_type",
            "mdtrtarea_admvs",
            "insuplc_admdvs",
            "ipt_med_type",
            "dscg_way",
            "adm_way",
        }
    ),
    "diseinfo": frozenset({"diag_code", "diag_type", "adm_cond_type", "maindiag_flag"}),
    "oprninfo": frozenset({"oprn_oprt_code", "oprn_oprt_type", "anst_way"}),
}
#: ICD code fields: a lower-case first letter is read upper case
ICD_FIELDS: Final = frozenset({"diag_code", "oprn_oprt_code"})
#: an amount with thousands separators, a currency sign or 元 (only these are rewritten)
_GROUPED: Final = re.compile(
    r"[¥￥]?\s*(?P<n>[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?)\s*元?"
)


def loosen(node: str, name: str, kind: str, text: str) -> tuple[str, str | None]:
    """``text`` (already stripped) as read, and a Chinese note of what was done (None:
    nothing)."""
    value, notes = text, []
    if (kind in NOT_PROSE or name in CODE_FIELDS.get(node, ())) and _FULL_WIDTH_CHARS.search(value):
        value = value.translate(FULL_WIDTH).strip()
        notes.append("全角字符按半角读取")
    if kind in ("money", "num"):
        found = _GROUPED.fullmatch(value)
        number = None if found is None else found.group("n").replace(",", "")
        if number is not None and number != value:
            value = number
            notes.append("去掉千分位逗号、货币符号或“元”")
    if name in ICD_FIELDS and value[:1].isascii() and value[:1].islower():
        value = value[0].upper() + value[1:]
        notes.append("编码首字母按大写读取")
    return value, "，".join(notes) or None
