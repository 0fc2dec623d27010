"""SM3 message signatures per institution and the HIS client (issue 12 items 8 and 9,
ADR 0019), over HTTP: an institution with a key must sign every message — unsigned,
wrongly signed or altered messages are refused naming cainfo, with nothing but the
journal row written; keys are issued, rotated and revoked (CLI, audit); HisClient
drives whole inpatient and outpatient flows (JSON and SOAP) and retries safely;
``yibao his-sim`` runs flows against a real server."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.builders import TEST_ACTOR
from tests.builders.exchange import counts, journal_rows, token_of
from tests.builders.insured import person
from tests.builders.settlement import demo_world
from yibao.audit.models import AuditLog
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.engines.exchange.signature import sign
from yibao.exchange.keys import do_issue_key, do_revoke_key, do_rotate_key
from yibao.exchange.models import ExchangeKey, Settlement
from yibao.his import FeeItem, HisClient, HisError
from yibao.kit.timeutil import local, utcnow
from yibao.regions.models import Hospital

BASE = "http://testserver"


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    codes = demo_world(db)
    set_scope(db, SYSTEM_SCOPE)
    hospital = db.scalar(select(Hospital).where(Hospital.code == codes["hosp01"]))
    local_p = person(db, "990102", insutype="310", balance="1000.00")
    far_p = person(db, "980102", insutype="390", balance=None)
    db.commit()
    return {
        "client": client,
        "token": token_of(db, "his01"),
        "hospital": hospital,
        "local": local_p,
        "far": far_p,
    }


def his_of(world: dict[str, Any], key: str | None = None, **kw: Any) -> HisClient:
    h = world["hospital"]
    return HisClient(
        BASE, world["token"], h.code, h.name, "990100", key, transport=world["client"], **kw
    )


def issue(db, code: str) -> str:  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    secret = do_issue_key(db, code, actor=TEST_ACTOR).secret
    db.commit()
    return secret


def identify_input(who: Any) -> dict[str, Any]:
    return {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": who.certno}}


def test_signed_messages_pass_unsigned_and_wrong_ones_change_nothing(db, world) -> None:  # type: ignore[no-untyped-def]
    secret = issue(db, world["hospital"].code)
    signed = his_of(world, secret)
    sign_no = signed.sign_in()  # 9001 itself is signed
    person = signed.identify(world["local"].certno, world["local"].psn_name)
    assert person.psn_no == world["local"].psn_no

    before = counts(db)
    unsigned = his_of(world)
    unsigned.sign_no = sign_no
    answer = unsigned.call("1101", identify_input(world["local"]))
    assert answer["infcode"] == -1 and "cainfo" in answer["err_msg"]
    assert "SM3" in answer["err_msg"] and answer["output"] is None
    wrong = his_of(world, "0" * 64)
    wrong.sign_no = sign_no
    answer = wrong.call("9001", {"signIn": {"opter_no": "1", "mac": "m", "ip": "1.1.1.1"}})
    assert answer["infcode"] == -1 and "cainfo" in answer["err_msg"] and "签名" in answer["err_msg"]
    # signed, then altered on the way: the signature no longer matches
    envelope = signed.envelope("9001", {"signIn": {"opter_no": "1", "mac": "m", "ip": "1.1.1.1"}})
    envelope["input"]["signIn"]["opter_no"] = "2"
    answer = signed.send_envelope(envelope)
    assert answer["infcode"] == -1 and "cainfo" in answer["err_msg"]
    # a valid signature of another kind of signature is refused naming signtype
    other = signed.envelope("9001", {"signIn": {"opter_no": "1", "mac": "m", "ip": "1.1.1.1"}})
    other["signtype"] = "SM2"
    other["cainfo"] = sign(other, secret)
    answer = signed.send_envelope(other)
    assert answer["infcode"] == -1 and "signtype" in answer["err_msg"]
    after = counts(db)
    assert after == {**before, "journal": before["journal"] + 4}  # nothing but the journal
    rows = journal_rows(db)[-4:]
    assert [r.infcode for r in rows] == [-1, -1, -1, -1] and all(r.msgid for r in rows)
    # over SOAP likewise: signed accepted, unsigned refused
    soap_signed = his_of(world, secret, binding="soap")
    soap_signed.sign_no = sign_no
    assert soap_signed.call("1101", identify_input(world["local"]))["infcode"] == 0
    soap_unsigned = his_of(world, binding="soap")
    soap_unsigned.sign_no = sign_no
    answer = soap_unsigned.call("1101", identify_input(world["local"]))
    assert answer["infcode"] == -1 and "cainfo" in answer["err_msg"]
    with pytest.raises(HisError) as refused:
        unsigned.must("1101", identify_input(world["local"]))
    assert "cainfo" in refused.value.err_msg and refused.value.response is not None


def test_without_a_key_a_signature_is_not_checked(db, world) -> None:  # type: ignore[no-untyped-def]
    his = his_of(world, "f" * 64)  # the HIS signs, the institution has no key
    his.sign_in()
    answer = his.call("1101", identify_input(world["local"]))
    assert answer["infcode"] == 0 and "未启用报文签名" in answer["warn_msg"]
    plain = his_of(world)
    plain.sign_no = his.sign_no
    answer = plain.call("1101", identify_input(world["local"]))
    assert answer["infcode"] == 0 and not answer["warn_msg"]


def test_rotation_and_revocation(db, world) -> None:  # type: ignore[no-untyped-def]
    code = world["hospital"].code
    old = issue(db, code)
    his = his_of(world, old)
    his.sign_in()
    set_scope(db, SYSTEM_SCOPE)
    rotated = do_rotate_key(db, code, actor=TEST_ACTOR)
    db.commit()
    assert rotated.secret != old and rotated.replaced
    answer = his.call("1101", identify_input(world["local"]))  # the old key: refused at once
    assert answer["infcode"] == -1 and "cainfo" in answer["err_msg"]
    his.key = rotated.secret
    assert his.call("1101", identify_input(world["local"]))["infcode"] == 0
    set_scope(db, SYSTEM_SCOPE)
    do_revoke_key(db, code, actor=TEST_ACTOR)
    db.commit()
    his.key = None
    assert his.call("1101", identify_input(world["local"]))["infcode"] == 0
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    keys = db.scalars(select(ExchangeKey).order_by(ExchangeKey.id)).all()
    assert [k.active for k in keys] == [False, False]
    audit = db.scalars(
        select(AuditLog).where(AuditLog.action.like("exchange.key.%")).order_by(AuditLog.id)
    ).all()
    assert [a.action for a in audit] == [
        "exchange.key.issue",
        "exchange.key.rotate",
        "exchange.key.revoke",
    ]
    assert all(old not in json.dumps(a.after) for a in audit)  # secrets are never audited
    assert all(rotated.secret not in json.dumps(a.after) for a in audit)


def test_key_command_line(db, world, database_url, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from yibao.cli.main import app
    from yibao.config import get_settings
    from yibao.db.session import get_engine

    monkeypatch.setenv("YIBAO_DATABASE_URL", database_url)
    monkeypatch.setenv("YIBAO_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    get_engine.cache_clear()
    runner, code = CliRunner(), world["hospital"].code
    try:
        done = runner.invoke(app, ["exchange", "key", "issue", "--hospital", code])
        assert done.exit_code == 0, done.output
        secret = done.output.strip().splitlines()[-1].strip()
        assert len(secret) == 64 and "只显示这一次" in done.output
        again = runner.invoke(app, ["exchange", "key", "issue", "--hospital", code])
        assert again.exit_code == 2 and "已有有效的签名密钥" in again.output
        nobody = runner.invoke(app, ["exchange", "key", "revoke", "--hospital", "H00000000000"])
        assert nobody.exit_code == 2 and "不存在" in nobody.output
        listed = runner.invoke(app, ["exchange", "key", "list"])
        assert listed.exit_code == 0 and code in listed.output and secret not in listed.output
        his = his_of(world, secret)
        assert his.sign_in()
        done = runner.invoke(app, ["exchange", "key", "rotate", "--hospital", code])
        assert done.exit_code == 0 and "已失效" in done.output
        assert his.call("1101", identify_input(world["local"]))["infcode"] == -1
    finally:
        get_settings.cache_clear()
        get_engine.cache_clear()


def _items(db) -> list[FeeItem]:  # type: ignore[no-untyped-def]
    from tests.builders.visits import entries

    e = entries(db)
    return [
        FeeItem(e["a"].code, Decimal(2), Decimal("120.00")),
        FeeItem(e["c"].code, Decimal(1), Decimal("80.50")),
        FeeItem("NOT-IN-CATALOGUE", Decimal(3), Decimal("10.00")),
    ]


def test_his_client_drives_inpatient_flow_signed(db, world) -> None:  # type: ignore[no-untyped-def]
    his = his_of(world, issue(db, world["hospital"].code))
    his.sign_in()
    who = his.identify(world["local"].certno, world["local"].psn_name, "990102")
    assert who.insutype == "310" and who.balc == Decimal("1000.00")
    start = (local(utcnow()) - timedelta(days=3)).replace(tzinfo=None, hour=9, microsecond=0)
    mdtrt_id = his.admit(who, start, ipt_no="ZY0001")
    total, lines = his.upload_fees(who, mdtrt_id, _items(db), start + timedelta(days=1))
    assert total == Decimal("350.50") and lines[2]["chrgitm_lv"] == "03"
    his.discharge(who, mdtrt_id, start + timedelta(days=2))
    pre = his.presettle(who, mdtrt_id, total)
    assert pre.setl_id == "" and Decimal(str(pre.setlinfo["medfee_sumamt"])) == total
    done = his.settle(who, mdtrt_id, total)
    info = done.setlinfo
    assert done.setl_id and info["medins_setl_id"] == done.msgid
    assert Decimal(str(info["medfee_sumamt"])) == total
    assert Decimal(str(info["psn_part_amt"])) == Decimal(str(info["acct_pay"])) + Decimal(
        str(info["psn_cash_pay"])
    )
    assert his.cumulative(who)  # 5206: the stay shows in the year's figures
    today = local(utcnow()).date()
    verdict = his.statement(
        insutype="310",
        clr_type="21",
        setl_optins="990100",
        begin=today - timedelta(days=1),
        end=today,
        settlements=[info],
    )
    assert verdict["stmt_rslt"] == "0", verdict
    back = his.reverse(who, mdtrt_id, done.setl_id)
    assert back.setlinfo["setl_type"] == "2"
    assert Decimal(str(back.setlinfo["medfee_sumamt"])) == -total
    with pytest.raises(HisError) as again:
        his.reverse(who, mdtrt_id, done.setl_id)
    assert "已" in again.value.err_msg


def test_his_client_drives_outpatient_flow_over_soap(db, world) -> None:  # type: ignore[no-untyped-def]
    his = his_of(world, binding="soap")
    his.sign_in()
    who = his.identify(world["far"].certno, world["far"].psn_name, world["far"].insuplc_admdvs)
    now = local(utcnow()).replace(tzinfo=None, microsecond=0)
    mdtrt_id = his.register(who, now, ipt_otp_no="MZ0001")
    total, _ = his.outpatient_fees(who, mdtrt_id, _items(db), now)
    his.outpatient_presettle(who, mdtrt_id, total)
    done = his.outpatient_settle(who, mdtrt_id, total)
    assert done.setlinfo["out_setl_flag"] == "1"  # insured in another province
    out = his.reverse_message(done.msgid, "2207", who)  # 2601 冲正 by the msgid
    assert "冲正" in out["result"]["rslt"]
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    row = db.scalar(select(Settlement).where(Settlement.setl_id == done.setl_id))
    assert row is not None and row.state != "settled"


class LostAnswers(httpx.BaseTransport):
    """Passes each request on, then loses the first ``lose`` answers (the gateway did
    the work; the HIS never heard) and answers the next ``busy`` with a 503."""

    def __init__(self, inner: httpx.BaseTransport, lose: int = 1, busy: int = 1) -> None:
        self.inner, self.lose, self.busy = inner, lose, busy
        self.msgids: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.msgids.append(json.loads(request.content)["msgid"])
        if self.busy and not self.lose:
            self.busy -= 1
            return httpx.Response(503, headers={"retry-after": "0"}, json={"error": {}})
        response = self.inner.handle_request(request)
        if self.lose:
            self.lose -= 1
            response.read()
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


def test_retries_reuse_the_msgid_and_settle_once(db, world) -> None:  # type: ignore[no-untyped-def]
    his = his_of(world)
    his.sign_in()
    who = his.identify(world["local"].certno)
    now = local(utcnow()).replace(tzinfo=None, microsecond=0)
    mdtrt_id = his.register(who, now, ipt_otp_no="MZ0002")
    total, _ = his.outpatient_fees(who, mdtrt_id, _items(db), now)
    flaky = LostAnswers(world["client"]._transport)
    h = world["hospital"]
    retrying = HisClient(
        BASE, world["token"], h.code, h.name, "990100", transport=flaky, backoff_s=0.01
    )
    retrying.sign_no = his.sign_no
    done = retrying.outpatient_settle(who, mdtrt_id, total)
    assert len(flaky.msgids) == 3 and len(set(flaky.msgids)) == 1  # one message, sent 3 times
    assert done.msgid == flaky.msgids[0]
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    rows = db.scalars(select(Settlement).where(Settlement.psn_no == who.psn_no)).all()
    assert len(rows) == 1 and rows[0].setl_id == done.setl_id
    assert len(journal_rows(db, done.msgid)) == 1
    # a gateway that never answers: HisError after the retries, with the msgid to reverse
    dead = HisClient(
        BASE,
        world["token"],
        h.code,
        h.name,
        "990100",
        transport=LostAnswers(world["client"]._transport, lose=10),
        retries=2,
        backoff_s=0.01,
    )
    dead.sign_no = his.sign_no
    with pytest.raises(HisError) as lost:
        dead.identify(world["local"].certno)
    assert lost.value.status is None and lost.value.msgid and "网络错误" in lost.value.err_msg


@pytest.mark.slow
def test_his_sim_against_a_live_server(db, database_url, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.e2e.server import live_server
    from yibao.cli.main import app
    from yibao.config import get_settings
    from yibao.db.session import get_engine

    demo_world(db)
    token = token_of(db, "his01")
    monkeypatch.setenv("YIBAO_DATABASE_URL", database_url)
    monkeypatch.setenv("YIBAO_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    get_engine.cache_clear()
    runner, kit = CliRunner(), tmp_path / "kit.json"
    try:
        done = runner.invoke(app, ["demo", "persons", "--out", str(kit), "--count", "8"])
        assert done.exit_code == 0, done.output
        doc = json.loads(kit.read_text(encoding="utf-8"))
        assert len(doc["persons"]) == 8 and len(doc["codes"]) == 40
        assert {p["insuplc_admdvs"][:4] for p in doc["persons"]} - {"9901"}  # some from afar
        secret = issue(db, doc["hospital_code"])
        with live_server(database_url, tmp_path / "server") as server:
            args = ["his-sim", "--url", server.base, "--kit", str(kit), "--count", "6"]
            args += ["--concurrency", "3", "--reverse-every", "3", "--key", secret]
            done = runner.invoke(app, args, env={"YIBAO_HIS_TOKEN": token})
            assert done.exit_code == 0, done.output + server.log_text()
            last = done.output.strip().splitlines()[-1]
            assert last == "his_sim_flows=6 settlements=6 errors=0", done.output
            assert "撤销 / reversals" in done.output
            # without the key every flow fails at sign-in: the institution signs
            done = runner.invoke(app, args[:-2], env={"YIBAO_HIS_TOKEN": token})
            assert done.exit_code == 2 and "cainfo" in done.output
    finally:
        get_settings.cache_clear()
        get_engine.cache_clear()
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    rows = db.scalars(select(Settlement)).all()
    assert len(rows) == 6 and sum(r.state == "settled" for r in rows) == 4  # 2 reversed
