"""Multi-value cells written with another separator (ADR 0005 amendment): a flat list
file joins a list's diagnoses, procedures and their fields with ``|``
(:data:`~yibao.engines.qc.flat.SEPARATOR`), but many hospitals type or export
``J18.900、I10.x00`` or ``J18.900;I10.x00``.  Read as one code, such a cell held the list
as 编码不在字典中 while the user saw the right codes.

:func:`read_separators` rewrites, in the code and time columns (:data:`CODE_COLUMNS`),
``、`` ``；`` ``;`` ``，`` ``,`` between values to ``|`` (none of them occurs inside a code,
a date or a time), and in a name column the same separator as the row's codes used,
when the name cell holds exactly as many parts as the codes (a name may hold ``，``
itself).  A cell that has ``|`` already is left as it is.  One note per column says
what was read.
"""

from __future__ import annotations

import re
from typing import Final

import polars as pl

from yibao.engines.qc.flat import MULTI_COLUMNS, SEPARATOR, column_name

#: separators read as ``|`` in a multi-value cell
OTHERS: Final = "、；;，,"
_OTHER: Final = re.compile(f"[{OTHERS}]")
#: name columns and the code column whose separator they follow
NAME_OF: Final[dict[str, str]] = {"diag_names": "diag_codes", "oprn_names": "oprn_codes"}
CODE_COLUMNS: Final = frozenset(MULTI_COLUMNS) - frozenset(NAME_OF)
SHOWN: Final = 3


def _used(value: str | None) -> str | None:
    """The one other separator a cell uses (None: ``|``, none, or a mix)."""
    if value is None or SEPARATOR in value:
        return None
    found = set(_OTHER.findall(value))
    return found.pop() if len(found) == 1 else None


def _codes(values: list[str | None]) -> tuple[list[str | None], list[str | None], list[str]]:
    """The cells rewritten, the separator each row used, and examples of what changed."""
    out: list[str | None] = []
    used: list[str | None] = []
    seen: list[str] = []
    for value in values:
        sep = _used(value)
        used.append(sep)
        if sep is None or value is None:
            out.append(value)
            continue
        parts = [p.strip() for p in value.split(sep)]
        out.append(SEPARATOR.join(parts))
        if len(seen) < SHOWN:
            seen.append(value)
    return out, used, seen


def _names(
    values: list[str | None], used: list[str | None], counts: list[int]
) -> tuple[list[str | None], list[str]]:
    out: list[str | None] = []
    seen: list[str] = []
    for value, sep, n in zip(values, used, counts, strict=True):
        if value is None or sep is None or SEPARATOR in value or value.count(sep) != n - 1:
            out.append(value)
            continue
        out.append(SEPARATOR.join(p.strip() for p in value.split(sep)))
        if len(seen) < SHOWN:
            seen.append(value)
    return out, seen


def _note(title: str, changed: int, seen: list[str]) -> str:
    shown = "；".join(f"“{v}”" for v in seen)
    return (
        f"“{title}”列有 {changed} 个单元格以“、”“;”等分隔多个值，已按“|”分隔读取（如 {shown}）；"
        "模板中多个值以“|”分隔"
    )


def read_separators(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """``frame`` (every column text) with the multi-value cells written with another
    separator read as ``|`` (module docstring), and one note per column changed."""
    by_name = {column_name(h): h for h in frame.columns}
    notes: list[str] = []
    columns: list[pl.Series] = []
    used_by: dict[str, tuple[list[str | None], list[int]]] = {}
    for name in sorted(CODE_COLUMNS & by_name.keys()):
        header = by_name[name]
        if frame[header].dtype != pl.String:
            continue
        values = frame[header].to_list()
        out, used, seen = _codes(values)
        counts = [0 if v is None else v.count(SEPARATOR) + 1 for v in out]
        used_by[name] = (used, counts)
        if seen:
            columns.append(pl.Series(header, out, dtype=pl.String))
            changed = sum(u is not None for u in used)
            notes.append(_note(MULTI_COLUMNS[name][2], changed, seen))
    for name, codes in NAME_OF.items():
        if name not in by_name or codes not in used_by:
            continue
        header = by_name[name]
        if frame[header].dtype != pl.String:
            continue
        out, seen = _names(frame[header].to_list(), *used_by[codes])
        if seen:
            columns.append(pl.Series(header, out, dtype=pl.String))
            notes.append(
                _note(
                    MULTI_COLUMNS[name][2],
                    sum(a != b for a, b in zip(out, frame[header].to_list(), strict=True)),
                    seen,
                )
            )
    return (frame.with_columns(columns) if columns else frame), notes
