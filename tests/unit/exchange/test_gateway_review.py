"""Defects found in review of the gateway's reconciliation and fee-line upload (issue 12),
each shown by hand-computed figures.  No database: the pure parts are called."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from yibao.engines.exchange.lenient import Refused, read
from yibao.engines.exchange.settling import ReversalIn, StatementIn
from yibao.engines.exchange.visits import FeeIn
from yibao.exchange.fees import _check_line
from yibao.exchange.reconcile import _window, centre_totals

SH = ZoneInfo("Asia/Shanghai")
D = Decimal


def test_3201_a_period_with_only_a_reversal_can_be_balanced() -> None:
    """A stay settled on 2026-05-28 (1,500.00, fund 1,000.00, account 300.00) is
    reversed on 2026-06-03.  3201 for June: the centre counts the reversal −1 in June
    (ADR 0018), so its June totals are −1,500.00 / −1,000.00 / −300.00 and count −1.
    The HIS's own figures are the same (yibao.his.transactions sums setl_type 2 as −1),
    but the message is refused: ``fixmedins_setl_cnt`` must be ≥ 0, while the amounts
    may be negative.  June can never be reconciled 平."""
    june = datetime(2026, 6, 1).date(), datetime(2026, 6, 30).date()
    start, end = _window(*june, today=datetime(2026, 7, 1).date())
    row = SimpleNamespace(
        setl_time=datetime(2026, 5, 28, 10, 0, tzinfo=SH),
        reversed_at=datetime(2026, 6, 3, 10, 0, tzinfo=SH),
        medfee_sumamt=D("1500.00"),
        fund_pay_sumamt=D("1000.00"),
        acct_pay=D("300.00"),
    )
    centre = centre_totals([row], start, end)  # type: ignore[list-item]
    assert (centre.medfee_sumamt, centre.fund_pay_sumamt, centre.acct_pay, centre.count) == (
        D("-1500.00"),
        D("-1000.00"),
        D("-300.00"),
        -1,
    )
    his = {
        "data": {
            "insutype": "310",
            "clr_type": "21",
            "setl_optins": "990100",
            "stmt_begndate": "2026-06-01",
            "stmt_enddate": "2026-06-30",
            "medfee_sumamt": "-1500.00",
            "fund_pay_sumamt": "-1000.00",
            "acct_pay": "-300.00",
            "fixmedins_setl_cnt": centre.count,
        }
    }
    # the HIS's figures equal the centre's: the input must be readable (today: Refused)
    node, _ = read(StatementIn, his)
    assert node.data.fixmedins_setl_cnt == -1


def _fee(when: str) -> FeeIn:
    line = {
        "feedetl_sn": "L1",
        "mdtrt_id": "990100120260310003000000001",
        "psn_no": "P000000000001",
        "fee_ocur_time": when,
        "med_list_codg": "X1",
        "det_item_fee_sumamt": "10.00",
        "cnt": "1",
        "pric": "10.00",
    }
    data, _ = read(FeeIn, {"feedetail": [line]})
    return data


def test_a_fee_time_with_an_offset_is_dated_in_business_time() -> None:
    """Admitted 2026-03-10 00:30 Beijing time, discharged 2026-03-12.  A fee line sent
    with an offset, 2026-03-09T17:00:00+00:00, is 2026-03-10 01:00 in Beijing: inside
    the stay, and its catalogue version is the one valid on 2026-03-10.  fees.py dates it
    by ``business_time(t).date()``, which keeps the UTC wall date 2026-03-09: the line
    is refused as outside the stay (and, for a stay begun earlier, classified against
    the catalogue version of the wrong day)."""
    data = _fee("2026-03-09T17:00:00+00:00")
    visit = SimpleNamespace(
        begntime=datetime(2026, 3, 10, 0, 30, tzinfo=SH),
        endtime=datetime(2026, 3, 12, 10, 0, tzinfo=SH),
    )
    _check_line(0, data.feedetail[0], visit, date(2026, 3, 12))  # type: ignore[arg-type]


def test_a_fee_category_outside_the_bill_is_refused_by_name() -> None:
    """医疗收费项目类别 is used for a code not in the catalogue (it decides the line's
    bill category): one of 01–14, one digit read as its code, anything else refused
    naming the field of the line."""
    base = {
        "feedetl_sn": "L1",
        "mdtrt_id": "990100120260310003000000001",
        "psn_no": "P000000000001",
        "fee_ocur_time": "2026-03-10 10:00:00",
        "med_list_codg": "X1",
        "det_item_fee_sumamt": "10.00",
        "cnt": "1",
        "pric": "10.00",
    }
    for sent, read_as in (("09", "09"), ("9", "09"), (14, "14"), ("", None)):
        data, _ = read(FeeIn, {"feedetail": [base | {"med_chrgitm_type": sent}]})
        assert data.feedetail[0].med_chrgitm_type == read_as, sent
    for sent in ("99", "15", "00", "西药", "0x9"):
        with pytest.raises(Refused) as refused:
            read(FeeIn, {"feedetail": [base | {"med_chrgitm_type": sent}]})
        assert refused.value.field == "feedetail[0].med_chrgitm_type", sent
        assert "医疗收费项目类别应为 01–14 之一" in refused.value.message


def test_a_reversal_names_any_msgid_the_envelope_accepts() -> None:
    """The envelope accepts msgids of 1–50 characters (ADR 0015): 2601 must be able to
    name every one of them, else a settlement sent with a long msgid, whose answer the
    HIS never received, could not be reversed."""
    long = "H99010200001" + "20261207101010" + "0001" + "X" * 20  # 50 characters
    data, _ = read(ReversalIn, {"data": {"omsgid": long, "oinfno": "2304"}})
    assert data.data.omsgid == long
    with pytest.raises(Refused, match="omsgid"):
        read(ReversalIn, {"data": {"omsgid": long + "Y", "oinfno": "2304"}})
