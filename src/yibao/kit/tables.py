"""Reading uploaded tables (CSV, Excel, JSON) safely: bounded and with Chinese errors.

An upload is untrusted: a 162 KB ``.xlsx`` can unpack to gigabytes (a zip bomb) and
a CSV can hold millions of rows.  Every reader here

* checks an Excel file's zip directory first: the declared unpacked size of all its
  parts must stay under ``max_unzipped_bytes`` (Python's zip reader never unpacks
  more than a part declares, so the check cannot be lied around);
* streams Excel rows (openpyxl read-only mode) and stops at ``max_rows``;
* reads every cell as text (codes keep their leading zeros);
* raises :class:`~yibao.kit.errors.ValidationFailed` naming the file and the rule.

Callers run it in a worker thread (request handlers are plain functions), never on
the event loop.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any

import polars as pl
from openpyxl import load_workbook

from yibao.kit import jsonerrors
from yibao.kit.errors import ValidationFailed

_MB = 1024 * 1024


@dataclass(frozen=True)
class TableLimits:
    """Bounds for one uploaded file."""

    max_unzipped_bytes: int = 256 * _MB
    max_rows: int = 2_000_000
    max_columns: int = 1_000


def table_limits(settings: Any) -> TableLimits:
    """The configured limits (``YIBAO_MAX_UNZIPPED_BYTES``, ``YIBAO_MAX_UPLOAD_ROWS``)."""
    return TableLimits(
        max_unzipped_bytes=settings.max_unzipped_bytes, max_rows=settings.max_upload_rows
    )


def _size(n: int) -> str:
    return f"{n / _MB:,.0f} MB"


def _binary(source: bytes | IO[bytes]) -> IO[bytes]:
    if isinstance(source, bytes | bytearray):
        return io.BytesIO(source)
    source.seek(0)
    return source


def check_xlsx(source: bytes | IO[bytes], filename: str, limits: TableLimits) -> None:
    """Refuse a file that is not an Excel workbook or would unpack beyond the limit."""
    stream = _binary(source)
    try:
        with zipfile.ZipFile(stream) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ValidationFailed(
            f"文件 {filename} 不是有效的 Excel（.xlsx）文件：请用 Excel 另存为 .xlsx 后再上传",
            field="file",
        ) from None
    unpacked = sum(max(0, i.file_size) for i in infos)
    if len(infos) > 10_000 or unpacked > limits.max_unzipped_bytes:
        raise ValidationFailed(
            f"文件 {filename} 解压后超过 {_size(limits.max_unzipped_bytes)}"
            f"（声明 {_size(unpacked)}）：文件过大或已损坏，请拆分后上传，或改用 CSV",
            field="file",
        )
    stream.seek(0)


#: what a caller's header row looks like (its cells as text), to find it below a title
HeaderTest = Callable[[Sequence[str | None]], bool]
#: rows searched for the header row (titles, a date line, a blank line above it)
HEADER_SEARCH = 10


@dataclass(frozen=True)
class FoundTable:
    """A table read below its header: the all-text frame, the header's row number
    (1-based, as the spreadsheet shows it) and each data row's number."""

    frame: pl.DataFrame
    header_row: int
    rows: list[int]
    #: how the file was read where it differs from the template (separator, encoding)
    notes: list[str] = field(default_factory=list)


def read_xlsx(source: bytes | IO[bytes], filename: str, limits: TableLimits) -> pl.DataFrame:
    """The first sheet of a workbook as an all-text frame (header row = column names)."""
    return _read_xlsx(source, filename, limits, None).frame


# long: one streaming pass over the sheet (header search, bounds, cells) kept together
def _read_xlsx(
    source: bytes | IO[bytes], filename: str, limits: TableLimits, is_header: HeaderTest | None
) -> FoundTable:
    check_xlsx(source, filename, limits)

    try:
        book = load_workbook(_binary(source), read_only=True, data_only=True)
    except Exception:
        raise ValidationFailed(
            f"无法读取 Excel 文件 {filename}：文件已损坏或不是 Excel 工作簿，"
            "请用 Excel 打开后另存为 .xlsx 再上传",
            field="file",
        ) from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise ValidationFailed(f"Excel 文件 {filename} 没有工作表", field="file")
        rows = sheet.iter_rows(values_only=True)
        head = [r for _, r in zip(range(HEADER_SEARCH), rows, strict=False)]
        if not head:
            raise ValidationFailed(f"Excel 文件 {filename} 是空的", field="file")
        at = _header_index([[_cell(v) for v in r or ()] for r in head], is_header)
        names = _header(head[at], filename, limits)
        width = len(names)
        columns: list[list[str | None]] = [[] for _ in range(width)]
        numbers: list[int] = []
        following = itertools.chain(head[at + 1 :], rows)
        for number, row in enumerate(following, start=at + 2):
            if row is None or all(v is None or v == "" for v in row):
                continue
            numbers.append(number)
            if len(numbers) > limits.max_rows:
                raise _too_many_rows(filename, limits)
            for i in range(width):
                value = row[i] if i < len(row) else None
                if isinstance(value, int | float) and abs(value) >= EXCEL_EXACT:
                    raise _shortened(filename, number, names[i], value)
                columns[i].append(_cell(value))
    finally:
        book.close()
    frame = pl.DataFrame(
        {
            name: pl.Series(name, col, dtype=pl.String)
            for name, col in zip(names, columns, strict=True)
        }
    )
    return FoundTable(frame, at + 1, numbers)


def _header_index(head: Sequence[Sequence[str | None]], is_header: HeaderTest | None) -> int:
    """Which of the first rows is the header: the first ``is_header`` accepts (a title
    or a date line above it is passed over), else the first."""
    if is_header is not None:
        for i, cells in enumerate(head):
            if is_header(cells):
                return i
    return 0


#: Excel keeps 15 significant digits of a number: from 10^15 on, a number cell may not be
#: what was typed (an 18-digit settlement id or a 20-digit person number loses its tail)
EXCEL_EXACT = 10**15


def _shortened(filename: str, row: int, column: str, value: float) -> ValidationFailed:
    return ValidationFailed(
        f"文件 {filename} 第 {row} 行“{column}”列：数字 {_number(float(value))} 超过 Excel 的"
        " 15 位有效数字，编号的后几位已被 Excel 改动，无法得知原值：请把该列设为“文本”格式，"
        "重新填入完整编号后上传",
        field="file",
    )


def _header(header: tuple[Any, ...], filename: str, limits: TableLimits) -> list[str]:
    names: list[str] = []
    for i, value in enumerate(header):
        text = "" if value is None else str(value).strip()
        names.append(text or f"column_{i + 1}")
    while names and names[-1].startswith("column_"):
        names.pop()  # trailing empty header cells
    if not names:
        raise ValidationFailed(f"文件 {filename} 第 1 行（表头）是空的", field="file")
    if len(names) > limits.max_columns:
        raise ValidationFailed(
            f"文件 {filename} 有 {len(names)} 列，超过上限 {limits.max_columns} 列", field="file"
        )
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return unique


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ").removesuffix(" 00:00:00")
    if isinstance(value, date | time):
        return value.isoformat()
    text = str(value)
    return text if text != "" else None


def _number(value: float) -> str:
    """A number cell as Excel shows it: 15 significant digits, no exponent.

    Excel stores the binary double of a sum or a formula (``0.30000000000000004``,
    ``15167.250000000002``) but shows and computes with 15 significant digits, so
    ``=SUM(...)`` of amounts in fen is read as the amount the user sees.
    """
    if not math.isfinite(value):
        return str(value)
    if value.is_integer():
        return str(int(value))
    text = format(Decimal(format(value, ".15g")), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _too_many_rows(filename: str, limits: TableLimits) -> ValidationFailed:
    return ValidationFailed(
        f"文件 {filename} 超过 {limits.max_rows:,} 行的上限：请拆分后分批上传", field="file"
    )


def decode_text(content: bytes, filename: str) -> str:
    """UTF-8 (with or without BOM) as is; UTF-16 with its BOM (Excel's “Unicode 文本”);
    a GBK file (Excel on Chinese Windows) decoded."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            raise ValidationFailed(
                f"文件 {filename} 标明为 UTF-16 编码但内容不是有效的 UTF-16 文本", field="file"
            ) from None
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030")
    except UnicodeDecodeError:
        raise ValidationFailed(
            f"文件 {filename} 的编码无法识别：请保存为 UTF-8（或 GBK）编码", field="file"
        ) from None


def read_csv(source: bytes | IO[bytes], filename: str, limits: TableLimits) -> pl.DataFrame:
    """A CSV file as an all-text frame (UTF-8 or GBK)."""
    return _read_csv(source, filename, limits, None).frame


#: field separators a “CSV” may use: Excel's Unicode text and some HIS exports use TAB,
#: spreadsheets set to European locales ``;``
DELIMITERS = (",", "\t", ";")
DELIMITER_NAMES = {"\t": "制表符（TAB）", ";": "分号"}


def _delimiter(text: str) -> str:
    """The separator of the first lines: the one a line holds most of (comma on a tie)."""
    lines = text.splitlines()[:HEADER_SEARCH]
    most = {d: max((line.count(d) for line in lines), default=0) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (most[d], d == ","))
    return best if most[best] > 0 else ","


def _csv_header_line(text: str, is_header: HeaderTest | None, delimiter: str = ",") -> int:
    """The 0-based line of the header among the first :data:`HEADER_SEARCH` records."""
    if is_header is None:
        return 0
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    line = 0
    try:
        for _, record in zip(range(HEADER_SEARCH), reader, strict=False):
            if is_header([c.strip() or None for c in record]):
                return line
            line = reader.line_num
    except csv.Error:
        pass  # the parser below says what is wrong
    return 0


def _read_csv(
    source: bytes | IO[bytes], filename: str, limits: TableLimits, is_header: HeaderTest | None
) -> FoundTable:
    content = source if isinstance(source, bytes | bytearray) else _binary(source).read()
    utf16 = bytes(content[:2]) in (b"\xff\xfe", b"\xfe\xff")
    if b"\x00" in content[:4096] and not utf16:
        raise ValidationFailed(f"文件 {filename} 不是文本格式的 CSV（含二进制内容）", field="file")
    text = decode_text(bytes(content), filename)
    delimiter = _delimiter(text)
    skip = _csv_header_line(text, is_header, delimiter)
    try:
        frame = pl.read_csv(
            io.StringIO(text),
            infer_schema=False,
            n_rows=limits.max_rows + 1,
            skip_rows=skip,
            separator=delimiter,
        )
    except Exception as exc:
        raise ValidationFailed(
            f"无法读取 CSV 文件 {filename}：{_csv_problem(exc)}", field="file"
        ) from None
    if frame.height > limits.max_rows:
        raise _too_many_rows(filename, limits)
    if frame.width > limits.max_columns:
        raise ValidationFailed(
            f"文件 {filename} 有 {frame.width} 列，超过上限 {limits.max_columns} 列", field="file"
        )
    # polars keeps a blank line as an empty row, so row i is line skip + 2 + i (a quoted
    # value over several lines shifts the later ones: rare in a list file)
    notes = []
    if delimiter != ",":
        notes.append(f"文件 {filename} 以{DELIMITER_NAMES[delimiter]}分隔各列，已按此读取")
    if utf16:
        notes.append(f"文件 {filename} 为 UTF-16 编码（Excel 的“Unicode 文本”），已按此读取")
    rows = [skip + 2 + i for i in range(frame.height)]
    return FoundTable(frame, skip + 1, rows, notes)


def read_json(source: bytes | IO[bytes], filename: str) -> Any:
    """A JSON file as Python objects; Chinese errors for bad text or deep nesting."""
    content = source if isinstance(source, bytes | bytearray) else _binary(source).read()
    try:
        return json.loads(decode_text(bytes(content), filename))
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            f"文件 {filename} 不是有效的 JSON（{jsonerrors.reason(exc)}）",
            field="file",
        ) from None
    except RecursionError:
        raise ValidationFailed(f"文件 {filename} 的 JSON 嵌套过深", field="file") from None


def read_table(source: bytes | IO[bytes], filename: str, limits: TableLimits) -> pl.DataFrame:
    """A ``.csv`` / ``.xlsx`` upload as an all-text frame, by its file name."""
    name = filename.lower()
    if name.endswith((".xlsx", ".xlsm")):
        return read_xlsx(source, filename, limits)
    if name.endswith((".csv", ".txt")):
        return read_csv(source, filename, limits)
    raise ValidationFailed(f"文件类型应为 .csv 或 .xlsx：{filename}", field="file")


def read_table_found(
    source: bytes | IO[bytes], filename: str, limits: TableLimits, is_header: HeaderTest
) -> FoundTable:
    """:func:`read_table` for a caller that knows its header: the header is the first
    of the first :data:`HEADER_SEARCH` rows ``is_header`` accepts (the first row when
    none does), so a title or a date line above it (as many exports have) is passed
    over; with the header's and each data row's number as the spreadsheet shows them."""
    name = filename.lower()
    if name.endswith((".xlsx", ".xlsm")):
        return _read_xlsx(source, filename, limits, is_header)
    if name.endswith((".csv", ".txt")):
        return _read_csv(source, filename, limits, is_header)
    raise ValidationFailed(f"文件类型应为 .csv 或 .xlsx：{filename}", field="file")


def _csv_problem(exc: Exception) -> str:
    """What is wrong with a CSV file, in words a user acts on (not the parser's text)."""
    text = str(exc).lower()
    if "more fields" in text or "fields than" in text:
        return "某些行的列数多于表头（多了逗号？文本中的逗号须用英文双引号括起来）"
    if "quote" in text:
        return "引号不成对（文本中的双引号须写成两个双引号）"
    return "格式有误：请确认是逗号分隔、第一行为表头的 CSV 文件（UTF-8 或 GBK 编码）"
