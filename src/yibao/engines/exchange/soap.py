"""The SOAP 1.1 binding of the gateway (ADR 0015, "SOAP binding"), document/literal with
one operation, ``callService``.

:func:`read_call` reads a request into the very envelope that a JSON body is (a dict
with ``infno``, ``msgid`` … and ``input``), so that the gateway reads, journals and
answers it on one path; :func:`answer_xml` writes the response envelope as
``callServiceResponse``; :func:`fault_xml` writes a SOAP fault.

A request carries the envelope in one of two forms (the WSDL's ``callService``):

* the envelope's fields as elements (``<infno>``, ``<msgid>`` … ``<sign_no>``) and
  ``<input>`` holding the JSON text of the transaction's ``input``;
* ``<message>`` holding the whole JSON envelope as text (as many HIS SOAP interfaces
  pass it).

What can be read unambiguously is read, with a warning where it departs from the WSDL
(a ``callService`` in another or no namespace, the whole JSON as the text of
``callService``); a body that is no readable SOAP 1.1 message is :class:`Refused`
(answered by the gateway, infcode −1); a SOAP message that is no call of
``callService`` raises :class:`NotACall` (answered with a SOAP fault).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from yibao.engines.exchange.envelope import load_json
from yibao.engines.exchange.lenient import Refused, label
from yibao.engines.exchange.safexml import parse_xml, split_tag

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
#: the target namespace of the WSDL's elements
NAMESPACE = "urn:yibao:fsi:rsfComIfsService"
OPERATION = "callService"
#: the soapAction of callService (a SOAPAction header naming it some other way — a URI
#: ending in callService — is accepted too, and so is none)
ACTION = "callService"
#: the element that carries the whole JSON envelope as text
WHOLE = "message"
#: the response envelope's fields, as callServiceResponse carries them (then ``message``)
RESPONSE_FIELDS = (
    "infcode",
    "inf_refmsgid",
    "refmsg_time",
    "respond_time",
    "err_msg",
    "warn_msg",
    "output",
)
#: characters XML 1.0 cannot carry (written as U+FFFD)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class NotACall(Exception):
    """A SOAP message that is no call of ``callService`` (another operation, SOAP
    1.2, a header it must understand): answered with a SOAP fault of ``code``
    (Client, VersionMismatch, MustUnderstand), not by the gateway."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ------------------------------------------------------------------------- request


def read_call(raw: bytes, action: str | None = None) -> tuple[Any, list[str]]:
    """The envelope of the callService request ``raw`` as :func:`~.envelope.parse_body`
    reads a JSON body, and the warnings; ``action`` is the SOAPAction header.  Raises
    :class:`Refused` for a body that is no readable SOAP 1.1 message and
    :class:`NotACall` for a SOAP message that calls something else."""
    root = parse_xml(raw)
    if root.tag == f"{{{SOAP12_ENV}}}Envelope":
        raise NotACall(
            "VersionMismatch", "只支持 SOAP 1.1（命名空间 " + SOAP_ENV + "），收到 SOAP 1.2"
        )
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        space, name = split_tag(root.tag)
        got = f"命名空间 {space[:80]}" if space else "无命名空间"
        raise Refused(
            None,
            f"请求体不是 SOAP 1.1 报文：根元素应为 Envelope（命名空间 {SOAP_ENV}），"
            f"收到 {name[:40]}（{got}）",
        )
    body = root.find(f"{{{SOAP_ENV}}}Body")
    if body is None:
        raise Refused(None, "报文缺少 SOAP Body 元素")
    _check_header(root.find(f"{{{SOAP_ENV}}}Header"))
    call = _operation(body, action)
    warnings: list[str] = []
    namespace = split_tag(call.tag)[0]
    if namespace not in (NAMESPACE, ""):
        warnings.append(
            f"操作 callService 的命名空间应为 {NAMESPACE}（收到 {namespace[:60]}），"
            "已按 callService 读取"
        )
    if len(call) == 0 and (call.text or "").strip():
        warnings.append("整条报文应放在 message 元素中，已将 callService 的文本按整条报文读取")
        return _whole(call.text or "", warnings), warnings
    fields = _fields(call)
    whole = _key(fields, WHOLE)
    if whole is not None:
        if len(fields) > 1:
            raise Refused(
                None,
                "整条报文（message）与逐个字段（infno、msgid、input 等）只能用一种",
            )
        return _whole(fields[whole], warnings), warnings
    given = _key(fields, "input")
    if given is not None and isinstance(fields[given], str) and fields[given].strip():
        fields[given] = load_json(fields[given], "input", warnings)
    return fields, warnings


def _check_header(header: ET.Element | None) -> None:
    """A header block the client marked ``mustUnderstand`` cannot be honoured: the
    binding understands none (SOAP 1.1 §4.2.3)."""
    for block in header if header is not None else ():
        if block.get(f"{{{SOAP_ENV}}}mustUnderstand", "").strip() in ("1", "true"):
            name = split_tag(block.tag)[1][:60]
            raise NotACall("MustUnderstand", f"不支持 SOAP 头 {name}（mustUnderstand）")


def _operation(body: ET.Element, action: str | None) -> ET.Element:
    """The body's callService element; :class:`NotACall` for anything else."""
    children = list(body)
    if len(children) != 1:
        raise NotACall(
            "Client", f"报文的 SOAP Body 应含一个 callService 元素（收到 {len(children)} 个元素）"
        )
    name = split_tag(children[0].tag)[1]
    if name != OPERATION:
        raise NotACall("Client", f"不支持的操作 {name[:60]}：本服务只有 callService 一个操作")
    sent = (action or "").strip().strip('"').strip()
    if sent and sent != ACTION and re.split(r"[/#:]", sent)[-1] != OPERATION:
        raise NotACall(
            "Client",
            f"请求头 SOAPAction“{sent[:80]}”不是 callService 的操作（应为“{ACTION}”或不填）",
        )
    return children[0]


def _fields(call: ET.Element) -> dict[str, Any]:
    """callService's child elements as ``{name: text}`` (``xsi:nil`` → None)."""
    fields: dict[str, Any] = {}
    for child in call:
        name = split_tag(child.tag)[1]
        if name in fields:
            raise Refused(name, f"{label(name)}：出现了多次，只能有一个")
        if len(child):
            carried = "（交易输入以 JSON 文本传送）" if name.lower() == "input" else ""
            raise Refused(name, f"{label(name)}：应为文本，不能含有子元素{carried}")
        nil = child.get(f"{{{XSI}}}nil", "").strip() in ("1", "true")
        fields[name] = None if nil else (child.text or "")
    return fields


def _key(fields: Mapping[str, Any], name: str) -> str | None:
    return next((k for k in fields if k.lower() == name), None)


def _whole(text: str | None, warnings: list[str]) -> Any:
    if text is None or not text.strip():
        raise Refused(WHOLE, f"{label(WHOLE)}：必填")
    doc = load_json(text, WHOLE, warnings)
    if not isinstance(doc, dict):
        raise Refused(WHOLE, f"{label(WHOLE)}：应为 JSON 对象（含 infno、msgid、input 等字段）")
    return doc


# ------------------------------------------------------------------------ response


def xml_text(value: str) -> str:
    """``value`` as XML character data: characters XML cannot carry as U+FFFD, then
    escaped (a carriage return as a reference, so that it survives parsing)."""
    text = _NOT_XML.sub("\ufffd", value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r", "&#13;")


def _envelope(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body>{body}</soap:Body></soap:Envelope>'
    ).encode()


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def answer_xml(answer: Mapping[str, Any]) -> bytes:
    """The response envelope as a SOAP message: ``callServiceResponse`` with its fields
    (those that are null left out; ``output`` as JSON text), then ``message`` with the
    whole response envelope as JSON text."""
    parts = []
    for name in RESPONSE_FIELDS:
        value = answer.get(name)
        if value is None:
            continue
        text = _json(value) if name == "output" else str(value)
        parts.append(f"<{name}>{xml_text(text)}</{name}>")
    parts.append(f"<{WHOLE}>{xml_text(_json(dict(answer)))}</{WHOLE}>")
    return _envelope(
        f'<callServiceResponse xmlns="{NAMESPACE}">{"".join(parts)}</callServiceResponse>'
    )


def fault_xml(code: str, message: str) -> bytes:
    """A SOAP 1.1 fault: ``code`` Client, Server, VersionMismatch or MustUnderstand;
    ``message`` (Chinese first) as its faultstring."""
    return _envelope(
        f"<soap:Fault><faultcode>soap:{code}</faultcode>"
        f"<faultstring>{xml_text(message)}</faultstring></soap:Fault>"
    )
