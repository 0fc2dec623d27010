"""Sloppy and hostile inputs to every visit transaction never make a server error
(issue 12 item 6): random mutations of valid messages — a field dropped, its value
replaced by text, a number, a float, a list, an object, an empty string, a very long
string, its key in other letter case — are each answered 200 with infcode 0 or −1,
a refusal names its problem in Chinese, and no answer is an internal error."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck
from hypothesis import strategies as st

from tests.builders.exchange import His
from tests.builders.visits import admit, fee_lines, identify, ids, make_world, settle_input
from yibao.kit.timeutil import local, utcnow

VALUES = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.just(""),
    st.just("x" * 5000),
    st.just("１２３．５"),
    st.just("2025-13-45 25:61:61"),
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.append((*prefix, k))
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.append((*prefix, i))
            out += _paths(v, (*prefix, i))
    return out


def _mutate(doc: dict[str, Any], path: tuple[Any, ...], how: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if how == "drop" and isinstance(parent, dict):
        del parent[last]
    elif how == "case" and isinstance(parent, dict) and isinstance(last, str):
        parent[last.upper()] = parent.pop(last)
    else:
        parent[last] = value
    return out


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    """A stay with fee lines, discharged, and valid inputs of each transaction."""
    world = make_world(client, db)
    his: His = world["his"]
    who = world["local"]
    identify(his, who)
    start = datetime.combine(local(utcnow()).date() - timedelta(days=2), datetime.min.time())
    mdtrt_id = admit(his, who, start.replace(hour=8))
    body, expected = fee_lines(db, world["hospital"].level, mdtrt_id, who.psn_no, start)
    his.send(his.envelope("2301", {"feedetail": body}, **ids(his, who)))
    end = f"{start + timedelta(days=1):%Y-%m-%d %H:%M:%S}"
    dscg = {"mdtrt_id": mdtrt_id, "psn_no": who.psn_no, "endtime": end, "dscg_way": "1"}
    extra = [{**body[0], "feedetl_sn": "F1"}]
    ref = {"psn_no": who.psn_no, "mdtrt_id": mdtrt_id}
    inputs = {
        "1101": {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": who.certno}},
        "2301": {"feedetail": extra},
        "2302": {"data": {**ref, "feedetl_sn": "F1"}},
        "2402": {"dscginfo": dscg},
        "2303": settle_input(who, mdtrt_id, expected["medfee_sumamt"]),
        "2305": {"data": {**ref, "setl_id": "NOPE"}},
        "2601": {"data": {"psn_no": who.psn_no, "omsgid": "X" * 30, "oinfno": "2304"}},
        "5206": {"data": {"psn_no": who.psn_no, "cum_ym": "202501"}},
        "3201": {
            "data": {
                "insutype": "310",
                "clr_type": "21",
                "setl_optins": "990100",
                "stmt_begndate": "2025-01-01",
                "stmt_enddate": "2025-01-31",
                "medfee_sumamt": "0",
                "fund_pay_sumamt": "0",
                "acct_pay": "0",
                "fixmedins_setl_cnt": 0,
            }
        },
        "3202": {
            "data": {
                "setl_optins": "990100",
                "stmt_begndate": "2025-01-01",
                "stmt_enddate": "2025-01-31",
                "file_content": "setl_id,mdtrt_id,psn_no,medfee_sumamt,fund_pay_sumamt,acct_pay,"
                "refd_setl_flag\nS1,M1,P1,10,5,0,0",
            }
        },
    }
    return his, who, inputs


@pytest.mark.parametrize(
    "infno", ["1101", "2301", "2302", "2402", "2303", "2305", "2601", "5206", "3201", "3202"]
)
def test_mutated_inputs_never_fail_inside(world, infno) -> None:  # type: ignore[no-untyped-def]
    his, who, inputs = world
    base = inputs[infno]
    paths = _paths(base)

    @hypothesis.settings(
        max_examples=25,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @hypothesis.given(
        path=st.sampled_from(paths),
        how=st.sampled_from(["drop", "case", "value"]),
        value=VALUES,
    )
    def check(path: tuple[Any, ...], how: str, value: Any) -> None:
        data = _mutate(base, path, how, value)
        answer = his.send(his.envelope(infno, data, **ids(his, who)))
        assert answer["infcode"] in (0, -1), answer
        if answer["infcode"] == -1:
            text = answer["err_msg"] or ""
            assert any("\u4e00" <= ch <= "\u9fff" for ch in text), answer
            assert "系统内部错误" not in text, (data, answer)

    check()
