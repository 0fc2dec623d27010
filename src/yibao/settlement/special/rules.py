"""Rules of special cases and appeals: limits, deadlines, roles, reasons, the clock.

The configurable limits (:class:`SpecialRules`, environment ``YIBAO_SPECIAL_*``), the
refusal error (:class:`Refused`, 409), the quota's order of admission, the payment
methods of an approval, the application window and the appeal deadline, the machine
role a hospital or a reviewer takes, the rule for a reason, and :func:`_now`, which
reads the package's clock (:data:`yibao.settlement.special.CLOCK`, which tests
replace) at each call.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic_settings import BaseSettings, SettingsConfigDict

from yibao.accounts.roles import Permission, has_permission
from yibao.engines.settlement import Action, Role
from yibao.engines.settlement.params import QuotaParams
from yibao.engines.settlement.states import allowed_actions
from yibao.kit.errors import DomainError, Forbidden, ValidationFailed
from yibao.kit.timeutil import local
from yibao.settlement import special  # the package: CLOCK is read there, at call time
from yibao.settlement.review import reviewer_role

METHODS = {"items": "按项目付费（病例总费用）", "amount": "按核定金额"}


class SpecialRules(BaseSettings):
    """Configurable limits (environment ``YIBAO_SPECIAL_*``)."""

    model_config = SettingsConfigDict(env_prefix="YIBAO_SPECIAL_")

    window_months: int = 1
    appeal_days: int = 15
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_attachments: int = 10


class Refused(DomainError):
    http_status = 409
    code = "refused"


#: applications are admitted to the quota in the order they were filed
QUOTA_PARAMS = QuotaParams(order="applied")


def appeal_deadline(decided_at: datetime, rules: SpecialRules) -> date:
    """The last day to appeal a decision taken at ``decided_at`` (business dates, inclusive)."""
    return local(decided_at).date() + timedelta(days=rules.appeal_days)


def _now() -> datetime:
    """The time now by the package's clock (:data:`yibao.settlement.special.CLOCK`)."""
    return special.CLOCK()


def _today() -> date:
    return local(_now()).date()


def month_end(day: date, months_after: int) -> date:
    """The last day of the month ``months_after`` months after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months_after + 1
    return date(index // 12, index % 12 + 1, 1) - timedelta(days=1)


def hospital_role(user_role: str) -> Role:
    if not has_permission(user_role, Permission.SUBMIT_LISTS):
        raise Forbidden("只有医疗机构用户可以申请特例单议或申诉（需要 submit_lists 权限）")
    return Role.HOSPITAL


def bureau_role(user_role: str, state: str, action: Action) -> Role:
    """The machine role a reviewer takes for ``action``: ``reviewer`` where the machine
    allows it, else ``expert`` (recording the panel's decision), else ``bureau``."""
    reviewer_role(user_role)
    for t in allowed_actions(state):
        if t.action == action:
            for role in (Role.REVIEWER, Role.EXPERT, Role.BUREAU):
                if role in t.roles:
                    return role
    return Role.REVIEWER


def _text(value: str | None, what: str, limit: int, *, required: bool = True) -> str | None:
    text = (value or "").strip() or None
    if text is None and required:
        raise ValidationFailed(f"原因 reason 不能为空：{what}必须填写原因", field="reason")
    if text is not None and len(text) > limit:
        raise ValidationFailed(
            f"原因 reason 最多 {limit} 字（收到 {len(text)} 字）", field="reason"
        )
    return text
