"""结算清单上传/质控: the lists in scope (filters, counts by state), file upload with
the intake summary, a template CSV, and one list's QC findings, grouping and payment."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl
from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import IntegrityError

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, has_permission
from yibao.api.deps import Db, PostedForm, check_csrf, request_actor, require
from yibao.api.inline import light_read
from yibao.api.openapi import CSV, download
from yibao.engines.qc import FLAT_COLUMNS, lists_to_flat
from yibao.engines.qc.bench import synthetic_lists
from yibao.engines.settlement import CLASS_NAMES, TRANSITIONS, Action
from yibao.engines.settlement.explain import REASONS
from yibao.grouping.plans import plan_registry
from yibao.kit.bounds import DbId
from yibao.kit.errors import DomainError, NotFound, ValidationFailed
from yibao.kit.exports import csv_safe
from yibao.kit.money import ratio_text
from yibao.kit.paging import clamp_page
from yibao.kit.tables import table_limits
from yibao.regions.repository import hospital_choices
from yibao.settlement.history import list_history
from yibao.settlement.intake import TEMPLATE_SAMPLE_ID, ListOutcome, do_intake_lists
from yibao.settlement.intake.files import read_list_file
from yibao.settlement.lists.repository import (
    BASIS_LABELS,
    ListFilter,
    get_list_detail,
    list_rows,
    state_counts,
)
from yibao.settlement.models import (
    CasePricing,
    SettlementList,
)
from yibao.settlement.review import (
    ADJUSTED_STATES,
    QUEUE_STATES,
    AdjustPolicy,
    do_withdraw_list,
    state_label,
)
from yibao.web.forms import flash, int_param, take_flash
from yibao.web.render import render

router = APIRouter()
VIEW = require(Permission.VIEW_CASES)
SUBMIT = require(Permission.SUBMIT_LISTS)
MAX_SHOWN = 300  # problem lists shown after an upload (the rest are on the list page)

#: states from which the hospital may withdraw a list (the machine's withdraw)
WITHDRAWABLE = frozenset(t.source.value for t in TRANSITIONS if t.action == Action.WITHDRAW)
STATE_BADGES = {
    "qc_failed": "danger",
    "refused": "dark",
    "priced": "success",
    "grouped": "info",
    "returned": "warning",
    "adjusted": "warning",
    "approved": "primary",
    "confirmed": "primary",
    "paid": "secondary",
    "withdrawn": "secondary",
    "closed_out": "dark",
}
SEVERITY = {"blocking": ("阻断", "danger"), "warning": ("提示", "warning")}
SOURCES = {"api": "接口", "file": "文件", "his": "HIS"}
#: formula terms of the pricing (terms JSON) → Chinese label, in display order
TERM_LABELS = {
    "cost_ratio": "费用 ÷ 支付标准",
    "high_threshold": "高倍率界值",
    "low_threshold": "低倍率界值",
    "payment_basis": "支付依据",
    "fund_formula": "基金支付公式",
    "term_standard": "DRG 支付额（A）",
    "term_self_pay_full": "全自费（B）",
    "term_self_pay_first": "先行自付（C）",
    "term_deductible": "起付线（D）",
    "term_ratio": "统筹基金支付比例（R）",
    "term_patient_payment": "个人负担",
    "term_other_funds": "其他基金",
    "policy_key": "待遇政策",
    "reason_codes": "计价原因",
}
#: the terms of a case priced under DIP (ADR 0030), shown before the fund terms
DIP_TERM_LABELS = {
    "dip_score": "病种分值",
    "standard_cost": "病种标准费用（元）",
    "cost_ratio": "费用 ÷ 病种标准费用",
    "low_threshold": "费用超低界值（元）",
    "high_threshold": "费用超高界值（元）",
    "adjusted_score": "调整后分值",
    "coefficient": "医疗机构系数",
    "point_value": "预算点值（元/分）",
}


#: coded term values → Chinese (pricing engine: payment basis, fund formula)
TERM_VALUES = {
    "payment_basis": {
        "standard": "按支付标准",
        "excess": "支付标准 + 超出高倍率界值部分",
        "special_standard": "特例单议核定金额",
        "score": "按病种分值 × 医疗机构系数 × 点值",
        "per_diem": "按床日付费",
        "items": "按项目",
        "items_fraction": "按项目 × 歧义组系数",
    },
    "fund_formula": {
        "national": "(A − B − C − D) × R",
        "local": "A − 个人负担 − 其他基金",
        "actual": "按实际统筹基金",
        "policy": "按待遇政策拆分",
    },
}


# ------------------------------------------------------------------------------ list


def _month_param(value: str | None) -> str | None:
    """The discharge-month filter (``YYYY-MM``, as a month input sends it)."""
    text = (value or "").strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise ValidationFailed(f"出院年月 month 应为 YYYY-MM（收到 {text[:20]!r}）", field="month")
    return text


def _list_context(request: Request, db: Db, user: User) -> dict[str, Any]:
    qp = request.query_params
    page, size = clamp_page(int_param(qp.get("page"), "page"), int_param(qp.get("size"), "size"))
    is_bureau = user.hospital_id is None
    flt = ListFilter(
        state=qp.get("state") or None,
        hospital=(qp.get("hospital") or None) if is_bureau else None,
        blocking=qp.get("blocking") == "1",
        q=(qp.get("q") or "").strip() or None,
        month=_month_param(qp.get("month")),
    )
    counts = state_counts(db, flt)  # every filter but the state: the total follows from it
    total = counts.get(flt.state, 0) if flt.state else sum(counts.values())
    return {
        "flt": flt,
        "result": list_rows(db, flt, page, size, total),
        "basis_labels": BASIS_LABELS,
        "counts": counts,
        "is_bureau": is_bureau,
        "hospitals": hospital_choices(db, cache_s=request.app.state.settings.figures_cache_s)
        if is_bureau
        else [],
        "can_submit": has_permission(user.role, Permission.SUBMIT_LISTS),
        "state_label": state_label,
        "badges": STATE_BADGES,
        "class_names": CLASS_NAMES,
        "upload": None,
        "upload_error": None,
    }


@router.get("/settlement/lists")
@light_read
def lists_page(request: Request, db: Db, user: User = VIEW) -> Response:
    ctx = _list_context(request, db, user)
    if request.headers.get("hx-request"):
        return render(request, "settlement/_table.html", ctx)
    return render(request, "settlement/lists.html", ctx)


# ---------------------------------------------------------------------------- upload


@dataclass(frozen=True)
class UploadSummary:
    filename: str
    received: int
    priced: int
    grouped: int
    held: int
    refused: int
    problems: list[ListOutcome]
    accepted: list[ListOutcome]


def _summary(filename: str, outcomes: list[ListOutcome]) -> UploadSummary:
    def n(state: str) -> int:
        return sum(o.state == state for o in outcomes)

    problems = [o for o in outcomes if o.state in ("qc_failed", "refused")]
    accepted = [o for o in outcomes if o.state not in ("qc_failed", "refused")]
    return UploadSummary(
        filename,
        len(outcomes),
        n("priced"),
        n("grouped"),
        n("qc_failed"),
        n("refused"),
        problems,
        accepted,
    )


@router.post("/settlement/lists/upload", dependencies=[Depends(check_csrf)])
def upload_lists(
    request: Request, db: Db, user: User = SUBMIT, file: UploadFile | None = File(None)
) -> Response:
    """Receive a file of lists; the page shows the summary and the held/refused lists."""
    filename = (file.filename if file else "") or ""
    try:
        if file is None or not filename:
            raise ValidationFailed("请选择要上传的文件（.csv、.xlsx 或 .json）", field="file")
        read = read_list_file(filename, file.file, table_limits(request.app.state.settings))
    except ValidationFailed as exc:
        ctx = _list_context(request, db, user)
        ctx["upload_error"] = exc.message
        return render(request, "settlement/lists.html", ctx, status_code=422)
    dbapi = db.get_bind().dialect.loaded_dbapi
    try:
        outcomes = do_intake_lists(
            db,
            read.messages,
            registry=plan_registry(request.app.state.settings),
            actor=request_actor(request, user),
            source="file",
        )
        db.flush()
    except (IntegrityError, dbapi.IntegrityError) as exc:
        db.rollback()  # a conflict the intake does not screen: the whole file is dropped
        ctx = _list_context(request, db, user)
        detail = str(getattr(exc, "orig", exc))[:200]
        ctx["upload_error"] = (
            f"文件中的清单与已存储的数据冲突（如结算ID setl_id 已被其他来源的病例使用）：{detail}"
        )
        return render(request, "settlement/lists.html", ctx, status_code=409)
    ctx = _list_context(request, db, user)
    ctx["upload"] = _summary(filename, outcomes)
    ctx["upload_notes"] = read.notes
    ctx["upload_rows"] = read.rows
    ctx["max_shown"] = MAX_SHOWN
    ctx["severity"] = SEVERITY
    return render(request, "settlement/lists.html", ctx)


@router.get("/settlement/lists/template.csv")
def template_csv(request: Request, db: Db, user: User = SUBMIT) -> Response:
    """The flat columns with one clearly synthetic example row (本机构编码 for hospitals)."""
    plan = plan_registry(request.app.state.settings).for_date(date.today())
    message = synthetic_lists(1, plan, seed=20240101)[0]
    setl = message["setlinfo"]
    setl["setl_id"] = setl["bill_no"] = setl["biz_sn"] = TEMPLATE_SAMPLE_ID  # refused on intake
    setl["psn_name"] = "合成示例（非真实患者）"
    hospital = user.hospital
    if hospital is not None:
        setl["fixmedins_code"], setl["fixmedins_name"] = hospital.code, hospital.name
    example = lists_to_flat([message]).row(0, named=True)
    out = io.StringIO()
    columns = list(FLAT_COLUMNS)
    csv_safe(
        pl.DataFrame(
            {c: [example.get(c)] for c in columns}, schema=dict.fromkeys(columns, pl.String)
        )
    ).write_csv(out)
    return download(
        ("\ufeff" + out.getvalue()).encode("utf-8"),
        CSV,
        "settlement-lists-template.csv",
        "结算清单模板.csv",
    )


# ---------------------------------------------------------------------------- detail


def _percent_text(value: Any) -> str:
    """A ratio as per cent (0.8200 → 82%, 0.825 → 82.5%); as sent when no number."""
    try:
        pct = (Decimal(str(value)) * 100).normalize()
    except ArithmeticError:
        return str(value)
    return f"{pct:f}%"


def _terms(pricing: CasePricing | None, total_cost: Decimal | None = None) -> list[tuple[str, str]]:
    if pricing is None:
        return []
    terms = pricing.terms if isinstance(pricing.terms, dict) else json.loads(pricing.terms)
    dip = terms.get("method") == "dip"
    labels = {**DIP_TERM_LABELS, **TERM_LABELS, **DIP_TERM_LABELS} if dip else TERM_LABELS
    out = []
    for key, label in labels.items():
        value = terms.get(key)
        if value is None or value == []:
            continue
        if key == "cost_ratio" and not dip and total_cost is not None and pricing.payment_standard:
            # never "3.0000" for a case just above a 3× threshold
            out.append((label, ratio_text(total_cost, pricing.payment_standard)))
            continue
        if key == "reason_codes" and isinstance(value, list):
            text = "；".join(REASONS.get(str(code), str(code)) for code in value)
        elif isinstance(value, list):
            text = "、".join(value)
        elif key in MONEY_TERMS:
            text = _money_text(value)
        elif key == "term_ratio":
            text = _percent_text(value)
        else:
            text = TERM_VALUES.get(key, {}).get(str(value), str(value))
        out.append((label, text))
    return out


#: the terms that are amounts in yuan (shown with thousands separators)
MONEY_TERMS = frozenset(
    {
        "high_threshold",
        "low_threshold",
        "term_standard",
        "term_self_pay_full",
        "term_self_pay_first",
        "term_deductible",
        "term_patient_payment",
        "term_other_funds",
        "standard_cost",
    }
)


def _money_text(value: Any) -> str:
    try:
        return f"{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return str(value)


def _history(db: Db, row: SettlementList, versions: list[Any]) -> dict[str, Any]:
    """The list's history as the API gives it, with the times as datetimes."""
    history = list_history(db, row.id, loaded=(row, versions))
    for event in history["events"]:
        event["at"] = datetime.fromisoformat(event["at"])
    return history


@router.get("/settlement/lists/{list_id}")
@light_read
def list_detail(list_id: DbId, request: Request, db: Db, user: User = VIEW) -> Response:
    return detail_page(request, db, user, list_id)


def detail_page(
    request: Request, db: Db, user: User, list_id: int, status_code: int = 200, **extra: Any
) -> Response:
    """One list: QC findings, versions, grouping, payment, its review history; the
    decision forms for a reviewer while the list waits for review."""
    found = get_list_detail(db, list_id)
    if found is None:  # another hospital's (or region's) list looks like no list
        raise NotFound(f"结算清单 {list_id} 不存在或不在您的权限范围内")
    row, pricing, case = found.row, found.pricing, found.case
    ctx = {
        "row": row,
        "hospital": found.hospital,
        "findings": found.findings,
        "versions": found.versions,
        "pricing": pricing,
        "case": case,
        "groupings": found.groupings,
        "terms": _terms(pricing, case["total_cost"] if case else None),
        "is_dip": bool(
            pricing and isinstance(pricing.terms, dict) and pricing.terms.get("method") == "dip"
        ),
        "state_label": state_label,
        "badges": STATE_BADGES,
        "severity": SEVERITY,
        "sources": SOURCES,
        "class_names": CLASS_NAMES,
        "history": _history(db, row, found.versions),
        "can_review": has_permission(user.role, Permission.REVIEW_SETTLEMENT)
        and row.state in QUEUE_STATES,
        "can_revert": has_permission(user.role, Permission.REVIEW_SETTLEMENT)
        and row.state in ADJUSTED_STATES,
        "adjust_policy": AdjustPolicy.of(request.app.state.settings),
        "viewer_id": user.id,
        "is_reviewer": has_permission(user.role, Permission.REVIEW_SETTLEMENT),
        "is_hospital": has_permission(user.role, Permission.SUBMIT_LISTS),
        "can_withdraw": has_permission(user.role, Permission.SUBMIT_LISTS)
        and row.state in WITHDRAWABLE,
        "specials_and_appeals": (found.specials, found.appeals),
        "flash": take_flash(request),
        "error": None,
        "form": {},
        "withdraw_error": None,
    }
    ctx.update(extra)
    return render(request, "settlement/detail.html", ctx, status_code=status_code)


@router.post("/settlement/lists/{list_id}/withdraw", dependencies=[Depends(check_csrf)])
def withdraw(
    list_id: DbId, request: Request, db: Db, form: PostedForm, user: User = SUBMIT
) -> Response:
    """撤回清单 (the hospital, before review) from the list's page."""
    reason = form.get("reason")
    try:
        do_withdraw_list(
            db,
            list_id,
            reason=reason if isinstance(reason, str) else None,
            user_role=user.role,
            actor=request_actor(request, user),
        )
        db.flush()
    except DomainError as exc:
        db.rollback()
        err = {"message": exc.message, "field": exc.field, "status": exc.http_status}
        return detail_page(
            request, db, user, list_id, status_code=exc.http_status, withdraw_error=err
        )
    flash(request, "已撤回该结算清单：不再审核、不再结算；如需结算可重新上传")
    return RedirectResponse(f"/settlement/lists/{list_id}", status_code=303)
