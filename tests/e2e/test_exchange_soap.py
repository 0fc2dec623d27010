"""The gateway's SOAP 1.1 binding over HTTP (issue 12 item 1; SQLite / PostgreSQL), with
zeep as the HIS client against the WSDL the product serves: 9001 then 4101A create the
list exactly as the JSON endpoint does, one msgid is one effect across both bindings,
and hostile or malformed XML is refused with nothing written but the journal."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx
import pytest
import zeep
from zeep.exceptions import Fault

from tests.builders.exchange import NHSA_PATH, His, counts, journal_rows, msgid_for, token_of
from tests.builders.settlement import demo_world, settlement_list
from tests.builders.soap import (
    NHSA_SOAP_PATH,
    SOAP_PATH,
    as_fields,
    call,
    call_whole,
    live_soap_client,
    post_raw,
    raw_call,
    raw_envelope,
    read_answer,
    soap_client,
)
from tests.e2e.server import live_server
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.settlement.models import SettlementListVersion

SIGN_IN = {"signIn": {"opter_no": "0001", "mac": "00-16-3E-12-34-56", "ip": "10.0.0.8"}}


@pytest.fixture()
def settings(settings):  # type: ignore[no-untyped-def]
    """The body limit at 1 MB (the product's default is 32 MB)."""
    return settings.model_copy(update={"max_body_bytes": 1024 * 1024})


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    """The demo region; his01 (hosp01's HIS client) with a token and a zeep client."""
    codes = demo_world(db)
    his = His(client, token_of(db, "his01"), codes["hosp01"])
    return his, soap_client(client, his.token), codes


def _list(code: str, **kw: Any) -> dict[str, Any]:
    kw.setdefault("total_cost", "12000.00")
    return settlement_list(code, discharge=date(2025, 3, 10), diagnoses=["I21.000"], **kw)


def _sign_in(his: His, soap: zeep.Client) -> str:
    answer = call(soap, his.envelope("9001", SIGN_IN))
    assert answer["infcode"] == 0 and answer["err_msg"] is None, answer
    his.sign_no = answer["output"]["signinoutb"]["sign_no"]
    assert his.sign_no and len(his.sign_no) == 30
    return his.sign_no


def _versions(db, setl_id: str) -> int:  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    return sum(
        1 for v in db.query(SettlementListVersion).all() if v.raw["setlinfo"]["setl_id"] == setl_id
    )


def _chinese(text: str | None) -> bool:
    return bool(text) and "\u4e00" <= str(text)[0] <= "\u9fff"


# ------------------------------------------------------------------------------ WSDL


def test_the_wsdl_describes_one_document_literal_operation(world, client):  # type: ignore[no-untyped-def]
    his, soap, _ = world
    r = client.get(SOAP_PATH + "?wsdl")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    assert 'style="document"' in r.text and 'use="literal"' in r.text
    [service] = soap.wsdl.services.values()
    [port] = service.ports.values()
    assert port.binding_options["address"] == "http://testserver" + SOAP_PATH
    assert list(port.binding._operations) == ["callService"]
    request = port.binding._operations["callService"].input.body.type
    names = [name for name, _ in request.elements]
    for field in ("infno", "msgid", "fixmedins_code", "sign_no", "input", "message"):
        assert field in names, names
    # the NHSA-style path serves the same WSDL with its own address
    other = soap_client(client, his.token, NHSA_SOAP_PATH)
    [service] = other.wsdl.services.values()
    [port] = service.ports.values()
    assert port.binding_options["address"] == "http://testserver" + NHSA_SOAP_PATH
    # XML only: neither path is in the OpenAPI document (the JSON endpoint is)
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/api/exchange" in paths and SOAP_PATH not in paths and NHSA_SOAP_PATH not in paths


# --------------------------------------------------------------- 9001 → 4101A by zeep


def test_sign_in_then_a_list_through_soap_is_the_json_path(world, client, db):  # type: ignore[no-untyped-def]
    his, soap, _ = world
    _sign_in(his, soap)
    clean = _list(his.code)
    body = his.envelope("4101A", clean)
    answer = call(soap, body)
    assert answer["infcode"] == 0 and answer["warn_msg"] is None, answer
    out = answer["output"]
    assert out["state"] == "priced" and out["version"] == 1 and out["drg"]
    assert len(answer["inf_refmsgid"]) == 30 and len(answer["respond_time"]) == 17
    auth = {"Authorization": f"Bearer {his.token}"}
    stored = client.get(f"/api/settlement/lists/{out['setl_list_id']}", headers=auth).json()
    # the same list (another settlement id) through the JSON endpoint: the same outcome
    twin = _list(his.code, setl_id=clean["setlinfo"]["setl_id"] + "J")
    by_json = his.send(his.envelope("4101A", twin))
    assert by_json["infcode"] == 0, by_json
    assert {k: v for k, v in by_json["output"].items() if k not in ("setl_list_id", "setl_id")} == {
        k: v for k, v in out.items() if k not in ("setl_list_id", "setl_id")
    }
    direct = client.get(
        f"/api/settlement/lists/{by_json['output']['setl_list_id']}", headers=auth
    ).json()
    assert stored["source"] == direct["source"] == "his"
    for key in ("state", "version", "blocking", "warnings"):
        assert stored[key] == direct[key], key
    for key in ("drg", "payment_class", "drg_payment", "fund_amount"):
        assert stored["pricing"][key] == direct["pricing"][key], key
    # the journal holds the SOAP message as the JSON envelope it was read into
    [row] = journal_rows(db, body["msgid"])
    assert row.infno == "4101A" and row.response == answer
    assert row.request["input"]["setlinfo"] == json.loads(json.dumps(clean["setlinfo"]))


def test_a_refusal_through_soap_is_the_json_refusal(world, db):  # type: ignore[no-untyped-def]
    his, soap, _ = world
    _sign_in(his, soap)
    body = his.envelope("4101A", _list(his.code), opter_type="9")
    before = counts(db)
    answer = call(soap, body)
    assert answer["infcode"] == -1 and answer["output"] is None, answer
    assert _chinese(answer["err_msg"]) and "opter_type" in answer["err_msg"]
    assert counts(db) == {**before, "journal": before["journal"] + 1}
    # the same message through the JSON endpoint with a new msgid: the same words
    by_json = his.send({**body, "msgid": msgid_for(his.code)})
    assert by_json["err_msg"] == answer["err_msg"]


def test_the_whole_json_envelope_as_one_string(world, db):  # type: ignore[no-untyped-def]
    his, soap, _ = world
    answer = call_whole(soap, his.envelope("9001", SIGN_IN))
    assert answer["infcode"] == 0 and answer["warn_msg"] is None, answer
    his.sign_no = answer["output"]["signinoutb"]["sign_no"]
    listed = call_whole(soap, his.envelope("4101A", _list(his.code)))
    assert listed["infcode"] == 0 and listed["output"]["state"] == "priced", listed
    # both forms at once are refused
    mixed = post_raw(
        his,
        raw_envelope(
            "<y:callService><y:infno>9001</y:infno><y:message>{}</y:message></y:callService>"
        ),
    )
    answer = read_answer(mixed.content)
    assert mixed.status_code == 200 and answer["infcode"] == -1
    assert "只能用一种" in answer["err_msg"]


def test_sloppy_but_readable_xml_is_done_and_says_so(world):  # type: ignore[no-untyped-def]
    his, _soap, _ = world
    envelope = his.envelope("9001", SIGN_IN)
    fields = "".join(f"<{k}>{v}</{k}>" for k, v in as_fields(envelope).items())
    # no namespace on callService, GBK-encoded, no SOAPAction: read, with a warning
    body = (
        '<?xml version="1.0" encoding="GBK"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        f"<soapenv:Body><callService>{fields}</callService></soapenv:Body></soapenv:Envelope>"
    ).encode("gbk")
    r = post_raw(his, body, headers={"content-type": "text/xml; charset=GBK"})
    answer = read_answer(r.content)
    assert r.status_code == 200 and answer["infcode"] == 0, answer
    assert answer["warn_msg"] is None  # no namespace at all: read without a warning
    assert json.loads(answer["message"])["output"]["signinoutb"]["sign_no"]
    # the whole envelope as the text of callService, in another namespace
    text = json.dumps(his.envelope("9001", SIGN_IN), ensure_ascii=False)
    r = post_raw(his, raw_envelope(f"<y:callService>{text}</y:callService>", "urn:his"))
    answer = read_answer(r.content)
    assert answer["infcode"] == 0, answer
    assert "命名空间" in answer["warn_msg"] and "message" in answer["warn_msg"]


# ------------------------------------------------------------------------ exactly once


def test_one_msgid_through_soap_and_json_is_one_effect(world, db):  # type: ignore[no-untyped-def]
    his, soap, _ = world
    _sign_in(his, soap)
    first = _list(his.code)
    body = his.envelope("4101A", first)
    by_soap = call(soap, body)
    before = counts(db)
    by_json = his.send(body)  # the same msgid through the JSON endpoint
    again = call(soap, body)
    assert by_soap["infcode"] == 0 and by_json == by_soap == again
    assert counts(db) == before and _versions(db, first["setlinfo"]["setl_id"]) == 1
    assert len(journal_rows(db, body["msgid"])) == 1
    # and the other way round: JSON first, then SOAP and the NHSA-style SOAP path
    second = _list(his.code)
    body = his.envelope("4101A", second)
    by_json = his.send(body, path=NHSA_PATH)
    before = counts(db)
    nhsa = soap_client(his.client, his.token, NHSA_SOAP_PATH)
    assert call(soap, body) == by_json == call(nhsa, body)
    assert by_json["infcode"] == 0 and counts(db) == before
    assert _versions(db, second["setlinfo"]["setl_id"]) == 1


# ----------------------------------------------------- hostile and malformed, one by one

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]>"
)
EXTERNAL = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'

#: case → words of the refusal
REFUSED = {
    "billion laughs": "文档类型定义（DOCTYPE）",
    "external entity": "文档类型定义（DOCTYPE）",
    "undeclared entity": "未定义的实体",
    "too deep": "嵌套超过",
    "too many elements": "元素超过",
    "not XML": "不是有效的 XML",
    "truncated": "不是有效的 XML",
    "not SOAP": "不是 SOAP 1.1 报文",
    "input as XML": "不能含有子元素",
    "input not JSON": "不是有效的 JSON",
    "field twice": "出现了多次",
    "unknown encoding": "字符编码不受支持",
}


def _hostile(case: str, good: bytes, envelope: dict[str, Any]) -> bytes:
    text = good.decode()
    body = text.split("?>", 1)[1]
    if case == "billion laughs":
        return (BILLION_LAUGHS + body.replace("<y:opter>0001", "<y:opter>&lol9;")).encode()
    if case == "external entity":
        return (EXTERNAL + body.replace("<y:opter>0001", "<y:opter>&xxe;")).encode()
    if case == "undeclared entity":
        return text.replace("<y:opter>0001", "<y:opter>&xxe;").encode()
    if case == "too deep":
        return text.replace("<y:opter>0001", "<y:opter>" + "<a>" * 40 + "</a>" * 40).encode()
    if case == "too many elements":
        return text.replace("<s:Header/>", "<s:Header>" + "<a/>" * 1200 + "</s:Header>").encode()
    if case == "not XML":
        return json.dumps(envelope).encode()
    if case == "truncated":
        return good[: len(good) // 2]
    if case == "not SOAP":
        return text.split("<s:Body>")[1].split("</s:Body>")[0].replace("y:", "").encode()
    if case == "input as XML":
        return text.replace("<y:input>", "<y:input><setlinfo>x</setlinfo>").encode()
    if case == "input not JSON":
        return text.replace("<y:input>", "<y:input>{setlinfo: ").encode()
    if case == "field twice":
        return text.replace("<y:callService>", "<y:callService><y:infno>9001</y:infno>").encode()
    assert case == "unknown encoding"
    return text.replace('encoding="UTF-8"', 'encoding="Big5"').encode()


@pytest.mark.parametrize("case", list(REFUSED))
def test_hostile_or_malformed_xml_is_refused_and_changes_nothing(world, db, case):  # type: ignore[no-untyped-def]
    his, soap, _ = world
    _sign_in(his, soap)
    envelope = his.envelope("4101A", _list(his.code))  # would store a list if let through
    good = raw_call(envelope)
    before = counts(db)
    r = post_raw(his, _hostile(case, good, envelope))
    after = counts(db)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml"), r.text
    answer = read_answer(r.content)
    words = REFUSED[case]
    assert answer["infcode"] == -1 and answer["output"] is None, answer
    assert words in answer["err_msg"] and _chinese(answer["err_msg"]), answer["err_msg"]
    assert "root:" not in r.text and "lollol" not in r.text
    # the journal has it; nothing else was written (no list, version, sign-in, audit row)
    assert after == {**before, "journal": before["journal"] + 1}, (before, after)
    assert journal_rows(db)[-1].response == json.loads(answer["message"])
    # and the good message itself goes through (the test's message is a real one)
    if case == "too deep":
        assert read_answer(post_raw(his, good).content)["infcode"] == 0


#: case → (HTTP status, fault code, words of the faultstring)
FAULTS = {
    "another operation": (400, "soap:Client", "不支持的操作 querySettlement"),
    "wrong SOAPAction": (400, "soap:Client", "SOAPAction"),
    "empty body": (400, "soap:Client", "callService"),
    "SOAP 1.2": (400, "soap:VersionMismatch", "SOAP 1.1"),
    "mustUnderstand header": (400, "soap:MustUnderstand", "Security"),
    "oversized (declared)": (413, "soap:Client", "请求体过大"),
    "oversized (streamed)": (413, "soap:Client", "请求体过大"),
    "no token": (401, "soap:Client", "请先登录"),
    "not a HIS client": (403, "soap:Client", "HIS 接口"),
}


def _faulting(case: str, his: His, good: bytes, page_user: His) -> Any:
    text = good.decode()
    if case == "another operation":
        return post_raw(his, text.replace("callService>", "querySettlement>").encode())
    if case == "wrong SOAPAction":
        return post_raw(his, good, headers={"SOAPAction": '"urn:other#cancelSettlement"'})
    if case == "empty body":
        return post_raw(his, raw_envelope(""))
    if case == "SOAP 1.2":
        return post_raw(
            his,
            good.replace(
                b"schemas.xmlsoap.org/soap/envelope/", b"www.w3.org/2003/05/soap-envelope"
            ),
        )
    if case == "mustUnderstand header":
        header = '<s:Header><w:Security xmlns:w="urn:wsse" s:mustUnderstand="1"/></s:Header>'
        return post_raw(his, text.replace("<s:Header/>", header).encode())
    big = text.replace("<y:opter>0001", "<y:opter>" + "x" * (1024 * 1024 + 10)).encode()
    if case == "oversized (declared)":
        return post_raw(his, big)
    if case == "oversized (streamed)":  # no Content-Length: refused as the body streams in
        return his.client.post(
            SOAP_PATH,
            content=iter([big[i : i + 65536] for i in range(0, len(big), 65536)]),
            headers={"Authorization": f"Bearer {his.token}", "content-type": "text/xml"},
        )
    if case == "no token":
        return his.client.post(SOAP_PATH, content=good, headers={"content-type": "text/xml"})
    assert case == "not a HIS client"
    return post_raw(page_user, good)


@pytest.mark.parametrize("case", list(FAULTS))
def test_what_is_no_call_of_the_service_is_a_soap_fault(world, db, case):  # type: ignore[no-untyped-def]
    his, soap, _ = world
    _sign_in(his, soap)
    good = raw_call(his.envelope("4101A", _list(his.code)))
    page_user = His(his.client, token_of(db, "hosp01"), his.code)  # a hospital user's token
    before = counts(db)
    r = _faulting(case, his, good, page_user)
    status, code, words = FAULTS[case]
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("text/xml"), r.headers
    fault = read_answer(r.content)["fault"]
    assert fault[0] == code and words in fault[1] and _chinese(fault[1]), fault
    assert counts(db) == before  # not even the journal: no message of the gateway
    assert read_answer(post_raw(his, good).content)["infcode"] == 0  # the message is good


def test_zeep_reads_a_fault_and_nothing_is_written(world, db):  # type: ignore[no-untyped-def]
    his, soap, _ = world
    _sign_in(his, soap)
    body = his.envelope("4101A", _list(his.code), opter_name="某" * (1024 * 1024))
    before = counts(db)
    with pytest.raises(Fault) as caught:
        call(soap, body)
    assert "请求体过大" in caught.value.message
    assert counts(db) == before
    anonymous = soap_client(his.client, None)
    with pytest.raises(Fault) as caught:
        call(anonymous, his.envelope("9001", SIGN_IN))
    assert "请先登录" in caught.value.message and counts(db) == before


# ------------------------------------------------------------------- over real HTTP


def test_zeep_over_http_against_a_live_server(world, database_url, tmp_path, db):  # type: ignore[no-untyped-def]
    """zeep's own transport (requests) to ``yibao serve``: the WSDL, 9001, 4101A; a
    billion-laughs body on the socket answers -1 and the server stays healthy."""
    his, _soap, _ = world
    with live_server(database_url, tmp_path / "var") as server:
        soap = live_soap_client(server.base, his.token, NHSA_SOAP_PATH)
        [service] = soap.wsdl.services.values()
        [port] = service.ports.values()
        assert port.binding_options["address"] == server.url(NHSA_SOAP_PATH)
        _sign_in(his, soap)
        answer = call(soap, his.envelope("4101A", _list(his.code)))
        assert answer["infcode"] == 0 and answer["output"]["state"] == "priced", answer
        before = counts(db)
        hostile = (BILLION_LAUGHS + "<x>&lol9;</x>").encode()
        r = httpx.post(
            server.url(SOAP_PATH),
            content=hostile,
            headers={"Authorization": f"Bearer {his.token}", "content-type": "text/xml"},
            timeout=30,
        )
        assert r.status_code == 200 and read_answer(r.content)["infcode"] == -1, r.text[:300]
        assert counts(db) == {**before, "journal": before["journal"] + 1}
        assert httpx.get(server.url("/healthz"), timeout=5).status_code == 200
