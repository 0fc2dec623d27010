"""Excel date serial numbers in the date columns of a flat settlement-list file.

A date cell that lost its date format shows, and is saved as, the day's serial
number (1900 date system: ``45231`` = 2023-11-01, ``45231.5`` = noon that day). In a
date or date-time column such a number can mean nothing else, so the flat reader
takes it as the date (or date-time) and says so in a note; any other text is left
to the format rule.  Only five-digit serials (10000 … 79999: 1927-05-18 … 2119-01-10,
the birth dates of patients in their nineties included) are read: a smaller number
could be a year typed alone (1985), a larger one is no date of this era; either is an
error to report, not to guess.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Final

import polars as pl

from yibao.engines.qc.flat import MULTI_COLUMNS, SEPARATOR, column_name
from yibao.engines.qc.schema import FIELD_KINDS, FIELD_LABELS

#: day 0 of Excel's 1900 date system (its fictitious 1900-02-29 makes it the 30th)
EPOCH: Final = datetime(1899, 12, 30)
SERIAL: Final = re.compile(r"[1-7][0-9]{4}(\.[0-9]+)?")
SHOWN: Final = 3


def _kind(column: str) -> tuple[str | None, str]:
    """The field kind of a flat column and its Chinese title."""
    if column in MULTI_COLUMNS:
        node, field, title = MULTI_COLUMNS[column]
        return FIELD_KINDS[node].get(field), title
    return FIELD_KINDS["setlinfo"].get(column), FIELD_LABELS["setlinfo"].get(column, column)


def from_serial(text: str, kind: str) -> str | None:
    """``"45231"`` → ``"2023-11-01"``; a date-time with a fraction → to the second;
    None when ``text`` is not a serial this reader takes."""
    value = text.strip()
    if not SERIAL.fullmatch(value):
        return None
    moment = EPOCH + timedelta(seconds=round(float(value) * 86400))
    if kind == "datetime" and (moment.hour or moment.minute or moment.second):
        return f"{moment:%Y-%m-%d %H:%M:%S}"
    return f"{moment:%Y-%m-%d}"


def _convert(value: str | None, kind: str, seen: list[tuple[str, str]]) -> str | None:
    if value is None:
        return None
    parts = value.split(SEPARATOR)
    out = []
    for part in parts:
        read = from_serial(part, kind)
        if read is not None:
            seen.append((part.strip(), read))
        out.append(read if read is not None else part)
    return SEPARATOR.join(out)


def read_serial_dates(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """``frame`` (every column text) with the serial numbers of its date and date-time
    columns read as dates, and one note per column that had any."""
    notes: list[str] = []
    columns = []
    for header in frame.columns:
        name = column_name(header)
        kind, title = _kind(name) if name is not None else (None, "")
        if kind not in ("date", "datetime") or frame[header].dtype != pl.String:
            continue
        seen: list[tuple[str, str]] = []
        values = [_convert(v, kind, seen) for v in frame[header].to_list()]
        if seen:
            columns.append(pl.Series(header, values, dtype=pl.String))
            examples = "、".join(f"{a} → {b}" for a, b in seen[:SHOWN])
            notes.append(
                f"“{title}”列有 {len(seen)} 个 Excel 日期序号，已按日期读取（{examples}）；"
                "如不是日期，请将该列设为日期或文本格式后重新上传"
            )
    return (frame.with_columns(columns) if columns else frame), notes
