"""Domain errors: a message (Chinese first), a stable code and an HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """A business-rule failure that the caller can understand and fix."""

    http_status: int = 400
    code: str = "domain_error"

    def __init__(
        self,
        message: str,
        code: str | None = None,
        http_status: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status
        self.field = field

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


class NotFound(DomainError):
    http_status = 404
    code = "not_found"


class Forbidden(DomainError):
    http_status = 403
    code = "forbidden"


class Unauthorized(DomainError):
    http_status = 401
    code = "unauthorized"


class Conflict(DomainError):
    http_status = 409
    code = "conflict"


class ValidationFailed(DomainError):
    http_status = 422
    code = "validation_failed"


class TooLarge(DomainError):
    http_status = 413
    code = "too_large"


class TooManyRequests(DomainError):
    http_status = 429
    code = "too_many_requests"

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Busy(DomainError):
    """The database could not take the work now (a lock wait ran out): try again."""

    http_status = 503
    code = "busy"
