"""The flat (one row per list) form for bulk CSV / Excel files.

Columns (header names; the Chinese titles are accepted as well):

* every ``setlinfo`` field by its 4101A name (``setl_id``, ``gend``, ``adm_time``,
  ``medfee_sumamt`` …; see :class:`~yibao.engines.qc.schema.SetlInfo`);
* diagnoses, principal first, values joined by ``|``: ``diag_codes`` (诊断编码),
  ``diag_names`` (诊断名称), ``adm_cond_types`` (入院病情), ``diag_types`` (诊断类别,
  default ``1``);
* procedures, principal first, joined by ``|``: ``oprn_codes`` (手术操作编码),
  ``oprn_names``, ``oprn_dates``, ``anst_ways``, ``oper_dr_codes``,
  ``anst_dr_codes``, ``oprn_begntimes``, ``oprn_endtimes``, ``anst_begntimes``,
  ``anst_endtimes``;
* intensive care, joined by ``|``: ``icu_ward_types``, ``icu_inpool_times``,
  ``icu_exit_times``, ``icu_sum_duras``;
* fees per bill category: the caseframe names ``fee_bed`` … ``fee_other`` (or
  ``fee_01`` … ``fee_14``, or 床位费 … 其他费); a blank or zero amount adds no item.

:func:`flat_to_lists` turns rows into 4101A messages (the first code of each
group is the principal one), which :func:`~yibao.engines.qc.intake.parse_list`
and the QC rules then treat like any upload; findings use 4101A paths
(``diseinfo[1].diag_code`` is the second code of ``diag_codes``).  Read CSV and
Excel files with every column as text, so codes such as ``01`` keep their zeros.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

import polars as pl

from yibao.engines.caseframe import FEE_CATEGORIES
from yibao.engines.qc.schema import FIELD_LABELS

SEPARATOR: Final = "|"

#: list-node column → (node, field, Chinese title)
MULTI_COLUMNS: Final[dict[str, tuple[str, str, str]]] = {
    "diag_codes": ("diseinfo", "diag_code", "诊断编码"),
    "diag_names": ("diseinfo", "diag_name", "诊断名称"),
    "adm_cond_types": ("diseinfo", "adm_cond_type", "入院病情类型"),
    "diag_types": ("diseinfo", "diag_type", "诊断类别"),
    "oprn_codes": ("oprninfo", "oprn_oprt_code", "手术操作编码"),
    "oprn_names": ("oprninfo", "oprn_oprt_name", "手术操作名称"),
    "oprn_dates": ("oprninfo", "oprn_oprt_date", "手术操作日期"),
    "anst_ways": ("oprninfo", "anst_way", "麻醉方式"),
    "oper_dr_codes": ("oprninfo", "oper_dr_code", "术者医师代码"),
    "anst_dr_codes": ("oprninfo", "anst_dr_code", "麻醉医师代码"),
    "oprn_begntimes": ("oprninfo", "oprn_oprt_begntime", "手术操作开始时间"),
    "oprn_endtimes": ("oprninfo", "oprn_oprt_endtime", "手术操作结束时间"),
    "anst_begntimes": ("oprninfo", "anst_begntime", "麻醉开始时间"),
    "anst_endtimes": ("oprninfo", "anst_endtime", "麻醉结束时间"),
    "icu_ward_types": ("icuinfo", "scs_cutd_ward_type", "重症监护病房类型"),
    "icu_inpool_times": ("icuinfo", "scs_cutd_inpool_time", "重症监护进入时间"),
    "icu_exit_times": ("icuinfo", "scs_cutd_exit_time", "重症监护退出时间"),
    "icu_sum_duras": ("icuinfo", "scs_cutd_sum_dura", "重症监护合计时长"),
}
#: fee column → (med_chrgitm code, Chinese title)
FEE_FLAT_COLUMNS: Final[dict[str, tuple[str, str]]] = {
    column: (code, name) for column, code, name in FEE_CATEGORIES
}
#: every accepted column (canonical name) → Chinese title
FLAT_COLUMNS: Final[dict[str, str]] = {
    **FIELD_LABELS["setlinfo"],
    **{c: title for c, (_, _, title) in MULTI_COLUMNS.items()},
    **{c: title for c, (_, title) in FEE_FLAT_COLUMNS.items()},
}

_HEADERS: Final[dict[str, str]] = {
    **{title: name for name, title in FIELD_LABELS["setlinfo"].items()},
    **{title: c for c, (_, _, title) in MULTI_COLUMNS.items()},
    **{title: c for c, (_, title) in FEE_FLAT_COLUMNS.items()},
    **{f"fee_{code}": c for c, (code, _) in FEE_FLAT_COLUMNS.items()},
    **{name: name for name in FLAT_COLUMNS},
}


def _header_key(header: str) -> str:
    """A header as compared: full-width forms folded (``（`` = ``(``, ``ＩＤ`` = ``ID``),
    no whitespace, no BOM, lower case."""
    return "".join(unicodedata.normalize("NFKC", header.replace("\ufeff", "")).split()).lower()


#: headers hospitals' own exports use for a column, besides its title (日期 for 时间 …)
HEADER_ALIASES: Final[dict[str, str]] = {
    "入院日期": "adm_time",
    "出院日期": "dscg_time",
    "医疗总费用": "medfee_sumamt",
    "住院总费用": "medfee_sumamt",
    "总费用": "medfee_sumamt",
    "年龄": "age",
    "住院天数": "act_ipt_days",
}

#: every accepted header, by its :func:`_header_key`
_HEADER_KEYS: Final[dict[str, str]] = {
    _header_key(h): c for h, c in {**HEADER_ALIASES, **_HEADERS}.items()
}
#: a unit after a header, as a spreadsheet writes it (``西药费(元)``, ``年龄(岁)``)
_UNITS: Final = ("(元)", "(岁)", "(天)")


def column_name(header: str) -> str | None:
    """The canonical column of a header (``"性别"`` → ``"gend"``), ``None`` if unknown.

    Headers typed by hand match too: ``年龄(岁)`` for ``年龄（岁）``, ``结算 ID``, ``SETL_ID``;
    so do the common headers of hospitals' own exports (:data:`HEADER_ALIASES`:
    ``入院日期``, ``医疗总费用`` …) and a title with its unit (``西药费（元）``).
    """
    text = header.strip().lstrip("\ufeff")
    found = _HEADERS.get(text)
    if found is not None:
        return found
    key = _header_key(text)
    found = _HEADER_KEYS.get(key)
    if found is None and key.endswith(_UNITS):
        found = _HEADER_KEYS.get(key[:-3])
    return found


def unknown_flat_columns(headers: Iterable[str]) -> list[str]:
    """Headers that are not flat-form columns (ignored on intake; show them to the user)."""
    return [h for h in headers if column_name(h) is None]


def _split(value: object) -> list[str | None]:
    if value is None:
        return []
    text = str(value).strip()
    if not text:
        return []
    return [part.strip() or None for part in text.split(SEPARATOR)]


def _is_zero(value: object) -> bool:
    try:
        return Decimal(str(value).strip()) == 0
    except (InvalidOperation, ValueError):
        return False


def flat_row_to_list(row: Mapping[str, object]) -> dict[str, Any]:
    """One flat row → one 4101A message (dict)."""
    setlinfo: dict[str, Any] = {}
    multi: dict[str, dict[str, list[str | None]]] = {}
    items: list[dict[str, Any]] = []
    for header, value in row.items():
        name = column_name(str(header))
        if name is None or value is None or (isinstance(value, str) and not value.strip()):
            continue
        if name in MULTI_COLUMNS:
            node, field, _ = MULTI_COLUMNS[name]
            multi.setdefault(node, {})[field] = _split(value)
        elif name in FEE_FLAT_COLUMNS:
            if not _is_zero(value):
                items.append({"med_chrgitm": FEE_FLAT_COLUMNS[name][0], "amt": value})
        else:
            setlinfo[name] = value
    message: dict[str, Any] = {"setlinfo": setlinfo}
    for node, fields in multi.items():
        count = max(len(v) for v in fields.values())
        message[node] = [
            {f: v[i] for f, v in fields.items() if i < len(v) and v[i] is not None}
            for i in range(count)
        ]
    for i, d in enumerate(message.get("diseinfo", [])):
        d.setdefault("diag_type", "1")
        d["maindiag_flag"] = "1" if i == 0 else "0"
    for i, o in enumerate(message.get("oprninfo", [])):
        o["oprn_oprt_type"] = "1" if i == 0 else "2"
    message["iteminfo"] = items
    return message


def flat_to_lists(rows: Iterable[Mapping[str, object]]) -> list[dict[str, Any]]:
    """Flat rows → 4101A messages, in row order."""
    return [flat_row_to_list(row) for row in rows]


def read_flat(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """A flat table (read with every column as text) → 4101A messages."""
    return flat_to_lists(frame.iter_rows(named=True))


def read_flat_csv(path: Path | str) -> list[dict[str, Any]]:
    """A flat UTF-8 CSV file → 4101A messages (all columns read as text)."""
    return read_flat(pl.read_csv(path, infer_schema=False, encoding="utf8-lossy"))


_MAIN_FLAG: Final = {"diseinfo": "maindiag_flag", "oprninfo": "oprn_oprt_type"}


def _principal_first(node: str, entries: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    flag = _MAIN_FLAG.get(node)
    if flag is None:
        return entries
    main = [e for e in entries if str(e.get(flag)) == "1"][:1]
    return main + [e for e in entries if not main or e is not main[0]]


def lists_to_flat(messages: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """4101A messages → a flat table of text columns (for export and demo files).

    Values are written as given (``str``); list nodes are joined by ``|``, the
    principal diagnosis (``maindiag_flag`` 1) and procedure (``oprn_oprt_type`` 1)
    first, the others in message order.
    """
    fee_by_code = {code: column for column, (code, _) in FEE_FLAT_COLUMNS.items()}
    rows: list[dict[str, str | None]] = []
    for message in messages:
        setl = message.get("setlinfo") or {}
        row: dict[str, str | None] = {
            k: None if v is None else str(v) for k, v in setl.items() if k in FLAT_COLUMNS
        }
        for column, (node, field, _) in MULTI_COLUMNS.items():
            entries = _principal_first(node, message.get(node) or [])
            if any(field in e for e in entries):
                row[column] = SEPARATOR.join(str(e.get(field) or "") for e in entries)
        for item in message.get("iteminfo") or []:
            fee = fee_by_code.get(str(item.get("med_chrgitm")))
            if fee is not None:
                row[fee] = None if item.get("amt") is None else str(item["amt"])
        rows.append(row)
    columns = [c for c in FLAT_COLUMNS if any(c in r for r in rows)]
    return pl.DataFrame(
        {c: [r.get(c) for r in rows] for c in columns}, schema=dict.fromkeys(columns, pl.String)
    )


__all__ = [
    "FLAT_COLUMNS",
    "MULTI_COLUMNS",
    "SEPARATOR",
    "column_name",
    "flat_row_to_list",
    "flat_to_lists",
    "lists_to_flat",
    "read_flat",
    "read_flat_csv",
    "unknown_flat_columns",
]
