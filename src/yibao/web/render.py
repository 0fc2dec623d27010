"""Jinja2 rendering with the shared page context (user, navigation, CSRF token)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from yibao.accounts.passwords import PasswordPolicy
from yibao.accounts.roles import Permission, Role, has_permission
from yibao.api.deps import Principal, csrf_token
from yibao.api.wording import humanize
from yibao.kit.errors import DomainError
from yibao.kit.money import format_yuan
from yibao.kit.timeutil import local
from yibao.settlement.auth import STATEMENT_ROLES

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.auto_reload = False  # templates are package files: no stat() on every render


@dataclass(frozen=True)
class NavItem:
    """A navigation entry, shown when the role has any of ``permission`` (and, with
    ``roles``, is one of them)."""

    href: str
    label: str
    permission: Permission | tuple[Permission, ...] | None
    roles: frozenset[str] | None = None

    def visible_to(self, role: str) -> bool:
        if self.roles is not None and role not in self.roles:
            return False
        if self.permission is None:
            return True
        wanted = self.permission if isinstance(self.permission, tuple) else (self.permission,)
        return any(has_permission(role, p) for p in wanted)


#: roles that read monthly statements: the bureau's reviewers and admins, and hospitals
#: (their own); the statement service refuses the others.
STATEMENT_READERS = frozenset(STATEMENT_ROLES | {r.value for r in Role if r.is_hospital})


@dataclass(frozen=True)
class NavMenu:
    """A menu of the navigation bar (one area of the platform); shown with the entries
    the role may see, as a plain link when only one is left, not at all when none."""

    key: str
    label: str
    items: tuple[NavItem, ...]


@dataclass(frozen=True)
class NavEntry:
    """What the bar shows for one menu: its visible items; ``link`` when it is a single
    link rather than a menu."""

    key: str
    label: str
    items: list[NavItem]

    @property
    def link(self) -> NavItem | None:
        return self.items[0] if len(self.items) == 1 else None

    def holds(self, path: str) -> bool:
        """Whether the page at ``path`` belongs to this menu (to mark it active)."""
        return any(
            path == n.href or (n.href != "/" and path.startswith(n.href)) for n in self.items
        )


HOME = NavItem("/", "首页", None)
NAV_MENUS: tuple[NavMenu, ...] = (
    NavMenu(
        "settlement",
        "结算",
        (
            NavItem("/cases", "结算清单", Permission.VIEW_CASES),
            NavItem("/settlement/lists", "结算清单上传/质控", Permission.VIEW_CASES),
            NavItem("/settlement/review", "结算审核", Permission.REVIEW_SETTLEMENT),
            NavItem("/settlement/periods", "结算确认", Permission.REVIEW_SETTLEMENT),
            NavItem(
                "/settlement/special",
                "特例单议/申诉",
                (Permission.SUBMIT_LISTS, Permission.REVIEW_SETTLEMENT),
            ),
            NavItem("/settlement/statements", "结算单", Permission.VIEW_CASES, STATEMENT_READERS),
            NavItem("/messages", "消息中心", Permission.VIEW_CASES),
        ),
    ),
    # the gateway's journal, settlements, reconciliations (and, for bureaus, clearing)
    NavMenu("exchange", "交易接口", (NavItem("/exchange", "实时结算", Permission.VIEW_CASES),)),
    NavMenu(
        "grouping",
        "分组与测算",
        (
            NavItem("/grouping", "分组/预分组", Permission.GROUP_CASES),
            NavItem("/measurement", "测算", Permission.MEASURE),
            NavItem("/dip", "DIP 目录", Permission.MEASURE),
            NavItem(
                "/grouping/region-plans",
                "付费方案设置",
                (Permission.MEASURE, Permission.MANAGE_POLICIES),
            ),
            NavItem(
                "/grouping/local-plans",
                "本地分组方案",
                (Permission.MEASURE, Permission.MANAGE_POLICIES),
            ),
        ),
    ),
    NavMenu(
        "supervision",
        "智能审核",
        (
            NavItem(
                "/supervision/findings",
                "审核疑点",
                (Permission.REVIEW_FINDINGS, Permission.ANSWER_FINDINGS),
            ),
            NavItem(
                "/supervision/realtime",
                "事前事中审核记录",
                (
                    Permission.REVIEW_FINDINGS,
                    Permission.VIEW_RULES,
                    Permission.ANSWER_FINDINGS,
                ),
            ),
            NavItem("/supervision/rules", "规则库", Permission.VIEW_RULES),
            NavItem("/supervision/knowledge", "知识库", Permission.VIEW_RULES),
        ),
    ),
    # the supervision screens read settlement and audit figures: every case reader
    NavMenu(
        "monitor",
        "监控",
        (
            NavItem("/screens", "实时监控", Permission.VIEW_CASES),
            NavItem("/maps", "地图定位", Permission.VIEW_CASES),
            NavItem("/analysis", "决策分析", Permission.VIEW_CASES),
        ),
    ),
    NavMenu(
        "catalogue",
        "目录与参保",
        (
            NavItem("/benefits/policies", "待遇政策", Permission.VIEW_POLICIES),
            NavItem("/catalogue", "医保目录", Permission.VIEW_CATALOGUE),
            NavItem("/insured", "参保人员", Permission.VIEW_INSURED),
        ),
    ),
    NavMenu(
        "admin",
        "系统管理",
        (
            NavItem("/hospitals", "医疗机构", Permission.VIEW_HOSPITALS),
            NavItem("/admin/users", "用户管理", Permission.MANAGE_USERS),
            NavItem("/admin/audit", "审计日志", Permission.VIEW_AUDIT_LOG),
            NavItem("/ops/monitoring", "应用监控", Permission.VIEW_AUDIT_LOG),
        ),
    ),
)
#: every entry, home first, in menu order
NAV: tuple[NavItem, ...] = (HOME, *(n for m in NAV_MENUS for n in m.items))


def nav_for(user: Principal | None) -> list[NavEntry]:
    """The bar for ``user``: home, then each menu with the entries the role may see."""
    if user is None:
        return []
    out = [NavEntry("home", HOME.label, [HOME])]
    for menu in NAV_MENUS:
        items = [n for n in menu.items if n.visible_to(user.role)]
        if items:
            out.append(NavEntry(menu.key, menu.label, items))
    return out


def _fmt_dt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):  # ISO text, as the JSON-shaped service results give it
        value = datetime.fromisoformat(value)
    return local(value).strftime("%Y-%m-%d %H:%M")


def _fmt_dt_s(value: Any) -> str:
    """Like :func:`_fmt_dt`, to the second (the gateway's journal)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return local(value).strftime("%Y-%m-%d %H:%M:%S")


def _fmt_num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def _query(request: Request, **changes: Any) -> str:
    params = dict(request.query_params)
    for k, v in changes.items():
        if v is None:
            params.pop(k, None)
        else:
            params[k] = str(v)
    return "?" + urlencode(params)


templates.env.filters["yuan"] = lambda v: format_yuan(v if v is None else Decimal(v))
templates.env.filters["dt"] = _fmt_dt
templates.env.filters["dts"] = _fmt_dt_s
templates.env.filters["num"] = _fmt_num
templates.env.filters["json_zh"] = lambda v: json.dumps(
    v, ensure_ascii=False, sort_keys=True, default=str
)
templates.env.globals["role_label"] = lambda r: Role(r).label
#: the password rule of the settings, for form hints (the service enforces it)
templates.env.globals["password_rule"] = PasswordPolicy.from_settings


def compile_templates() -> int:
    """Compile every page template now (they are cached for the life of the process)."""
    names = templates.env.list_templates(extensions=["html"])
    for name in names:
        templates.env.get_template(name)
    return len(names)


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    user: Principal | None = getattr(request.state, "user", None)
    ctx: dict[str, Any] = {
        "user": user,
        "nav": nav_for(user),
        "csrf_token": csrf_token(request),
        "path": request.url.path,
        "query": lambda **kw: _query(request, **kw),
    }
    ctx.update(context or {})
    for key in ("error", "errors"):
        if ctx.get(key):
            ctx[key] = _humane(ctx[key])
    return templates.TemplateResponse(request, template, ctx, status_code=status_code)


def _humane(value: Any) -> Any:
    """An error for a page with its message in the user's words (:func:`humanize`):
    a DomainError (copied, not changed), a dict with a ``message``, or a dict of them."""
    if isinstance(value, DomainError):
        shown = copy.copy(value)
        shown.message = humanize(value.message)
        return shown
    if isinstance(value, dict):
        if isinstance(value.get("message"), str):
            return {**value, "message": humanize(value["message"])}
        return {k: _humane(v) for k, v in value.items()}
    return value


def render_error(request: Request, exc: DomainError) -> HTMLResponse:
    titles = {403: "无权访问", 404: "未找到", 409: "冲突", 422: "输入有误"}
    return render(
        request,
        "error.html",
        {"title": titles.get(exc.http_status, "出错了"), "error": exc},
        status_code=exc.http_status,
    )
