"""A decision-analysis report as an Excel workbook or a printable PDF (landscape A4,
Chinese glyphs embedded as the monthly statements do), with the same columns, labels
and figures as the page."""

from __future__ import annotations

import io
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from yibao.analysis.reports import Report
from yibao.kit.exports import NUMBER_FORMATS, write_xlsx
from yibao.settlement.statements.pdf import pdf_font

#: places and thousands separators of a figure as printed, by column kind: money and
#: other decimals (points, quantities) with fen and separators, days to 2, CMI and
#: the consumption indices to 4 (the weights' places) — fixed, so a column lines up
PLACES: dict[str, tuple[int, bool]] = {
    "money": (2, True),
    "dec": (2, True),
    "days": (2, False),
    "index": (4, False),
}


def shown(value: Any, kind: str) -> str:
    """A figure as printed on the page and in the PDF, in the fixed places of its kind
    (:data:`PLACES`), rounded half up (四舍五入); shares as per cent with 2 decimals,
    counts with separators; a missing figure reads "—"."""
    if value is None or value == "":
        return "—"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "pct":
        return f"{_fixed(Decimal(str(value)) * 100, 2)}%"
    if kind in PLACES:
        places, grouped = PLACES[kind]
        return _fixed(Decimal(str(value)), places, grouped=grouped)
    return str(value)


def _fixed(value: Decimal, places: int, *, grouped: bool = False) -> str:
    exact = value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    return f"{exact:,.{places}f}" if grouped else f"{exact:.{places}f}"


def _frame(columns: list[tuple[str, str, str]], rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Labelled columns; money, shares and indices stay numbers (shares as fractions,
    formatted as per cent by :func:`_formats`)."""
    data: dict[str, pl.Series] = {}
    for key, label, kind in columns:
        values = [r.get(key) for r in rows]
        if kind in ("money", "dec", "pct", "index", "days"):
            floats = [None if v is None else float(v) for v in values]
            data[label] = pl.Series(label, floats, dtype=pl.Float64)
        elif kind == "int":
            data[label] = pl.Series(label, values, dtype=pl.Int64)
        else:
            data[label] = pl.Series(
                label, [None if v is None else str(v) for v in values], dtype=pl.String
            )
    return pl.DataFrame(data)


def _formats(*column_sets: list[tuple[str, str, str]]) -> dict[str, str]:
    """Excel number formats of the labelled columns by kind (money ``#,##0.00``, shares
    ``0.00%``, indices ``0.0000``, days ``0.00``)."""
    return {
        label: NUMBER_FORMATS[kind]
        for columns in column_sets
        for _, label, kind in columns
        if kind in NUMBER_FORMATS
    }


def report_xlsx(report: Report) -> bytes:
    sheets = {report.title[:31]: _frame(report.columns, report.rows)}
    item_columns = report.extra.get("item_columns") or []
    if report.extra.get("items"):
        sheets["排名前列的药品项目耗材"] = _frame(item_columns, report.extra["items"])
    buf = io.BytesIO()
    write_xlsx(sheets, buf, autofit=True, formats=_formats(report.columns, item_columns))
    return buf.getvalue()


def _table(columns: list[tuple[str, str, str]], rows: list[dict[str, Any]], font: str) -> Table:
    body = [[label for _, label, _ in columns]] + [
        [shown(r.get(key), kind) for key, _, kind in columns] for r in rows
    ]
    table = Table(body, repeatRows=1)
    style: list[Any] = [
        ("FONT", (0, 0), (-1, -1), font, 7),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
    ]
    for i, (_, _, kind) in enumerate(columns):  # figures right, text left
        style.append(("ALIGN", (i, 1), (i, -1), "LEFT" if kind == "text" else "RIGHT"))
    table.setStyle(TableStyle(style))
    return table


def report_pdf(report: Report, scope: str, issued: str) -> bytes:
    font = pdf_font()
    title = ParagraphStyle("t", fontName=font, fontSize=15, leading=20, alignment=1)
    body = ParagraphStyle("b", fontName=font, fontSize=9, leading=13)
    f = report.filters
    when = f"{f.year} 年" + (f" {f.month} 月" if f.month else "")
    story: list[Any] = [
        Paragraph(f"{report.title}（{when}）", title),
        Spacer(1, 3 * mm),
        Paragraph(f"范围：{scope}；医院：{f.hospital or '全部'}；出具时间：{issued}", body),
    ]
    story += [Paragraph(n, body) for n in report.notes]
    forecast = report.extra.get("forecast")
    if forecast:
        story.append(
            Paragraph(
                f"预测全年基金支付 {shown(forecast['total'], 'money')} 元"
                f"（95% 区间 {shown(forecast['low'], 'money')} – "
                f"{shown(forecast['high'], 'money')}；"
                f"{forecast['method']}，已知 {forecast['months']} 个月）",
                body,
            )
        )
    story += [Spacer(1, 3 * mm), _table(report.columns, report.rows, font)]
    if report.extra.get("items"):
        story += [Spacer(1, 5 * mm), Paragraph("排名前列的药品、诊疗项目与耗材", body)]
        story.append(_table(report.extra["item_columns"], report.extra["items"], font))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=landscape(A4),
        leftMargin=10 * mm,
        rightMargin=10 * mm,
        topMargin=10 * mm,
        bottomMargin=10 * mm,
        title=report.title,
    )
    doc.build(story)
    return buf.getvalue()
