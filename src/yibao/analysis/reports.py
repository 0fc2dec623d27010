"""Decision-analysis reports (决策分析, issue 15 item 2, ADR 0037), read from the
summary tables in the session's scope (a hospital its own rows, a district bureau its
district's).  Case figures add the cases stored since the last refresh (by id, on the
primary key), so they are current; audit, statement and DRG figures are as of the
refresh, which each report states.

Every report is a :class:`Report`: columns (key, Chinese label, kind), rows, chart data
and notes — the page, the JSON API, the Excel workbook and the PDF all show the same.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.analysis.models import AnalysisState, AuditMonth, CaseMonth, ItemYear
from yibao.analysis.refresh import case_month_rows
from yibao.catalogue.models import CatalogueEntry
from yibao.db.scoping import get_scope
from yibao.kit.errors import NotFound, ValidationFailed
from yibao.regions.models import HOSPITAL_LEVELS, Hospital

ZERO = Decimal("0.00")
ITEM_TYPES = {"09": "西药", "10": "中成药", "11": "中药饮片", "08": "材料"}
INSUTYPES = {"310": "职工医保", "390": "居民医保"}


@dataclass
class Filters:
    year: int
    month: int | None = None
    hospital: str | None = None


@dataclass
class Report:
    name: str
    title: str
    filters: Filters
    #: key, label, kind: text, int, money, pct, index (4 places), days, dec (2 places)
    columns: list[tuple[str, str, str]]
    rows: list[dict[str, Any]]
    chart: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def state_of(session: Session, region_code: str | None) -> AnalysisState | None:
    """The refresh state of the viewer's region (its city for a district or hospital)."""
    if not region_code:
        return None
    for code in (region_code, region_code[:4] + "00", region_code[:2] + "0000"):
        row = session.get(AnalysisState, code)
        if row is not None:
            return row
    return None


def state_for_scope(session: Session) -> AnalysisState | None:
    """The refresh state covering the session's data scope (None: global or unknown)."""
    scope = get_scope(session)
    if scope is None or scope.is_global:
        return None
    region = scope.region_code
    if scope.hospital_id is not None:
        hospital = session.get(Hospital, scope.hospital_id)
        region = hospital.region_code if hospital is not None else None
    return state_of(session, region)


def years(session: Session) -> list[int]:
    months = session.scalars(select(CaseMonth.month).distinct()).all()
    return sorted({int(m[:4]) for m in months}, reverse=True)


def case_months(
    session: Session, state: AnalysisState | None, f: Filters, *, whole_year: bool = False
) -> list[dict[str, Any]]:
    """Case months of ``f`` (year, month unless ``whole_year``, hospital): the stored
    rows plus the cases stored since the refresh."""
    prefix = f"{f.year:04d}-"
    stmt = select(CaseMonth).where(CaseMonth.month.startswith(prefix))
    if f.hospital:
        stmt = stmt.where(CaseMonth.hospital_code == f.hospital)
    rows = [
        {c.key: getattr(r, c.key) for c in CaseMonth.__table__.columns}
        for r in session.scalars(stmt)
    ]
    scope = get_scope(session)
    live_prefix = (scope.region_prefix if scope else None) or ""
    if state is not None:
        rows += case_month_rows(session, live_prefix, after_id=state.case_watermark)
    else:
        rows = case_month_rows(session, live_prefix)
    wanted = f"{f.year:04d}-{f.month:02d}" if f.month and not whole_year else prefix
    return [
        r
        for r in rows
        if r["month"].startswith(wanted) and (not f.hospital or r["hospital_code"] == f.hospital)
    ]


def _hospitals(session: Session) -> dict[str, Hospital]:
    return {h.code: h for h in session.scalars(select(Hospital))}


def _sum_by(
    rows: list[dict[str, Any]], key: str, fields: tuple[str, ...]
) -> dict[Any, dict[str, Any]]:
    out: dict[Any, dict[str, Any]] = defaultdict(lambda: dict.fromkeys(fields, 0))
    for r in rows:
        acc = out[r[key]]
        for k in fields:
            acc[k] += r[k]
    return out


def _ratio(a: Any, b: Any, places: str = "0.0001") -> Decimal | None:
    """a ÷ b rounded half up (四舍五入) to ``places``; None when b is 0."""
    return (Decimal(a) / Decimal(b)).quantize(Decimal(places), ROUND_HALF_UP) if b else None


CASE_FIELDS = (
    "cases",
    "deaths",
    "los_days",
    "total_cost",
    "fund_payment",
    "self_pay",
    "drug_cost",
    "material_cost",
    "exam_cost",
)
AUDIT_FIELDS = (
    "audits",
    "flagged",
    "rt_findings",
    "vola_amt",
    "findings",
    "finding_amt",
    "deducted",
)
#: what the 疑点 columns count — the same findings as 地图定位's 疑点 (ADR 0033)
FINDINGS_NOTE = (
    "疑点：实时疑点数、实时疑点金额为本期事前事中审核（3101/3102）提示的疑点；"
    "事后疑点为已公示（含其后各环节）、未撤销的事后审核疑点，不含待公示的。"
    "二者之和即地图定位的疑点数与疑点金额。"
)


def _audit_rows(session: Session, f: Filters, *, whole_year: bool = False) -> list[AuditMonth]:
    wanted = f"{f.year:04d}-{f.month:02d}" if f.month and not whole_year else f"{f.year:04d}-"
    stmt = select(AuditMonth).where(AuditMonth.month.startswith(wanted))
    if f.hospital:
        stmt = stmt.where(AuditMonth.hospital_code == f.hospital)
    return list(session.scalars(stmt))


def _audit_dict(a: AuditMonth, key: str) -> dict[str, Any]:
    return {key: getattr(a, key), **{k: getattr(a, k) for k in AUDIT_FIELDS}}


# long: one row per hospital from the case and audit months
def institutions(session: Session, state: AnalysisState | None, f: Filters) -> Report:
    """机构审核与费用: per institution, cases, spending and audit of a month or year."""
    cases = _sum_by(case_months(session, state, f), "hospital_code", CASE_FIELDS)
    audits = _sum_by(
        [
            {k: getattr(a, k) for k in ("hospital_code", *AUDIT_FIELDS)}
            for a in _audit_rows(session, f)
        ],
        "hospital_code",
        AUDIT_FIELDS,
    )
    names = _hospitals(session)
    rows = []
    for code in sorted(set(cases) | set(audits)):
        c, a = (
            cases.get(code) or dict.fromkeys(CASE_FIELDS, 0),
            audits.get(code) or dict.fromkeys(AUDIT_FIELDS, 0),
        )
        h = names.get(code)
        rows.append(
            {
                "hospital_code": code,
                "hospital_name": h.name if h else code,
                "level": HOSPITAL_LEVELS.get(h.level, h.level) if h else "",
                "cases": c["cases"],
                "total_cost": Decimal(c["total_cost"]),
                "fund_payment": Decimal(c["fund_payment"]),
                "avg_cost": _ratio(c["total_cost"], c["cases"], "0.01"),
                "avg_los": _ratio(c["los_days"], c["cases"], "0.01"),
                "drug_share": _ratio(c["drug_cost"], c["total_cost"]),
                "audits": a["audits"],
                "flagged": a["flagged"],
                "flag_rate": _ratio(a["flagged"], a["audits"]),
                "rt_findings": a["rt_findings"],
                "vola_amt": Decimal(a["vola_amt"]),
                "findings": a["findings"],
                "finding_amt": Decimal(a["finding_amt"]),
                "deducted": Decimal(a["deducted"]),
            }
        )
    rows.sort(key=lambda r: (-r["fund_payment"], r["hospital_code"]))
    top = rows[:15]
    return Report(
        "institutions",
        "机构月度审核与费用",
        f,
        [
            ("hospital_code", "医院编码", "text"),
            ("hospital_name", "医院名称", "text"),
            ("level", "等级", "text"),
            ("cases", "出院病例", "int"),
            ("total_cost", "医疗总费用", "money"),
            ("fund_payment", "基金支付", "money"),
            ("avg_cost", "例均费用", "money"),
            ("avg_los", "平均住院日", "days"),
            ("drug_share", "药占比", "pct"),
            ("audits", "实时审核次数", "int"),
            ("flagged", "有疑点次数", "int"),
            ("flag_rate", "疑点率", "pct"),
            ("rt_findings", "实时疑点数", "int"),
            ("vola_amt", "实时疑点金额", "money"),
            ("findings", "事后疑点数", "int"),
            ("finding_amt", "事后疑点金额", "money"),
            ("deducted", "审核扣款", "money"),
        ],
        rows,
        chart={
            "kind": "bar",
            "x": [r["hospital_name"] for r in top],
            "series": {
                "基金支付（万元）": [round(float(r["fund_payment"]) / 1e4, 2) for r in top],
                "审核扣款（万元）": [round(float(r["deducted"]) / 1e4, 2) for r in top],
            },
        },
        notes=[FINDINGS_NOTE],
    )


def trend(session: Session, state: AnalysisState | None, f: Filters) -> Report:
    """全年趋势: month by month of the year and the two before it."""
    rows = []
    series: dict[str, list[float]] = {}
    for y in (f.year - 2, f.year - 1, f.year):
        fy = Filters(year=y, hospital=f.hospital)
        cases = _sum_by(case_months(session, state, fy), "month", CASE_FIELDS)
        audits = _sum_by(
            [
                {"month": a.month, **{k: getattr(a, k) for k in AUDIT_FIELDS}}
                for a in _audit_rows(session, fy)
            ],
            "month",
            AUDIT_FIELDS,
        )
        if not cases and not audits:
            continue
        fund = []
        for m in range(1, 13):
            key = f"{y:04d}-{m:02d}"
            c, a = cases.get(key), audits.get(key)
            fund.append(round(float(c["fund_payment"]) / 1e4, 2) if c else 0.0)
            if c or a:
                c = c or dict.fromkeys(CASE_FIELDS, 0)
                a = a or dict.fromkeys(AUDIT_FIELDS, 0)
                rows.append(
                    {
                        "month": key,
                        "cases": c["cases"],
                        "total_cost": Decimal(c["total_cost"]),
                        "fund_payment": Decimal(c["fund_payment"]),
                        "avg_cost": _ratio(c["total_cost"], c["cases"], "0.01"),
                        "audits": a["audits"],
                        "flagged": a["flagged"],
                        "findings": a["findings"],
                        "deducted": Decimal(a["deducted"]),
                    }
                )
        series[f"{y} 年基金支付（万元）"] = fund
    return Report(
        "trend",
        "年度趋势",
        f,
        [
            ("month", "月份", "text"),
            ("cases", "出院病例", "int"),
            ("total_cost", "医疗总费用", "money"),
            ("fund_payment", "基金支付", "money"),
            ("avg_cost", "例均费用", "money"),
            ("audits", "实时审核次数", "int"),
            ("flagged", "有疑点次数", "int"),
            ("findings", "事后疑点数", "int"),
            ("deducted", "审核扣款", "money"),
        ],
        rows,
        chart={"kind": "line", "x": [f"{m}月" for m in range(1, 13)], "series": series},
    )


# long: the per-hospital shares, then the items ranked with their catalogue names
def usage(session: Session, state: AnalysisState | None, f: Filters, top: int = 20) -> Report:
    """药品耗材使用: drug, material and examination shares per hospital; the most used
    drugs, items and materials (gateway fee lines)."""
    cases = _sum_by(case_months(session, state, f), "hospital_code", CASE_FIELDS)
    names = _hospitals(session)
    rows = []
    for code, c in sorted(cases.items()):
        h = names.get(code)
        rows.append(
            {
                "hospital_code": code,
                "hospital_name": h.name if h else code,
                "total_cost": Decimal(c["total_cost"]),
                "drug_cost": Decimal(c["drug_cost"]),
                "drug_share": _ratio(c["drug_cost"], c["total_cost"]),
                "material_cost": Decimal(c["material_cost"]),
                "material_share": _ratio(c["material_cost"], c["total_cost"]),
                "exam_cost": Decimal(c["exam_cost"]),
                "exam_share": _ratio(c["exam_cost"], c["total_cost"]),
            }
        )
    item = ItemYear
    stmt = (
        select(
            item.item_code,
            item.item_type,
            func.sum(item.quantity),
            func.sum(item.amount),
            func.count(func.distinct(item.hospital_code)),
        )
        .where(item.year == f.year)
        .group_by(item.item_code, item.item_type)
        .order_by(func.sum(item.amount).desc(), item.item_code)
        .limit(top)
    )
    if f.hospital:
        stmt = stmt.where(item.hospital_code == f.hospital)
    ranked = list(session.execute(stmt))
    labels = dict(
        session.execute(
            select(CatalogueEntry.code, func.max(CatalogueEntry.name))
            .where(CatalogueEntry.code.in_([r[0] for r in ranked]))
            .group_by(CatalogueEntry.code)
        ).all()
    )
    items = [
        {
            "item_code": code,
            "item_name": labels.get(code, code),
            "item_type": ITEM_TYPES.get(kind, "诊疗项目"),
            "quantity": qty,
            "amount": amt,
            "hospitals": n,
        }
        for code, kind, qty, amt, n in ranked
    ]
    return Report(
        "usage",
        "药品耗材使用",
        f,
        [
            ("hospital_code", "医院编码", "text"),
            ("hospital_name", "医院名称", "text"),
            ("total_cost", "医疗总费用", "money"),
            ("drug_cost", "药品费", "money"),
            ("drug_share", "药占比", "pct"),
            ("material_cost", "材料费", "money"),
            ("material_share", "耗占比", "pct"),
            ("exam_cost", "检查化验费", "money"),
            ("exam_share", "检查化验占比", "pct"),
        ],
        rows,
        chart={
            "kind": "bar",
            "x": [r["hospital_name"] for r in rows],
            "series": {
                "药占比 %": [round(float(r["drug_share"] or 0) * 100, 1) for r in rows],
                "耗占比 %": [round(float(r["material_share"] or 0) * 100, 1) for r in rows],
            },
        },
        extra={
            "items": items,
            "item_columns": [
                ("item_code", "目录编码", "text"),
                ("item_name", "名称", "text"),
                ("item_type", "类别", "text"),
                ("quantity", "数量", "dec"),
                ("amount", "金额", "money"),
                ("hospitals", "使用医院数", "int"),
            ],
        },
    )


def parse_filters(session: Session, year: Any, month: Any = None, hospital: Any = None) -> Filters:
    """Filters from query text: year (default: the latest with cases), month 1–12."""

    def number(value: Any, name: str, low: int, high: int) -> int | None:
        text = str(value or "").strip()
        if not text:
            return None
        if not text.isdigit() or not low <= int(text) <= high:
            raise ValidationFailed(
                f"{name}：须为 {low}–{high} 的整数（收到 {text[:20]!r}）", field=name
            )
        return int(text)

    y = number(year, "year", 2000, 2100)
    if y is None:
        known = years(session)
        if not known:
            raise NotFound("尚无汇总数据：请先刷新决策分析汇总")
        y = known[0]
    code = str(hospital or "").strip() or None
    if code is not None and len(code) > 12:
        raise ValidationFailed("hospital：医院编码过长", field="hospital")
    return Filters(year=y, month=number(month, "month", 1, 12), hospital=code)
