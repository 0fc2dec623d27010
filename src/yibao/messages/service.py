"""The message centre (互动交流, issue 15 item 4, ADR 0035).

* A bureau user sends a **notice** to every hospital of its region or to some of them
  (an optional deadline shows as a reminder on their home pages).
* Either side opens a **thread** with one hospital, optionally about a settlement
  list, an audit finding, a special case or an appeal that side can see; both reply.
* Who sees what: a hospital user the notices addressed to its hospital and its own
  threads; a bureau user everything of its region.  A thread is *unread* for a user
  when it has a message newer than the user last opened it (its own messages count
  as read).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.audit.service import Actor, record
from yibao.kit.errors import Forbidden, NotFound, ValidationFailed
from yibao.kit.timeutil import local, utcnow
from yibao.messages.models import ABOUT, Message, MessageRead, MessageThread
from yibao.regions.models import Hospital, region_prefix
from yibao.settlement.models import SettlementAppeal, SettlementList, SpecialCaseApplication
from yibao.supervision.findings.models import Finding

MAX_BODY = 4000
ABOUT_MODELS: dict[str, Any] = {
    "settlement_list": SettlementList,
    "finding": Finding,
    "special_case": SpecialCaseApplication,
    "appeal": SettlementAppeal,
}


def _hospital(session: Session, user: User) -> Hospital | None:
    return session.get(Hospital, user.hospital_id) if user.hospital_id else None


def _region(session: Session, user: User) -> str:
    """The bureau region a user's threads belong to (a hospital: its city)."""
    hospital = _hospital(session, user)
    code = hospital.region_code if hospital is not None else user.region_code
    if not code:
        raise Forbidden("没有所属区划，不能使用消息中心")
    return code if hospital is None and not code.endswith("00") else code[:4] + "00"


def visible(session: Session, user: User) -> Any:
    """The SQL condition of the threads ``user`` may read."""
    hospital = _hospital(session, user)
    if hospital is None:
        return MessageThread.region_code.startswith(region_prefix(user.region_code or "\x00"))
    notice = and_(
        MessageThread.kind == "notice",
        MessageThread.region_code == hospital.region_code[:4] + "00",
        or_(
            MessageThread.audience.is_(None),
            MessageThread.audience.contains(f",{hospital.code},", autoescape=True),
        ),
    )
    return or_(notice, MessageThread.hospital_code == hospital.code)


def _text(value: str, field: str, label: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(f"{label} {field}：不能为空", field=field)
    if len(value) > limit:
        raise ValidationFailed(
            f"{label} {field}：不超过 {limit} 字（收到 {len(value)}）", field=field
        )
    return value


def _post(session: Session, thread: MessageThread, user: User, body: str, actor: Actor) -> Message:
    side = "hospital" if user.hospital_id else "bureau"
    msg = Message(thread_id=thread.id, side=side, author=actor.name, body=body)
    session.add(msg)
    thread.last_at = utcnow()
    session.flush()
    _mark_read(session, thread.id, user.id)
    return msg


def do_send_notice(
    session: Session,
    user: User,
    *,
    subject: str,
    body: str,
    audience: list[str] | None,
    deadline: date | None,
    actor: Actor,
) -> MessageThread:
    if user.hospital_id:
        raise Forbidden("只有医保局用户可以发布通知")
    region = _region(session, user)
    codes = sorted({c.strip() for c in audience or [] if c.strip()}) or None
    if codes:
        known = set(
            session.scalars(
                select(Hospital.code).where(
                    Hospital.code.in_(codes), Hospital.region_code.startswith(region_prefix(region))
                )
            )
        )
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise ValidationFailed(
                f"audience：{'、'.join(unknown)} 不是本辖区的医疗机构", field="audience"
            )
    if deadline is not None and deadline < local(utcnow()).date():
        raise ValidationFailed(f"deadline：截止日期 {deadline} 已过", field="deadline")
    thread = MessageThread(
        region_code=region,
        kind="notice",
        audience=f",{','.join(codes)}," if codes else None,
        subject=_text(subject, "subject", "标题", 200),
        deadline=deadline,
        created_by=actor.name,
    )
    session.add(thread)
    session.flush()
    _post(session, thread, user, _text(body, "body", "内容", MAX_BODY), actor)
    record(session, actor, "messages.notice", "message_thread", thread.id,
           after={"subject": thread.subject, "audience": codes or "全部"})  # fmt: skip
    return thread


def do_open_thread(
    session: Session,
    user: User,
    *,
    subject: str,
    body: str,
    hospital_code: str | None,
    about_kind: str | None,
    about_id: int | None,
    actor: Actor,
) -> MessageThread:
    hospital = _hospital(session, user)
    if about_kind:
        if about_kind not in ABOUT or about_id is None:
            raise ValidationFailed(f"about：应为 {'、'.join(ABOUT)} 之一并给出编号", field="about")
        model = ABOUT_MODELS[about_kind]
        row = session.scalar(select(model).where(model.id == about_id))  # the user's scope
        if row is None:
            raise NotFound(f"{ABOUT[about_kind]} {about_id} 不存在 / not found")
        hospital_code = row.hospital_code
    if hospital is not None:
        hospital_code = hospital.code
    if not hospital_code:
        raise ValidationFailed("hospital_code：请指明医疗机构", field="hospital_code")
    target = session.scalar(select(Hospital).where(Hospital.code == hospital_code))
    region = _region(session, user)
    if target is None or not target.region_code.startswith(region_prefix(region)):
        raise NotFound(f"医疗机构 {hospital_code} 不存在 / not found")
    thread = MessageThread(
        region_code=region,
        kind="thread",
        hospital_code=hospital_code,
        subject=_text(subject, "subject", "标题", 200),
        about_kind=about_kind or None,
        about_id=about_id if about_kind else None,
        created_by=actor.name,
    )
    session.add(thread)
    session.flush()
    _post(session, thread, user, _text(body, "body", "内容", MAX_BODY), actor)
    record(session, actor, "messages.thread", "message_thread", thread.id,
           after={"subject": thread.subject, "hospital": hospital_code,
                  "about": f"{about_kind}:{about_id}" if about_kind else None})  # fmt: skip
    return thread


def get_thread(session: Session, user: User, thread_id: int) -> MessageThread:
    thread = session.scalar(
        select(MessageThread).where(MessageThread.id == thread_id, visible(session, user))
    )
    if thread is None:
        raise NotFound(f"消息 {thread_id} 不存在 / not found")
    return thread


def do_reply(session: Session, user: User, thread_id: int, body: str, actor: Actor) -> Message:
    thread = get_thread(session, user, thread_id)
    if thread.kind == "notice" and user.hospital_id:
        raise Forbidden("通知不能回复；如有疑问请发起新的沟通")
    return _post(session, thread, user, _text(body, "body", "内容", MAX_BODY), actor)


def messages_of(session: Session, thread_id: int) -> list[Message]:
    return list(
        session.scalars(select(Message).where(Message.thread_id == thread_id).order_by(Message.id))
    )


def _mark_read(session: Session, thread_id: int, user_id: int) -> None:
    row = session.get(MessageRead, (thread_id, user_id))
    if row is None:
        session.add(MessageRead(thread_id=thread_id, user_id=user_id, read_at=utcnow()))
    else:
        row.read_at = utcnow()


def mark_read_now(engine: Engine, thread_id: int, user_id: int) -> None:
    """Record that the user opened the thread, in a short transaction of its own (a
    GET's session is read-only; this is bookkeeping, like a token's last use)."""
    for _ in range(2):  # two tabs opening the thread at once: the second updates
        with Session(engine) as session:
            _mark_read(session, thread_id, user_id)
            try:
                session.commit()
                return
            except IntegrityError:
                session.rollback()


def threads(session: Session, user: User, limit: int = 200) -> list[tuple[MessageThread, bool]]:
    """The user's threads, newest activity first, each with whether it is unread."""
    read = (
        select(MessageRead.thread_id, MessageRead.read_at)
        .where(MessageRead.user_id == user.id)
        .subquery()
    )
    rows = session.execute(
        select(MessageThread, read.c.read_at)
        .outerjoin(read, read.c.thread_id == MessageThread.id)
        .where(visible(session, user))
        .order_by(MessageThread.last_at.desc(), MessageThread.id.desc())
        .limit(limit)
    )
    return [(t, r is None or t.last_at > r) for t, r in rows]


def unread_count(session: Session, user: User) -> int:
    return sum(1 for _, unread in threads(session, user) if unread)


def deadlines(session: Session, user: User, days: int = 7) -> list[MessageThread]:
    """Notices with a deadline from today to ``days`` days ahead, soonest first."""
    today = local(utcnow()).date()
    return list(
        session.scalars(
            select(MessageThread)
            .where(
                visible(session, user),
                MessageThread.deadline >= today,
                MessageThread.deadline <= today + timedelta(days=days),
            )
            .order_by(MessageThread.deadline, MessageThread.id)
        )
    )
