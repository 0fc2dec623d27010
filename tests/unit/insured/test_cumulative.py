"""Annual cumulative figures: a settlement's delta and its reversal restore exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.engines.insured import Cumulative, CumulativeError, Delta, settlement_delta, total_of

D = Decimal
money = st.decimals(min_value=D(0), max_value=D("999999.99"), places=2)


def test_settlement_delta_sums_the_funds_and_counts_the_stay() -> None:
    d = settlement_delta(
        medfee_sumamt=D("12000.00"),
        inscp_scp_amt=D("10000.00"),
        act_pay_dedc=D("800.00"),
        funds={"310100": D("7360.00"), "330100": D("0.00")},
        acct_pay=D("500.00"),
        psn_cash_pay=D("4140.00"),
    )
    assert d.values["fund_pay_sumamt"] == D("7360.00")
    assert d.values["ipt_cnt"] == 1 and "otp_cnt" not in d.values
    assert "fund:330100" not in d.values  # zeros are not posted
    assert d.acct_pay == D("500.00")
    after = Cumulative(2025).plus(d)
    assert after.deductible_paid == D("800.00") and after.fund_paid("310100") == D("7360.00")
    assert after.plus(d.negated()).values == {}
    assert Delta.from_json(d.as_json()) == d


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"act_pay_dedc": D("-1")}, "已付起付线不能为负数"),
        ({"funds": {"31010": D(1)}}, "6 位数字"),
        ({"medfee_sumamt": D("1.001")}, "最多 2 位小数"),
        ({"medfee_sumamt": D("1e40")}, "超出范围"),
    ],
)
def test_bad_deltas(kw: dict[str, object], words: str) -> None:
    base: dict[str, object] = {
        "medfee_sumamt": D(1),
        "inscp_scp_amt": D(1),
        "act_pay_dedc": D(0),
        "funds": {},
    }
    with pytest.raises(CumulativeError, match=words):
        settlement_delta(**(base | kw))  # type: ignore[arg-type]
    with pytest.raises(CumulativeError, match="不认识的累计类别"):
        Delta({"colour": D(1)})


@given(st.lists(st.tuples(money, money, money, money, st.booleans()), max_size=12), st.data())
def test_any_reversal_restores_exactly(postings, data) -> None:  # type: ignore[no-untyped-def]
    deltas = [
        settlement_delta(
            medfee_sumamt=a + b,
            inscp_scp_amt=a,
            act_pay_dedc=c,
            funds={"310100": b, "610100": e},
            inpatient=ip,
        )
        for a, b, c, e, ip in postings
    ]
    indexes = st.sets(st.integers(0, len(deltas) - 1)) if deltas else st.just(set())
    undone = data.draw(indexes)
    kept = [d for i, d in enumerate(deltas) if i not in undone]
    with_reversals = deltas + [deltas[i].negated() for i in sorted(undone)]
    assert total_of(2025, with_reversals) == total_of(2025, kept)
