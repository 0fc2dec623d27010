"""Decision analysis for the API and the pages: a report in the user's scope, its
exports, the refresh job and the fund budget (ADR 0037).

Every bureau and hospital user who may read cases reads the reports (the summary rows
are scoped like the cases); an analyst or a bureau administrator refreshes the
summaries of the bureau's city and sets its fund budget."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, has_permission
from yibao.analysis import fund, performance_reports, reports
from yibao.analysis.models import AnalysisState, FundBudget
from yibao.analysis.refresh import do_refresh
from yibao.audit.service import Actor
from yibao.jobs.models import Job
from yibao.jobs.runner import JobRunner
from yibao.jobs.service import do_submit_job
from yibao.kit.errors import Forbidden, NotFound, ValidationFailed
from yibao.kit.timeutil import local
from yibao.regions.models import Hospital
from yibao.settlement.models import SettlementConfirmation
from yibao.supervision.realtime.models import AuditRequest

REFRESH_KIND = "analysis.refresh"
Builder = Callable[[Session, AnalysisState | None, reports.Filters], reports.Report]
REPORTS: dict[str, tuple[str, Builder]] = {
    "institutions": ("机构月度审核与费用", reports.institutions),
    "trend": ("年度趋势", reports.trend),
    "drg": ("DRG 绩效", performance_reports.drg),
    "dip": ("DIP 绩效", performance_reports.dip),
    "usage": ("药品耗材使用", reports.usage),
}
NAMES = {**{k: t for k, (t, _) in REPORTS.items()}, "fund": "基金运行分析"}

__all__ = ["NAMES", "REFRESH_KIND", "do_refresh", "hospital_cmi", "report", "submit_refresh"]


def can_manage(user: User) -> bool:
    """Refresh the summaries and set the budget: analysts and bureau administrators."""
    return user.hospital_id is None and (
        has_permission(user.role, Permission.MEASURE)
        or has_permission(user.role, Permission.MANAGE_POLICIES)
    )


def city_of(user: User) -> str:
    """The region whose summaries the user's bureau refreshes: its city (or province)."""
    code = user.region_code or ""
    if user.hospital_id is not None or not code:
        raise Forbidden("只有医保局用户可以刷新汇总或设定预算")
    return code if code.endswith("00") else code[:4] + "00"


def state_for(session: Session, user: User) -> AnalysisState | None:
    region = user.hospital.region_code if user.hospital is not None else user.region_code
    return reports.state_of(session, region)


def hospital_cmi(session: Session, hospital: Hospital) -> dict[str, Any] | None:
    """The hospital's CMI as 决策分析 › DRG 绩效 shows it — the same row of the same
    summaries (:func:`performance_reports.hospital_cmi`): ``year``, ``cmi`` and the
    ``cases`` it counts, of its latest year; None before the first refresh."""
    return performance_reports.hospital_cmi(session, hospital.code)


def report(
    session: Session,
    user: User,
    name: str,
    *,
    year: Any = None,
    month: Any = None,
    hospital: Any = None,
) -> reports.Report:
    """Report ``name`` of the filters (query text, checked) in the user's scope."""
    if name not in NAMES:
        raise NotFound(f"报表 {name} 不存在（可选：{'、'.join(NAMES)}）")
    f = reports.parse_filters(session, year, month, hospital)
    if user.hospital is not None:  # a hospital reads its own figures only
        f.hospital = user.hospital.code
    state = state_for(session, user)
    if name == "fund":
        budget_region = None if user.hospital_id is not None else user.region_code
        out = fund.fund_run(session, state, f, budget_region)
    else:
        out = REPORTS[name][1](session, state, f)
    if state is not None and _stale(session, state):
        out.notes.append("汇总之后又有新的结算确认或审核记录，尚未计入；请刷新汇总。")
    if state is not None:
        out.notes.append(
            f"审核、结算单与 DRG 指标截至 {local(state.refreshed_at):%Y-%m-%d %H:%M} 汇总；"
            "病例数据实时。"
        )
    else:
        out.notes.append("尚未刷新汇总：审核、结算单与 DRG 指标暂缺，病例数据为实时统计。")
    return out


def _stale(session: Session, state: AnalysisState) -> bool:
    """Confirmations or real-time audits stored after the refresh (two max-id reads)."""
    confirmed = session.scalar(select(func.max(SettlementConfirmation.id))) or 0
    audited = session.scalar(select(func.max(AuditRequest.id))) or 0
    return confirmed > state.confirmation_watermark or audited > state.audit_watermark


def submit_refresh(session: Session, runner: JobRunner, user: User, actor: Actor) -> Job:
    if not can_manage(user):
        raise Forbidden("只有测算人员或医保局管理员可以刷新决策分析汇总")
    region = city_of(user)
    return do_submit_job(
        session,
        runner,
        kind=REFRESH_KIND,
        params={"region_code": region},
        actor=actor,
        message=f"刷新 {region} 的决策分析汇总",
    )


def set_budget(
    session: Session, user: User, year: Any, amount: Any, reason: Any, actor: Actor
) -> FundBudget:
    if not can_manage(user):
        raise Forbidden("只有测算人员或医保局管理员可以设定基金预算")
    try:
        value = Decimal(str(amount).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(
            f"amount：基金预算须为金额数字（收到 {str(amount)[:30]!r}）", field="amount"
        ) from None
    text = str(year or "").strip()
    if not text.isdigit():
        raise ValidationFailed(f"year：年度须为四位数字（收到 {text[:10]!r}）", field="year")
    return fund.do_set_budget(session, city_of(user), int(text), value, str(reason or ""), actor)
