"""The SOAP binding's message rules (engines/exchange/soap, safexml, wsdl): a callService
request read into the JSON envelope, the limits of the XML reader, the response and
fault written as XML any parser reads back, the WSDL."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from yibao.engines.exchange import Refused, read_envelope
from yibao.engines.exchange.safexml import MAX_XML_DEPTH, MAX_XML_ELEMENTS, parse_xml
from yibao.engines.exchange.soap import (
    NAMESPACE,
    SOAP_ENV,
    NotACall,
    answer_xml,
    fault_xml,
    read_call,
)
from yibao.engines.exchange.wsdl import wsdl

ENVELOPE = {
    "infno": "9001",
    "msgid": "H99010230001202503101015000001",
    "mdtrtarea_admvs": "990100",
    "recer_sys_code": "YBXT",
    "infver": "V1.0",
    "opter_type": "1",
    "opter": "0001",
    "opter_name": "经办人",
    "inf_time": "2025-03-10 10:15:00",
    "fixmedins_code": "H99010230001",
    "fixmedins_name": "测试医院",
}
INPUT = {"signIn": {"opter_no": "1", "mac": "m", "ip": "10.0.0.8"}}


def _soap(inner: str) -> bytes:
    return (
        f'<s:Envelope xmlns:s="{SOAP_ENV}" xmlns:y="{NAMESPACE}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<s:Body>{inner}</s:Body></s:Envelope>"
    ).encode()


def _call(fields: dict[str, str], extra: str = "") -> bytes:
    inner = "".join(f"<y:{k}>{v}</y:{k}>" for k, v in fields.items())
    return _soap(f"<y:callService>{inner}{extra}</y:callService>")


def test_fields_and_input_text_are_the_json_envelope() -> None:
    doc, warnings = read_call(
        _call({**ENVELOPE, "input": json.dumps(INPUT)}, '<y:sign_no xsi:nil="true"/>')
    )
    assert doc == {**ENVELOPE, "input": INPUT, "sign_no": None} and warnings == []
    envelope, raw_input, more = read_envelope(doc)
    assert envelope.infno == "9001" and raw_input == INPUT and more == []


def test_the_whole_envelope_as_one_text() -> None:
    whole = json.dumps({**ENVELOPE, "input": INPUT}, ensure_ascii=False)
    doc, warnings = read_call(_call({"message": whole.replace("&", "&amp;")}))
    assert doc == {**ENVELOPE, "input": INPUT} and warnings == []
    with pytest.raises(Refused, match="只能用一种"):
        read_call(_call({"message": whole, "infno": "9001"}))
    with pytest.raises(Refused, match=r"整条报文（message）：应为 JSON 对象"):
        read_call(_call({"message": "[1, 2]"}))


@pytest.mark.parametrize(
    "action",
    [None, "", '""', "callService", '"callService"', "urn:x#callService", "http://h/a/callService"],
)
def test_soap_actions_that_name_call_service(action: str | None) -> None:
    doc, _ = read_call(_call(ENVELOPE), action)
    assert doc["infno"] == "9001"


def test_what_is_no_call_is_not_a_call() -> None:
    with pytest.raises(NotACall, match="SOAPAction") as caught:
        read_call(_call(ENVELOPE), "urn:x#cancel")
    assert caught.value.code == "Client"
    with pytest.raises(NotACall, match="不支持的操作 other"):
        read_call(_soap("<y:other/>"))
    with pytest.raises(NotACall, match="2 个元素"):
        read_call(_soap("<y:callService/><y:callService/>"))
    v12 = _call(ENVELOPE).replace(SOAP_ENV.encode(), b"http://www.w3.org/2003/05/soap-envelope")
    with pytest.raises(NotACall) as caught:
        read_call(v12)
    assert caught.value.code == "VersionMismatch"


def test_an_envelope_in_another_namespace_says_which() -> None:
    wrong = _call(ENVELOPE).replace(SOAP_ENV.encode(), b"urn:his-vendor:soap")
    with pytest.raises(Refused, match=r"收到 Envelope（命名空间 urn:his-vendor:soap）"):
        read_call(wrong)
    with pytest.raises(Refused, match=r"收到 callService（无命名空间）"):
        read_call(b"<callService><infno>9001</infno></callService>")


def test_input_in_elements_and_fields_twice_are_refused_by_name() -> None:
    with pytest.raises(Refused, match=r"交易输入（input）：应为文本") as caught:
        read_call(_call(ENVELOPE, "<y:input><signIn/></y:input>"))
    assert caught.value.field == "input"
    with pytest.raises(Refused, match=r"交易编号（infno）：出现了多次"):
        read_call(_call(ENVELOPE, "<y:infno>9002</y:infno>"))
    with pytest.raises(Refused, match=r"交易输入（input）：不是有效的 JSON（第 1 行"):
        read_call(_call({**ENVELOPE, "input": "{signIn"}))
    with pytest.raises(Refused, match="NUL"):
        read_call(_call({**ENVELOPE, "input": '{"a": "\\u0000"}'}))


def test_the_xml_limits_are_exact() -> None:
    def nested(levels: int) -> bytes:
        return ("<a>" * levels + "</a>" * levels).encode()

    assert parse_xml(nested(MAX_XML_DEPTH)).tag == "a"
    with pytest.raises(Refused, match="嵌套超过"):
        parse_xml(nested(MAX_XML_DEPTH + 1))
    flat = "<a>" + "<b/>" * (MAX_XML_ELEMENTS - 1) + "</a>"
    assert len(parse_xml(flat.encode())) == MAX_XML_ELEMENTS - 1
    with pytest.raises(Refused, match="元素超过"):
        parse_xml(flat.replace("<a>", "<a><b/>").encode())


@pytest.mark.parametrize(
    "body",
    [
        b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>',
        b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/a.dtd"><a/>',
        b'<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>',
        b'<!DOCTYPE a [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><a/>',
    ],
)
def test_no_dtd_of_any_kind(body: bytes) -> None:
    with pytest.raises(Refused, match="文档类型定义"):
        parse_xml(body)


def test_gbk_declared_is_read() -> None:
    text = '<?xml version="1.0" encoding="GB2312"?><a>医保</a>'
    assert parse_xml(text.encode("gbk")).text == "医保"


def test_the_answer_is_xml_any_parser_reads_back() -> None:
    answer: dict[str, Any] = {
        "infcode": -1,
        "inf_refmsgid": "990100202503101015000000000001",
        "refmsg_time": "20250310101500000",
        "respond_time": "20250310101500001",
        "err_msg": "经办人（opter）：收到“a\x01b\ufffe<&>\r”",
        "warn_msg": None,
        "output": None,
    }
    root = ET.fromstring(answer_xml(answer))
    reply = root.find(f"{{{SOAP_ENV}}}Body/{{{NAMESPACE}}}callServiceResponse")
    assert reply is not None
    assert reply.findtext(f"{{{NAMESPACE}}}err_msg") == "经办人（opter）：收到“a\ufffdb\ufffd<&>\r”"
    assert reply.find(f"{{{NAMESPACE}}}warn_msg") is None  # null: left out
    whole = json.loads(reply.findtext(f"{{{NAMESPACE}}}message") or "")
    assert whole["infcode"] == -1 and whole["output"] is None
    fault = ET.fromstring(fault_xml("Client", "不支持的操作 x<y>"))
    assert fault.findtext(f".//{{{SOAP_ENV}}}Fault/faultstring") == "不支持的操作 x<y>"


def test_the_wsdl_names_every_envelope_field_and_its_address() -> None:
    root = ET.fromstring(wsdl('http://h:8000/api/exchange/soap?"x'))
    xsd = "{http://www.w3.org/2001/XMLSchema}"
    names = [e.get("name") for e in root.iter(f"{xsd}element")]
    for field in (*ENVELOPE, "sign_no", "input", "message", "infcode", "output"):
        assert field in names, field
    address = root.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address is not None and address.get("location") == 'http://h:8000/api/exchange/soap?"x'


def test_input_text_with_a_byte_order_mark_is_read_with_a_warning() -> None:
    """Some HIS vendors write the input JSON with a UTF-8 BOM: it is ignored and said
    so, in the fields form and the whole-message form alike."""
    text = "\ufeff" + json.dumps(INPUT)
    doc, warnings = read_call(_call({**ENVELOPE, "input": text}))
    assert doc["input"] == INPUT
    assert warnings == ["交易输入（input）以字节顺序标记（BOM）开头，已忽略"]
    whole = "\ufeff" + json.dumps({**ENVELOPE, "input": INPUT}, ensure_ascii=False)
    doc, warnings = read_call(_call({"message": whole}))
    assert doc["input"] == INPUT and len(warnings) == 1 and "BOM" in warnings[0]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"a":}', "第 1 行第 6 列：此处应为一个值"),
        ('{"a":1} x', "第 1 行第 9 列：JSON 结束后还有多余的内容"),
        ('{"a":"x', "字符串没有结束引号"),
        ("{a:1}", "字段名应以英文双引号括起"),
        ('{"a" 1}', "此处缺少冒号"),
        ("[1 2]", "此处缺少逗号"),
        ('{"a":"\\q"}', "无效的转义序列"),
        ('{"a":"\\u12"}', "无效的 \\u 转义"),
        ('{"a":"x\ny"}', "未转义的控制字符"),
    ],
)
def test_json_refusals_say_what_is_wrong_in_chinese(text: str, reason: str) -> None:
    """The json module's English reason never reaches the HIS: each is said in Chinese
    with the line and column."""
    with pytest.raises(Refused) as refused:
        read_call(_call({**ENVELOPE, "input": text.replace("&", "&amp;")}))
    message = refused.value.message
    assert message.startswith("交易输入（input）：不是有效的 JSON（") and reason in message
    assert not any(
        "a" <= ch.lower() <= "z"
        for ch in message.replace("JSON", "").replace("input", "").replace("\\u", "")
    )
