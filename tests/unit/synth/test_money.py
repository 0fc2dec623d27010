from __future__ import annotations

from decimal import Decimal

import numpy as np

from yibao.engines.caseframe import FEE_COLUMNS, MONEY
from yibao.engines.synth.money import fen_to_decimal, split_fees, split_payment


def test_fen_to_decimal_is_exact() -> None:
    fen = np.array([0, 1, -1, 99, 123_456_789_012, 10**16 - 1], dtype=np.int64)
    frame = fen_to_decimal({"x": fen})
    assert frame.schema["x"] == MONEY
    assert frame["x"].to_list() == [Decimal(int(v)).scaleb(-2) for v in fen]


def test_fees_add_up_for_extreme_totals() -> None:
    rng = np.random.default_rng(0)
    n = 5_000
    total = np.concatenate([np.full(10, 20_000), rng.integers(20_000, 10**9, n - 10)]).astype(
        np.int64
    )
    los = np.concatenate([np.full(10, 150), rng.integers(1, 60, n - 10)])
    level = rng.integers(1, 4, n)
    surgical = rng.random(n) < 0.3
    procedure = surgical | (rng.random(n) < 0.3)
    fees = split_fees(total, los, level, surgical, procedure, rng.random(n) < 0.2, rng)
    assert tuple(fees) == FEE_COLUMNS
    stacked = np.stack([fees[c] for c in FEE_COLUMNS], axis=1)
    assert (stacked >= 0).all()
    assert (stacked.sum(axis=1) == total).all()
    assert (fees["fee_surgery"][~procedure] == 0).all()


def test_payment_split_is_exact() -> None:
    rng = np.random.default_rng(1)
    n = 5_000
    total = rng.integers(20_000, 10**8, n).astype(np.int64)
    employee = rng.random(n) < 0.45
    pay = split_payment(total, rng.integers(1, 4, n), employee, rng.random(n) < 0.05, rng)
    assert (pay["fund_payment"] + pay["account_payment"] + pay["cash_payment"] == total).all()
    assert min(v.min() for v in pay.values()) >= 0
    assert (pay["account_payment"][~employee] == 0).all()
    personal = pay["account_payment"] + pay["cash_payment"]
    assert (pay["self_pay_full"] + pay["self_pay_first"] <= personal).all()
