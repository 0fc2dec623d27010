"""3201 对总账 and 3202 对明细账 through the gateway: the institution's own figures against
the centre's, every difference of the detail file named — the field, the
institution's value and the centre's — for one local patient with two stays, the
second reversed in the period."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.builders.exchange import His, ok, plain_item, reverse_stay, settle_stay, token_of
from tests.builders.insured import person
from tests.builders.settlement import demo_world
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.kit.timeutil import local, utcnow

HEAD = "setl_id,mdtrt_id,psn_no,medfee_sumamt,fund_pay_sumamt,acct_pay,refd_setl_flag"


@pytest.fixture()
def stays(client, db):  # type: ignore[no-untyped-def]
    codes = demo_world(db)
    set_scope(db, SYSTEM_SCOPE)
    who = person(db, "990102", balance="300.00")
    db.commit()
    his = His(client, token_of(db, "his01"), codes["hosp01"])
    his.sign_in()
    item = plain_item(db)
    kept = settle_stay(his, who, item, amount=Decimal("1500.00"))
    gone = settle_stay(his, who, item, amount=Decimal("800.00"), days_ago=8)  # an earlier stay
    back = reverse_stay(his, who, gone)
    return {"his": his, "who": who, "kept": kept, "gone": gone, "back": back}


def _line(stay: dict[str, Any], who: Any, info: dict[str, Any], flag: str, **change: str) -> str:
    cells = {
        "setl_id": str(info["setl_id"]),
        "mdtrt_id": stay["mdtrt_id"],
        "psn_no": who.psn_no,
        "medfee_sumamt": str(info["medfee_sumamt"]),
        "fund_pay_sumamt": str(info["fund_pay_sumamt"]),
        "acct_pay": str(info["acct_pay"]),
        "refd_setl_flag": flag,
    }
    cells.update(change)
    return ",".join(cells.values())


def _detail(his: His, lines: list[str]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    today = local(utcnow()).date()
    data = {
        "setl_optins": "990100",
        "stmt_begndate": str(today.replace(day=1)),
        "stmt_enddate": str(today),
        "file_content": "\n".join([HEAD, *lines]),
    }
    out = ok(his.send(his.envelope("3202", {"data": data})))
    return out["fileinfo"], list(csv.DictReader(io.StringIO(out["file_content"])))


def _the_three(s: dict[str, Any]) -> list[str]:
    """The institution's file that agrees with the centre: two settlements, one reversal."""
    who, kept, gone = s["who"], s["kept"], s["gone"]
    return [
        _line(kept, who, kept["setlinfo"], "0"),
        _line(gone, who, gone["setlinfo"], "0"),
        _line(gone, who, s["back"]["setlinfo"], "1"),
    ]


def test_a_file_that_agrees_is_balanced(stays) -> None:  # type: ignore[no-untyped-def]
    info, rows = _detail(stays["his"], _the_three(stays))
    assert (info["stmt_rslt"], info["diff_cnt"], info["centre_cnt"]) == ("0", 0, 3)
    assert rows == []


def test_each_difference_names_the_field_and_both_values(stays) -> None:  # type: ignore[no-untyped-def]
    who, kept, gone = stays["who"], stays["kept"], stays["gone"]
    fund = Decimal(str(kept["setlinfo"]["fund_pay_sumamt"]))
    lines = _the_three(stays)
    lines[0] = _line(kept, who, kept["setlinfo"], "0", fund_pay_sumamt=str(fund + 1))
    lines[1] = _line(gone, who, gone["setlinfo"], "0", psn_no="P0000000001")
    info, rows = _detail(stays["his"], lines)
    assert (info["stmt_rslt"], info["diff_cnt"]) == ("1", 2)
    by_id = {r["setl_id"]: r["dscr"] for r in rows}
    named = f"基金支付总额（fund_pay_sumamt）：机构 {fund + 1}，中心 {fund}"
    assert by_id[kept["setl_id"]] == named
    assert by_id[gone["setl_id"]] == f"人员编号（psn_no）：机构 P0000000001，中心 {who.psn_no}"


def test_a_reversal_sent_as_a_settlement_names_the_flag_and_the_sign(stays) -> None:  # type: ignore[no-untyped-def]
    who, gone, back = stays["who"], stays["gone"], stays["back"]
    lines = _the_three(stays)
    medfee = Decimal(str(gone["setlinfo"]["medfee_sumamt"]))
    lines[2] = _line(gone, who, back["setlinfo"], "0", medfee_sumamt=str(medfee))
    _, rows = _detail(stays["his"], lines)
    [row] = rows
    assert row["setl_id"] == back["setlinfo"]["setl_id"]
    assert f"医疗费总额（medfee_sumamt）：机构 {medfee}，中心 {-medfee}" in row["dscr"]
    assert "退费结算标志（refd_setl_flag）：机构 0，中心 1" in row["dscr"]


def test_a_line_twice_and_a_settlement_missing_are_named(stays) -> None:  # type: ignore[no-untyped-def]
    kept, gone = stays["kept"], stays["gone"]
    lines = _the_three(stays)
    lines[1] = lines[0]  # gone's settlement left out, kept's sent twice
    info, rows = _detail(stays["his"], lines)
    assert (info["stmt_rslt"], info["diff_cnt"], info["fixmedins_cnt"]) == ("1", 2, 3)
    twice = [r for r in rows if r["setl_id"] == kept["setl_id"]]
    assert [r["dscr"] for r in twice] == ["明细文件中重复出现（第 3 行与第 2 行）"]
    [missing] = [r for r in rows if r["setl_id"] == gone["setl_id"]]
    # the centre's line names the visit, so that the institution can find it
    assert (missing["dscr"], missing["mdtrt_id"]) == ("机构无此结算", gone["mdtrt_id"])


def test_the_3201_totals_are_net_of_the_reversal(stays) -> None:  # type: ignore[no-untyped-def]
    kept = stays["kept"]["setlinfo"]
    today = local(utcnow()).date()
    stmt = {
        "insutype": "310",
        "clr_type": "21",
        "setl_optins": "990100",
        "stmt_begndate": str(today.replace(day=1)),
        "stmt_enddate": str(today),
        "medfee_sumamt": str(kept["medfee_sumamt"]),
        "fund_pay_sumamt": str(kept["fund_pay_sumamt"]),
        "acct_pay": str(kept["acct_pay"]),
        "fixmedins_setl_cnt": 1,
    }
    his = stays["his"]
    res = ok(his.send(his.envelope("3201", {"data": stmt})))["stmtinfo"]
    assert (res["stmt_rslt"], res["fixmedins_setl_cnt"]) == ("0", 1)
    # a period not begun yet, an unknown 险种 or a settlement centre that is no 区划
    for change, field, words in (
        ({"stmt_begndate": str(today + timedelta(days=1))}, "stmt_begndate", "晚于今天"),
        ({"insutype": "XYZ"}, "insutype", "应为 310"),
        ({"setl_optins": "ABCDEF"}, "setl_optins", "6 位数字"),
    ):
        answer = his.send(his.envelope("3201", {"data": {**stmt, **change}}))
        assert answer["infcode"] == -1 and field in answer["err_msg"], answer
        assert words in answer["err_msg"], answer
