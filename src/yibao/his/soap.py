"""The SOAP 1.1 form of a message, as the gateway's WSDL describes it (ADR 0015,
"SOAP binding"): ``callService`` with the envelope's fields as elements and ``input``
as JSON text; the answer ``callServiceResponse`` carries the whole response envelope
as JSON text in ``message``."""

from __future__ import annotations

import json
from typing import Any

from yibao.engines.exchange.safexml import parse_xml, split_tag
from yibao.engines.exchange.soap import ACTION, NAMESPACE, SOAP_ENV, WHOLE, xml_text

HEADERS = {"content-type": "text/xml; charset=utf-8", "SOAPAction": f'"{ACTION}"'}


class SoapFault(Exception):
    """The gateway answered with a SOAP fault (not a call it could answer)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def request_xml(envelope: dict[str, Any]) -> bytes:
    """``callService`` for the JSON envelope ``envelope`` (empty fields left out:
    the signature does not cover them either)."""
    parts = []
    for name, value in envelope.items():
        if value is None or value == "":
            continue
        if name == "input":
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        else:
            text = str(value)
        parts.append(f"<{name}>{xml_text(text)}</{name}>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body>'
        f'<callService xmlns="{NAMESPACE}">{"".join(parts)}</callService>'
        "</soap:Body></soap:Envelope>"
    ).encode()


def read_answer(raw: bytes) -> dict[str, Any]:
    """The response envelope of a ``callServiceResponse``; :class:`SoapFault` for a
    fault; ValueError for anything else."""
    root = parse_xml(raw)
    body = root.find(f"{{{SOAP_ENV}}}Body")
    if body is None or len(body) != 1:
        raise ValueError("应答不是 SOAP 报文（缺少 Body）/ not a SOAP answer")
    answer = body[0]
    if split_tag(answer.tag)[1] == "Fault":
        code = (answer.findtext("faultcode") or "").split(":")[-1]
        raise SoapFault(code, answer.findtext("faultstring") or "")
    whole = next((el for el in answer if split_tag(el.tag)[1] == WHOLE), None)
    if whole is None or not whole.text:
        raise ValueError("应答缺少 message 元素 / no message in the answer")
    doc = json.loads(whole.text)
    if not isinstance(doc, dict):
        raise ValueError("应答的 message 不是 JSON 对象 / message is no JSON object")
    return doc
