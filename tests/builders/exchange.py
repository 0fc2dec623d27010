"""Transaction-gateway test helpers: a HIS client of one institution that builds NHSA
envelopes (msgid by the rule, a fresh one per message unless given) and sends them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.builders import TEST_ACTOR
from yibao.accounts.models import User
from yibao.accounts.tokens import do_create_api_token
from yibao.audit.models import AuditLog
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.exchange.models import ExchangeMessage, SignIn
from yibao.kit.timeutil import local, utcnow
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
            "inf_time": f"{local(utcnow()):%Y-%m-%d %H:%M:%S}",
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


# --------------------------------------------------------------------------- whole visits


def ok(answer: dict[str, Any]) -> dict[str, Any]:
    """The output of a successful answer (fails the test with the answer otherwise)."""
    assert answer["infcode"] == 0, answer
    return dict(answer["output"])


def plain_item(session: Session) -> str:
    """The code of a 甲类 item without price caps in the published catalogue (its
    whole amount is within the policy's scope)."""
    from yibao.catalogue.models import CatalogueEntry, CatalogueVersion

    set_scope(session, SYSTEM_SCOPE)
    version = session.scalar(select(CatalogueVersion).where(CatalogueVersion.status == "published"))
    assert version is not None, "no published catalogue"
    entry = session.scalar(
        select(CatalogueEntry)
        .where(
            CatalogueEntry.version_id == version.id,
            CatalogueEntry.chrgitm_lv == "01",
            CatalogueEntry.cap_lv1.is_(None),
            CatalogueEntry.cap_lv2.is_(None),
            CatalogueEntry.cap_lv3.is_(None),
        )
        .order_by(CatalogueEntry.id)
        .limit(1)
    )
    assert entry is not None
    return str(entry.code)


def settle_stay(
    his: His,
    who: Any,
    item: str,
    *,
    amount: Decimal = Decimal("1200.00"),
    days_ago: int = 4,
) -> dict[str, Any]:
    """One inpatient stay of ``who`` through the gateway, settled: 1101 → 2401 →
    2301 (one line of ``item`` worth ``amount``) → 2402 → 2304.  Returns the ids,
    the settlement's msgid and its setlinfo / setldetail."""
    place = {"insuplc_admdvs": who.insuplc_admdvs}
    cert = {"mdtrt_cert_type": "02", "mdtrt_cert_no": who.certno}
    ok(his.send(his.envelope("1101", {"data": {**cert, "psn_name": who.psn_name}}, **place)))
    start = datetime.now().replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(
        days=days_ago
    )
    info = {
        "psn_no": who.psn_no,
        "insutype": who.insutype,
        "begntime": f"{start:%Y-%m-%d %H:%M:%S}",
        **cert,
        "med_type": "21",
        "ipt_no": f"ZY{who.id:06d}{next(_seq):04d}",
        "atddr_no": "D001",
        "chfpdr_name": "王医生",
        "adm_diag_dscr": "胸痛",
        "adm_dept_codg": "A03",
        "adm_dept_name": "心血管内科",
        "adm_bed": "12",
        "dscg_maindiag_code": "I21.000",
        "dscg_maindiag_name": "急性心肌梗死",
    }
    mdtrt_id = str(
        ok(his.send(his.envelope("2401", {"mdtrtinfo": info}, **place)))["result"]["mdtrt_id"]
    )
    line = {
        "feedetl_sn": "L1",
        "mdtrt_id": mdtrt_id,
        "psn_no": who.psn_no,
        "fee_ocur_time": f"{start + timedelta(days=1):%Y-%m-%d %H:%M:%S}",
        "med_list_codg": item,
        "medins_list_codg": f"H-{item}",
        "det_item_fee_sumamt": str(amount),
        "cnt": "1",
        "pric": str(amount),
        "bilg_dept_codg": "A03",
        "bilg_dept_name": "心血管内科",
    }
    ok(his.send(his.envelope("2301", {"feedetail": [line]}, **place)))
    dscg = {
        "mdtrt_id": mdtrt_id,
        "psn_no": who.psn_no,
        "insutype": who.insutype,
        "endtime": f"{start + timedelta(days=3):%Y-%m-%d %H:%M:%S}",
        "dscg_way": "1",
    }
    ok(his.send(his.envelope("2402", {"dscginfo": dscg}, **place)))
    data = {
        "psn_no": who.psn_no,
        **cert,
        "medfee_sumamt": str(amount),
        "psn_setlway": "01",
        "mdtrt_id": mdtrt_id,
        "insutype": who.insutype,
        "acct_used_flag": "1",
    }
    envelope = his.envelope("2304", {"data": data}, **place)
    out = ok(his.send(envelope))
    return {
        "mdtrt_id": mdtrt_id,
        "setl_id": out["setlinfo"]["setl_id"],
        "msgid": envelope["msgid"],
        "setlinfo": out["setlinfo"],
        "setldetail": out["setldetail"],
    }


def reverse_stay(his: His, who: Any, stay: dict[str, Any]) -> dict[str, Any]:
    """2305 of a settled stay; the reversal's output."""
    ref = {"psn_no": who.psn_no, "mdtrt_id": stay["mdtrt_id"], "setl_id": stay["setl_id"]}
    envelope = his.envelope("2305", {"data": ref}, insuplc_admdvs=who.insuplc_admdvs)
    return {**ok(his.send(envelope)), "msgid": envelope["msgid"]}
