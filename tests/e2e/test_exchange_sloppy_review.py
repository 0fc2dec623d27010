"""Sloppy real inputs to the transaction gateway (issue 12 item 6) found in review,
driven over HTTP like a HIS client: each is read as meant (said in warn_msg) or
refused naming the field, at once."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.builders.exchange import His, journal_rows
from tests.builders.visits import admit, fee_lines, identify, ids, make_world, settle_input
from yibao.kit.timeutil import local, utcnow


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    return make_world(client, db)


def _admission(his: His, who: Any) -> dict[str, Any]:
    info = {
        "psn_no": who.psn_no,
        "insutype": who.insutype,
        "begntime": f"{datetime.now() - timedelta(days=1):%Y-%m-%d %H:%M:%S}",
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": who.certno,
        "med_type": "21",
        "ipt_no": "ZY-REVIEW-H",
        "atddr_no": "D001",
        "chfpdr_name": "王医生",
        "adm_diag_dscr": "胸痛",
        "adm_dept_codg": "A03",
        "adm_dept_name": "心血管内科",
        "dscg_maindiag_code": "I21.000",
        "dscg_maindiag_name": "急性心肌梗死",
    }
    return {"mdtrtinfo": info}


def test_exponent_text_in_an_integer_field_is_answered_at_once(world) -> None:  # type: ignore[no-untyped-def]
    """ "1e500000" (8 characters) where an integer is expected: the lenient reader turns
    the text into Decimal and then int(), building a 500 001-digit integer (about 7 s
    of CPU on one core; "1e5000000" takes minutes).  Python's own int parser refuses
    such text (the 4 300-digit limit) — the lenient path bypasses it.  One message with
    50 diseinfo rows of it would hold a worker for minutes.  It must be refused at
    once, naming the field."""
    his: His = world["his"]
    who = world["local"]
    data = _admission(his, who)
    data["diseinfo"] = [
        {"diag_code": "I21.000", "diag_name": "急性心肌梗死", "diag_srt_no": "1e500000"}
    ]
    started = time.perf_counter()
    answer = his.send(his.envelope("2401", data, **ids(his, who)))
    elapsed = time.perf_counter() - started
    assert answer["infcode"] == -1, answer
    assert "diag_srt_no" in answer["err_msg"], answer
    assert elapsed < 2.0, f"a 8-character integer field took {elapsed:.1f} s to read"


def test_json_posted_as_form_content_type_is_not_an_empty_body(world, db) -> None:  # type: ignore[no-untyped-def]
    """A HIS that POSTs the JSON envelope without setting Content-Type (Java's
    HttpURLConnection and `curl -d` send application/x-www-form-urlencoded) is told
    "请求体为空" — the body is not empty, it is a whole readable message; the refusal
    is false and the msgid is lost from the journal (journaled with msgid empty).
    Expected: the JSON read (with a warn_msg about the Content-Type) or a refusal that
    says what is wrong (the Content-Type), never "empty body"."""
    his: His = world["his"]
    who = world["local"]
    identify(his, who)
    envelope = his.envelope("5206", {"data": {"psn_no": who.psn_no}}, **ids(his, who))
    r = his.client.post(
        "/api/exchange",
        content=json.dumps(envelope, ensure_ascii=False).encode(),
        headers={
            "Authorization": f"Bearer {his.token}",
            "content-type": "application/x-www-form-urlencoded",
        },
    )
    assert r.status_code == 200, r.text[:300]
    answer = r.json()
    assert "请求体为空" not in (answer["err_msg"] or ""), answer
    assert answer["infcode"] == 0 and "Content-Type" in (answer["warn_msg"] or ""), answer
    assert journal_rows(db, envelope["msgid"]), "the message's msgid was not journaled"
    # text/plain, or no Content-Type at all: read as JSON, and said
    for content_type in ("text/plain", None):
        envelope = his.envelope("5206", {"data": {"psn_no": who.psn_no}}, **ids(his, who))
        headers = {"Authorization": f"Bearer {his.token}"}
        if content_type:
            headers["content-type"] = content_type
        raw = json.dumps(envelope, ensure_ascii=False).encode()
        answer = his.client.post("/api/exchange", content=raw, headers=headers).json()
        assert answer["infcode"] == 0 and "Content-Type" in (answer["warn_msg"] or ""), answer


def test_conflicting_duplicate_keys_are_not_settled_silently(world, db) -> None:  # type: ignore[no-untyped-def]
    """Duplicate keys with different values are ambiguous (RFC 8259 §4: behaviour
    unpredictable); the gateway silently takes the last one (json.loads) and answers
    infcode 0 with no warn_msg at all — a HIS whose serializer wrote
    "medfee_sumamt": 1.00 first is pre-settled on the other figure without a word.
    Expected: refused naming medfee_sumamt, or at least a warn_msg saying the key was
    sent twice and which value was used."""
    his: His = world["his"]
    who = world["local"]
    identify(his, who)
    start = datetime.combine(local(utcnow()).date() - timedelta(days=2), datetime.min.time())
    mdtrt_id = admit(his, who, start.replace(hour=8))
    lines, expected = fee_lines(db, world["hospital"].level, mdtrt_id, who.psn_no, start)
    assert his.send(his.envelope("2301", {"feedetail": lines}, **ids(his, who)))["infcode"] == 0
    total = expected["medfee_sumamt"]
    data = settle_input(who, mdtrt_id, total)
    data["data"]["medfee_sumamt"] = float(total)
    text = json.dumps(his.envelope("2303", data, **ids(his, who)), ensure_ascii=False)
    one = f'"medfee_sumamt": {float(total)}'
    assert text.count(one) == 1
    text = text.replace(one, f'"medfee_sumamt": 1.0, {one}')
    answer = his.send(text.encode())
    if answer["infcode"] == 0:
        assert answer["warn_msg"] and "medfee_sumamt" in answer["warn_msg"], answer
    else:
        assert "medfee_sumamt" in answer["err_msg"], answer


def test_a_msgid_reused_for_another_transaction_is_refused(world, db) -> None:  # type: ignore[no-untyped-def]
    """A HIS that reuses a msgid for another transaction (a 2305 under the msgid of
    its 2304) must not get the first message's answer back as if it were done: the
    second message is refused naming the msgid, the first answer stays its own."""
    his: His = world["his"]
    who = world["local"]
    identify(his, who)
    first = his.envelope("5206", {"data": {"psn_no": who.psn_no}}, **ids(his, who))
    assert his.send(first)["infcode"] == 0
    reused = his.envelope("1101", {"data": {"psn_no": who.psn_no}}, msgid=first["msgid"])
    answer = his.send(reused)
    assert answer["infcode"] == -1, answer
    assert "已用于交易 5206" in answer["err_msg"] and "msgid" in answer["err_msg"], answer
    again = his.send(first)  # a retry of the first message still gets its own answer
    assert again["infcode"] == 0 and "cuminfo" in (again["output"] or {}), again
