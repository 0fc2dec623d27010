"""结算单 and 年终清算.

* ``/settlement/statements``: a period's monthly statements — every hospital of the
  region with totals for the bureau (reviewers, admins), its own only for a hospital
  user — with Excel and PDF downloads (the API's statement endpoint).
* ``/settlement/clearing`` (bureau reviewers and admins): the year-end clearing form
  (budget, method, assessment score of each hospital with confirmed lists) and its
  result.

Both go through the functions the API uses
(:func:`~yibao.settlement.statements.service.compute_statements`,
:func:`~yibao.settlement.clearing.service.clearing_result`).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from yibao.accounts.models import User
from yibao.api.deps import Db, PostedForm, request_actor
from yibao.api.openapi import XLSX, download
from yibao.engines.exchange.lenient import refusal
from yibao.kit.bounds import DbId, is_tame
from yibao.kit.errors import DomainError, Forbidden, ValidationFailed
from yibao.kit.tables import read_table, table_limits
from yibao.kit.timeutil import local, utcnow
from yibao.settlement import clearing, views
from yibao.settlement.auth import own_hospital, region_for
from yibao.settlement.clearing import ClearingIn, clearing_result
from yibao.settlement.statements.service import compute_statements
from yibao.web.forms import failure, text
from yibao.web.pages.settlement.common import CSRF, VIEW
from yibao.web.render import render

router = APIRouter()
STATEMENT_SUMS = (
    "cases",
    "drg_cases",
    "item_cases",
    "drg_payment",
    "item_payment",
    "fund_total",
    "deductions",
    "audit_deductions",
    "additions",
    "settlement_amount",
    "prepaid",
    "deposit_withheld",
    "advances",
    "net_payable",
)
CLEARING_SUMS = (
    "cases",
    "provisional_payment",
    "final_payment",
    "final_fund",
    "deposit",
    "deposit_released",
    "deposit_forfeited",
    "paid_during_year",
    "clearing_amount",
)
METHODS = {
    "rate": "费率法（预算 ÷ 总权重）",
    "point": "点数法（预算 ÷ 总点数）",
    "dip": "DIP 结算点值（预算 ÷ 总分值 × 系数）",
}


def _this_month() -> str:
    return views.month_code(local(utcnow()).date())


def _totals(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: sum(r[k] or 0 for r in rows) for k in keys}


@router.get("/settlement/statements")
def statements_page(request: Request, db: Db, user: User = VIEW) -> Response:
    own = own_hospital(db, user)  # 403 for bureau roles that don't read statements
    period = (request.query_params.get("period") or "").strip()
    period = period or views.latest_period(db, confirmed=True) or _this_month()
    ctx: dict[str, Any] = {
        "period": period,
        "own": own,
        "is_bureau": own is None,
        "periods": views.confirmed_periods(db),
        "rows": [],
        "totals": None,
        "names": {},
        "period_error": None,
    }
    try:
        frame, cases = compute_statements(
            db,
            user,
            period,
            None,
            region=None,
            deposit_rate=None,
            prepay_share=None,
            advances=None,
            cache_s=request.app.state.settings.figures_cache_s,
        )
    except ValidationFailed as exc:
        ctx["period_error"] = exc.message
        return render(request, "settlement/statements.html", ctx, status_code=422)
    rows = frame.to_dicts()
    ctx["rows"] = rows
    ctx["cases"] = cases.height
    ctx["names"] = views.hospital_names(db, [r["hospital_code"] for r in rows])
    ctx["totals"] = _totals(rows, STATEMENT_SUMS) if len(rows) > 1 else None
    return render(request, "settlement/statements.html", ctx)


# --------------------------------------------------------------------------- clearing


def _bureau(db: Db, user: User) -> str:
    """The region of a bureau user who may run the clearing (403 otherwise)."""
    if own_hospital(db, user) is not None:
        raise Forbidden("仅结算审核员或医保局管理员可进行年终清算")
    return region_for(db, user, None)


def _year(raw: str) -> int:
    text = raw.strip()
    if not (len(text) == 4 and text.isascii() and text.isdigit()):
        raise ValidationFailed(f"清算年度 year 须为 4 位年份（收到 {raw[:20]!r}）", field="year")
    return int(text)


def _decimal(raw: str, field: str, label: str) -> Decimal:
    try:
        value = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        value = Decimal("NaN")
    if not raw:
        raise ValidationFailed(f"{label} {field}：未填写，须填写数字", field=field)
    if not is_tame(value):
        shown = raw[:30]
        problem = "数值过大" if value.is_finite() else "不是数字"
        raise ValidationFailed(f"{label} {field}：{problem}（收到“{shown}”）", field=field)
    return value


def clearing_input(
    form: FormData, hospitals: list[tuple[str, str]], scores: dict[str, Decimal] | None = None
) -> ClearingIn:
    """The clearing form as the API's request body (Chinese errors naming the field);
    ``scores`` from an uploaded table replace the typed ones."""
    budget = _decimal(text(form, "budget"), "budget", "年度预算（元）")
    if budget <= 0:
        raise ValidationFailed(f"年度预算（元） budget：须大于 0（收到 {budget}）", field="budget")
    method = text(form, "method") or "rate"
    if method not in METHODS:
        raise ValidationFailed(
            f"清算方法 method：应为 rate（费率法）、point（点数法）或 dip（DIP 结算点值）"
            f"（收到 {method!r}）",
            field="method",
        )
    if scores is not None:
        return _clearing_in({"budget": budget, "method": method, "assessment_scores": scores})
    scores = {}
    for code, name in hospitals:
        field = f"score_{code}"
        score = _decimal(text(form, field), field, f"{name} 的年度考核得分")
        if not 0 <= score <= 100:
            raise ValidationFailed(
                f"{name} 的年度考核得分 {field}：须在 0 到 100 之间（收到 {score}）", field=field
            )
        scores[code] = score
    return _clearing_in({"budget": budget, "method": method, "assessment_scores": scores})


def _clearing_in(data: dict[str, Any]) -> ClearingIn:
    """The API's body, or the first problem in Chinese naming the form's field (a budget
    with 3 decimals or over the limit, a score with too many decimals)."""
    try:
        return ClearingIn.model_validate(data)
    except ValidationError as exc:
        problem = refusal(exc, "", ClearingIn)
        loc = [str(p) for p in exc.errors()[0]["loc"]]
        field = f"score_{loc[1]}" if loc[0] == "assessment_scores" and len(loc) > 1 else loc[0]
        raise ValidationFailed(problem.message, field=field) from None


def clearing_page(
    request: Request,
    db: Db,
    user: User,
    year: int,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    region = _bureau(db, user)
    hospitals = views.clearing_hospitals(db, region, year)
    ctx: dict[str, Any] = {
        "year": year,
        "hospitals": hospitals,
        "methods": METHODS,
        "form": {"method": "rate"},
        "result": None,
        "error": None,
        "saved": clearing.saved_clearings(db, region, year),
        "saved_row": None,
    }
    ctx.update(extra)
    return render(request, "settlement/clearing.html", ctx, status_code=status_code)


@router.get("/settlement/clearing")
def clearing_view(request: Request, db: Db, user: User = VIEW) -> Response:
    raw = (request.query_params.get("year") or "").strip()
    latest = views.latest_period(db, confirmed=True) or _this_month()
    return clearing_page(request, db, user, _year(raw) if raw else int(latest[:4]))


@router.post("/settlement/clearing", dependencies=CSRF)
def run_clearing(request: Request, form: PostedForm, db: Db, user: User = VIEW) -> Response:
    """Run the year-end clearing of the user's region: 试算 shows the result, 保存
    keeps it (inputs and per-hospital result, audited) and opens it.  Scores are typed
    in or taken from an uploaded table (机构编码, 考核得分)."""
    shown = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    region = _bureau(db, user)
    try:
        year = _year(text(form, "year"))
        hospitals = views.clearing_hospitals(db, region, year)
        if not hospitals:
            raise ValidationFailed(
                f"清算年度 year：{year} 年没有已确认结算的病例，无法清算", field="year"
            )
        upload = form.get("scores_file")
        scores = None
        if isinstance(upload, UploadFile) and upload.filename:
            upload.file.seek(0)
            table = read_table(
                upload.file.read(), upload.filename, table_limits(request.app.state.settings)
            )
            scores = clearing.scores_from_table(table, hospitals, upload.filename)
            shown |= {f"score_{code}": str(score) for code, score in scores.items()}
        body = clearing_input(form, hospitals, scores)
        result = clearing_result(db, user, year, body)
        if text(form, "action") == "save":
            saved = clearing.do_save_clearing(
                db,
                region,
                year,
                budget=body.budget,
                method=body.method,
                scores=body.assessment_scores,
                result=result,
                note=text(form, "note"),
                actor=request_actor(request, user),
                partial=text(form, "partial") == "1",
            )
            return RedirectResponse(f"/settlement/clearing/{saved.id}", status_code=303)
    except DomainError as exc:
        err = failure(db, exc, action="clearing")
        try:
            year_shown = _year(shown.get("year", ""))
        except ValidationFailed:
            year_shown = int(_this_month()[:4])
        return clearing_page(
            request, db, user, year_shown, status_code=err["status"], error=err, form=shown
        )
    names = dict(hospitals)
    rows = [{**r, "name": names.get(r["hospital_code"], "")} for r in result.hospitals.to_dicts()]
    return clearing_page(
        request, db, user, year, result=_outcome(result.method, result, rows), form=shown
    )


def _levels(values: dict[str, Any]) -> dict[str, str]:
    """Each level's final rate as shown (4 decimals), only where the levels differ (a
    standard with level rates); the exact products are in the API's answer."""
    shown = {lv: f"{Decimal(str(v)):,.4f}" for lv, v in values.items()}
    return shown if len(set(shown.values())) > 1 else {}


def _outcome(method: str, result: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "method": method,
        "payment_budget": result.payment_budget,
        "fixed_total": result.fixed_total,
        "total_points": result.total_points,
        "final_value": result.final_value,
        "level_values": _levels(result.level_values),
        "residual": result.residual,
        "months": clearing.month_spans(result.months),
        "missing_months": clearing.month_spans(result.missing_months),
        "missing_count": len(result.missing_months),
        "rows": rows,
        "totals": _totals(rows, CLEARING_SUMS),
    }


@router.get("/settlement/clearing/scores-template.xlsx")
def scores_template(request: Request, db: Db, user: User = VIEW) -> Response:
    """考核得分模板: the hospitals being cleared, a blank score column."""
    year = _year((request.query_params.get("year") or "").strip())
    hospitals = views.clearing_hospitals(db, _bureau(db, user), year)
    return download(
        clearing.scores_template(hospitals),
        XLSX,
        f"clearing-scores-{year}.xlsx",
        f"考核得分模板-{year}.xlsx",
    )


@router.get("/settlement/clearing/{clearing_id}.xlsx")
def saved_clearing_xlsx(clearing_id: DbId, db: Db, user: User = VIEW) -> Response:
    row = clearing.get_clearing(db, clearing_id, _bureau(db, user))
    names = views.hospital_names(db, [h["hospital_code"] for h in row.hospitals])
    return download(
        clearing.clearing_workbook(row, names),
        XLSX,
        f"clearing-{row.year}-{row.id}.xlsx",
        f"年终清算-{row.year}-{row.id}.xlsx",
    )


@router.get("/settlement/clearing/{clearing_id}")
def saved_clearing(clearing_id: DbId, request: Request, db: Db, user: User = VIEW) -> Response:
    row = clearing.get_clearing(db, clearing_id, _bureau(db, user))
    names = views.hospital_names(db, [h["hospital_code"] for h in row.hospitals])
    rows = [
        {
            **{
                k: (Decimal(v) if isinstance(v, str) and k != "hospital_code" else v)
                for k, v in h.items()
            },
            "name": names.get(h["hospital_code"], ""),
        }
        for h in row.hospitals
    ]
    summary = {
        k: Decimal(v)
        for k, v in row.summary.items()
        if k not in ("level_values", "months", "missing_months")
    }
    levels = row.summary.get("level_values") or {}
    missing = row.summary.get("missing_months")
    result = {
        "method": row.method,
        **summary,
        "months": clearing.month_spans(row.summary.get("months") or []),
        "missing_months": clearing.month_spans(missing or []),
        "missing_count": len(missing or []),
        "months_unknown": missing is None,
        "level_values": _levels(levels),
        "final_value": row.final_value,
        "rows": rows,
        "totals": _totals(rows, CLEARING_SUMS),
    }
    form = {"method": row.method, "budget": str(row.budget)} | {
        f"score_{k}": v for k, v in row.scores.items()
    }
    return clearing_page(request, db, user, row.year, result=result, form=form, saved_row=row)
