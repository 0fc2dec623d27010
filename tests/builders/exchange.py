"""Transaction-gateway test helpers: a HIS client of one institution that builds NHSA
envelopes (msgid by the rule, a fresh one per message unless given) and sends them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.builders import TEST_ACTOR
from yibao.accounts.models import User
from yibao.accounts.tokens import do_create_api_token
from yibao.audit.models import AuditLog
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.exchange.models import ExchangeMessage, SignIn
from yibao.settlement.models import SettlementList, SettlementListVersion

PATH = "/api/exchange"
NHSA_PATH = "/fsi/api/rsfComIfsService/callService"
_seq = itertools.count(1)


def token_of(session: Session, username: str) -> str:
    """A new API token of ``username`` (committed)."""
    set_scope(session, SYSTEM_SCOPE)
    user = session.scalar(select(User).where(User.username == username))
    assert user is not None, username
    plain = do_create_api_token(session, user, "exchange test", actor=TEST_ACTOR)
    session.commit()
    return plain


def msgid_for(code: str) -> str:
    """A msgid by the rule: institution code 12 + yyyyMMddHHmmss 14 + sequence 4."""
    return f"{code}{datetime.now():%Y%m%d%H%M%S}{next(_seq) % 10_000:04d}"


@dataclass
class His:
    """An institution's HIS system talking to the gateway through ``client``."""

    client: Any
    token: str
    code: str
    sign_no: str | None = None
    sent: list[dict[str, Any]] = field(default_factory=list)

    def envelope(self, infno: str, data: Any = None, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "infno": infno,
            "msgid": msgid_for(self.code),
            "mdtrtarea_admvs": "990100",
            "insuplc_admdvs": "",
            "recer_sys_code": "YBXT",
            "dev_no": "",
            "dev_safe_info": "",
            "cainfo": "",
            "signtype": "",
            "infver": "V1.0",
            "opter_type": "1",
            "opter": "0001",
            "opter_name": "测试经办人",
            "inf_time": f"{datetime.now():%Y-%m-%d %H:%M:%S}",
            "fixmedins_code": self.code,
            "fixmedins_name": "测试医院",
            "sign_no": self.sign_no or "",
            "input": data,
        }
        body.update(fields)
        return body

    def send(self, body: Any, path: str = PATH) -> dict[str, Any]:
        """POST ``body`` (an envelope dict, or raw bytes); the response envelope."""
        headers = {"Authorization": f"Bearer {self.token}"}
        if isinstance(body, bytes | str):
            headers["content-type"] = "application/json"
            r = self.client.post(path, content=body, headers=headers)
        else:
            r = self.client.post(path, json=body, headers=headers)
        assert r.status_code == 200, (r.status_code, r.text[:500])
        return dict(r.json())

    def sign_in(self) -> str:
        data = {"signIn": {"opter_no": "0001", "mac": "00-16-3E-12-34-56", "ip": "10.0.0.8"}}
        answer = self.send(self.envelope("9001", data))
        assert answer["infcode"] == 0, answer
        self.sign_no = str(answer["output"]["signinoutb"]["sign_no"])
        return self.sign_no


def counts(session: Session) -> dict[str, int]:
    """Rows of every table a message may write (all institutions)."""
    set_scope(session, SYSTEM_SCOPE)
    session.expire_all()
    tables = {
        "journal": ExchangeMessage,
        "sign_ins": SignIn,
        "lists": SettlementList,
        "versions": SettlementListVersion,
        "audit": AuditLog,
    }
    return {
        name: int(session.scalar(select(func.count()).select_from(model)) or 0)
        for name, model in tables.items()
    }


def journal_rows(session: Session, msgid: str | None = None) -> list[ExchangeMessage]:
    set_scope(session, SYSTEM_SCOPE)
    session.expire_all()
    stmt = select(ExchangeMessage).order_by(ExchangeMessage.id)
    if msgid is not None:
        stmt = stmt.where(ExchangeMessage.msgid == msgid)
    return list(session.scalars(stmt))
