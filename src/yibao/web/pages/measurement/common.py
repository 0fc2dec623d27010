"""Shared helpers of the 测算 pages: form parsing, error display, Excel export."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl
from fastapi import Depends
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import check_csrf, require
from yibao.api.openapi import XLSX, download
from yibao.engines import measure as m
from yibao.kit.bounds import INT4_MAX, in_int4, is_tame
from yibao.kit.errors import DomainError, ValidationFailed
from yibao.kit.exports import write_xlsx
from yibao.measurement import service as svc
from yibao.measurement.models import STATUS_LABELS
from yibao.web import forms
from yibao.web.forms import date_param

MEASURE = require(Permission.MEASURE)
CSRF = [Depends(check_csrf)]
TRANSITION_LABELS = {"approve": "审批", "publish": "发布", "reopen": "退回草稿", "retire": "停用"}
TRANSITION_STYLES = {
    "approve": "btn-primary",
    "publish": "btn-success",
    "reopen": "btn-outline-secondary",
    "retire": "btn-outline-danger",
}
STATUS_BADGES = {
    "queued": "bg-secondary",
    "running": "bg-primary",
    "succeeded": "bg-success",
    "failed": "bg-danger",
    "draft": "bg-secondary",
    "approved": "bg-info text-dark",
    "pending": "bg-warning text-dark",
    "published": "bg-success",
    "retired": "bg-dark",
}
COLUMN_LABELS = svc.EXPORT_LABELS
MONEY_COLUMNS = (
    "total_cost",
    "drg_payment",
    "balance",
    "fund_estimate",
    "fund_actual",
    "budget",
    "budget_gap",
)


def prefix_of(user: User) -> str:
    return svc.region_of(user.region_code)


def failure(db: Session, exc: Exception, model: str = "") -> dict[str, Any]:
    """:func:`yibao.web.forms.failure` for the measurement forms: a schema's validation
    error explained field by field, the message in Chinese, a missing object or a bad
    request shown on the form (422)."""
    if isinstance(exc, ValidationError):
        exc = ValidationFailed("；".join(m.explain(exc, model)))
    if not isinstance(exc, DomainError):  # pragma: no cover - callers pass these two only
        raise exc
    described = forms.failure(db, exc)
    return {
        **described,
        "message": svc.zh_message(exc.message),
        "field": svc.error_field(exc),
        "status": 422 if exc.http_status in (400, 404) else exc.http_status,
    }


def again(page: Callable[..., Response], err: dict[str, Any], which: str, **kw: Any) -> Response:
    """Show the page again with the error on form ``which``."""
    response = page(errors={which: err}, **kw)
    response.status_code = err["status"]
    return response


def values_of(form: FormData) -> dict[str, Any]:
    """The submitted form for re-display (a list for a repeated name)."""
    out: dict[str, Any] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str) or key == "csrf_token":
            continue
        if key in out:
            out[key] = [*out[key], value] if isinstance(out[key], list) else [out[key], value]
        else:
            out[key] = value
    return out


def as_int(raw: str, field: str, label: str) -> int:
    try:
        number = int(raw)
    except ValueError:
        number = None
    if number is None or not in_int4(number):
        raise ValidationFailed(
            f"{label}：必须是绝对值不超过 {INT4_MAX} 的整数（收到 {raw!r}）", field=field
        )
    return number


def as_decimal(raw: str, field: str, label: str) -> Decimal:
    try:
        value = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        value = Decimal("NaN")
    if not is_tame(value):
        raise ValidationFailed(
            f"{label}：必须是数字，绝对值小于 10^18（收到 {raw!r}）", field=field
        )
    return value


def as_date(raw: str, field: str, label: str) -> date | None:
    """An optional ISO date (empty → None)."""
    return date_param(raw, field, label)


def required_date(raw: str, field: str, label: str) -> date:
    value = as_date(raw, field, label)
    if value is None:
        raise ValidationFailed(f"{label}：必须填写", field=field)
    return value


def xlsx(rows: list[dict[str, Any]] | pl.DataFrame, name: str) -> Response:
    """A table as an Excel workbook with Chinese headers; money columns as numbers."""
    frame = rows if isinstance(rows, pl.DataFrame) else pl.DataFrame(rows, infer_schema_length=None)
    frame = frame.with_columns(
        pl.col(c).cast(pl.Float64) for c in MONEY_COLUMNS if c in frame.columns
    )
    frame = frame.rename({c: COLUMN_LABELS[c] for c in frame.columns if c in COLUMN_LABELS})
    buf = io.BytesIO()
    write_xlsx(frame, buf, worksheet=name[:31], autofit=True)
    return download(buf.getvalue(), XLSX, f"{name}.xlsx")


def charts_json(data: dict[str, Any]) -> str:
    """Chart data for ``measurement.js`` (safe inside a <script> block)."""
    return json.dumps(svc._jsonable(data), ensure_ascii=False).replace("</", "<\\/")


def base_context(**extra: Any) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "status_labels": STATUS_LABELS,
        "status_badges": STATUS_BADGES,
        "level_names": m.LEVEL_NAMES,
        "class_names": m.CLASS_NAMES,
        "source_labels": svc.SOURCE_LABELS,
        "errors": {},
        "form": {},
    }
    ctx.update(extra)
    return ctx


def _bands(raw: str) -> list[dict[str, Any]]:
    """RW bands typed one per line (or ';'): ``权重上限:高倍率[:低倍率]``, the last upper
    bound may be ``*`` (no bound): ``1.6:2.5`` / ``*:1.5:0.3``."""
    out = []
    for n, line in enumerate((x.strip() for x in raw.replace("；", ";").splitlines()), 1):
        for part in (p.strip() for p in line.split(";") if p.strip()):
            bits = [b.strip() for b in part.replace("：", ":").split(":")]
            if len(bits) not in (2, 3) or not bits[1]:
                raise ValidationFailed(
                    f"权重分段倍率 rw_bands：第 {n} 行“{part}”应写作 权重上限:高倍率[:低倍率]"
                    "（最后一段上限可写 *）",
                    field="rw_bands",
                )
            band: dict[str, Any] = {"max_rw": None if bits[0] in ("*", "") else bits[0]}
            band["high"] = bits[1]
            if len(bits) == 3 and bits[2]:
                band["low"] = bits[2]
            out.append(band)
    return out


def rules_of(form: FormData) -> dict[str, Any]:
    """The classification and payment-rule fields of a form (ADR 0031) as
    :class:`~yibao.engines.measure.SimulationParams` keys; empty fields keep defaults."""
    rules: dict[str, Any] = {}
    if bands := forms.text(form, "rw_bands"):
        rules["rw_bands"] = _bands(bands)
    if qy := forms.text(form, "qy_fraction"):
        rules["qy_fraction"] = qy
    if days := forms.text(form, "long_stay_days"):
        rules["long_stay_days"] = as_int(days, "long_stay_days", "超长住院天数")
    if per_diem := {lv: v for lv in m.LEVELS if (v := forms.text(form, f"per_diem_{lv}"))}:
        rules["per_diem"] = per_diem
    if cap := forms.text(form, "high_share_cap"):
        rules["high_share_cap"] = cap
    out: dict[str, Any] = {"rules": rules} if rules else {}
    if high := {lv: v for lv in m.LEVELS if (v := forms.text(form, f"high_{lv}"))}:
        defaults = m.SimulationParams().high_multipliers  # a level left empty keeps its default
        out["high_multipliers"] = {lv: high.get(lv, str(defaults[lv])) for lv in m.LEVELS}
    if low := forms.text(form, "low_multiplier"):
        out["low_multiplier"] = low
    if pay := forms.text(form, "high_payment"):
        out["high_payment"] = pay
    return out


def rules_text(params: dict[str, Any] | None) -> str:
    """A one-line Chinese summary of stored payment rules (empty: defaults)."""
    rules = (params or {}).get("rules") or {}
    parts = []
    if bands := rules.get("rw_bands"):
        shown = "；".join(f"RW≤{b['max_rw'] or '∞'} 高 {b['high']}×" for b in bands)
        parts.append(f"权重分段倍率 {shown}")
    if (qy := rules.get("qy_fraction")) not in (None, "1"):
        parts.append(f"歧义组按项目 × {qy}")
    if rules.get("long_stay_days"):
        per = rules.get("per_diem") or {}
        parts.append(
            f"住院超过 {rules['long_stay_days']} 天按床日付费（三级 {per.get('3')} / 二级 "
            f"{per.get('2')} / 一级 {per.get('1')} 元/日）"
        )
    if rules.get("high_share_cap") is not None:
        parts.append(f"高倍率病例比例上限 {rules['high_share_cap']}")
    return "；".join(parts)
