"""What the rule base and knowledge base pages share: permissions, the new-draft form,
answering a failed action with the page and the right status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, has_permission
from yibao.api.deps import Db, check_csrf, require
from yibao.api.openapi import XLSX as XLSX
from yibao.engines.audit.errors import words
from yibao.kit.errors import DomainError, ValidationFailed
from yibao.supervision.schemas import VersionIn
from yibao.web.forms import text

VIEW = require(Permission.VIEW_RULES)
MANAGE = require(Permission.MANAGE_RULES)
CSRF = [Depends(check_csrf)]
VERSION_FIELDS = ("region_code", "name", "valid_from", "valid_to", "note", "based_on")
VERSION_WORDS = {
    "region_code": "区划代码",
    "name": "版本名称",
    "valid_from": "生效日期",
    "valid_to": "失效日期",
    "note": "说明",
    "based_on": "复制自",
}


def can_manage(user: User) -> bool:
    return has_permission(user.role, Permission.MANAGE_RULES)


def with_status(response: Response, error: DomainError | None) -> Response:
    """An answer that carries an error gets its status (a missing thing named in a
    form is the form's problem: 422)."""
    if error is not None:
        response.status_code = 422 if error.http_status in (400, 404) else error.http_status
    return response


def act(db: Db, action: Callable[[], Any]) -> DomainError | None:
    """Run a change in a savepoint; on a domain error roll the request back (nothing
    half-written stays) and return the error for the page."""
    try:
        with db.begin_nested():
            action()
    except DomainError as exc:
        db.rollback()
        return exc
    return None


def read_version_form(form: FormData) -> tuple[dict[str, str], VersionIn | None, dict[str, str]]:
    """The new-draft form: (values to show again, the request, errors by field).
    ``based_on``: a version id, ``""`` for the region's newest, ``empty`` for none."""
    values = {k: text(form, k) for k in VERSION_FIELDS}
    data: dict[str, Any] = {k: v for k, v in values.items() if v and k != "based_on"}
    if values["based_on"] == "empty":
        data["empty"] = True
    elif values["based_on"]:
        if not values["based_on"].isdigit():
            return values, None, {"based_on": "复制自：请选择一个版本"}
        data["based_on"] = int(values["based_on"])
    try:
        return values, VersionIn.model_validate(data), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors():
            key = str(err["loc"][0]) if err["loc"] else "form"
            label = VERSION_WORDS.get(key, "有效期")
            if err["type"] == "missing":
                message = "不能为空"
            elif err["type"] == "string_pattern_mismatch":
                message = "须为 6 位区划代码，统筹区以 00 结尾（如 990100）"
            else:
                message = words(err)
            errors.setdefault(key if key in VERSION_WORDS else "valid_to", f"{label}：{message}")
        return values, None, errors


def upload_of(form: FormData) -> tuple[bytes, str]:
    """The uploaded workbook (422 naming the field when none was chosen)."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValidationFailed("文件：请选择要导入的 .xlsx 文件", field="file")
    upload.file.seek(0)
    return upload.file.read(), upload.filename


def summary(errors: dict[str, str]) -> ValidationFailed:
    """One error for the page's alert from the errors by field."""
    return ValidationFailed("；".join(errors.values()), field=next(iter(errors), None))
