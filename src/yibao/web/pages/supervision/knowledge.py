"""知识库 pages (ADR 0021): the knowledge versions of the user's region, one version's
item restrictions (searchable, paged) and item relations (by kind), on a draft the
forms to add, change and delete them, Excel export and import, publish and delete a
draft.  Every change goes through :mod:`yibao.supervision.knowledge` and
:mod:`yibao.supervision.service`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from yibao.accounts.models import User
from yibao.api.deps import Db, PostedForm, request_actor
from yibao.api.openapi import download
from yibao.engines.audit import RELATION_KINDS
from yibao.engines.catalogue.restrictions import RESTRICTION_KINDS
from yibao.kit.bounds import DbId
from yibao.kit.errors import DomainError, ValidationFailed
from yibao.kit.paging import clamp_page
from yibao.kit.tables import table_limits
from yibao.supervision import files, repository, service
from yibao.supervision import knowledge as kb
from yibao.supervision.auth import home_region
from yibao.supervision.models import KnowledgeRelation, KnowledgeVersion
from yibao.supervision.schemas import RestrictionIn
from yibao.web.forms import flash, int_param, take_flash, text
from yibao.web.pages.supervision import knowledge_form as kf
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

router = APIRouter(prefix="/supervision/knowledge")
BASE = "/supervision/knowledge"


def _list_page(
    request: Request,
    db: Db,
    user: User,
    *,
    error: DomainError | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    rows = repository.list_versions(db, KnowledgeVersion, home_region(user))
    response = render(
        request,
        "supervision/knowledge_versions.html",
        {
            "rows": rows,
            "counts": repository.knowledge_counts(db, [r.id for r in rows]),
            "can_manage": can_manage(user),
            "error": error,
            "errors": errors or {},
            "form": form or {},
            "flash": take_flash(request),
        },
    )
    return with_status(response, error)


@router.get("")
def versions_page(request: Request, db: Db, user: User = VIEW) -> Response:
    return _list_page(request, db, user)


@router.post("", dependencies=CSRF)
def create(request: Request, form: PostedForm, db: Db, user: User = MANAGE) -> Response:
    values, data, errors = read_version_form(form)
    if data is None:
        return _list_page(request, db, user, error=summary(errors), form=values, errors=errors)
    created: list[KnowledgeVersion] = []
    error = act(
        db,
        lambda: created.append(
            service.do_create_version(
                db, KnowledgeVersion, data, actor=request_actor(request, user)
            )
        ),
    )
    if error is not None:
        key = error.field if error.field in values else "form"
        return _list_page(request, db, user, error=error, form=values, errors={key: error.message})
    flash(request, f"已新建知识库第 {created[0].version} 版（草稿）")
    return RedirectResponse(f"{BASE}/{created[0].id}", status_code=303)


def _version(db: Db, user: User, version_id: int) -> KnowledgeVersion:
    return repository.get_version(db, KnowledgeVersion, version_id, home_region(user))


def _detail_page(
    request: Request, db: Db, user: User, version_id: int, *, error: DomainError | None = None
) -> Response:
    row = _version(db, user, version_id)
    qp = request.query_params
    tab = "relations" if qp.get("tab") == "relations" else "restrictions"
    page, size = clamp_page(int_param(qp.get("page"), "page"), int_param(qp.get("size"), "size"))
    q = (qp.get("q") or "").strip()[:100] or None
    kind = qp.get("kind") if qp.get("kind") in RELATION_KINDS else None
    counts = repository.knowledge_counts(db, [row.id]).get(row.id, (0, 0))
    if tab == "relations":
        result: Any = repository.search_relations(db, row.id, kind, q, page, size)
    else:
        result = repository.search_restrictions(db, row.id, q, page, size)
    context: dict[str, Any] = {
        "row": row,
        "tab": tab,
        "q": q,
        "kind": kind,
        "result": result,
        "counts": counts,
        "relation_kinds": RELATION_KINDS,
        "restriction_text": kb.restriction_text,
        "relation_text": kb.relation_text,
        "editable": can_manage(user) and row.status == "draft",
        "can_manage": can_manage(user),
        "error": error,
        "flash": take_flash(request),
    }
    template = "supervision/knowledge_version.html"
    if request.headers.get("hx-request") and error is None:
        template = "supervision/_knowledge_table.html"
    return with_status(render(request, template, context), error)


@router.get("/{version_id}")
def detail(version_id: DbId, request: Request, db: Db, user: User = VIEW) -> Response:
    return _detail_page(request, db, user, version_id)


@router.get("/{version_id}/export.xlsx")
def export(version_id: DbId, db: Db, user: User = VIEW) -> Response:
    row = _version(db, user, version_id)
    return download(
        files.export_knowledge(db, row), XLSX, f"knowledge-{row.id}.xlsx", f"知识库-{row.id}.xlsx"
    )


def _after(
    request: Request,
    db: Db,
    user: User,
    version_id: int,
    error: DomainError | None,
    message: str,
    to: str | None = None,
) -> Response:
    if error is not None:
        return _detail_page(request, db, user, version_id, error=error)
    flash(request, message)
    return RedirectResponse(to or f"{BASE}/{version_id}", status_code=303)


@router.post("/{version_id}/import", dependencies=CSRF)
def import_file(
    version_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MANAGE
) -> Response:
    def run() -> None:
        content, name = upload_of(form)
        files.do_import_knowledge(
            db,
            version_id,
            content,
            name,
            actor=request_actor(request, user),
            limits=table_limits(request.app.state.settings),
        )

    error = act(db, run)
    return _after(request, db, user, version_id, error, "已导入知识库（替换了草稿的全部内容）")


@router.post("/{version_id}/publish", dependencies=CSRF)
def publish(
    version_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MANAGE
) -> Response:
    reason = text(form, "reason")[:500]
    error = act(
        db,
        lambda: service.do_publish(
            db, KnowledgeVersion, version_id, actor=request_actor(request, user), reason=reason
        ),
    )
    return _after(request, db, user, version_id, error, "已发布：审核将在数秒内使用这个知识库")


@router.post("/{version_id}/delete", dependencies=CSRF)
def delete(version_id: DbId, request: Request, db: Db, user: User = MANAGE) -> Response:
    error = act(
        db,
        lambda: service.do_delete_draft(
            db, KnowledgeVersion, version_id, actor=request_actor(request, user)
        ),
    )
    return _after(request, db, user, version_id, error, "已删除草稿", BASE)


def _draft(request: Request, db: Db, user: User, version_id: int) -> KnowledgeVersion:
    row = _version(db, user, version_id)
    service.draft_of(db, KnowledgeVersion, row.id, request_actor(request, user))
    return row


# --------------------------------------------------------------------- restrictions


def _restriction_page(
    request: Request,
    row: KnowledgeVersion,
    values: dict[str, str],
    *,
    editing: bool,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    errors = errors or {}
    return render(
        request,
        "supervision/restriction_form.html",
        {
            "row": row,
            "v": values,
            "editing": editing,
            "kinds": RESTRICTION_KINDS,
            "sexes": kf.SEXES,
            "levels": kf.LEVELS,
            "settings": kf.SETTINGS,
            "periods": kf.PERIODS,
            "course_periods": kf.COURSE_PERIODS,
            "errors": errors,
            "error": summary(errors) if errors else None,
        },
        status_code=status_code,
    )


@router.get("/{version_id}/restrictions/edit")
def edit_restrictions(version_id: DbId, request: Request, db: Db, user: User = MANAGE) -> Response:
    row = _draft(request, db, user, version_id)
    code = (request.query_params.get("code") or "").strip()[:50]
    stored = next((r for r in repository.restrictions_of(db, row.id) if r.code == code), None)
    if code and stored is None:
        raise ValidationFailed(f"code：项目 {code} 在这个版本中没有使用限制", field="code")
    values = kf.restriction_values(
        code, stored.name if stored else "", stored.restrictions if stored else []
    )
    return _restriction_page(request, row, values, editing=stored is not None)


@router.post("/{version_id}/restrictions", dependencies=CSRF)
def save_restrictions(
    version_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MANAGE
) -> Response:
    row = _draft(request, db, user, version_id)
    editing = text(form, "editing") == "1"
    posted = kf.read_restriction_form(form)
    if posted.errors:
        return _restriction_page(
            request, row, posted.values, editing=editing, errors=posted.errors, status_code=422
        )
    code = posted.values["code"]
    if not editing and any(r.code == code for r in repository.restrictions_of(db, row.id)):
        errors = {"code": f"医保编码：项目 {code} 已有使用限制（请改用“编辑”）"}
        return _restriction_page(
            request, row, posted.values, editing=False, errors=errors, status_code=422
        )
    body = RestrictionIn(name=posted.values["name"][:200], restrictions=posted.rules)
    error = act(
        db,
        lambda: kb.do_put_restrictions(db, row.id, code, body, actor=request_actor(request, user)),
    )
    if error is not None:
        if error.http_status != 422:
            return _detail_page(request, db, user, version_id, error=error)
        return _restriction_page(
            request,
            _version(db, user, version_id),
            posted.values,
            editing=editing,
            errors={"restrictions": error.message},
            status_code=422,
        )
    flash(request, f"已保存项目 {code} 的使用限制")
    return RedirectResponse(f"{BASE}/{version_id}?q={code}", status_code=303)


@router.post("/{version_id}/restrictions/delete", dependencies=CSRF)
def delete_restrictions(
    version_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MANAGE
) -> Response:
    code = text(form, "code")[:50]
    error = act(
        db,
        lambda: kb.do_delete_restrictions(db, version_id, code, actor=request_actor(request, user)),
    )
    return _after(
        request, db, user, version_id, error, f"已删除项目 {code} 的使用限制（恢复目录中的限制）"
    )


# ------------------------------------------------------------------------ relations


def _relation_page(
    request: Request,
    row: KnowledgeVersion,
    values: dict[str, str],
    *,
    relation_id: int | None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    partial: bool = False,
) -> Response:
    errors = errors or {}
    return render(
        request,
        "supervision/_relation_fields.html" if partial else "supervision/relation_form.html",
        {
            "row": row,
            "v": values,
            "relation_id": relation_id,
            "relation_kinds": RELATION_KINDS,
            "errors": errors,
            "error": summary(errors) if errors else None,
        },
        status_code=status_code,
    )


def _relation(db: Db, row: KnowledgeVersion, relation_id: int) -> KnowledgeRelation:
    rel = db.get(KnowledgeRelation, relation_id)
    if rel is None or rel.version_id != row.id:
        raise ValidationFailed(
            f"relation_id：项目关系 {relation_id} 不在这个版本中", field="relation_id"
        )
    return rel


@router.get("/{version_id}/relations/new")
def new_relation(version_id: DbId, request: Request, db: Db, user: User = MANAGE) -> Response:
    row = _draft(request, db, user, version_id)
    kind = request.query_params.get("kind") or "exclusive"
    kind = kind if kind in RELATION_KINDS else "exclusive"
    return _relation_page(request, row, kf.relation_values(kind, None), relation_id=None)


@router.get("/{version_id}/relations/fields")
def relation_fields(version_id: DbId, request: Request, db: Db, user: User = MANAGE) -> Response:
    """The kind-specific fields of the relation form (swapped in when the kind changes)."""
    row = _version(db, user, version_id)
    kind = request.query_params.get("kind") or ""
    return _relation_page(
        request, row, kf.relation_values(kind, None), relation_id=None, partial=True
    )


@router.get("/{version_id}/relations/{relation_id}/edit")
def edit_relation(
    version_id: DbId, relation_id: DbId, request: Request, db: Db, user: User = MANAGE
) -> Response:
    row = _draft(request, db, user, version_id)
    rel = _relation(db, row, relation_id)
    values = kf.relation_values(rel.kind, rel.body, rel.note)
    return _relation_page(request, row, values, relation_id=rel.id)


def _save_relation(
    request: Request, db: Db, user: User, version_id: int, form: Any, relation_id: int | None
) -> Response:
    row = _draft(request, db, user, version_id)
    posted = kf.read_relation_form(form)
    if posted.data is None:
        return _relation_page(
            request,
            row,
            posted.values,
            relation_id=relation_id,
            errors=posted.errors,
            status_code=422,
        )
    data, actor = posted.data, request_actor(request, user)
    if relation_id is None:
        error = act(db, lambda: kb.do_add_relation(db, row.id, data, actor=actor))
    else:
        error = act(db, lambda: kb.do_edit_relation(db, row.id, relation_id, data, actor=actor))
    if error is not None:
        if error.http_status != 422:
            return _detail_page(request, db, user, version_id, error=error)
        key, message = kf.relation_error(error.message, error.field)
        return _relation_page(
            request,
            _version(db, user, version_id),
            posted.values,
            relation_id=relation_id,
            errors={key: message},
            status_code=422,
        )
    flash(request, "已保存项目关系")
    return RedirectResponse(f"{BASE}/{version_id}?tab=relations", status_code=303)


@router.post("/{version_id}/relations", dependencies=CSRF)
def add_relation(
    version_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MANAGE
) -> Response:
    return _save_relation(request, db, user, version_id, form, None)


@router.post("/{version_id}/relations/{relation_id}", dependencies=CSRF)
def save_relation(
    version_id: DbId,
    relation_id: DbId,
    request: Request,
    form: PostedForm,
    db: Db,
    user: User = MANAGE,
) -> Response:
    return _save_relation(request, db, user, version_id, form, relation_id)


@router.post("/{version_id}/relations/{relation_id}/delete", dependencies=CSRF)
def delete_relation(
    version_id: DbId, relation_id: DbId, request: Request, db: Db, user: User = MANAGE
) -> Response:
    error = act(
        db,
        lambda: kb.do_delete_relation(
            db, version_id, relation_id, actor=request_actor(request, user)
        ),
    )
    return _after(
        request, db, user, version_id, error, "已删除项目关系", f"{BASE}/{version_id}?tab=relations"
    )
