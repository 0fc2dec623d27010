"""Money primitives: bill items add up to the total; fund + personal = total."""

from __future__ import annotations

from decimal import Decimal

from pydantic import field_validator

from yibao.engines.qc.checks.base import (
    CheckFn,
    FieldRef,
    Params,
    PlanView,
    Primitive,
    Reporter,
    check_setl_only,
)
from yibao.engines.qc.findings import Finding
from yibao.engines.qc.intake import ParsedList
from yibao.engines.qc.schema import SettlementList, label, parse_ref, path_of
from yibao.engines.qc.values import to_decimal


def _total(values: list[Decimal | None]) -> Decimal | None:
    """Sum, or ``None`` when any value is ``None`` (unreadable)."""
    total = Decimal(0)
    for value in values:
        if value is None:
            return None
        total += value
    return total


def _amount(text: str | None) -> Decimal | None:
    """A money field's value: 0 when absent, ``None`` when unreadable."""
    return Decimal(0) if text is None else to_decimal(text)


class FeeSumParams(Params):
    """Σ iteminfo.amt = setlinfo.medfee_sumamt; with ``check_item_parts`` also
    甲类 + 乙类 + 全自费 + 其他 = 金额 for items that give the parts."""

    tolerance: Decimal = Decimal("0.00")
    check_item_parts: bool = True


def _fee_sum(params: FeeSumParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    tol = params.tolerance

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        if not msg.iteminfo:
            return
        amounts = [to_decimal(item.amt) for item in msg.iteminfo]
        total_text = msg.setlinfo.medfee_sumamt
        total = to_decimal(total_text)
        items = _total(amounts)
        if total is not None and items is not None and abs(items - total) > tol:
            problem = f"与收费项目金额合计 {items} 元不符（相差 {total - items} 元）"
            where = "setlinfo.medfee_sumamt"
            rep.emit(p, out, where, label("setlinfo", "medfee_sumamt"), total_text, problem)
        if params.check_item_parts:
            _item_parts(tol, rep, p, msg, amounts, out)

    return check


def _item_parts(
    tol: Decimal,
    rep: Reporter,
    p: ParsedList,
    msg: SettlementList,
    amounts: list[Decimal | None],
    out: list[Finding],
) -> None:
    for i, (item, amt) in enumerate(zip(msg.iteminfo, amounts, strict=True)):
        a, b, c, d = item.claa_sumfee, item.clab_amt, item.fulamt_ownpay_amt, item.oth_amt
        if amt is None or (a is None and b is None and c is None and d is None):
            continue
        summed = _total([Decimal(0) if t is None else to_decimal(t) for t in (a, b, c, d)])
        if summed is not None and abs(summed - amt) > tol:
            problem = f"不等于甲类 + 乙类 + 全自费 + 其他 = {summed} 元"
            where = path_of("iteminfo", i, "amt")
            rep.emit(p, out, where, label("iteminfo", "amt"), item.amt, problem)


class PaymentSumParams(Params):
    """fund (first filled of ``fund_fields``) + Σ ``personal_fields`` + Σ
    ``hospital_fields`` = medfee_sumamt (the settlement's identity medfee_sumamt =
    fund_pay_sumamt + psn_part_amt + hosp_part_amt, domain.md §3.4);
    Σ ``self_pay_fields`` ≤ Σ ``personal_fields`` (parts of what the person paid).
    Skipped when no payment field is filled (a bare 4101A list)."""

    tolerance: Decimal = Decimal("0.00")
    fund_fields: tuple[FieldRef, ...] = ("setlinfo.fund_pay_sumamt", "setlinfo.hifp_pay")
    personal_fields: tuple[FieldRef, ...] = ("setlinfo.acct_pay", "setlinfo.psn_cash_pay")
    hospital_fields: tuple[FieldRef, ...] = ("setlinfo.hosp_part_amt",)
    self_pay_fields: tuple[FieldRef, ...] = (
        "setlinfo.fulamt_ownpay_amt",
        "setlinfo.preselfpay_amt",
    )

    @field_validator("fund_fields", "personal_fields", "hospital_fields", "self_pay_fields")
    @classmethod
    def _setl(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        check_setl_only(value, "支付字段")
        return value


def _payment_sum(params: PaymentSumParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    fund_names = [parse_ref(r)[1] for r in params.fund_fields]
    personal = [parse_ref(r)[1] for r in params.personal_fields]
    hospital = [parse_ref(r)[1] for r in params.hospital_fields]
    self_pay = [parse_ref(r)[1] for r in params.self_pay_fields]
    tol = params.tolerance
    words = "、".join(label("setlinfo", n) for n in personal)

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        s = msg.setlinfo
        total_text = s.medfee_sumamt
        if total_text is None:
            return
        fund_name = None
        for name in fund_names:
            if getattr(s, name) is not None:
                fund_name = name
                break
        texts = [getattr(s, n) for n in personal]
        if fund_name is None and texts.count(None) == len(texts):
            return  # no payment given (a bare 4101A list)
        total = to_decimal(total_text)
        fund = Decimal(0) if fund_name is None else to_decimal(getattr(s, fund_name))
        person = _total([Decimal(0) if t is None else to_decimal(t) for t in texts])
        borne = _total([_amount(getattr(s, n)) for n in hospital])
        if total is None or fund is None or person is None or borne is None:
            return  # unreadable amounts: the format rule reports them
        if abs(fund + person + borne - total) > tol:
            shown = label("setlinfo", fund_name or fund_names[0])
            parts = f"{shown} {fund} + {words} {person}"
            if borne:
                parts += f" + {'、'.join(label('setlinfo', n) for n in hospital)} {borne}"
            problem = (
                f"不等于{parts} = {fund + person + borne} 元"
                f"（相差 {total - fund - person - borne} 元）"
            )
            where = "setlinfo.medfee_sumamt"
            rep.emit(p, out, where, label("setlinfo", "medfee_sumamt"), total_text, problem)
        own_sum = Decimal(0)
        for name in self_pay:
            value = to_decimal(getattr(s, name))
            if value is not None:
                own_sum += value
        if own_sum > person + tol:
            first = self_pay[0]
            others = "、".join(label("setlinfo", n) for n in self_pay[1:])
            problem = (
                f"与{others}合计 {own_sum} 元，超过个人负担 {person} 元（{words}）"
                if others
                else f"超过个人负担 {person} 元（{words}）"
            )
            rep.emit(
                p, out, "setlinfo." + first, label("setlinfo", first), getattr(s, first), problem
            )

    return check


class PositiveParams(Params):
    """Each of ``fields`` (``setlinfo`` amounts), when it reads as a number, is above 0:
    an inpatient stay that cost nothing is no stay to settle (a list with 医疗费总额
    0.00 and no fee items was priced at 0.00 and took a place in the hospital's
    special-case quota)."""

    fields: tuple[FieldRef, ...] = ("setlinfo.medfee_sumamt",)

    @field_validator("fields")
    @classmethod
    def _setl(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        check_setl_only(value, "fields")
        return value


def _positive(params: PositiveParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    names = [parse_ref(ref)[1] for ref in params.fields]

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        for name in names:
            text = getattr(msg.setlinfo, name)
            value = None if text is None else to_decimal(text)
            if value is not None and value <= 0:
                problem = "应大于 0（住院费用为零或负数的清单不能结算）"
                rep.emit(p, out, f"setlinfo.{name}", label("setlinfo", name), text, problem)

    return check


PRIMITIVES = (
    Primitive("positive", "金额大于零", PositiveParams, _positive),
    Primitive("fee_sum", "费用明细合计", FeeSumParams, _fee_sum),
    Primitive("payment_sum", "支付合计", PaymentSumParams, _payment_sum),
)
