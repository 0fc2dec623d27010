"""交易网关 pages (issue 12 item 10): the journal of messages and one message's request
and response, the real-time settlements and one settlement, the reconciliations
(3201 / 3202) and, for bureau users, the monthly inter-region clearing with its
Excel download.

Every page reads through :mod:`yibao.exchange.views` / :mod:`yibao.exchange.clearing`
(what the read API under ``/api/exchange`` answers too).  A bureau user sees its
region's institutions, a hospital user only its own rows — the session's scope does
it, so another hospital's message or settlement is a 404.  ID numbers are masked for
roles without "查看完整身份证号".
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from yibao.accounts.models import User
from yibao.api.deps import Db, require
from yibao.benefits.service import policy_names
from yibao.db.scoping import get_scope
from yibao.engines.insured import INSUTYPES
from yibao.exchange import views
from yibao.exchange.clearing import SCOPE_WORDS, clearing_report, title_of
from yibao.kit.bounds import YEAR_MAX, YEAR_MIN, DbId
from yibao.kit.errors import DomainError, Forbidden, ValidationFailed
from yibao.kit.paging import clamp_page
from yibao.kit.timeutil import local, utcnow
from yibao.web.forms import int_param
from yibao.web.render import render

router = APIRouter(prefix="/exchange")
VIEW = require(views.VIEW_PERMISSION)
LABELS = {
    "scopes": views.SCOPES,
    "states": views.SETTLEMENT_STATES,
    "kinds": views.KINDS,
    "results": views.RESULTS,
    "insutypes": INSUTYPES,
    "fee_states": views.FEE_STATES,
    "levels": views.CHRGITM_LEVELS,
}


def _is_bureau(request: Request, db: Db) -> bool:
    scope = get_scope(db)
    return scope is not None and scope.hospital_id is None


def _date(raw: str | None, field: str, label: str) -> date | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or not YEAR_MIN <= value.year <= YEAR_MAX:
        raise ValidationFailed(
            f"{label} {field}：应为 {YEAR_MIN}–{YEAR_MAX} 年的日期 YYYY-MM-DD"
            f"（收到 {text[:20]!r}）",
            field=field,
        )
    return value


def _choice(raw: str | None, allowed: Any) -> Any:
    return raw if raw in allowed else None


def _paging(request: Request) -> tuple[int, int]:
    qp = request.query_params
    return clamp_page(int_param(qp.get("page"), "page"), int_param(qp.get("size"), "size"))


def _text(request: Request, name: str, limit: int) -> str:
    return (request.query_params.get(name) or "").strip()[:limit]


def _page(
    request: Request, db: Db, template: str, ctx: dict[str, Any], status_code: int = 200
) -> Response:
    ctx = {
        **LABELS,
        "is_bureau": _is_bureau(request, db),
        "institutions": views.institutions(db),
        **ctx,
    }
    return render(request, template, ctx, status_code=status_code)


@router.get("")
def index(user: User = VIEW) -> Response:
    return RedirectResponse("/exchange/settlements", status_code=303)


# ------------------------------------------------------------------ journal


@router.get("/journal")
def journal_page(request: Request, db: Db, user: User = VIEW) -> Response:
    qp = request.query_params
    form = {k: _text(request, k, 50) for k in ("hospital", "infno", "result", "msgid", "person")}
    form |= {k: _text(request, k, 10) for k in ("date_from", "date_to")}
    ctx: dict[str, Any] = {
        "form": form,
        "result": None,
        "error": None,
        "transactions": views.transaction_names(),
        "reveal": views.reveals_ids(user),
    }
    try:
        page, size = _paging(request)
        flt = views.JournalFilter(
            hospital=form["hospital"][:12] or None,
            infno=form["infno"][:10] or None,
            result=_choice(qp.get("result"), views.RESULTS),
            msgid=form["msgid"] or None,
            person=form["person"][:30] or None,
            date_from=_date(form["date_from"], "date_from", "接收日期起"),
            date_to=_date(form["date_to"], "date_to", "接收日期止"),
            whole_person=not ctx["reveal"],
        )
    except DomainError as exc:
        ctx["error"] = exc
        return _page(request, db, "exchange/journal.html", ctx, status_code=exc.http_status)
    ctx["result"] = views.search_journal(db, flt, page, size)
    return _page(request, db, "exchange/journal.html", ctx)


#: the columns of 3202's file of differences (exchange.reconcile.detail_statement)
DIFF_COLUMNS = ("结算ID", "就诊ID", "人员编号", "结果", "说明", "机构医疗费总额", "中心医疗费总额")


def _differences(infno: str | None, response: dict[str, Any]) -> list[list[str]] | None:
    """3202's file of differences as rows (without its header), for a table."""
    output = response.get("output") if isinstance(response, dict) else None
    text = output.get("file_content") if isinstance(output, dict) else None
    if infno != "3202" or not isinstance(text, str):
        return None
    rows = list(csv.reader(io.StringIO(text)))
    return [r for r in rows[1:] if r][:1000]


def _pretty(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


@router.get("/journal/{message_id}")
def message_page(message_id: DbId, request: Request, db: Db, user: User = VIEW) -> Response:
    entry = views.journal_entry(db, message_id, reveal=views.reveals_ids(user))
    ctx = {
        "m": entry,
        "request_text": _pretty(entry.request),
        "response_text": _pretty(entry.response),
        "differences": _differences(entry.infno, entry.response),
        "diff_columns": DIFF_COLUMNS,
    }
    return _page(request, db, "exchange/message.html", ctx)


# ------------------------------------------------------------------ settlements


@router.get("/settlements")
def settlements_page(request: Request, db: Db, user: User = VIEW) -> Response:
    qp = request.query_params
    form = {k: _text(request, k, 30) for k in ("hospital", "scope", "state", "month", "person")}
    form["kind"] = _text(request, "kind", 3)
    ctx: dict[str, Any] = {"form": form, "result": None, "error": None}
    try:
        page, size = _paging(request)
        flt = views.SettlementFilter(
            hospital=form["hospital"][:12] or None,
            scope=_choice(qp.get("scope"), {**views.SCOPES, "cross": ""}),
            state=_choice(qp.get("state"), views.SETTLEMENT_STATES),
            month=views.month_code(form["month"]),
            person=form["person"] or None,
            kind=_choice(qp.get("kind"), views.KINDS),
        )
    except DomainError as exc:
        ctx["error"] = exc
        return _page(request, db, "exchange/settlements.html", ctx, status_code=exc.http_status)
    ctx["result"] = views.search_settlements(db, flt, page, size)
    ctx["policy_names"] = policy_names(db, (s.policy_key for s in ctx["result"].items))
    return _page(request, db, "exchange/settlements.html", ctx)


@router.get("/settlements/{setl_id}")
def settlement_page(setl_id: str, request: Request, db: Db, user: User = VIEW) -> Response:
    detail = views.settlement_detail(db, setl_id[:30], reveal=views.reveals_ids(user))
    return _page(
        request,
        db,
        "exchange/settlement.html",
        {
            "s": detail,
            "policy_names": policy_names(db, [detail.policy_key]),
            "details": [{f.name: f.value for f in row} for row in detail.setldetail],
            "amounts": views.SETLINFO_AMOUNTS,
            "transactions": views.transaction_names(),
        },
    )


# ------------------------------------------------------------------ reconciliation


@router.get("/reconciliation")
def reconciliation_page(request: Request, db: Db, user: User = VIEW) -> Response:
    qp = request.query_params
    form = {k: _text(request, k, 12) for k in ("hospital", "infno", "balanced")}
    form |= {k: _text(request, k, 10) for k in ("date_from", "date_to")}
    ctx: dict[str, Any] = {"form": form, "result": None, "error": None}
    balanced = {"1": True, "0": False}.get(qp.get("balanced") or "")
    try:
        page, size = _paging(request)
        flt = views.ReconciliationFilter(
            hospital=form["hospital"] or None,
            infno=_choice(qp.get("infno"), views.RECONCILIATIONS),
            balanced=balanced,
            date_from=_date(form["date_from"], "date_from", "对账日期起"),
            date_to=_date(form["date_to"], "date_to", "对账日期止"),
        )
    except DomainError as exc:
        ctx["error"] = exc
        return _page(request, db, "exchange/reconciliation.html", ctx, status_code=exc.http_status)
    ctx["result"] = views.search_reconciliations(db, flt, page, size)
    return _page(request, db, "exchange/reconciliation.html", ctx)


# ------------------------------------------------------------------ clearing


def _shift(month: str, by: int) -> str:
    index = int(month[:4]) * 12 + int(month[4:]) - 1 + by
    return f"{index // 12:04d}{index % 12 + 1:02d}"


@router.get("/clearing")
def clearing_page(request: Request, db: Db, user: User = VIEW) -> Response:
    if not _is_bureau(request, db):
        raise Forbidden("跨统筹区清算只供医保局用户查看 / bureau users only")
    this_month = f"{local(utcnow()):%Y%m}"
    raw = _text(request, "month", 10)
    try:
        month = views.month_code(raw) or this_month
        if not YEAR_MIN <= int(month[:4]) <= YEAR_MAX:
            raise ValidationFailed(
                f"年月 month：应在 {YEAR_MIN}–{YEAR_MAX} 年之间（收到 {raw!r}）", field="month"
            )
    except DomainError as exc:
        ctx: dict[str, Any] = {
            "month": this_month,
            "report": None,
            "error": exc,
            "form_month": raw,
        }
        return _page(request, db, "exchange/clearing.html", ctx, status_code=exc.http_status)
    report = clearing_report(db, month)
    ctx = {
        "month": month,
        "form_month": f"{month[:4]}-{month[4:]}",
        "prev_month": _shift(month, -1),
        "next_month": _shift(month, 1),
        "report": report,
        "title": title_of(report),
        "scope_words": SCOPE_WORDS,
        "error": None,
    }
    return _page(request, db, "exchange/clearing.html", ctx)
