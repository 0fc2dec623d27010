"""What a database error means to a request (shared by the framework's error handlers,
:mod:`yibao.api.errors`, and the fast routes, :mod:`yibao.api.fastpath`): a lock wait
that ran out is "busy, try again" (503); a value the database refused is the
request's refusal (422, logged with a reference); anything else is an internal
error."""

from __future__ import annotations

import logging
import secrets

import psycopg
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from yibao.kit.errors import Busy, DomainError, ValidationFailed

log = logging.getLogger("yibao.errors")


def is_busy(exc: BaseException) -> bool:
    """A lock wait that ran out: SQLite "database is locked", PostgreSQL lock_timeout
    (55P03), a pool checkout timeout."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, OperationalError):
        text = str(exc.orig) if exc.orig is not None else str(exc)
        if "database is locked" in text or "database table is locked" in text:
            return True
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None)
        return code in {"55P03", "40001", "40P01", "57014"}
    return False


def busy_error() -> Busy:
    return Busy(
        "系统繁忙（数据正在被其他操作使用），本次请求未做任何修改，请稍后重试 / busy, retry"
    )


def refused_value(what: str, exc: BaseException) -> ValidationFailed:
    """The safety net's answer: the database refused a value the request ``what``
    (its method and path) carried."""
    ref = secrets.token_hex(4)
    log.warning(
        "value refused by the database ref=%s %s: the request model should bound it",
        ref,
        what,
        exc_info=exc,
    )
    return ValidationFailed(
        f"请求中的数值或文本超出数据库允许的范围（数字过大、文本过长或含有不允许的字符），"
        f"本次请求未做任何修改（参考编号 {ref}）/ value refused by the database",
        code="db_value_rejected",
    )


def database_error(exc: BaseException, what: str) -> DomainError | None:
    """The answer to a database error raised by the request ``what``, when it is
    one: busy (503) or a refused value (422); None for anything else."""
    if is_busy(exc):
        return busy_error()
    if isinstance(exc, DataError | psycopg.DataError):
        return refused_value(what, exc)
    return None
