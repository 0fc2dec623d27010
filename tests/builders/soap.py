"""SOAP-binding test helpers: a zeep client of the gateway's WSDL that talks through the
app's TestClient (or over HTTP to a live server), raw SOAP bodies for what zeep would
never send, and the reading of an answer without zeep."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlsplit

import zeep
from zeep.transports import Transport

from tests.builders.exchange import His

SOAP_PATH = "/api/exchange/soap"
NHSA_SOAP_PATH = "/fsi/api/rsfComIfsService/soap"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "urn:yibao:fsi:rsfComIfsService"
FIELDS = (
    "infcode",
    "inf_refmsgid",
    "refmsg_time",
    "respond_time",
    "err_msg",
    "warn_msg",
    "output",
    "message",
)


class ClientTransport(Transport):  # type: ignore[misc]
    """zeep's transport over a Starlette TestClient: the WSDL's address is the
    TestClient's (http://testserver/…), so only its path and query are used."""

    def __init__(self, client: Any, token: str | None) -> None:
        super().__init__()
        self.client = client
        self.auth = {"Authorization": f"Bearer {token}"} if token else {}

    @staticmethod
    def _local(url: str) -> str:
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def _load_remote_data(self, url: str) -> bytes:
        r = self.client.get(self._local(url))
        assert r.status_code == 200, (r.status_code, r.text[:300])
        return bytes(r.content)

    def post(self, address: str, message: Any, headers: dict[str, str]) -> Any:
        return self.client.post(
            self._local(address), content=message, headers={**headers, **self.auth}
        )


def soap_client(client: Any, token: str | None, path: str = SOAP_PATH) -> zeep.Client:
    """A zeep client of the WSDL served at ``path``, through the TestClient."""
    return zeep.Client(f"http://testserver{path}?wsdl", transport=ClientTransport(client, token))


def live_soap_client(base: str, token: str, path: str = SOAP_PATH) -> zeep.Client:
    """A zeep client over HTTP (zeep's own requests transport) to a live server."""
    transport = Transport(timeout=30, operation_timeout=60)
    transport.session.headers["Authorization"] = f"Bearer {token}"
    return zeep.Client(f"{base}{path}?wsdl", transport=transport)


def as_fields(envelope: dict[str, Any]) -> dict[str, str]:
    """The JSON envelope as callService's elements (input as JSON text)."""
    out = {k: ("" if v is None else str(v)) for k, v in envelope.items() if k != "input"}
    if "input" in envelope:
        out["input"] = json.dumps(envelope["input"], ensure_ascii=False)
    return out


def call(soap: zeep.Client, envelope: dict[str, Any]) -> dict[str, Any]:
    """Send ``envelope`` through zeep as callService's fields; the response envelope
    (output decoded), checked against the whole answer in ``message``."""
    reply = soap.service.callService(**as_fields(envelope))
    return _answer({name: getattr(reply, name) for name in FIELDS})


def call_whole(soap: zeep.Client, envelope: dict[str, Any]) -> dict[str, Any]:
    """Send ``envelope`` through zeep as one JSON text (callService's ``message``)."""
    reply = soap.service.callService(message=json.dumps(envelope, ensure_ascii=False))
    return _answer({name: getattr(reply, name) for name in FIELDS})


def _answer(fields: dict[str, Any]) -> dict[str, Any]:
    whole = json.loads(fields.pop("message"))
    answer = {**fields, "output": json.loads(fields["output"]) if fields["output"] else None}
    assert answer == whole, (answer, whole)
    return answer


def raw_envelope(inner: str, ns: str = NS) -> bytes:
    """A SOAP 1.1 message whose Body holds ``inner`` (prefix ``y`` bound to ``ns``)."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<s:Envelope xmlns:s="{SOAP_ENV}" '
        f'xmlns:y="{ns}"><s:Header/><s:Body>{inner}</s:Body></s:Envelope>'
    ).encode()


def raw_call(envelope: dict[str, Any]) -> bytes:
    """callService with the envelope's fields, written by hand (no zeep)."""
    fields = "".join(f"<y:{k}>{_escape(v)}</y:{k}>" for k, v in as_fields(envelope).items())
    return raw_envelope(f"<y:callService>{fields}</y:callService>")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def post_raw(
    his: His, body: bytes, path: str = SOAP_PATH, headers: dict[str, str] | None = None
) -> Any:
    """POST ``body`` as XML with ``his``'s token; the HTTP response."""
    sent = {"Authorization": f"Bearer {his.token}", "content-type": "text/xml; charset=utf-8"}
    return his.client.post(path, content=body, headers={**sent, **(headers or {})})


def read_answer(content: bytes) -> dict[str, Any]:
    """A callServiceResponse read without zeep: {field: text}; or {"fault": (code,
    string)} for a SOAP fault."""
    root = ET.fromstring(content)
    body = root.find(f"{{{SOAP_ENV}}}Body")
    assert body is not None, content[:300]
    fault = body.find(f"{{{SOAP_ENV}}}Fault")
    if fault is not None:
        return {"fault": (fault.findtext("faultcode"), fault.findtext("faultstring"))}
    reply = body.find(f"{{{NS}}}callServiceResponse")
    assert reply is not None, content[:300]
    out: dict[str, Any] = {name: reply.findtext(f"{{{NS}}}{name}") for name in FIELDS}
    out["infcode"] = int(out["infcode"])
    return out
