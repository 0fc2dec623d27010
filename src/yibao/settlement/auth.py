"""Who may see which settlement data: the one definition of "the region this user
works in" and "this user's own hospital" for the settlement API and pages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.accounts.roles import Role
from yibao.db.scoping import get_scope
from yibao.kit.errors import Forbidden, ValidationFailed
from yibao.regions.models import Hospital

#: bureau roles that read every hospital's statements and run the year-end clearing
STATEMENT_ROLES = frozenset({Role.BUREAU_REVIEWER.value, Role.BUREAU_ADMIN.value})


def own_hospital(session: Session, user: User) -> str | None:
    """The hospital code of a hospital user; None for a bureau user who reads
    statements (reviewers, admins); 403 for any other bureau role."""
    scope = get_scope(session)
    if scope is None:
        raise Forbidden("无数据范围 / no data scope")
    if scope.hospital_id is None:
        if user.role not in STATEMENT_ROLES:
            raise Forbidden("仅结算审核员、医保局管理员或医院本身可查看结算单")
        return None
    return session.scalar(select(Hospital.code).where(Hospital.id == scope.hospital_id))


def region_for(session: Session, user: User, region: str | None = None) -> str:
    """The region a request is about: a hospital user's is its hospital's region
    (whatever it asked); a bureau user's is the one it asked for, inside its area, or
    its own."""
    scope = get_scope(session)
    if scope is not None and scope.hospital_id is not None:
        own = session.scalar(select(Hospital.region_code).where(Hospital.id == scope.hospital_id))
        if own is None:
            raise Forbidden("无数据范围 / no data scope")
        return own
    code = (region or user.region_code or "").strip()
    if not code:
        raise ValidationFailed("请给出区划 region", field="region")
    if scope is None or not scope.allows(None, code):
        raise Forbidden(f"区划 {code[:10]} 不在您的辖区内")
    return code
