"""SM3 message signatures (ADR 0019): SM3 against the standard's vector, HMAC-SM3 by
RFC 2104, and the canonical string exactly as documented."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from yibao.engines.exchange.signature import (
    canonical,
    hmac_sm3,
    sign,
    sm3,
    sm3_gmssl,
    verify,
)

#: GB/T 32905-2016, Appendix A, example 1: SM3("abc")
SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
#: Appendix A, example 2: SM3 of "abcd" × 16 (512 bits, two blocks with the padding)
SM3_ABCD16 = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


def test_sm3_standard_vectors() -> None:
    assert sm3_gmssl(b"abc").hex() == SM3_ABC
    assert sm3(b"abc").hex() == SM3_ABC
    assert sm3_gmssl(b"abcd" * 16).hex() == SM3_ABCD16
    assert sm3(b"abcd" * 16).hex() == SM3_ABCD16


@pytest.mark.parametrize("size", [0, 1, 55, 56, 63, 64, 65, 1000])
def test_sm3_gmssl_and_openssl_agree(size: int) -> None:
    data = bytes(range(256)) * 4
    assert sm3(data[:size]) == sm3_gmssl(data[:size])


def test_hmac_sm3_is_rfc2104() -> None:
    # by hand: H((K ^ opad) || H((K ^ ipad) || m)), K padded with zeros to 64 bytes
    key, message = b"secret-key", "报文 message".encode()
    padded = key.ljust(64, b"\0")
    inner = sm3_gmssl(bytes(b ^ 0x36 for b in padded) + message)
    expected = sm3_gmssl(bytes(b ^ 0x5C for b in padded) + inner).hex()
    assert hmac_sm3(key, message) == expected
    assert hmac_sm3(key, message, sm3_gmssl) == expected
    # a key longer than the block is hashed first
    long_key = b"k" * 100
    short = sm3_gmssl(long_key)
    assert hmac_sm3(long_key, message) == hmac_sm3(short, message)
    if "sm3" in hashlib.algorithms_available:  # OpenSSL's own HMAC as a third opinion
        assert hmac_sm3(key, message) == hmac.new(key, message, "sm3").hexdigest()


def test_hmac_sm3_known_value() -> None:
    # computed once with gmssl's SM3 (RFC 2104 construction); pins the bytes signed
    assert (
        hmac_sm3(b"k", b"abc") == "af684d81732e81f6a9c5dd0aa68f27667b36debcebe29e094a654c3d496a898a"
    )


def test_canonical_string_as_documented() -> None:
    message = {
        "msgid": "H99010200001202612051200000001",
        "infno": "2304",
        "cainfo": "ffff",  # never signed
        "signtype": "SM3",
        "dev_no": "",  # empty: left out
        "sign_no": None,  # null: left out
        "opter_type": 1,  # a number: JSON text
        "opter_name": " 张 三 ",  # text as sent, blanks kept
        "Zeta": "z",  # ASCII order: upper case before lower case
        "input": {"data": {"b": "2", "a": 12.50, "名称": "门诊", "l": [1, {"y": 1, "x": True}]}},
    }
    assert canonical(message) == (
        "Zeta=z&infno=2304&msgid=H99010200001202612051200000001&opter_name= 张 三 "
        "&opter_type=1&signtype=SM3"
        '&input={"data":{"a":12.5,"b":"2","l":[1,{"x":true,"y":1}],"名称":"门诊"}}'
    )


def test_canonical_edge_cases() -> None:
    assert canonical({"infno": "9001"}) == "infno=9001"  # no input: nothing appended
    assert canonical({"infno": "9001", "input": None}) == "infno=9001"
    assert canonical({"input": {"a": "1"}}) == 'input={"a":"1"}'
    # input in other letter case is the input (as the gateway reads it); CAINFO is unsigned
    assert (
        canonical({"Input": {"a": "1"}, "CAINFO": "x", "infno": "1"}) == 'infno=1&input={"a":"1"}'
    )


def test_sign_and_verify() -> None:
    secret = "a" * 64
    message = {"infno": "9001", "msgid": "M1", "signtype": "SM3", "input": {"signIn": {}}}
    signature = sign(message, secret)
    assert len(signature) == 64 and signature == signature.lower()
    assert signature == hmac_sm3(secret.encode(), canonical(message).encode())
    assert verify({**message, "cainfo": signature}, secret, signature)
    assert verify(message, secret, signature.upper())  # hex in either case
    assert not verify(message, "b" * 64, signature)  # another key
    assert not verify({**message, "msgid": "M2"}, secret, signature)  # a member changed
    changed = {**message, "input": {"signIn": {"ip": "1"}}}
    assert not verify(changed, secret, signature)  # the input changed
    assert not verify(message, secret, "")
    assert not verify(message, secret, "不是十六进制")
