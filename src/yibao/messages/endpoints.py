"""Message centre API (互动交流, issue 15 item 4): threads of the user, a notice, a thread
about an object, replies."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Db, request_actor, require
from yibao.kit.bounds import DbId
from yibao.messages import service
from yibao.messages.models import MessageThread

router = APIRouter(prefix="/api/messages", tags=["messages 互动交流"])
VIEW = require(Permission.VIEW_CASES)


class NoticeIn(BaseModel):
    subject: str = Field(max_length=200)
    body: str = Field(max_length=4000)
    audience: list[str] | None = Field(None, max_length=500, description="医疗机构编码；空为全部")
    deadline: date | None = Field(None, description="截止日期（首页提醒）")


class ThreadIn(BaseModel):
    subject: str = Field(max_length=200)
    body: str = Field(max_length=4000)
    hospital_code: str | None = Field(None, max_length=12, description="医保局发起时：医疗机构")
    about_kind: str | None = Field(
        None, max_length=20, description="settlement_list、finding、special_case、appeal"
    )
    about_id: int | None = Field(None, ge=1, le=2**31 - 1)


class ReplyIn(BaseModel):
    body: str = Field(max_length=4000)


def thread_out(t: MessageThread, unread: bool | None = None) -> dict[str, Any]:
    return {
        "id": t.id,
        "kind": t.kind,
        "subject": t.subject,
        "hospital_code": t.hospital_code,
        "audience": [c for c in (t.audience or "").split(",") if c] or None,
        "about_kind": t.about_kind,
        "about_id": t.about_id,
        "deadline": t.deadline.isoformat() if t.deadline else None,
        "created_by": t.created_by,
        "last_at": t.last_at.isoformat(),
        **({"unread": unread} if unread is not None else {}),
    }


@router.get("", summary="我的通知与沟通（最新在前），含未读标记与未读数")
def list_threads(db: Db, user: User = VIEW) -> dict[str, Any]:
    rows = service.threads(db, user)
    return {
        "unread": sum(1 for _, u in rows if u),
        "items": [thread_out(t, u) for t, u in rows],
    }


@router.post("/notices", status_code=201, summary="医保局发布通知（全部或部分医疗机构）")
def send_notice(body: NoticeIn, request: Request, db: Db, user: User = VIEW) -> dict[str, Any]:
    t = service.do_send_notice(
        db, user, subject=body.subject, body=body.body, audience=body.audience,
        deadline=body.deadline, actor=request_actor(request, user),
    )  # fmt: skip
    return thread_out(t)


@router.post(
    "/threads", status_code=201, summary="发起沟通（可关联结算清单、疑点、特例单议或申诉）"
)
def open_thread(body: ThreadIn, request: Request, db: Db, user: User = VIEW) -> dict[str, Any]:
    t = service.do_open_thread(
        db, user, subject=body.subject, body=body.body, hospital_code=body.hospital_code,
        about_kind=body.about_kind, about_id=body.about_id, actor=request_actor(request, user),
    )  # fmt: skip
    return thread_out(t)


@router.get("/{thread_id}", summary="一条通知或沟通及其全部消息（标记为已读）")
def get_thread(thread_id: DbId, request: Request, db: Db, user: User = VIEW) -> dict[str, Any]:
    t = service.get_thread(db, user, thread_id)
    service.mark_read_now(request.app.state.aux_engine, t.id, user.id)
    return {
        **thread_out(t, False),
        "messages": [
            {"side": m.side, "author": m.author, "body": m.body, "at": m.created_at.isoformat()}
            for m in service.messages_of(db, t.id)
        ],
    }


@router.post("/{thread_id}/replies", status_code=201, summary="回复")
def reply(
    thread_id: DbId, body: ReplyIn, request: Request, db: Db, user: User = VIEW
) -> dict[str, Any]:
    m = service.do_reply(db, user, thread_id, body.body, request_actor(request, user))
    return {"id": m.id, "side": m.side}
