"""Spreadsheet and CSV exports that stay data: a cell never becomes a formula or a link.

Text in an export comes from users (a settlement id, a patient's or hospital's name, an
extra column of an uploaded case file).  Written naively, ``=HYPERLINK("http://…")``
turns into a live formula when the file is opened (formula / CSV injection, OWASP):

* **Excel**: every workbook comes from :func:`safe_workbook`, whose xlsxwriter options
  write strings as strings (``strings_to_formulas``, ``strings_to_urls`` and
  ``strings_to_numbers`` off); the text is kept exactly.  :func:`write_xlsx` writes
  polars frames through it, one worksheet each; numbers stay numbers, in the formats
  the caller names by kind (:data:`NUMBER_FORMATS`: money ``#,##0.00``, shares
  ``0.00%`` …), a float column nobody described with at least the fen — never
  polars' own three decimals.
* **CSV** has no cell types, so :func:`csv_safe` prefixes a single quote ``'`` to text
  that begins with ``=`` ``+`` ``-`` ``@``, a tab or a carriage return (in text columns
  and in the header; numeric columns stay numbers).

Nothing here is an export by itself: callers pass the frames and the target.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import polars as pl
from xlsxwriter import Workbook

#: Characters that make a spreadsheet program read a CSV cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = r"^[=+\-@\t\r]"

#: xlsxwriter options of every exported workbook: strings as strings, and otherwise
#: the options polars uses for the workbooks it creates itself (NaN/inf as Excel
#: errors, ISO dates), so a sheet looks the same whoever opened the workbook.
WORKBOOK_OPTIONS: dict[str, Any] = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "nan_inf_to_errors": True,
    "default_date_format": "yyyy-mm-dd;@",
}

XlsxTarget = str | Path | IO[bytes]

#: Excel number formats by kind of figure, for a caller that knows its columns: counts,
#: money in yuan with fen, shares as per cent (the cell keeps the fraction, 0.3263
#: shows 32.63%), CMI and consumption indices to 4 decimals (weights' places), days
#: (average length of stay) and other decimals (points, quantities) to 2.
NUMBER_FORMATS: dict[str, str] = {
    "int": "#,##0",
    "money": "#,##0.00",
    "pct": "0.00%",
    "index": "0.0000",
    "days": "0.00",
    "dec": "#,##0.00",
}
#: a float column nobody described: at least the fen, up to 4 places (polars' own
#: default, ``#,##0.000``, pads money to three decimals and cuts a weight's fourth)
FLOAT_FORMAT = "#,##0.00##"


def safe_workbook(target: XlsxTarget) -> Workbook:
    """An xlsxwriter workbook on ``target`` (a path or a binary buffer) that writes
    every string as a string; close it (or use it in a ``with`` block)."""
    return Workbook(target, WORKBOOK_OPTIONS)


def write_xlsx(
    sheets: pl.DataFrame | Mapping[str, pl.DataFrame],
    target: XlsxTarget,
    *,
    worksheet: str = "Sheet1",
    autofit: bool = False,
    formats: Mapping[str, str] | None = None,
) -> None:
    """Write one frame (to ``worksheet``) or ``{sheet name: frame}`` in order to an
    ``.xlsx`` through :func:`safe_workbook`; polars formats each sheet as usual, a
    decimal column (money, weights) shows its own places and a float column at least
    two (:func:`decimal_formats`); ``formats`` (column name → Excel number format, e.g.
    from :data:`NUMBER_FORMATS`) sets a column's format in every sheet that has it."""
    frames = {worksheet: sheets} if isinstance(sheets, pl.DataFrame) else sheets
    with safe_workbook(target) as wb:
        for name, frame in frames.items():
            chosen = decimal_formats(frame)
            chosen.update({c: f for c, f in (formats or {}).items() if c in frame.columns})
            frame.write_excel(wb, worksheet=name, autofit=autofit, column_formats=chosen)


def decimal_formats(frame: pl.DataFrame) -> dict[Any, str]:
    """Excel number formats of ``frame``'s decimal and float columns: a decimal to its
    scale — money (scale 2) as ``#,##0.00``, a weight (scale 4) as ``#,##0.0000`` —
    a float as :data:`FLOAT_FORMAT`.  Polars writes decimals as numbers in the General
    format, where 0 reads 0 and 12.5 reads 12.5, and floats with three decimals."""
    formats: dict[Any, str] = {}  # keys: column names (polars also takes selectors)
    for column, dtype in frame.schema.items():
        if isinstance(dtype, pl.Decimal):
            places = dtype.scale or 0
            formats[column] = "#,##0." + "0" * places if places else "#,##0"
        elif dtype.is_float():
            formats[column] = FLOAT_FORMAT
    return formats


def neutralise(text: str) -> str:
    """``text`` with a leading ``'`` when it begins like a formula."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_safe(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` ready for CSV: text that begins with ``=`` ``+`` ``-`` ``@``, a tab or a
    carriage return gets a leading ``'`` (text columns and column names); numbers,
    dates and the other values are left as they are."""
    text = [c for c, dtype in df.schema.items() if dtype in (pl.String, pl.Categorical, pl.Enum)]
    out = df.with_columns(
        pl.when(pl.col(c).cast(pl.String).str.contains(_FORMULA_START))
        .then(pl.lit("'") + pl.col(c).cast(pl.String))
        .otherwise(pl.col(c).cast(pl.String))
        .alias(c)
        for c in text
    )
    taken, renamed = set(out.columns), {}
    for name in out.columns:
        safe = neutralise(name)
        if safe != name:
            while safe in taken:  # "=x" beside a column "'=x": names stay unique
                safe = "'" + safe
            taken.add(safe)
            renamed[name] = safe
    return out.rename(renamed) if renamed else out


def labelled(
    df: pl.DataFrame,
    labels: Mapping[str, str],
    values: Mapping[str, Mapping[Any, str]] | None = None,
) -> pl.DataFrame:
    """``df`` for people: the values of the columns in ``values`` replaced by their
    words (codes kept where no word is known; booleans as 是 / 否 when mapped), then
    the columns renamed by ``labels`` (the others keep their names)."""
    changes = []
    for column, words in (values or {}).items():
        if column not in df.columns:
            continue
        if df.schema[column] == pl.Boolean:
            changes.append(
                pl.col(column)
                .replace_strict(
                    {True: words.get(True, "是"), False: words.get(False, "否")},
                    default=None,
                    return_dtype=pl.String,
                )
                .alias(column)
            )
        else:
            text = pl.col(column).cast(pl.String)
            changes.append(
                text.replace_strict({str(k): v for k, v in words.items()}, default=text).alias(
                    column
                )
            )
    out = df.with_columns(changes) if changes else df
    return out.rename({c: labels[c] for c in out.columns if c in labels})
