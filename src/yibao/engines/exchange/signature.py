"""SM3 message signatures (ADR 0019): HMAC-SM3 over a canonical string of the message.

An institution that holds a signing key (a shared secret the bureau issued) signs
every message it sends; the gateway verifies it.  Both sides use these functions,
so the canonical form is defined once:

1. Take the message's top-level members except ``cainfo`` and ``input`` (names
   compared without regard to letter case), leaving out those whose value is
   ``null`` or the empty string ``""``.
2. Write each as ``name=value``: text as sent (not trimmed); a number, ``true`` /
   ``false`` or a nested value as compact JSON (below).
3. Sort them by name in ASCII (code point) order and join them with ``&``.
4. Append ``&input=`` and the ``input`` member as compact JSON — no blanks between
   tokens (separators ``,`` and ``:``), object keys sorted in ASCII order at every
   level, non-ASCII characters written as themselves (not ``\\uXXXX``), numbers as the
   JSON reader reads them back (``12.50`` → ``12.5``: send money as text to avoid
   doubt).  No ``input`` member (or ``null``): nothing is appended.  Only ``input``
   and no other member: the string starts with ``input=``.

``cainfo`` = lowercase hex of HMAC-SM3(key, UTF-8 bytes of that string), where the
key is the UTF-8 bytes of the secret as issued (64 hex characters) and HMAC is RFC
2104 over SM3 (block 64 bytes, digest 32 bytes).  ``signtype`` = ``SM3`` (it is
itself one of the signed members).

Example: ``{"infno": "9001", "msgid": "M1", "cainfo": "", "signtype": "SM3",
"input": {"signIn": {"opter_no": "01", "mac": "m"}}}`` →
``infno=9001&msgid=M1&signtype=SM3&input={"signIn":{"mac":"m","opter_no":"01"}}``.

SM3 is GB/T 32905-2016, computed by ``gmssl`` (pure Python), or by OpenSSL through
:mod:`hashlib` where the local OpenSSL provides SM3: the same digest some fifty times
faster (a test checks both against the standard's vector and each other).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from gmssl import sm3 as gm_sm3

SIGN_TYPE: Final = "SM3"
BLOCK: Final = 64
#: the members the canonical string leaves out (besides empty ones)
UNSIGNED: Final = frozenset({"cainfo", "input"})
_OPENSSL_SM3: Final = "sm3" in hashlib.algorithms_available


def sm3_gmssl(data: bytes) -> bytes:
    """SM3 of ``data`` by gmssl's pure-Python implementation."""
    return bytes.fromhex(str(gm_sm3.sm3_hash(list(data))))


def sm3(data: bytes) -> bytes:
    """SM3 digest (32 bytes) of ``data``; OpenSSL's when available, else gmssl's."""
    if _OPENSSL_SM3:
        return hashlib.new("sm3", data).digest()
    return sm3_gmssl(data)


def hmac_sm3(key: bytes, message: bytes, digest: Callable[[bytes], bytes] = sm3) -> str:
    """HMAC-SM3 (RFC 2104 with SM3, block 64 bytes) of ``message`` as lowercase hex;
    ``digest`` is the SM3 function (:func:`sm3` or :func:`sm3_gmssl`)."""
    if len(key) > BLOCK:
        key = digest(key)
    key = key.ljust(BLOCK, b"\x00")
    inner = digest(bytes(b ^ 0x36 for b in key) + message)
    return digest(bytes(b ^ 0x5C for b in key) + inner).hex()


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _input_key(message: Mapping[str, Any]) -> str | None:
    """The member read as ``input``: itself, else the first in other letter case (as
    the gateway reads it)."""
    if "input" in message:
        return "input"
    return next((k for k in message if isinstance(k, str) and k.lower() == "input"), None)


def canonical(message: Mapping[str, Any]) -> str:
    """The canonical string of ``message`` (a request envelope as sent: a JSON object
    with ``input``), the text that is signed; see the module docstring."""
    parts = []
    for name in sorted(str(k) for k in message if str(k).lower() not in UNSIGNED):
        value = message[name]
        if value is None or value == "":
            continue
        parts.append(f"{name}={value if isinstance(value, str) else _json(value)}")
    key = _input_key(message)
    if key is not None and message[key] is not None:
        parts.append(f"input={_json(message[key])}")
    return "&".join(parts)


def sign(message: Mapping[str, Any], secret: str) -> str:
    """``cainfo`` for ``message`` under ``secret`` (lowercase hex, 64 characters)."""
    return hmac_sm3(secret.encode("utf-8"), canonical(message).encode("utf-8"))


def verify(message: Mapping[str, Any], secret: str, given: str) -> bool:
    """Whether ``given`` is the signature of ``message`` under ``secret`` (hex in
    either case; compared in constant time)."""
    expected = sign(message, secret)
    return hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode("utf-8"))
