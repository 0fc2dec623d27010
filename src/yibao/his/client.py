"""The HIS side of the gateway: envelopes, msgids, signatures, JSON or SOAP, retries.

:class:`HisClient` builds each message's envelope (msgid by the rule, operator,
institution, ``sign_no`` from :meth:`~yibao.his.transactions.Transactions.sign_in`),
signs it when it has the institution's key (HMAC-SM3, ADR 0019), sends it and returns
the response envelope.  A network error or an HTTP 503 (busy: nothing was done) or 429
(over the token's rate) is retried with the very same bytes — the same msgid — so a
message that did reach the gateway is answered with its stored response and is never
done twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from yibao.engines.exchange.signature import SIGN_TYPE, sign
from yibao.his import soap
from yibao.his.msgid import business_now, msgids_for
from yibao.his.transactions import Transactions

JSON_PATH = "/api/exchange"
SOAP_PATH = "/api/exchange/soap"
RETRY_STATUSES = frozenset({429, 503})


class HisError(Exception):
    """A message that was not done: refused by the gateway (``response`` holds the −1
    envelope, ``err_msg`` its reason), or not answered (``status`` the HTTP status, or
    None after network errors)."""

    def __init__(
        self,
        err_msg: str,
        *,
        infno: str | None = None,
        msgid: str | None = None,
        response: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(f"{infno or ''} {msgid or ''}: {err_msg}".strip())
        self.err_msg = err_msg
        self.infno = infno
        self.msgid = msgid
        self.response = response
        self.status = status


@dataclass(frozen=True)
class Exchange:
    """One message sent and its answer."""

    msgid: str
    request: dict[str, Any]
    response: dict[str, Any]
    seconds: float

    @property
    def ok(self) -> bool:
        return self.response.get("infcode") == 0

    @property
    def output(self) -> dict[str, Any]:
        return dict(self.response.get("output") or {})


class HisClient(Transactions):
    """A HIS system of one institution talking to the gateway.

    ``transport`` is an :class:`httpx.BaseTransport` (e.g. ``httpx.ASGITransport``,
    ``httpx.MockTransport``) or a ready :class:`httpx.Client` (a Starlette
    ``TestClient`` is one); by default a new connection pool to ``base_url``.
    ``key`` is the institution's signing secret (``yibao exchange key issue``);
    ``binding`` ``"json"`` (POST ``/api/exchange``) or ``"soap"`` (POST
    ``/api/exchange/soap``).  Thread-safe: one client may send from many threads."""

    def __init__(
        self,
        base_url: str,
        token: str,
        fixmedins_code: str,
        fixmedins_name: str,
        mdtrtarea_admvs: str,
        key: str | None = None,
        transport: httpx.BaseTransport | httpx.Client | None = None,
        *,
        binding: str = "json",
        opter: str = "HIS001",
        opter_name: str = "HIS接口",
        recer_sys_code: str = "YBXT",
        retries: int = 3,
        backoff_s: float = 0.2,
        timeout_s: float = 30.0,
    ) -> None:
        if binding not in ("json", "soap"):
            raise ValueError(f"binding 应为 json 或 soap（收到 {binding!r}）")
        self.base_url = base_url.rstrip("/")
        self.fixmedins_code = fixmedins_code
        self.fixmedins_name = fixmedins_name
        self.mdtrtarea_admvs = mdtrtarea_admvs
        self.key = key or None
        self.binding = binding
        self.opter, self.opter_name, self.recer_sys_code = opter, opter_name, recer_sys_code
        self.retries, self.backoff_s = retries, backoff_s
        self.sign_no: str | None = None
        #: called with every message answered (figures, logs)
        self.observers: list[Callable[[Exchange], None]] = []
        self.msgids = msgids_for(fixmedins_code)
        self._headers = {"Authorization": f"Bearer {token}"}
        if isinstance(transport, httpx.Client):
            self._http, self._owned = transport, False
        else:
            self._http = httpx.Client(
                base_url=self.base_url, transport=transport, timeout=timeout_s
            )
            self._owned = True

    def close(self) -> None:
        if self._owned:
            self._http.close()

    def __enter__(self) -> HisClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ envelopes

    def envelope(
        self,
        infno: str,
        data: dict[str, Any] | None,
        *,
        insuplc_admdvs: str | None = None,
        msgid: str | None = None,
    ) -> dict[str, Any]:
        """The envelope of a message (signed when the client has a key)."""
        body: dict[str, Any] = {
            "infno": infno,
            "msgid": msgid or self.msgids.next(),
            "mdtrtarea_admvs": self.mdtrtarea_admvs,
            "insuplc_admdvs": insuplc_admdvs or "",
            "recer_sys_code": self.recer_sys_code,
            "dev_no": "",
            "dev_safe_info": "",
            "cainfo": "",
            "signtype": "",
            "infver": "V1.0",
            "opter_type": "1",
            "opter": self.opter,
            "opter_name": self.opter_name,
            "inf_time": f"{business_now():%Y-%m-%d %H:%M:%S}",
            "fixmedins_code": self.fixmedins_code,
            "fixmedins_name": self.fixmedins_name,
            "sign_no": self.sign_no or "",
            "input": data,
        }
        if self.key:
            body["signtype"] = SIGN_TYPE
            body["cainfo"] = sign(body, self.key)
        return body

    # -------------------------------------------------------------------- sending

    def exchange(
        self,
        infno: str,
        data: dict[str, Any] | None,
        *,
        insuplc_admdvs: str | None = None,
        msgid: str | None = None,
    ) -> Exchange:
        """Send one message (retrying with the same msgid) and return it with its
        answer; :class:`HisError` when no answer came."""
        envelope = self.envelope(infno, data, insuplc_admdvs=insuplc_admdvs, msgid=msgid)
        started = time.perf_counter()
        answer = self.send_envelope(envelope)
        done = Exchange(envelope["msgid"], envelope, answer, time.perf_counter() - started)
        for observe in self.observers:
            observe(done)
        return done

    def call(
        self, infno: str, data: dict[str, Any] | None, *, insuplc_admdvs: str | None = None
    ) -> dict[str, Any]:
        """The response envelope of one message (infcode 0 or −1)."""
        return self.exchange(infno, data, insuplc_admdvs=insuplc_admdvs).response

    def must(
        self, infno: str, data: dict[str, Any] | None, *, insuplc_admdvs: str | None = None
    ) -> Exchange:
        """Send one message; :class:`HisError` with ``err_msg`` unless infcode is 0."""
        done = self.exchange(infno, data, insuplc_admdvs=insuplc_admdvs)
        if not done.ok:
            raise HisError(
                str(done.response.get("err_msg") or "交易失败"),
                infno=infno,
                msgid=done.msgid,
                response=done.response,
            )
        return done

    def send_envelope(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """POST ``envelope`` as it is (the same bytes on every try) and return the
        response envelope."""
        if self.binding == "soap":
            path, content = SOAP_PATH, soap.request_xml(envelope)
            headers = {**self._headers, **soap.HEADERS}
        else:
            path = JSON_PATH
            content = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
            headers = {**self._headers, "content-type": "application/json; charset=utf-8"}
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                r = self._http.post(self.base_url + path, content=content, headers=headers)
            except httpx.TransportError as exc:
                if last:
                    raise HisError(
                        f"网络错误，已重试 {self.retries} 次：{exc!r}",
                        infno=envelope["infno"],
                        msgid=envelope["msgid"],
                    ) from exc
                self._pause(attempt, None)
                continue
            if r.status_code in RETRY_STATUSES and not last:
                self._pause(attempt, r.headers.get("retry-after"))
                continue
            return self._answer(envelope, r)
        raise AssertionError("unreachable")

    def _pause(self, attempt: int, retry_after: str | None) -> None:
        wait = self.backoff_s * 2**attempt
        if retry_after and retry_after.isdigit():
            wait = max(wait, min(float(retry_after), 10.0))
        time.sleep(wait)

    def _answer(self, envelope: dict[str, Any], r: httpx.Response) -> dict[str, Any]:
        where = {"infno": envelope["infno"], "msgid": envelope["msgid"], "status": r.status_code}
        try:
            if self.binding == "soap":
                answer = soap.read_answer(r.content)
            else:
                answer = r.json()
        except soap.SoapFault as fault:
            raise HisError(f"SOAP Fault {fault.code}：{fault.message}", **where) from None
        except ValueError:
            raise HisError(f"HTTP {r.status_code}：{r.text[:300]}", **where) from None
        if r.status_code != 200 or not isinstance(answer, dict) or "infcode" not in answer:
            message = answer.get("error", {}).get("message") if isinstance(answer, dict) else None
            raise HisError(f"HTTP {r.status_code}：{message or r.text[:300]}", **where)
        return answer
