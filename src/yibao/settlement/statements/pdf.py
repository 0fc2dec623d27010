"""A hospital's monthly statement as a one-page PDF in Chinese (reportlab).

The Chinese glyphs are embedded (subset) from a TrueType font found on the machine
(``YIBAO_PDF_FONT``, else Debian's WenQuanYi / AR PL / Droid fonts), so the PDF reads
the same on any computer and prints as issued.  Without one the built-in CID font
STSong-Light is used: not embedded, the reader's own Song font draws the text."""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from yibao.settlement.labels import PAYMENT_CLASSES

FONT = "STSong-Light"
EMBEDDED = "YibaoCJK"
#: TrueType (glyf) CJK fonts of Debian packages, in order of preference; Noto CJK is
#: CFF-based, which reportlab cannot embed
FONT_CANDIDATES: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
)
log = logging.getLogger(__name__)

FIGURES: tuple[tuple[str, str], ...] = (
    ("fund_drg", "按病组支付病例 基金支付"),
    ("fund_items", "按项目支付病例 基金支付"),
    ("fund_total", "基金支付合计"),
    ("deductions", "审核调整扣减"),
    ("audit_deductions", "智能审核扣款"),
    ("additions", "审核调增"),
    ("settlement_amount", "本月结算金额"),
    ("prepaid", "本月预拨金额"),
    ("deposit_withheld", "预留质量保证金"),
    ("advances", "已预付金额"),
    ("net_payable", "本月应付净额"),
)
CLASSES = PAYMENT_CLASSES


@functools.cache
def pdf_font(path: Path | None = None) -> str:
    """The registered font name: an embedded TrueType CJK font (``path``, else the
    first of :data:`FONT_CANDIDATES` present), or the CID font when there is none."""
    for candidate in [path] if path is not None else list(FONT_CANDIDATES):
        if candidate is None or not candidate.is_file():
            continue
        try:
            pdfmetrics.registerFont(TTFont(EMBEDDED, str(candidate), subfontIndex=0))
            return EMBEDDED
        except Exception as exc:  # a font reportlab cannot read: say which, then go on
            log.warning("PDF 字体 %s 无法使用（%s），改用内置 CID 字体", candidate, exc)
    if path is not None:
        log.warning("PDF 字体 %s 不存在，改用内置 CID 字体（不嵌入）", path)
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _table(rows: list[list[str]], widths: list[float], font: str, *, seal: bool = False) -> Table:
    if seal:  # the signature block: room to sign and to stamp, no grid
        table = Table(rows, colWidths=widths, rowHeights=[14 * mm] + [9 * mm] * (len(rows) - 1))
        table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), font, 10)]))
        return table
    table = Table(rows, colWidths=widths)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), font, 10),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
            ]
        )
    )
    return table


# long: the page is laid out top to bottom in one drawing sequence
def statement_pdf(
    statement: Mapping[str, Any],
    cases: pl.DataFrame,
    hospital_name: str = "",
    bureau: str = "",
    issued: str = "",
    font_path: Path | None = None,
    trial: bool = False,
) -> bytes:
    """One page: heading with the bureau, period and hospital, the statement figures,
    the case count per payment class (at the confirmed amounts, review adjustments
    included, said under it), and the signature and seal block of both sides (font:
    :func:`pdf_font`).  A ``trial`` (parameters other than the bureau's) says so under
    the heading and has no seal block: it is no statement."""
    font = pdf_font(font_path)
    title = ParagraphStyle("t", fontName=font, fontSize=16, leading=22, alignment=1)
    body = ParagraphStyle("b", fontName=font, fontSize=10, leading=14)
    rate = _pct(statement["deposit_rate"])
    figures = [["项目", "金额（元）"]] + [
        [label if key != "deposit_withheld" else f"{label}（{rate}）", f"{statement[key]:,.2f}"]
        for key, label in FIGURES
    ]
    counts = (
        cases.group_by("payment_class")
        .agg(
            pl.len().alias("n"),
            pl.col("amount_paid").sum().alias("paid"),
            pl.col("fund_amount").sum().alias("fund"),
        )
        .sort("payment_class")
    )
    count_rows = [["病例类型", "病例数", "确认支付金额（元）", "确认基金支付（元）"]] + [
        [CLASSES.get(c, c), str(n), f"{paid:,.2f}", f"{fund:,.2f}"]
        for c, n, paid, fund in counts.rows()
    ]
    paid_sum, fund_sum = sum(r[2] for r in counts.rows()), sum(r[3] for r in counts.rows())
    count_rows.append(["合计", str(cases.height), f"{paid_sum:,.2f}", f"{fund_sum:,.2f}"])
    warn = ParagraphStyle("w", fontName=font, fontSize=11, leading=16, textColor="#b02a37")
    story = [
        Paragraph(f"{bureau}医疗保障基金 DRG 付费月度结算单{'（试算）' if trial else ''}", title),
        *(
            [Paragraph("试算：按调整后的参数计算，非正式结算单，不作拨付依据", warn)]
            if trial
            else []
        ),
        Spacer(1, 4 * mm),
        Paragraph(f"经办机构：{bureau or '—'}；出具日期：{issued or '—'}", body),
        Paragraph(
            f"结算期间：{statement['period']}；医疗机构：{statement['hospital_code']} "
            f"{hospital_name}",
            body,
        ),
        Paragraph(
            f"病例数：{statement['cases']}（按病组 {statement['drg_cases']}，"
            f"按项目 {statement['item_cases']}）",
            body,
        ),
        Spacer(1, 4 * mm),
        _table(figures, [90 * mm, 60 * mm], font),
        Spacer(1, 6 * mm),
        Paragraph("病例数统计", body),
        Spacer(1, 2 * mm),
        _table(count_rows, [45 * mm, 25 * mm, 45 * mm, 45 * mm], font),
        Spacer(1, 6 * mm),
        Paragraph(
            "说明：本结算单根据已确认结算记录生成；上表各项基金支付为审核调整前的金额，"
            "审核调整扣减、调增与智能审核扣款另列；病例数统计为确认结算的金额（已含审核"
            "调整与特例单议）。质量保证金于年终考核后按得分返还。",
            body,
        ),
    ]
    if trial:
        story.append(Paragraph("（试算结算单不设盖章栏）", body))
        doc_story = story
    else:
        doc_story = [*story, Spacer(1, 10 * mm), _seal(font)]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=A4, title=f"结算单 {statement['period']} {statement['hospital_code']}"
    )
    doc.build(doc_story)
    return buf.getvalue()


def _seal(font: str) -> Any:
    return _table(
        [
            ["医保经办机构（盖章）", "医疗机构（盖章）"],
            ["经办人：", "经办人："],
            ["复核人：", "负责人："],
            ["日期：    年   月   日", "日期：    年   月   日"],
        ],
        [80 * mm, 80 * mm],
        font,
        seal=True,
    )


def _pct(value: Any) -> str:
    return f"{(Decimal(str(value)) * 100).normalize():f}%"
