"""Rules of the findings workflow: deadlines, attachments, reasons, amounts, the clock
(ADR 0024).  Configurable through the environment (``YIBAO_FINDINGS_*``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from yibao.kit.errors import ValidationFailed
from yibao.kit.timeutil import local
from yibao.supervision import findings

CENT = Decimal("0.01")


class FindingRules(BaseSettings):
    """Deadlines and attachment limits (environment ``YIBAO_FINDINGS_*``)."""

    model_config = SettingsConfigDict(env_prefix="YIBAO_FINDINGS_")

    #: days the hospital has to answer a publication (and to ask for 复审 after 初审)
    answer_days: int = 10
    #: ``calendar`` days, or ``working`` days (Monday to Friday; no holiday calendar)
    day_kind: Literal["calendar", "working"] = "calendar"
    max_attachment_bytes: int = 5 * 1024 * 1024
    max_attachments: int = 5
    #: extensions allowed for attachments (lower case, without the dot)
    attachment_types: tuple[str, ...] = ("pdf", "jpg", "jpeg", "png", "docx", "xlsx", "txt")
    #: publications per request (bulk publish)
    max_bulk: int = 2000


def now() -> datetime:
    """The time now by the package clock (:data:`yibao.supervision.findings.CLOCK`)."""
    return findings.CLOCK()


def today() -> date:
    return local(now()).date()


def deadline_from(start: date, rules: FindingRules) -> date:
    """The last day (inclusive) to answer when the clock starts on ``start``: ``answer_days``
    calendar days later, or that many working days (Monday–Friday) later."""
    if rules.day_kind == "calendar":
        return start + timedelta(days=rules.answer_days)
    day, left = start, rules.answer_days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def reason_text(value: str | None, what: str, limit: int, *, required: bool = True) -> str | None:
    """A stripped reason, required and bounded, else a Chinese error naming ``reason``."""
    text = (value or "").strip() or None
    if text is None and required:
        raise ValidationFailed(f"原因 reason 不能为空：{what}必须填写原因", field="reason")
    if text is not None and len(text) > limit:
        raise ValidationFailed(
            f"原因 reason 最多 {limit} 字（收到 {len(text)} 字）", field="reason"
        )
    return text


def upheld_amount(value: Any, ceiling: Decimal, what: str) -> Decimal:
    """The amount a decision upholds: a number with at most two decimals, ≥ 0 and at
    most ``ceiling`` (the finding's amount, or the 初审 amount for 复审)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationFailed(f"维持金额 amount 必填：{what}须给出维持金额（元）", field="amount")
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(
            f"维持金额 amount 须为数字（收到 {value!r}）", field="amount"
        ) from None
    if not amount.is_finite():
        raise ValidationFailed(f"维持金额 amount 须为数字（收到 {value!r}）", field="amount")
    if amount < 0 or amount > ceiling:  # before rounding: 1E+30 cannot be quantized
        raise ValidationFailed(
            f"维持金额 amount 须在 0 到 {ceiling} 元之间（收到 {value!r}）", field="amount"
        )
    if amount != amount.quantize(CENT):
        raise ValidationFailed(f"维持金额 amount 最多两位小数（收到 {value!r}）", field="amount")
    return amount.quantize(CENT)
