"""Fee lines classified against the catalogue (ADR 0016): hand-computed examples, the
rounding rules, and — with hypothesis — the identity medfee_sumamt = 全自费 + 超限价 +
先自付 + 范围内 exact to the fen, each part checked against an independent oracle in
fractions."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.engines.catalogue import (
    CatalogueError,
    CatalogueItem,
    FeeLine,
    classify_fees,
    classify_line,
)

D = Decimal


def item(code: str = "X1", lv: str = "02", prop: str = "0.10", **kw: object) -> CatalogueItem:
    defaults: dict[str, object] = {
        "name": f"演示项目{code}",
        "kind": "western",
        "fee_type": "09",
        "chrgitm_lv": lv,
        "selfpay_prop": D({"01": "0", "03": "1"}.get(lv, prop)),
    }
    return CatalogueItem(code=code, **(defaults | kw))  # type: ignore[arg-type]


def line(code: str, qty: str, price: str, amount: str | None = None) -> FeeLine:
    amt = amount if amount is not None else str(D(qty) * D(price))
    return FeeLine(code, D(qty), D(price), D(amt))


def parts(c) -> tuple[Decimal, ...]:  # type: ignore[no-untyped-def]
    t = c.totals
    return (
        t.medfee_sumamt,
        t.fulamt_ownpay_amt,
        t.overlmt_selfpay,
        t.preselfpay_amt,
        t.inscp_scp_amt,
    )


def test_hand_computed_stay() -> None:
    cat = {
        "A": item("A", "01", caps={"3": D("20.00")}),  # 甲, under its cap
        "B": item("B", "02", "0.20", caps={"1": D("2.00"), "3": D("2.50")}),  # 乙 over cap
        "C": item("C", "03"),  # 丙
        "S": item("S", "02", "0.10", kind="service", fee_type="03"),  # 乙 without cap
    }
    lines = [
        line("A", "2", "15.00"),  # 30.00 in scope
        line("B", "10", "3.00"),  # over (3.00-2.50)×10 = 5.00; pre 20% × 25 = 5.00
        line("C", "1", "88.80"),  # 全自费 88.80
        line("S", "1", "260.00"),  # pre 26.00, in scope 234.00
        line("UNKNOWN", "3", "1.10"),  # not in the catalogue: 全自费 3.30
    ]
    c = classify_fees(lines, cat, "3")
    assert parts(c) == (D("412.10"), D("92.10"), D("5.00"), D("31.00"), D("284.00"))
    assert c.totals.balanced
    b = c.lines[1]
    assert (b.pric_uplmt_amt, b.overlmt_amt, b.preselfpay_amt, b.inscp_scp_amt) == (
        D("2.50"),
        D("5.00"),
        D("5.00"),
        D("20.00"),
    )
    unknown = c.lines[4]
    assert not unknown.in_catalogue and unknown.chrgitm_lv == "03"
    assert unknown.med_chrgitm_type == "14"
    # the same stay in a 一级 hospital meets B's lower cap: (3.00-2.00)×10 = 10.00 over
    one = classify_fees(lines, cat, "1")
    assert parts(one) == (D("412.10"), D("92.10"), D("10.00"), D("30.00"), D("280.00"))


def test_preselfpay_is_on_the_capped_amount_not_the_whole() -> None:
    c = classify_line(line("B", "10", "3.00"), item("B", caps={"3": D("2.50")}), "3")
    assert c.preselfpay_amt == D("2.50")  # 10 % of 25.00, not of 30.00
    assert c.overlmt_amt == D("5.00")


def test_rounding_half_up_per_line() -> None:
    c = classify_line(FeeLine("B", D(1), D("0.125"), D("0.125")), item("B", prop="0.10"), "2")
    assert c.det_item_fee_sumamt == D("0.13")  # the amount itself, half up
    assert c.preselfpay_amt == D("0.01")  # 0.10 × 0.13 = 0.013
    c = classify_line(FeeLine("B", D(1), D("0.15"), D("0.15")), item("B", prop="0.10"), "2")
    assert c.preselfpay_amt == D("0.02")  # 0.015 → 0.02 (half up, not to even)
    assert c.inscp_scp_amt == D("0.13")
    over = classify_line(
        FeeLine("B", D("3"), D("1.005"), D("3.02")), item("B", caps={"2": D("1.00")}), "2"
    )
    assert over.overlmt_amt == D("0.02")  # 0.005 × 3 = 0.015 → 0.02


def test_over_cap_never_exceeds_the_amount() -> None:
    # a HIS whose amount disagrees with price × quantity: the over-cap part stays inside it
    c = classify_line(FeeLine("B", D(10), D("9.00"), D("12.00")), item("B", caps={"3": D(1)}), "3")
    assert c.overlmt_amt == D("12.00") and c.preselfpay_amt == D("0.00")
    assert c.inscp_scp_amt == D("0.00")


def test_a_refund_line_mirrors_its_charge() -> None:
    cat = {"B": item("B", prop="0.15", caps={"2": D("7.33")})}
    charge = classify_fees([line("B", "3", "8.05")], cat, "2")
    refund = classify_fees([line("B", "-3", "8.05")], cat, "2")
    assert parts(refund) == tuple(-p for p in parts(charge))
    both = classify_fees([line("B", "3", "8.05"), line("B", "-3", "8.05")], cat, "2")
    assert set(parts(both)) == {D("0.00")}


def test_categories_sum_the_lines() -> None:
    cat = {
        "A": item("A", "01"),
        "B": item("B", "02"),
        "M": item("M", "02", kind="material", fee_type="08"),
        "C": item("C", "03"),
    }
    c = classify_fees(
        [line("A", "1", "10"), line("B", "1", "20"), line("M", "1", "5"), line("C", "1", "7")],
        cat,
        "3",
    )
    by = {x.med_chrgitm_type: x for x in c.categories}
    assert set(by) == {"08", "09"}
    assert (by["09"].amt, by["09"].claa_sumfee, by["09"].clab_amt) == (D(37), D(10), D(20))
    assert by["09"].fulamt_ownpay_amt == D(7) and by["09"].oth_amt == D(0)
    assert by["08"].clab_amt == D(5)
    assert sum(x.amt for x in c.categories) == c.totals.medfee_sumamt


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ({"hospital_level": "4"}, "医院等级"),
        ({"price": D("-1")}, "单价不能为负数"),
        ({"amount": "abc"}, "金额须为数字"),
        ({"quantity": D("NaN")}, "数量须为有限的数字"),
    ],
)
def test_bad_input_is_refused_in_chinese(bad: dict[str, object], words: str) -> None:
    level = str(bad.pop("hospital_level", "3"))
    fields: dict[str, object] = {"quantity": D(1), "price": D(1), "amount": D(1)} | bad
    with pytest.raises(CatalogueError, match=words):
        classify_fees([FeeLine("B", **fields)], {"B": item("B")}, level)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"chrgitm_lv": "01", "selfpay_prop": D("0.1")}, "甲类项目的先自付比例须为 0"),
        ({"chrgitm_lv": "03", "selfpay_prop": D("0.5")}, "丙类项目全部自付"),
        ({"chrgitm_lv": "02", "selfpay_prop": D("1")}, "乙类项目的先自付比例须小于 1"),
        ({"chrgitm_lv": "04"}, "甲乙类须为"),
        ({"code": "X 1"}, "医保编码"),
        ({"caps": {"3": D("-1")}}, "三级医院限价不能为负数"),
        ({"fee_type": "15"}, "收费项目类别须为 01–14"),
    ],
)
def test_bad_items_are_refused(kw: dict[str, object], words: str) -> None:
    base: dict[str, object] = {
        "code": "X1",
        "name": "演示",
        "kind": "western",
        "fee_type": "09",
        "chrgitm_lv": "02",
        "selfpay_prop": D("0.1"),
    }
    with pytest.raises(CatalogueError, match=words):
        CatalogueItem(**(base | kw))  # type: ignore[arg-type]


# ------------------------------------------------------------------------- properties


def _half_up(x: Fraction) -> Fraction:
    """Round a fraction to whole fen, half away from zero (the oracle's own)."""
    fen = x * 100
    sign = -1 if fen < 0 else 1
    whole, rest = divmod(abs(fen), 1)
    return Fraction(sign * (whole + (1 if rest >= Fraction(1, 2) else 0)), 100)


def _oracle(ln: FeeLine, it: CatalogueItem | None, level: str) -> tuple[Fraction, ...]:
    amount = _half_up(Fraction(ln.amount))
    if it is None or it.chrgitm_lv == "03":
        return (amount, Fraction(0), Fraction(0), amount)
    cap = it.cap(level)
    over = Fraction(0)
    if cap is not None and ln.price > cap:
        raw = _half_up((Fraction(ln.price) - Fraction(cap)) * Fraction(ln.quantity))
        lo, hi = sorted((Fraction(0), amount))
        over = min(max(raw, lo), hi)
    pre = _half_up(Fraction(it.selfpay_prop) * (amount - over)) if it.chrgitm_lv == "02" else 0
    return (Fraction(0), over, Fraction(pre), amount)


decimals = st.decimals(min_value=D("-999"), max_value=D("99999"), places=3, allow_nan=False)
prices = st.decimals(min_value=D(0), max_value=D("5000"), places=4, allow_nan=False)
quantities = st.decimals(min_value=D("-50"), max_value=D("500"), places=2, allow_nan=False)
caps = st.one_of(st.none(), st.decimals(min_value=D(0), max_value=D("3000"), places=2))
ratios = st.decimals(min_value=D(0), max_value=D("0.9999"), places=4)


@st.composite
def catalogues(draw: st.DrawFn) -> dict[str, CatalogueItem]:
    out = {}
    for i in range(draw(st.integers(1, 6))):
        lv = draw(st.sampled_from(["01", "02", "03"]))
        level_caps = {k: c for k in "123" if (c := draw(caps)) is not None}
        fixed = {"01": D(0), "03": D(1)}
        prop = fixed[lv] if lv in fixed else draw(ratios)
        out[f"C{i}"] = item(f"C{i}", lv, caps=level_caps, selfpay_prop=prop)
    return out


@st.composite
def stays(draw: st.DrawFn) -> tuple[dict[str, CatalogueItem], list[FeeLine], str]:
    cat = draw(catalogues())
    codes = [*cat, "MISSING"]
    lines = []
    for _ in range(draw(st.integers(0, 25))):
        qty, price = draw(quantities), draw(prices)
        exact = draw(st.booleans())
        amount = qty * price if exact else draw(decimals)
        lines.append(FeeLine(draw(st.sampled_from(codes)), qty, price, amount))
    return cat, lines, draw(st.sampled_from(["1", "2", "3"]))


@settings(max_examples=400, deadline=None)
@given(stays())
def test_identity_holds_to_the_fen(stay: tuple[dict[str, CatalogueItem], list[FeeLine], str]):  # type: ignore[no-untyped-def]
    cat, lines, level = stay
    c = classify_fees(lines, cat, level)
    t = c.totals
    assert t.medfee_sumamt == (
        t.fulamt_ownpay_amt + t.overlmt_selfpay + t.preselfpay_amt + t.inscp_scp_amt
    )
    for value in parts(c):
        assert value == value.quantize(D("0.01"))
    for ln, s in zip(lines, c.lines, strict=True):
        own, over, pre, amount = _oracle(ln, cat.get(ln.code), level)
        assert Fraction(s.det_item_fee_sumamt) == amount
        assert (Fraction(s.fulamt_ownpay_amt), Fraction(s.overlmt_amt)) == (own, over)
        assert Fraction(s.preselfpay_amt) == pre
        assert Fraction(s.inscp_scp_amt) == amount - own - over - pre
        # every part lies on the amount's side of zero and within it
        for part in (s.fulamt_ownpay_amt, s.overlmt_amt, s.preselfpay_amt, s.inscp_scp_amt):
            assert abs(part) <= abs(s.det_item_fee_sumamt)
            assert part == 0 or (part > 0) == (s.det_item_fee_sumamt > 0)


@settings(max_examples=200, deadline=None)
@given(stays())
def test_refunds_cancel_exactly(stay: tuple[dict[str, CatalogueItem], list[FeeLine], str]):  # type: ignore[no-untyped-def]
    cat, lines, level = stay
    back = [FeeLine(x.code, -x.quantity, x.price, -x.amount) for x in lines]
    assert parts(classify_fees(back, cat, level)) == tuple(
        -p for p in parts(classify_fees(lines, cat, level))
    )


def test_numbers_out_of_range_are_refused() -> None:
    with pytest.raises(CatalogueError, match="金额超出范围"):
        classify_fees([FeeLine("B", D(1), D(1), D("1e999999"))], {"B": item("B")}, "3")
