"""The gateway's message rules (engines/exchange): what a sloppy HIS message may be and
still be read (with a warning), what is refused and how the refusal names the field,
the response envelope and the masking of ID numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, Field

from yibao.engines.exchange import (
    Refused,
    mask_ids,
    msgid_warning,
    parse_body,
    peek_msgid,
    read,
    read_envelope,
    read_input,
    ref_msgid,
    response,
    stamp_ms,
    storable,
)
from yibao.engines.exchange.messages import ListUploadIn, SignInIn

CODE = "H99010100001"
MSGID = f"{CODE}202503101015000001"


def envelope(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "infno": "9001",
        "msgid": MSGID,
        "mdtrtarea_admvs": "990100",
        "insuplc_admdvs": "",
        "recer_sys_code": "YBXT",
        "infver": "V1.0",
        "opter_type": "1",
        "opter": "0001",
        "opter_name": "经办人",
        "inf_time": "2025-03-10 10:15:00",
        "fixmedins_code": CODE,
        "fixmedins_name": "测试医院",
        "sign_no": "",
        "input": {"signIn": {"opter_no": "1", "mac": "m", "ip": "10.0.0.1"}},
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


def refused(doc: Any) -> Refused:
    with pytest.raises(Refused) as caught:
        read_envelope(doc)
    return caught.value


def test_a_message_by_the_spec_has_no_warning() -> None:
    env, raw_input, warnings = read_envelope(envelope())
    assert warnings == [] and env.msgid == MSGID and env.sign_no is None
    assert env.insuplc_admdvs is None  # "" is absent
    data, more = read_input(SignInIn, raw_input)
    assert more == [] and data.signIn.ip == "10.0.0.1"


@pytest.mark.parametrize(
    "name",
    [
        "infno",
        "msgid",
        "mdtrtarea_admvs",
        "recer_sys_code",
        "infver",
        "opter_type",
        "opter",
        "opter_name",
        "inf_time",
        "fixmedins_code",
        "fixmedins_name",
    ],
)
@pytest.mark.parametrize("absent", [..., "", "  ", None])
def test_a_required_field_absent_is_refused_by_name(name: str, absent: Any) -> None:
    problem = refused(envelope(**{name: absent}))
    assert problem.field == name
    assert problem.message.startswith(f"{problem.message.split('（')[0]}（{name}）：必填")


@pytest.mark.parametrize(
    ("fields", "name", "words"),
    [
        ({"msgid": "报文1"}, "msgid", "可见 ASCII"),
        ({"msgid": "A" * 51}, "msgid", "长度不能超过 50 个字符"),
        ({"msgid": "H1 2"}, "msgid", "可见 ASCII"),
        ({"mdtrtarea_admvs": "9901"}, "mdtrtarea_admvs", "6 位数字"),
        ({"insuplc_admdvs": "abcdef"}, "insuplc_admdvs", "6 位数字"),
        ({"opter_type": "4"}, "opter_type", "1（经办人）"),
        ({"opter": "x" * 31}, "opter", "长度不能超过 30 个字符（收到 31 个字符）"),
        ({"inf_time": "2025-13-10 10:15:00"}, "inf_time", "yyyy-MM-dd HH:mm:ss"),
        ({"fixmedins_code": "H9901"}, "fixmedins_code", "12 位"),
        ({"opter_type": 1.0}, "opter_type", "应为文本"),
        ({"infno": True}, "infno", "应为文本"),
        ({"opter": ["0001"]}, "opter", "应为文本"),
        ({"sign_no": "9" * 31}, "sign_no", "30 个字符"),
    ],
)
def test_what_cannot_be_read_is_refused_naming_the_field(
    fields: dict[str, Any], name: str, words: str
) -> None:
    problem = refused(envelope(**fields))
    assert problem.field == name and f"（{name}）：" in problem.message
    assert words in problem.message, problem.message


def test_sloppy_but_unambiguous_is_read_with_warnings() -> None:
    doc = envelope(
        infno=9001,
        mdtrtarea_admvs=990100,
        opter_type=1,
        opter=" 0001 ",
        inf_time="20250310101500",
        VENDOR="x",
    )
    doc["MsgId"] = doc.pop("msgid")
    doc["INPUT"] = json.dumps(doc.pop("input"))
    env, raw_input, warnings = read_envelope(doc)
    assert (env.infno, env.mdtrtarea_admvs, env.opter_type, env.opter, env.msgid) == (
        "9001",
        "990100",
        "1",
        "0001",
        MSGID,
    )
    text = "\n".join(warnings)
    for words in (
        "交易编号（infno）：应为文本，已将数字 9001 按文本读取",
        "经办人（opter）：已去除首尾空白",
        "已将 MsgId 按 msgid 读取",
        "已将 INPUT 按 input 读取",
        "交易时间（inf_time）：应为 yyyy-MM-dd HH:mm:ss 格式",
        "忽略未定义的字段 VENDOR",
    ):
        assert words in text, (words, text)
    data, more = read_input(SignInIn, raw_input)
    assert data.signIn.opter_no == "1" and "JSON 文本按对象读取" in more[0]


def test_the_msgid_rule_and_its_accepted_deviations() -> None:
    assert msgid_warning(MSGID, CODE) is None
    short = msgid_warning(MSGID[:-2], CODE)
    assert short is not None and "长度为 28 位" in short
    other = msgid_warning("H99010100002" + MSGID[12:], CODE)
    assert other is not None and "前 12 位" in other
    clock = msgid_warning(CODE + "20251399999999" + "0001", CODE)
    assert clock is not None and "yyyyMMddHHmmss" in clock
    _env, _raw, warnings = read_envelope(envelope(msgid="HIS-0001"))
    assert any("长度为 8 位" in w and "已按原样" in w for w in warnings)


@pytest.mark.parametrize(
    ("value", "seen"),
    [(MSGID, MSGID), (f"  {MSGID} ", MSGID), (123456, "123456"), ("报文", None), (True, None)],
)
def test_a_retry_is_recognised_by_its_msgid_alone(value: Any, seen: str | None) -> None:
    doc = {"msgid": value, "infno": None}  # the rest of the envelope does not matter
    assert peek_msgid(doc) == seen
    assert peek_msgid({"MSGID": value}) == seen
    if seen is not None:
        assert read_envelope(envelope(msgid=value))[0].msgid == seen


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"", "请求体为空"),
        (b"  \n", "请求体为空"),
        (b"\xff\xfe{}", "UTF-8"),
        (b'{"infno": ', "不是有效的 JSON"),
        (b"[" * 40 + b"]" * 40, "嵌套超过"),
        (b"1" * 5000, "数字过长"),
        (b'{"opter": "a\\u0000b"}', "opter"),
        (b'{"opter": "\\ud800"}', "Unicode"),
        (b'{"opter": "\\uDFFF"}', "Unicode"),
        (b'{"a": [{"\\u0000": 1}]}', "字段名"),
        (b'{"a": "\\u4e2d", "b": "\\ud83d"}', "Unicode"),
    ],
)
def test_a_body_that_cannot_be_read_is_refused(raw: bytes, words: str) -> None:
    with pytest.raises(Refused) as caught:
        parse_body(raw)
    assert words in caught.value.message


def test_escapes_that_carry_nothing_harmful_are_read() -> None:
    """Only ``\\u0000`` and surrogate escapes can carry what no database stores: other
    escapes, a pair of surrogates (an emoji) and an escaped backslash before ``u0000``
    (text, not NUL) are read as they are."""
    doc, _ = parse_body(b'{"a": "\\u4e2d\\ud83d\\ude00", "b": "\\\\u0000"}')
    assert doc == {"a": "中\U0001f600", "b": "\\u0000"}


def test_a_byte_order_mark_is_skipped_with_a_warning() -> None:
    doc, warnings = parse_body(b"\xef\xbb\xbf" + json.dumps(envelope()).encode())
    assert doc["msgid"] == MSGID and "BOM" in warnings[0]


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (None, "交易输入（input）：必填"),
        ("", "交易输入（input）：必填"),
        ([{"signIn": {}}], "应为 JSON 对象（收到数组）"),
        (7, "应为 JSON 对象（收到数字或布尔值）"),
        ("not json", "应为 JSON 对象（收到文本）"),
        ({"signIn": "x"}, "签到信息（input.signIn）：应为 JSON 对象"),
        ({"signIn": {"opter_no": "1", "mac": "m"}}, "IP 地址（input.signIn.ip）：必填"),
        ({"signIn": {"opter_no": 1.5, "mac": "m", "ip": "i"}}, "input.signIn.opter_no）：应为文本"),
    ],
)
def test_input_problems_name_the_path(raw: Any, words: str) -> None:
    with pytest.raises(Refused) as caught:
        read_input(SignInIn, raw)
    assert words in caught.value.message, caught.value.message


def test_a_single_object_for_an_array_is_read_as_one_item() -> None:
    data, warnings = read_input(ListUploadIn, {"setlinfo": {"setl_id": "S1"}, "diseinfo": {}})
    assert data.diseinfo == [{}] and "一项的数组" in warnings[0]


class Amounts(BaseModel):
    medfee_sumamt: Decimal = Field(max_digits=16, decimal_places=2)
    cnt: int


class Lines(BaseModel):
    lines: list[Amounts]


def test_many_numbers_sent_as_text_are_said_once_past_the_first() -> None:
    """HIS systems that send every number as text get the first few warnings in full
    and one sum of the rest (warn_msg shows 500 characters); every number is read."""
    lines = [{"medfee_sumamt": f"{i}.00", "cnt": str(i)} for i in range(1, 7)]
    data, warnings = read(Lines, {"lines": lines, "extra": 1})
    assert [ln.cnt for ln in data.lines] == [1, 2, 3, 4, 5, 6]
    assert data.lines[5].medfee_sumamt == Decimal("6.00")
    assert len(warnings) == 10, warnings  # 8 numbers, the ignored key, the sum
    assert "lines[0].medfee_sumamt" in warnings[0] and "“1.00”" in warnings[0]
    assert "lines[3].cnt" in warnings[7]
    assert "忽略未定义的字段 extra" in warnings[8]  # other warnings are never folded
    assert warnings[-1] == "另有 4 个数字字段以文本发送，已按数字读取"


def test_values_that_fit_are_taken_as_sent_and_the_rest_loosened() -> None:
    class Mixed(BaseModel):
        text: str
        when: datetime | None = None
        n: int | None = None
        amount: Decimal | None = None

    data, warnings = read(
        Mixed, {"text": " a ", "when": "2026-01-02T03:04:05", "n": 7, "amount": 1.5}
    )
    assert (data.text, data.n, data.amount) == ("a", 7, Decimal("1.5"))
    assert data.when == datetime(2026, 1, 2, 3, 4, 5)
    assert warnings == [
        "text：已去除首尾空白",
        "when：应为日期时间（yyyy-MM-dd HH:mm:ss）格式，已将“2026-01-02T03:04:05”按 "
        "2026-01-02 03:04:05 读取",
    ]
    data, warnings = read(Mixed, {"text": "a", "when": "2026-01-02 03:04:05"})
    assert data.when == datetime(2026, 1, 2, 3, 4, 5) and warnings == []
    data, warnings = read(Mixed, {"text": "a", "when": "2026-01-02T03:04:05+08:00"})
    assert data.when is not None and data.when.utcoffset() == timedelta(hours=8)
    assert warnings == [
        "when：应为日期时间（yyyy-MM-dd HH:mm:ss）格式，已将“2026-01-02T03:04:05+08:00”按 "
        "ISO 8601 时间读取"
    ]
    for bad in ({"text": "x", "n": True}, {"text": "x", "n": 1.5}, {"text": 1.5}):
        with pytest.raises(Refused):
            read(Mixed, bad)
    data, warnings = read(Mixed, {"TEXT": "b", "when": " ", "n": "", "amount": None})
    assert (data.text, data.when, data.n, data.amount) == ("b", None, None, None)
    assert warnings == ["text：字段名应为 text，已将 TEXT 按 text 读取"]


def test_numbers_sent_as_text_are_read_and_said() -> None:
    data, warnings = read(Amounts, {"medfee_sumamt": "1234.50", "cnt": " 3 "})
    assert data == Amounts(medfee_sumamt=Decimal("1234.50"), cnt=3)
    assert len(warnings) == 2 and "已将文本“1234.50”按数字读取" in warnings[0]
    for bad, words in (
        ({"medfee_sumamt": "12,50", "cnt": 1}, "medfee_sumamt：应为数字"),
        ({"medfee_sumamt": "1", "cnt": "1.5"}, "cnt）：应为整数"),
        ({"medfee_sumamt": True, "cnt": 1}, "应为数字，不能是 true"),
        ({"medfee_sumamt": "1.234", "cnt": 1}, "小数位数过多"),
    ):
        with pytest.raises(Refused) as caught:
            read(Amounts, bad)
        assert words in caught.value.message, caught.value.message


def test_the_response_envelope() -> None:
    at = datetime(2025, 3, 10, 2, 15, 0, 123456, tzinfo=UTC)  # 10:15 in Shanghai
    assert stamp_ms(at) == "20250310101500123"
    ref = ref_msgid("990100", at, 42)
    assert ref == "990100" + "20250310101500" + "0000000042" and len(ref) == 30
    ok = response(ref=ref, received=at, responded=at, output={"a": 1}, warnings=["w", "w", "v"])
    assert (ok["infcode"], ok["output"], ok["err_msg"], ok["warn_msg"]) == (
        0,
        {"a": 1},
        None,
        "w；v",
    )
    bad = response(ref=ref, received=at, responded=at, output={"a": 1}, error="错" * 300)
    assert bad["infcode"] == -1 and bad["output"] is None and len(bad["err_msg"]) == 200
    many = response(
        ref=ref, received=at, responded=at, warnings=[f"提示{i}" * 20 for i in range(20)]
    )
    assert len(many["warn_msg"]) <= 500 and many["warn_msg"].endswith("（共 20 条）")


def test_id_numbers_are_masked_when_shown() -> None:
    doc = {"input": {"data": [{"certno": "110101199003071234", "psn_name": "张三"}]}}
    shown = mask_ids(doc)
    assert shown["input"]["data"][0] == {"certno": "110101********1234", "psn_name": "张三"}
    assert doc["input"]["data"][0]["certno"] == "110101199003071234"  # a copy
    assert mask_ids({"mdtrt_cert_no": "12345678"}) == {"mdtrt_cert_no": "12****78"}


def test_what_the_journal_stores_is_storable_anywhere() -> None:
    assert storable({"a\x00": ["x\ud800", float("inf"), 1.5]}) == {
        "a\ufffd": ["x\ufffd", "inf", 1.5]
    }


def test_times_in_compact_and_slash_layouts_are_read_never_as_epoch_seconds() -> None:
    """HIS systems send yyyyMMddHHmmss, yyyyMMdd and yyyy/MM/dd: the model alone read
    digits as seconds since 1970 (20240105103000 → the year 2611); now they are the
    time they write, with a warning; other digit strings are refused, naming the field."""
    from datetime import date

    class Times(BaseModel):
        at: datetime
        day: date | None = None

    cases = {
        "20240105103000": datetime(2024, 1, 5, 10, 30),
        "202401051030": datetime(2024, 1, 5, 10, 30),
        "20240105": datetime(2024, 1, 5),
        20240105: datetime(2024, 1, 5),
        "2024/01/05 10:30:00": datetime(2024, 1, 5, 10, 30),
    }
    for sent, want in cases.items():
        data, warnings = read(Times, {"at": sent})
        assert data.at == want, sent
        assert any("at：应为日期时间" in w and str(want) in w for w in warnings), warnings
    data, warnings = read(Times, {"at": "2024-01-05 10:30:00", "day": "2024-01-05 10:30:00"})
    assert (data.at, data.day) == (datetime(2024, 1, 5, 10, 30), date(2024, 1, 5))
    data, _ = read(Times, {"at": "2024-01-05 10:30:00", "day": "20240105"})
    assert data.day == date(2024, 1, 5)
    for bad in ("1704420000", "20241301", "2024010510"):
        with pytest.raises(Refused) as refused:
            read(Times, {"at": bad})
        assert refused.value.field == "at" and "应为日期时间" in refused.value.message


def test_a_refusal_names_the_input_field_in_chinese() -> None:
    """The transaction inputs' fields are named in Chinese from their descriptions
    (only the envelope's had Chinese names: ``input.data.medfee_sumamt：…`` told a HIS
    developer nothing in Chinese), the path after it."""
    from yibao.engines.exchange.settling import SettleIn
    from yibao.engines.exchange.visits import FeeIn

    line = {
        "feedetl_sn": "1",
        "mdtrt_id": "M",
        "psn_no": "P",
        "fee_ocur_time": "2026-01-05 10:00:00",
        "med_list_codg": "X",
        "det_item_fee_sumamt": "10.005",
        "cnt": "1",
        "pric": "10",
    }
    cases = [
        (
            FeeIn,
            {"feedetail": [line]},
            "明细项目费用总额（input.feedetail[0].det_item_fee_sumamt）",
        ),
        (FeeIn, {"feedetail": [{**line, "cnt": True}]}, "数量（input.feedetail[0].cnt）：应为数字"),
        (
            SettleIn,
            {"data": {"psn_no": "P", "medfee_sumamt": "1"}},
            "就诊ID（input.data.mdtrt_id）：必填",
        ),
        (
            SettleIn,
            {"data": {"psn_no": "P", "mdtrt_id": "M", "medfee_sumamt": "x"}},
            "医疗费总额（input.data.medfee_sumamt）：应为数字",
        ),
    ]
    for model, data, want in cases:
        with pytest.raises(Refused) as refused:
            read_input(model, data)
        assert refused.value.message.startswith(want), refused.value.message


def test_keys_a_vendor_adds_to_every_item_are_said_once_for_the_array() -> None:
    """A vendor's own fields on each of ten lines: one warning naming the items, not
    ten (warn_msg shows 500 characters); items with other keys are said apart."""
    lines = [{"medfee_sumamt": 1, "cnt": 1, "rx_no": "R", "freq": "bid"} for _ in range(10)]
    lines[7] = {"medfee_sumamt": 1, "cnt": 1, "memo": "x"}
    data, warnings = read(Lines, {"lines": lines})
    assert len(data.lines) == 10
    assert warnings == [
        "lines[0]、[1] 等 9 项：忽略未定义的字段 rx_no、freq",
        "lines[7]：忽略未定义的字段 memo",
    ]
    data, warnings = read(Lines, {"lines": lines[:3]})
    assert warnings == ["lines[0–2]（3 项）：忽略未定义的字段 rx_no、freq"]


def test_inf_time_layouts_are_those_of_every_time_field() -> None:
    """inf_time is read in the layouts every time field accepts (with a warning when
    not the spec's), digits only by their count — ten digits are never seconds since
    1970 (they were read as the year 1733) — and ISO 8601 with an offset in Beijing
    time; a date alone is no transaction time."""
    from datetime import datetime

    from yibao.engines.exchange.envelope import read_inf_time

    at = datetime(2026, 12, 7, 10, 10, 10)
    assert read_inf_time("2026-12-07 10:10:10") == (at, True)
    assert read_inf_time("20261207101010") == (at, False)
    assert read_inf_time("2026-12-07T02:10:10+00:00") == (at, False)
    assert read_inf_time("2026-12-07 10:10") == (at.replace(second=0), False)
    for bad in ("1733540000", "2026-12-07", "20261207", "昨天", "2026-13-07 10:10:10"):
        assert read_inf_time(bad) is None, bad
