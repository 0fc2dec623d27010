"""规则库 pages (ADR 0021, issue 13 item 2): the rule-set versions of the user's region,
one version's rules filtered and paged, a rule's form with its family's parameters,
enable/disable and delete on a draft, testing a version against sample claims,
the difference from another version, publish (every server process reloads), retire,
delete a draft, Excel export and import (testing: :mod:`.rule_test`).  A published
version is read only; every change goes through :mod:`yibao.supervision.service`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from yibao.accounts.models import User
from yibao.api.deps import Db, PostedForm, request_actor
from yibao.api.openapi import download
from yibao.engines.audit import FAMILIES, RESULT_TYPES, SEVERITIES, STAGES, WINDOWS
from yibao.engines.catalogue.restrictions import RESTRICTION_KINDS
from yibao.kit.bounds import DbId
from yibao.kit.errors import DomainError, ValidationFailed
from yibao.kit.paging import clamp_page
from yibao.kit.tables import table_limits
from yibao.supervision import files, repository, service
from yibao.supervision.auth import home_region
from yibao.supervision.models import RuleSetVersion, StoredRule
from yibao.supervision.schemas import RuleIn
from yibao.web.forms import flash, int_param, take_flash, text
from yibao.web.pages.supervision import rule_form
from yibao.web.pages.supervision.common import (
    CSRF,
    MANAGE,
    VIEW,
    XLSX,
    act,
    can_manage,
    read_version_form,
    summary,
    upload_of,
    with_status,
)
from yibao.web.render import render

router = APIRouter(prefix="/supervision/rules")
BASE = "/supervision/rules"


# ------------------------------------------------------------------------ versions


def _list_page(
    request: Request,
    db: Db,
    user: User,
    *,
    error: DomainError | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    rows = repository.list_versions(db, RuleSetVersion, home_region(user))
    response = render(
        request,
        "supervision/rule_sets.html",
        {
            "rows": rows,
            "counts": repository.rule_counts(db, [r.id for r in rows]),
            "can_manage": can_manage(user),
            "error": error,
            "errors": errors or {},
            "form": form or {},
            "flash": take_flash(request),
        },
    )
    return with_status(response, error)


@router.get("")
def rule_sets_page(request: Request, db: Db, user: User = VIEW) -> Response:
    return _list_page(request, db, user)


@router.post("", dependencies=CSRF)
def create(request: Request, form: PostedForm, db: Db, user: User = MANAGE) -> Response:
    values, data, errors = read_version_form(form)
    if data is None:
        return _list_page(request, db, user, error=summary(errors), form=values, errors=errors)
    created: list[RuleSetVersion] = []
    error = act(
        db,
        lambda: created.append(
            service.do_create_version(db, RuleSetVersion, data, actor=request_actor(request, user))
        ),
    )
    if error is not None:
        key = error.field if error.field in values else "form"
        return _list_page(request, db, user, error=error, form=values, errors={key: error.message})
    flash(request, f"已新建规则库第 {created[0].version} 版（草稿）")
    return RedirectResponse(f"{BASE}/{created[0].id}", status_code=303)


def version_for(db: Db, user: User, set_id: int) -> RuleSetVersion:
    return repository.get_version(db, RuleSetVersion, set_id, home_region(user))


def _filter(request: Request) -> repository.RuleFilter:
    qp = request.query_params
    enabled = {"1": True, "0": False}.get(qp.get("enabled") or "")
    sev = qp.get("sev_deg") or ""
    return repository.RuleFilter(
        family=qp.get("family") if qp.get("family") in FAMILIES else None,
        stage=qp.get("stage") if qp.get("stage") in STAGES else None,
        enabled=enabled,
        sev_deg=int(sev) if sev in ("1", "2", "3") else None,
        q=(qp.get("q") or "").strip()[:100] or None,
    )


def _detail_page(
    request: Request, db: Db, user: User, set_id: int, *, error: DomainError | None = None
) -> Response:
    row = version_for(db, user, set_id)
    qp = request.query_params
    page, size = clamp_page(int_param(qp.get("page"), "page"), int_param(qp.get("size"), "size"))
    flt = _filter(request)
    others = [
        r
        for r in repository.list_versions(db, RuleSetVersion, home_region(user))
        if r.region_code == row.region_code and r.id != row.id
    ]
    context: dict[str, Any] = {
        "row": row,
        "result": repository.search_rules(db, row.id, flt, page, size),
        "counts": repository.rule_counts(db, [row.id]).get(row.id, (0, 0)),
        "flt": flt,
        "others": others,
        "families": FAMILIES,
        "stages": STAGES,
        "windows": WINDOWS,
        "severities": SEVERITIES,
        "result_types": RESULT_TYPES,
        "param_words": {k: v[0] for k, v in rule_form.PARAM_WORDS.items()},
        "editable": can_manage(user) and row.status == "draft",
        "can_manage": can_manage(user),
        "error": error,
        "flash": take_flash(request),
    }
    template = "supervision/rule_set.html"
    if request.headers.get("hx-request") and error is None:
        template = "supervision/_rules.html"
    return with_status(render(request, template, context), error)


@router.get("/{set_id}")
def detail(set_id: DbId, request: Request, db: Db, user: User = VIEW) -> Response:
    return _detail_page(request, db, user, set_id)


@router.get("/{set_id}/export.xlsx")
def export(set_id: DbId, db: Db, user: User = VIEW) -> Response:
    row = version_for(db, user, set_id)
    return download(
        files.export_rules(db, row), XLSX, f"rules-{row.id}.xlsx", f"规则库-{row.id}.xlsx"
    )


def _after(
    request: Request,
    db: Db,
    user: User,
    set_id: int,
    error: DomainError | None,
    message: str,
    to: str | None = None,
) -> Response:
    if error is not None:
        return _detail_page(request, db, user, set_id, error=error)
    flash(request, message)
    return RedirectResponse(to or f"{BASE}/{set_id}", status_code=303)


@router.post("/{set_id}/import", dependencies=CSRF)
def import_file(
    set_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MANAGE
) -> Response:
    def run() -> None:
        content, name = upload_of(form)
        files.do_import_rules(
            db,
            set_id,
            content,
            name,
            actor=request_actor(request, user),
            limits=table_limits(request.app.state.settings),
        )

    return _after(request, db, user, set_id, act(db, run), "已导入规则（替换了草稿的全部规则）")


@router.post("/{set_id}/publish", dependencies=CSRF)
def publish(
    set_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MANAGE
) -> Response:
    reason = text(form, "reason")[:500]
    error = act(
        db,
        lambda: service.do_publish(
            db, RuleSetVersion, set_id, actor=request_actor(request, user), reason=reason
        ),
    )
    return _after(request, db, user, set_id, error, "已发布：各服务进程将在数秒内使用这个版本")


@router.post("/{set_id}/retire", dependencies=CSRF)
def retire(
    set_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MANAGE
) -> Response:
    reason = text(form, "reason")[:500]
    error = act(
        db,
        lambda: service.do_retire(db, set_id, actor=request_actor(request, user), reason=reason),
    )
    return _after(request, db, user, set_id, error, "已停用：审核不再使用这个版本")


@router.post("/{set_id}/delete", dependencies=CSRF)
def delete(set_id: DbId, request: Request, db: Db, user: User = MANAGE) -> Response:
    error = act(
        db,
        lambda: service.do_delete_draft(
            db, RuleSetVersion, set_id, actor=request_actor(request, user)
        ),
    )
    return _after(request, db, user, set_id, error, "已删除草稿", BASE)


@router.get("/{set_id}/diff")
def diff_page(set_id: DbId, request: Request, db: Db, user: User = VIEW) -> Response:
    row = version_for(db, user, set_id)
    against = int_param(request.query_params.get("against"), "against")
    if against is None:
        raise ValidationFailed("against：请选择要比较的版本", field="against")
    other = version_for(db, user, against)
    result = service.diff(db, other.id, row.id, home_region(user))
    mine = {r.rule_id: r for r in repository.rules_of(db, row.id)}
    theirs = {r.rule_id: r for r in repository.rules_of(db, other.id)}
    return render(
        request,
        "supervision/rule_diff.html",
        {
            "row": row,
            "other": other,
            "diff": result,
            "mine": mine,
            "theirs": theirs,
            "families": FAMILIES,
            "field_words": rule_form.FIELD_WORDS | {"version": "规则版本"},
        },
    )


# ---------------------------------------------------------------------------- rules


def _rule_page(
    request: Request,
    db: Db,
    user: User,
    row: RuleSetVersion,
    values: dict[str, Any],
    *,
    editing: str | None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    family = str(values.get("family") or "")
    errors = errors or {}
    return render(
        request,
        "supervision/rule_form.html",
        {
            "row": row,
            "v": values,
            "editing": editing,
            "families": rule_form.family_choices(),
            "family_info": FAMILIES.get(family),
            "restriction_kinds": RESTRICTION_KINDS,
            "fields": rule_form.param_fields(family),
            "windows": rule_form.windows_of(family),
            "stages": STAGES,
            "trig_scen": rule_form.TRIG_SCEN,
            "result_types": RESULT_TYPES,
            "severities": SEVERITIES,
            "errors": errors,
            "error": summary(errors) if errors else None,
        },
        status_code=status_code,
    )


def _draft(request: Request, db: Db, user: User, set_id: int) -> RuleSetVersion:
    """A draft the user may edit (the service's 403 / 409 otherwise, before any form)."""
    row = version_for(db, user, set_id)
    service.draft_of(db, RuleSetVersion, row.id, request_actor(request, user))
    return row


@router.get("/{set_id}/rules/new")
def new_rule(set_id: DbId, request: Request, db: Db, user: User = MANAGE) -> Response:
    row = _draft(request, db, user, set_id)
    family = request.query_params.get("family") or "sex"
    family = family if family in FAMILIES else "sex"
    return _rule_page(request, db, user, row, rule_form.blank_values(family), editing=None)


@router.get("/{set_id}/rules/params")
def rule_params(set_id: DbId, request: Request, db: Db, user: User = MANAGE) -> Response:
    """The family-specific part of the rule form (swapped in when the family changes)."""
    row = version_for(db, user, set_id)
    family = request.query_params.get("family") or ""
    values = rule_form.blank_values(family if family in FAMILIES else "sex")
    values["family"] = family
    return render(
        request,
        "supervision/_rule_params.html",
        {
            "row": row,
            "v": values,
            "family_info": FAMILIES.get(family),
            "restriction_kinds": RESTRICTION_KINDS,
            "fields": rule_form.param_fields(family),
            "windows": rule_form.windows_of(family),
            "errors": {},
        },
    )


def _stored(db: Db, row: RuleSetVersion, rule_id: str) -> StoredRule:
    for r in repository.rules_of(db, row.id):
        if r.rule_id == rule_id:
            return r
    raise ValidationFailed(f"rule_id：规则 {rule_id} 不在这个版本中", field="rule_id")


@router.get("/{set_id}/rules/{rule_id}/edit")
def edit_rule(
    set_id: DbId, rule_id: str, request: Request, db: Db, user: User = MANAGE
) -> Response:
    row = _draft(request, db, user, set_id)
    values = rule_form.stored_values(_stored(db, row, rule_id[:40]))
    return _rule_page(request, db, user, row, values, editing=rule_id[:40])


@router.post("/{set_id}/rules", dependencies=CSRF)
def save_rule(
    set_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MANAGE
) -> Response:
    row = _draft(request, db, user, set_id)
    editing = text(form, "editing")[:40] or None
    posted = rule_form.read_rule_form(form)
    if editing and posted.values["rule_id"] != editing:
        posted.errors["rule_id"] = "规则编码：修改规则时不能改编码（请新增一条规则）"
    if posted.data is None or posted.errors:
        return _rule_page(
            request,
            db,
            user,
            row,
            posted.values,
            editing=editing,
            errors=posted.errors,
            status_code=422,
        )
    data = posted.data
    if editing is None and any(r.rule_id == data.rule_id for r in repository.rules_of(db, row.id)):
        errors = {"rule_id": f"规则编码：{data.rule_id} 已在这个版本中（请改用“编辑”）"}
        return _rule_page(
            request, db, user, row, posted.values, editing=None, errors=errors, status_code=422
        )
    saved: list[StoredRule] = []
    error = act(
        db,
        lambda: saved.append(
            service.do_put_rule(db, row.id, data, actor=request_actor(request, user))
        ),
    )
    if error is not None:
        if error.http_status != 422:
            return _detail_page(request, db, user, row.id, error=error)
        key, message = rule_form.service_error(error.message, error.field)
        return _rule_page(
            request,
            db,
            user,
            version_for(db, user, set_id),
            posted.values,
            editing=editing,
            errors={key: message},
            status_code=422,
        )
    flash(request, f"已保存规则 {saved[0].rule_id}（规则版本 {saved[0].version}）")
    return RedirectResponse(f"{BASE}/{row.id}?q={saved[0].rule_id}", status_code=303)


@router.post("/{set_id}/rules/{rule_id}/toggle", dependencies=CSRF)
def toggle_rule(
    set_id: DbId, rule_id: str, request: Request, db: Db, user: User = MANAGE
) -> Response:
    def run() -> None:
        row = version_for(db, user, set_id)
        stored = _stored(db, row, rule_id[:40])
        data = {k: v for k, v in stored.data().items() if k != "version"}
        data["enabled"] = not stored.enabled
        service.do_put_rule(
            db, row.id, RuleIn.model_validate(data), actor=request_actor(request, user)
        )

    error = act(db, run)
    # back to the filtered table the button was on (this site's path only)
    back = urlsplit(request.headers.get("referer") or "")
    to = f"{BASE}/{set_id}"
    if back.path == to and back.query:
        to = f"{to}?{back.query[:1000]}"
    return _after(request, db, user, set_id, error, f"已切换规则 {rule_id[:40]} 的启用状态", to)


@router.post("/{set_id}/rules/{rule_id}/delete", dependencies=CSRF)
def delete_rule(
    set_id: DbId, rule_id: str, request: Request, db: Db, user: User = MANAGE
) -> Response:
    error = act(
        db,
        lambda: service.do_delete_rule(
            db, set_id, rule_id[:40], actor=request_actor(request, user)
        ),
    )
    return _after(request, db, user, set_id, error, f"已删除规则 {rule_id[:40]}")
