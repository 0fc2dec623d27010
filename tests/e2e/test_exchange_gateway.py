"""The transaction gateway over HTTP (issue 12, first slice; SQLite / PostgreSQL):
envelope errors refused one by one with nothing but the journal written, sloppy but
readable messages accepted with warnings, sign-in and 4101A into settlement-list
intake, exactly once per msgid (retries, parallel retries)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.builders import TEST_ACTOR, user
from tests.builders.exchange import NHSA_PATH, His, counts, journal_rows, msgid_for, token_of
from tests.builders.settlement import demo_world, settlement_list
from yibao.accounts.tokens import do_create_api_token
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.exchange.models import SignIn
from yibao.exchange.signin import forget_sign_ins
from yibao.kit.timeutil import local, utcnow
from yibao.regions.models import Hospital
from yibao.settlement.models import SettlementListVersion

HAN = "\u4e00"


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    """The demo region; his01 (the HIS client of hosp01's hospital) with a token."""
    codes = demo_world(db)
    return His(client, token_of(db, "his01"), codes["hosp01"]), codes


def _list(code: str, **kw: Any) -> dict[str, Any]:
    kw.setdefault("total_cost", "12000.00")
    return settlement_list(code, discharge=date(2025, 3, 10), diagnoses=["I21.000"], **kw)


def _chinese(text: str | None) -> bool:
    return bool(text) and any("\u4e00" <= ch <= "\u9fff" for ch in str(text))


def _other_his(client, db, code: str) -> His:  # type: ignore[no-untyped-def]
    """A HIS client of another institution (hosp02's hospital), signed in."""
    set_scope(db, SYSTEM_SCOPE)
    hospital = db.scalar(select(Hospital).where(Hospital.code == code))
    other = user(db, "his_client", hospital=hospital, username="his_other")
    token = do_create_api_token(db, other, "t", actor=TEST_ACTOR)
    db.commit()
    his = His(client, token, code)
    his.sign_in()
    return his


def _expire(db, sign_no: str) -> None:  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    past = utcnow() - timedelta(minutes=1)
    db.execute(update(SignIn).where(SignIn.sign_no == sign_no).values(expires_at=past))
    db.commit()
    forget_sign_ins()  # the row was edited behind the gateway's back (ADR 0042)


# ----------------------------------------------------------------- refusals, one by one

CASES = {
    "missing infno": ("infno", "交易编号（infno）：必填"),
    "unknown infno": ("infno", "不支持的交易 1234"),
    "bad msgid": ("msgid", "发送方报文ID（msgid）"),
    "not JSON": (None, "不是有效的 JSON"),
    "input not an object": ("input", "交易输入（input）：应为 JSON 对象"),
    "wrong institution": ("fixmedins_code", "定点医药机构编号（fixmedins_code）"),
    "missing sign_no": ("sign_no", "交易签到流水号（sign_no）：必填"),
    "expired sign_no": ("sign_no", "过期"),
    "other institution's sign_no": ("sign_no", "无效"),
    "signed-out sign_no": ("sign_no", "签退"),
    "list of another institution": ("setlinfo", "结算清单被拒收"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_refused_message_is_journaled_and_changes_nothing(world, client, db, case):  # type: ignore[no-untyped-def]
    his, codes = world
    his.sign_in()
    good = his.envelope("4101A", _list(his.code))  # would store a list if let through
    body: Any = good
    if case == "missing infno":
        del body["infno"]
    elif case == "unknown infno":
        body["infno"] = "1234"
    elif case == "bad msgid":
        body["msgid"] = "报文 0001"
    elif case == "not JSON":
        body = b'{"infno": "4101A", "msgid": '
    elif case == "input not an object":
        body["input"] = [good["input"]]
    elif case == "wrong institution":
        body["fixmedins_code"] = codes["hosp02"]
    elif case == "missing sign_no":
        body["sign_no"] = ""
    elif case == "expired sign_no":
        _expire(db, his.sign_no)
    elif case == "other institution's sign_no":
        body["sign_no"] = _other_his(client, db, codes["hosp02"]).sign_no
    elif case == "signed-out sign_no":
        out = his.send(his.envelope("9002", {"signOut": {"opter_no": "0001"}}))
        assert out["infcode"] == 0, out
    elif case == "list of another institution":
        body["input"] = _list(codes["hosp02"])
    before = counts(db)
    answer = his.send(body)
    after = counts(db)

    field, words = CASES[case]
    assert answer["infcode"] == -1 and answer["output"] is None, answer
    assert words in answer["err_msg"] and _chinese(answer["err_msg"][:4]), answer["err_msg"]
    if field:
        assert field in answer["err_msg"], answer["err_msg"]
    assert len(answer["err_msg"]) <= 200
    assert len(answer["inf_refmsgid"]) == 30 and len(answer["respond_time"]) == 17
    # the journal has it; nothing else was written (no list, version, sign-in, audit row)
    assert after == {**before, "journal": before["journal"] + 1}, (before, after)
    row = journal_rows(db)[-1]
    assert (row.infcode, row.err_msg, row.response) == (-1, answer["err_msg"], answer)
    if case in ("bad msgid", "not JSON"):
        assert row.msgid is None  # no id to keep it under
    else:
        assert row.msgid == good["msgid"]
        # a retry gets the stored refusal and writes nothing
        assert his.send(body) == answer and counts(db) == after


def test_no_token_is_401_and_a_page_user_403(world, client):  # type: ignore[no-untyped-def]
    his, _ = world
    body = his.envelope("9001", {"signIn": {"opter_no": "1", "mac": "m", "ip": "i"}})
    for path in ("/api/exchange", NHSA_PATH):
        r = client.post(path, json=body, headers={"accept": "text/html"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        bad = client.post(path, json=body, headers={"Authorization": "Bearer ybt_nope"})
        assert bad.status_code == 401


def test_a_hospital_user_token_is_not_a_his_client(world, client, db):  # type: ignore[no-untyped-def]
    _his, codes = world
    his = His(client, token_of(db, "hosp01"), codes["hosp01"])
    r = client.post(
        "/api/exchange",
        json=his.envelope("9001", {"signIn": {"opter_no": "1", "mac": "m", "ip": "i"}}),
        headers={"Authorization": f"Bearer {his.token}"},
    )
    assert r.status_code == 403 and "HIS 接口" in r.json()["error"]["message"]


# ------------------------------------------------------------------ sloppy but readable


def test_a_his_clock_far_from_the_centres_is_said(world):  # type: ignore[no-untyped-def]
    """inf_time more than ten minutes from the centre's receiving time (business time,
    UTC+8): done, and the HIS is told to check its clock; within ten minutes: nothing."""
    his, _ = world
    sign_in = {"signIn": {"opter_no": "1", "mac": "00-16-3E-12-34-56", "ip": "10.0.0.8"}}
    now = local(utcnow()).replace(tzinfo=None)
    for offset, said in ((timedelta(minutes=-3), False), (timedelta(hours=8), True)):
        stamp = f"{now + offset:%Y-%m-%d %H:%M:%S}"
        answer = his.send(his.envelope(9001, sign_in, inf_time=stamp))
        assert answer["infcode"] == 0, answer
        assert ("请核对 HIS 服务器时钟" in (answer["warn_msg"] or "")) is said, answer
    assert "相差 8 小时 0 分" in answer["warn_msg"] or "相差 7 小时 59 分" in answer["warn_msg"]


def test_sloppy_but_readable_is_done_and_says_so(world, db):  # type: ignore[no-untyped-def]
    his, _ = world
    body = his.envelope(
        9001,
        {"SignIn": {"opter_no": 1, "mac": " 00-16-3E-12-34-56 ", "ip": "10.0.0.8", "x": "?"}},
        msgid=msgid_for(his.code)[:-2],  # 28 characters
        mdtrtarea_admvs=990100,
        opter_type=1,
        inf_time="20250310101500",
        dev_no="",
        vendor="某 HIS 厂商",
    )
    answer = his.send(body)
    assert answer["infcode"] == 0 and answer["err_msg"] is None, answer
    sign_no = answer["output"]["signinoutb"]["sign_no"]
    assert len(sign_no) == 30
    warn = answer["warn_msg"]
    for words in (
        "交易编号（infno）：应为文本",
        "发送方报文ID（msgid）：长度为 28 位",
        "交易时间（inf_time）",
        "经办人类别（opter_type）",
        "忽略未定义的字段 vendor",
        "input.signIn.opter_no",
        "已去除首尾空白",
        "字段名应为 signIn",
    ):
        assert words in warn, (words, warn)
    set_scope(db, SYSTEM_SCOPE)
    row = db.scalar(select(SignIn).where(SignIn.sign_no == sign_no))
    assert (row.opter_no, row.mac) == ("1", "00-16-3E-12-34-56")
    # the sign-in admits the next message, which is by the spec: no warning
    his.sign_no = sign_no
    out = his.send(his.envelope("4101A", _list(his.code)))
    assert out["infcode"] == 0 and out["warn_msg"] is None, out


# ------------------------------------------------------------------- sign-in → 4101A


def test_sign_in_then_a_list_goes_through_intake(world, client, db):  # type: ignore[no-untyped-def]
    his, _ = world
    sign_no = his.sign_in()
    assert sign_no.isdigit() and len(sign_no) == 30
    clean = _list(his.code)
    answer = his.send(his.envelope("4101A", clean))
    assert answer["infcode"] == 0, answer
    out = answer["output"]
    assert out["state"] == "priced" and out["state_name"] == "已计价" and out["version"] == 1
    assert out["setl_id"] == clean["setlinfo"]["setl_id"] and out["drg"]
    auth = {"Authorization": f"Bearer {his.token}"}
    stored = client.get(f"/api/settlement/lists/{out['setl_list_id']}", headers=auth).json()
    # the same list through POST /api/settlement/lists: the same outcome
    twin = _list(his.code, setl_id=clean["setlinfo"]["setl_id"] + "T")
    posted = client.post("/api/settlement/lists", json=twin, headers=auth).json()["lists"][0]
    direct = client.get(f"/api/settlement/lists/{posted['list_id']}", headers=auth).json()
    for key in ("state", "version", "blocking", "warnings"):
        assert stored[key] == direct[key], key
    assert stored["source"] == "his" and direct["source"] == "api"
    for key in ("drg", "payment_class", "drg_payment", "fund_amount"):
        assert stored["pricing"][key] == direct["pricing"][key], key

    held = _list(his.code, dscg_time="")  # no discharge time: QC holds the list
    answer = his.send(his.envelope("4101A", held))
    assert answer["infcode"] == 0, answer
    out = answer["output"]
    assert out["state"] == "qc_failed" and out["findings"], out
    assert any(f["severity"] == "blocking" and _chinese(f["message"]) for f in out["findings"])
    page = client.get(f"/api/settlement/lists/{out['setl_list_id']}", headers=auth).json()
    assert page["state"] == "qc_failed"


def test_sign_out_ends_the_sign_in(world):  # type: ignore[no-untyped-def]
    his, _ = world
    his.sign_in()
    out = his.send(his.envelope("9002", {"signOut": {"sign_no": his.sign_no, "opter_no": "1"}}))
    assert out["infcode"] == 0 and len(out["output"]["signoutoutb"]["sign_time"]) == 19
    again = his.send(his.envelope("9002", {"signOut": {"sign_no": his.sign_no, "opter_no": "1"}}))
    assert again["infcode"] == -1 and "已于" in again["err_msg"]


def test_the_nhsa_path_is_the_same_service(world):  # type: ignore[no-untyped-def]
    his, _ = world
    data = {"signIn": {"opter_no": "0001", "mac": "m", "ip": "10.0.0.8"}}
    answer = his.send(his.envelope("9001", data), path=NHSA_PATH)
    assert answer["infcode"] == 0, answer
    his.sign_no = answer["output"]["signinoutb"]["sign_no"]
    assert his.send(his.envelope("4101A", _list(his.code)), path=NHSA_PATH)["infcode"] == 0


# ------------------------------------------------------------------------ exactly once


def _versions(db, setl_id: str) -> int:  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    rows = db.scalars(select(SettlementListVersion)).all()
    return sum(1 for v in rows if v.raw["setlinfo"]["setl_id"] == setl_id)


def test_the_same_msgid_twice_is_done_once(world, db):  # type: ignore[no-untyped-def]
    his, _ = world
    his.sign_in()
    one = _list(his.code)
    setl_id = one["setlinfo"]["setl_id"]
    body = his.envelope("4101A", one)
    first = his.send(body)
    before = counts(db)
    second = his.send(body)
    assert first["infcode"] == 0 and second == first
    assert counts(db) == before and _versions(db, setl_id) == 1
    assert len(journal_rows(db, body["msgid"])) == 1
    # a new msgid is a new message: the list gets its second version
    third = his.send({**body, "msgid": msgid_for(his.code)})
    assert third["infcode"] == 0 and third["output"]["version"] == 2
    assert _versions(db, setl_id) == 2


def test_a_corrected_message_with_a_spent_msgid_is_told_so(world, db):  # type: ignore[no-untyped-def]
    """A refusal spends its msgid: the corrected message sent with the same msgid gets
    the stored refusal again, now saying why; resent unchanged, exactly the stored one."""
    his, _ = world
    his.sign_in()
    body = his.envelope("4101A", {"diseinfo": []})  # no setlinfo: refused
    first = his.send(body)
    assert first["infcode"] == -1, first
    assert his.send(body) == first  # unchanged: the stored answer as it was
    fixed = {**body, "input": _list(his.code)}
    again = his.send(fixed)
    assert again["infcode"] == -1 and again["err_msg"] == first["err_msg"]
    assert "已使用过" in again["warn_msg"] and "新的报文ID" in again["warn_msg"]
    ok = his.send({**fixed, "msgid": msgid_for(his.code)})
    assert ok["infcode"] == 0, ok


def test_parallel_retries_of_one_msgid_have_one_effect(world, db):  # type: ignore[no-untyped-def]
    his, _ = world
    his.sign_in()
    one = _list(his.code, total_cost=Decimal("23456.00"))
    body = his.envelope("4101A", one)
    start = threading.Barrier(6)

    def send(_: int) -> dict[str, Any]:
        start.wait(10)
        return his.send(body)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(send, range(6)))
    assert answers[0]["infcode"] == 0, answers[0]
    assert all(a == answers[0] for a in answers), answers
    assert _versions(db, one["setlinfo"]["setl_id"]) == 1
    assert len(journal_rows(db, body["msgid"])) == 1


def test_a_body_in_the_charset_its_content_type_declares(world, client):  # type: ignore[no-untyped-def]
    """A HIS sending GBK and saying so (charset=GBK) is read, with a warning; GBK bytes
    without the declaration, or an unknown charset, are refused naming the encoding."""
    import json

    his, _ = world
    body = his.envelope(
        "9001", {"signIn": {"opter_no": "0001", "mac": "00-16-3E-12-34-56", "ip": "10.0.0.8"}}
    )
    body["opter_name"] = "张经办"
    raw = json.dumps(body, ensure_ascii=False).encode("gbk")

    def post(data: bytes, content_type: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {his.token}", "content-type": content_type}
        r = client.post("/api/exchange", content=data, headers=headers)
        assert r.status_code == 200, r.text
        return dict(r.json())

    answer = post(raw, "application/json; charset=GBK")
    assert answer["infcode"] == 0 and "GBK" in answer["warn_msg"], answer
    body["msgid"] = msgid_for(his.code)
    answer = post(json.dumps(body, ensure_ascii=False).encode("gbk"), "application/json")
    assert answer["infcode"] == -1 and "UTF-8" in answer["err_msg"], answer
    answer = post(raw, "application/json; charset=klingon")
    assert answer["infcode"] == -1 and "klingon" in answer["err_msg"], answer


def test_an_oversized_message_is_refused_and_not_journaled_in_full(world, db):  # type: ignore[no-untyped-def]
    """Over the gateway's message limit (1 MiB, the spec's input ≤ 40000 characters):
    infcode −1 naming the limit; the journal keeps the first characters, not the body."""
    his, _ = world
    his.sign_in()
    body = his.envelope("4101A", _list(his.code))
    body["pad"] = "x" * (2 * 1024 * 1024)
    answer = his.send(body)
    assert answer["infcode"] == -1 and "报文过大" in answer["err_msg"], answer["err_msg"]
    set_scope(db, SYSTEM_SCOPE)
    from yibao.exchange.models import ExchangeMessage

    row = db.scalars(select(ExchangeMessage).order_by(ExchangeMessage.id.desc())).first()
    assert row is not None and row.infcode == -1
    assert len(str(row.request)) < 10_000
