"""Settlement lists as they arrive: a JSON body or an uploaded file (JSON, CSV, Excel).

One reader for the API and the pages.  Files are read within the upload limits of
:mod:`yibao.kit.tables` (no zip bomb, bounded rows), in the request's worker thread.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import polars as pl

from yibao.engines.qc import read_flat, unknown_flat_columns
from yibao.engines.qc.flat import FLAT_COLUMNS, column_name
from yibao.engines.qc.separators import read_separators
from yibao.engines.qc.serial_dates import read_serial_dates
from yibao.kit.errors import ValidationFailed
from yibao.kit.tables import TableLimits, read_json, read_table_found

#: lists in one request (JSON body or file)
MAX_LISTS = 10_000


def list_messages(body: Any) -> list[Any]:
    """One 4101A message, ``{"lists": [...]}``, an NHSA envelope ``{"input": ...}`` or a list."""
    if isinstance(body, list):
        messages = body
    elif isinstance(body, dict) and isinstance(body.get("lists"), list):
        messages = body["lists"]
    elif isinstance(body, dict):
        messages = [body]
    else:
        raise ValidationFailed(
            '请求体应为结算清单对象（含 setlinfo）、对象数组或 {"lists": [...]}', field="body"
        )
    if not messages:
        raise ValidationFailed("没有结算清单 / no lists", field="lists")
    if len(messages) > MAX_LISTS:
        raise ValidationFailed(
            f"一次最多上传 {MAX_LISTS:,} 份清单（收到 {len(messages):,} 份）：请分批上传",
            field="lists",
        )
    return messages


def _check_headers(headers: list[str], filename: str) -> None:
    if "setl_id" not in {column_name(h) for h in headers}:
        raise ValidationFailed(
            f"文件 {filename} 缺少结算清单ID列（setl_id / 结算ID）：请下载模板，按模板的列名填写",
            field="file",
        )


@dataclass
class ListFile:
    """The 4101A messages of an uploaded file, and what the uploader should know about
    how it was read (columns that are no flat-form column and were left out, title
    rows passed over); for a CSV / Excel file, the row each message was read from, as
    the spreadsheet numbers it (``rows[i]`` for message ``i``)."""

    messages: list[Any]
    notes: list[str] = field(default_factory=list)
    rows: list[int] | None = None


def _names_setl_id(cells: Sequence[str | None]) -> bool:
    """A header row: one of its cells names the settlement-id column."""
    return any(c is not None and column_name(c) == "setl_id" for c in cells)


#: unknown columns named in a note at most
SHOWN_COLUMNS = 10


def _unknown_columns_note(headers: list[str], filename: str) -> list[str]:
    unknown = [h.strip() for h in unknown_flat_columns(headers) if h.strip()]
    if not unknown:
        return []
    shown = "、".join(unknown[:SHOWN_COLUMNS]) + (
        f" 等 {len(unknown)} 列" if len(unknown) > SHOWN_COLUMNS else ""
    )
    return [
        f"文件 {filename} 中未识别的列已忽略：{shown}。如为清单字段，请按模板的列名填写"
        "（下载 CSV 模板）"
    ]


def read_list_file(filename: str, stream: bytes | IO[bytes], limits: TableLimits) -> ListFile:
    """The 4101A messages of an uploaded file (JSON array / object, flat CSV or Excel),
    with a note naming the columns of a flat file that were not read."""
    name = filename.lower()
    if not name.endswith((".json", ".csv", ".txt", ".xlsx", ".xlsm")):
        raise ValidationFailed(
            f"文件类型应为 .csv、.xlsx 或 .json（Excel 另存的“Unicode 文本”.txt 亦可）："
            f"{filename or '（未命名）'}",
            field="file",
        )
    if isinstance(stream, bytes | bytearray):
        empty = not bytes(stream).strip()
    else:
        stream.seek(0)
        empty = not stream.read(4096).strip()
        stream.seek(0)
    if empty:
        raise ValidationFailed(f"文件 {filename} 是空的", field="file")
    if name.endswith(".json"):
        return ListFile(list_messages(read_json(stream, filename)))
    limited = TableLimits(limits.max_unzipped_bytes, min(limits.max_rows, MAX_LISTS))
    found = read_table_found(stream, filename, limited, _names_setl_id)
    frame = found.frame
    _check_headers(frame.columns, filename)
    frame = _without_trailing_blank_rows(frame)
    frame, merged = _merge_repeated_columns(frame, found.rows, filename)
    if frame.height == 0:
        raise ValidationFailed(
            f"文件 {filename} 只有表头，没有结算清单数据行：请在表头下每行填写一份结算清单",
            field="file",
        )
    frame, separated = read_separators(frame)  # first: 46340;46343 is two dates
    frame, dated = read_serial_dates(frame)
    notes = found.notes + _title_note(found.header_row, filename) + merged
    notes += _unknown_columns_note(list(frame.columns), filename) + dated + separated
    return ListFile(list_messages(read_flat(frame)), notes, found.rows[: frame.height])


#: how the readers rename a header met again (polars: ``X_duplicated_0``; Excel: ``X_2``)
_REPEATED = re.compile(r"^(?P<base>.+?)_(?:duplicated_\d+|\d+)$")


def _field_of(header: str) -> str | None:
    name = column_name(header)
    if name is None and (m := _REPEATED.match(header)) is not None:
        name = column_name(m["base"])
    return name


def _merge_repeated_columns(
    frame: pl.DataFrame, rows: list[int], filename: str
) -> tuple[pl.DataFrame, list[str]]:
    """Columns naming one field twice (a template pasted into an export …) merged: per
    row the value the filled one holds; two different values in one row refuse the
    file naming the column and the row (which is meant cannot be known)."""
    groups: dict[str, list[str]] = {}
    for header in frame.columns:
        name = _field_of(header)
        if name is not None:
            groups.setdefault(name, []).append(header)
    notes: list[str] = []
    for name, headers in groups.items():
        if len(headers) < 2:
            continue
        title = FLAT_COLUMNS.get(name, name)
        merged: list[str | None] = []
        for i, values in enumerate(zip(*(frame[h].to_list() for h in headers), strict=True)):
            filled = {v.strip() for v in values if v is not None and v.strip()}
            if len(filled) > 1:
                row = rows[i] if i < len(rows) else i + 2
                shown = "”与“".join(sorted(filled)[:2])
                raise ValidationFailed(
                    f"文件 {filename} 中“{title}”列出现 {len(headers)} 次，第 {row} 行两列取值不同"
                    f"（“{shown}”），无法确定以哪一列为准：请删除多余的一列后上传",
                    field="file",
                )
            merged.append(filled.pop() if filled else None)
        frame = frame.drop(headers[1:]).with_columns(pl.Series(headers[0], merged, dtype=pl.String))
        notes.append(f"文件 {filename} 中“{title}”列出现 {len(headers)} 次，已合并为一列")
    return frame, notes


def _title_note(header_row: int, filename: str) -> list[str]:
    if header_row <= 1:
        return []
    above = "第 1 行" if header_row == 2 else f"第 1–{header_row - 1} 行"
    return [
        f"文件 {filename} 的{above}不是表头（标题或说明），已忽略；表头在第 {header_row} 行，"
        f"清单从第 {header_row + 1} 行读起"
    ]


def _without_trailing_blank_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` without the empty rows at its end (``,,,,`` lines a spreadsheet saves
    after the data): they are no lists.  Rows in between keep their numbers."""
    if frame.height == 0 or frame.width == 0:
        return frame
    blank = frame.select(
        pl.all_horizontal(
            pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in frame.columns
        )
    ).to_series()
    filled = (~blank).arg_true()
    return frame.head(int(filled[-1]) + 1 if len(filled) else 0)
