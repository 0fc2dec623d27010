"""The browser's signed session cookie (CSRF token, flash message, session key).

Like Starlette's ``SessionMiddleware``, but the cookie is ``Secure`` whenever the
site is served over HTTPS (``YIBAO_HTTPS=true``, or — by default — when the request
came in over HTTPS, e.g. behind a TLS reverse proxy with ``--proxy-headers``).  Who
is logged in is decided on the server (:mod:`yibao.accounts.sessions`): the cookie
holds only a random key, so a copied cookie dies with its server-side session.
"""

from __future__ import annotations

import json
from base64 import b64decode, b64encode

import itsdangerous
from itsdangerous.exc import BadSignature
from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import Session
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "yibao_session"


class SessionCookieMiddleware:
    def __init__(
        self, app: ASGIApp, secret_key: str, max_age: int, https: bool | None = None
    ) -> None:
        self.app = app
        self.signer = itsdangerous.TimestampSigner(secret_key)
        self.max_age = max_age
        self.https = https

    def _flags(self, scope: Scope) -> str:
        secure = self.https if self.https is not None else scope.get("scheme") == "https"
        return "path=/; httponly; samesite=lax" + ("; secure" if secure else "")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = HTTPConnection(scope).cookies.get(COOKIE)
        had_cookie = False
        session = Session()
        if cookie:
            try:
                data = self.signer.unsign(cookie.encode(), max_age=self.max_age)
                loaded = json.loads(b64decode(data))
                if isinstance(loaded, dict):
                    session = Session(loaded)
                    had_cookie = True
            except (BadSignature, ValueError, UnicodeDecodeError):
                pass
        scope["session"] = session

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                current: Session = scope["session"]
                headers = MutableHeaders(scope=message)
                if current.accessed:
                    headers.add_vary_header("Cookie")
                if current.modified and current:
                    data = self.signer.sign(b64encode(json.dumps(current).encode())).decode()
                    headers.append(
                        "Set-Cookie",
                        f"{COOKIE}={data}; Max-Age={self.max_age}; {self._flags(scope)}",
                    )
                elif current.modified and had_cookie:
                    headers.append(
                        "Set-Cookie",
                        f"{COOKIE}=null; expires=Thu, 01 Jan 1970 00:00:00 GMT; "
                        f"{self._flags(scope)}",
                    )
            await send(message)

        await self.app(scope, receive, send_wrapper)
