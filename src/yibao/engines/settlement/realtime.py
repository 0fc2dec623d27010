"""Real-time settlement of one visit: 2303/2304 (inpatient), 2206/2207 (outpatient).

Pure (stdlib, Decimal; no database).  The caller classifies the fee lines against the
treating place's catalogue (:class:`FeeSplit`), reads the person's figures of the year
(:class:`Cumulative`) and the insured place's policy, calls :func:`settle_visit`, and
posts :attr:`Settled.delta`.  The order and the rules (ADR 0017, domain.md §3.4, §4.4):

1. fee split: ``medfee_sumamt`` = 全自费 + 超限价 + 先自付 + 政策范围内;
2. basic fund (:func:`fund_terms`): remaining deductible (per year from
   ``act_pay_dedc`` — ``otp_dedc`` for outpatient — or per stay), ratio by level and
   scope, limited by the cap remaining (``ipt_hifp`` / ``otp_hifp`` paid this year);
3. inpatient only — 大额 / 大病 on the annual cumulative ``large_base`` of the in-scope
   burden left after the basic fund, above the threshold by band, limited by its cap;
4. 公务员医疗补助 (cvlserv_flag) on the burden left after 2–3;
5. 医疗救助 by the person's best identity on the burden left after 2–4;
6. ``psn_part_amt`` = total − funds − hospital part (0 in real time); the personal
   account pays ``min(balance, psn_part_amt)`` when used, cash the rest.

Every fund is computed in integers (fen, ratios in 1/10,000) and rounded half up to the
fen once; identities are checked and a violation raises :class:`SettlementError`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import Final

from yibao.engines.catalogue.classify import FeeSplit
from yibao.engines.insured.cumulative import FUND_TYPES, Cumulative, Delta
from yibao.engines.measure.params import LEVEL_NAMES
from yibao.engines.settlement.errors import SettlementError
from yibao.engines.settlement.levels import E4
from yibao.engines.settlement.policy import SCOPE_NAMES, BenefitPolicy
from yibao.engines.settlement.realtime_parts import (
    Part,
    basic_part,
    civil_part,
    large_part,
    medical_aid_part,
    post,
    yuan,
)

#: the personal account's setldetail row [M]
ACCOUNT_FUND: Final = ("310200", "职工基本医疗保险个人账户")
ZERO: Final = Decimal("0.00")


@dataclass(frozen=True)
class PersonFacts:
    """What settlement needs of the person (1101 insuinfo / idetinfo)."""

    insutype: str  # "310" / "390"
    cvlserv_flag: bool
    identities: tuple[str, ...]  # psn_idet_type codes valid on the settlement day
    balance: Decimal | None  # personal account balance; None = no account


@dataclass(frozen=True)
class FundDetail:
    """One setldetail row."""

    fund_pay_type: str
    fund_pay_type_name: str
    inscp_scp_amt: Decimal  # the base this fund paid on
    crt_payb_lmt_amt: Decimal  # what the fund could still pay this year before this settlement
    fund_payamt: Decimal
    setl_proc_info: str  # Chinese: how this amount was computed


@dataclass(frozen=True)
class Settled:
    """One visit settled: the setlinfo figures (yuan to the fen), the setldetail rows,
    the delta to post to the person's figures and the explanation.

    ``balc`` is the account balance after the settlement, ``None`` when the person has
    no account (:meth:`setlinfo` writes 0.00 then)."""

    policy_key: str
    scope: str
    inpatient: bool
    medfee_sumamt: Decimal
    fulamt_ownpay_amt: Decimal
    overlmt_selfpay: Decimal
    preselfpay_amt: Decimal
    inscp_scp_amt: Decimal
    act_pay_dedc: Decimal
    hifp_pay: Decimal
    pool_prop_selfpay: Decimal
    cvlserv_pay: Decimal
    hifes_pay: Decimal
    hifmi_pay: Decimal
    hifob_pay: Decimal
    maf_pay: Decimal
    hosp_part_amt: Decimal
    oth_pay: Decimal
    fund_pay_sumamt: Decimal
    psn_part_amt: Decimal
    acct_pay: Decimal
    psn_cash_pay: Decimal
    acct_mulaid_pay: Decimal
    balc: Decimal | None
    details: tuple[FundDetail, ...]
    delta: Delta
    explanation: tuple[str, ...]

    @property
    def fund_details(self) -> tuple[FundDetail, ...]:
        """The rows of funds (without the account and hospital rows); they add up to
        ``fund_pay_sumamt``."""
        return tuple(d for d in self.details if d.fund_pay_type != ACCOUNT_FUND[0])

    def setlinfo(self) -> dict[str, Decimal | str]:
        """The NHSA setlinfo field names → values (``balc`` 0.00 without an account)."""
        out: dict[str, Decimal | str] = {name: getattr(self, name) for name in MONEY_FIELDS}
        out["pool_prop_selfpay"] = self.pool_prop_selfpay
        out["balc"] = ZERO if self.balc is None else self.balc
        return out

    def reversed(self, *, balance: Decimal | None = None) -> Settled:
        """The reversal (setl_type 2): every amount negated, the delta negated, so that
        it adds up to zero with this settlement.  ``pool_prop_selfpay`` (a ratio) and
        each row's ``crt_payb_lmt_amt`` (the room before the original) are kept.
        ``balc`` keeps its meaning — the balance after this transaction: ``balance``
        when the caller knows it, else this settlement's ``balc`` + ``acct_pay`` (the
        balance before it, right when nothing else moved the account)."""
        negated = {name: -getattr(self, name) for name in MONEY_FIELDS}
        balc = balance
        if balc is None and self.balc is not None:
            balc = self.balc + self.acct_pay
        details = tuple(
            replace(d, inscp_scp_amt=-d.inscp_scp_amt, fund_payamt=-d.fund_payamt)
            for d in self.details
        )
        note = "撤销结算：以下原结算各项金额取相反数，年度累计同额冲回"
        return replace(
            self,
            **negated,
            balc=balc,
            details=details,
            delta=self.delta.negated(),
            explanation=(note, *self.explanation),
        )


_NOT_MONEY: Final = frozenset(
    ("policy_key", "scope", "inpatient", "pool_prop_selfpay", "balc", "details", "delta")
) | {"explanation"}
#: the setlinfo amounts (all but the ratio and the balance)
MONEY_FIELDS: Final = tuple(f.name for f in fields(Settled) if f.name not in _NOT_MONEY)


def _fen(value: Decimal, name: str) -> int:
    if not isinstance(value, Decimal) or not value.is_finite() or value != value.quantize(ZERO):
        raise SettlementError(
            f"{name}：金额须为最多 2 位小数的 Decimal（收到 {value!r}）", field=name
        )
    return int(value * 100)


def _fees(fees: FeeSplit) -> dict[str, int]:
    parts = {
        name: _fen(getattr(fees, name), name)
        for name in (
            "medfee_sumamt",
            "fulamt_ownpay_amt",
            "overlmt_selfpay",
            "preselfpay_amt",
            "inscp_scp_amt",
        )
    }
    negative = [name for name, v in parts.items() if v < 0]
    if negative:
        raise SettlementError(f"{'、'.join(negative)}：费用不能为负数", field=negative[0])
    if parts["medfee_sumamt"] != sum(v for k, v in parts.items() if k != "medfee_sumamt"):
        raise SettlementError(
            "medfee_sumamt：医疗费总额须等于 全自费 + 超限价自付 + 先行自付 + 政策范围内费用"
            f"（{fees.medfee_sumamt} ≠ {fees.fulamt_ownpay_amt} + {fees.overlmt_selfpay} + "
            f"{fees.preselfpay_amt} + {fees.inscp_scp_amt}）",
            field="medfee_sumamt",
        )
    return parts


def _check_person(policy: BenefitPolicy, person: PersonFacts) -> None:
    if person.insutype != policy.insutype:
        raise SettlementError(
            f"insutype：参保人险种 {person.insutype} 与待遇政策 {policy.key} 的险种 "
            f"{policy.insutype} 不符",
            field="insutype",
        )
    if person.balance is not None and _fen(person.balance, "balc") < 0:
        raise SettlementError(
            f"balc：个人账户余额不能为负数（收到 {person.balance}）", field="balc"
        )


# long: the six steps of the module docstring in their order, each a call or two
def settle_visit(
    fees: FeeSplit,
    policy: BenefitPolicy,
    *,
    hospital_level: str,
    scope: str,
    inpatient: bool,
    person: PersonFacts,
    ytd: Cumulative,
    acct_used: bool,
) -> Settled:
    """Settle one visit under the insured place's ``policy`` (module docstring).

    ``ytd`` are the person's figures of the settlement's year before this settlement;
    ``acct_used`` is 2303/2207's acct_used_flag.  Raises :class:`SettlementError`
    (Chinese, naming the field) for an insutype the policy does not cover, an
    outpatient visit under a policy without ``outpatient``, an unknown level or scope,
    or fees that do not add up.
    """
    _check_person(policy, person)
    fen = _fees(fees)
    benefit = policy.benefit(hospital_level, scope, outpatient=not inpatient)
    where = f"{policy.label}，{LEVEL_NAMES[hospital_level]}医院，{SCOPE_NAMES[scope]}"
    lines = [
        f"{'住院' if inpatient else '门诊'}结算，{where}",
        f"费用：医疗费总额 {fees.medfee_sumamt} = 全自费 {fees.fulamt_ownpay_amt} + "
        f"超限价 {fees.overlmt_selfpay} + 先自付 {fees.preselfpay_amt} + "
        f"政策范围内 {fees.inscp_scp_amt}",
    ]
    basic, dedc_fen, ratio_e4 = basic_part(fen, policy, benefit, inpatient=inpatient, ytd=ytd)
    parts = [basic]
    if inpatient:
        left = fen["inscp_scp_amt"] - basic.pay_fen
        parts.append(large_part(policy.large_amount, left, ytd))
        left -= parts[-1].pay_fen
        parts.append(civil_part(policy.civil_servant, person.cvlserv_flag, left, ytd))
        left -= parts[-1].pay_fen
        parts.append(medical_aid_part(policy.medical_aid, person.identities, left, ytd))
    else:
        lines.append("门诊统筹不计大额（大病）、公务员医疗补助和医疗救助（ADR 0017）")
    lines += [p.text for p in parts]
    funds = sum(p.pay_fen for p in parts)
    psn_part = fen["medfee_sumamt"] - funds
    acct, balc, acct_line = _account(psn_part, person.balance, acct_used=acct_used)
    lines += [
        f"基金支付合计 {yuan(funds)}；个人负担 = {yuan(fen['medfee_sumamt'])} − {yuan(funds)}"
        f" − 医院负担 0.00 = {yuan(psn_part)}",
        acct_line,
    ]
    by_field = {p.setl_field: p.pay_fen for p in parts if p.setl_field}
    settled = Settled(
        policy_key=policy.key,
        scope=scope,
        inpatient=inpatient,
        **{k: yuan(v) for k, v in fen.items()},
        act_pay_dedc=yuan(dedc_fen),
        hifp_pay=yuan(basic.pay_fen),
        pool_prop_selfpay=(Decimal(ratio_e4) / E4).quantize(Decimal("0.0001")),
        cvlserv_pay=yuan(by_field.get("cvlserv_pay", 0)),
        hifes_pay=ZERO,
        hifmi_pay=yuan(by_field.get("hifmi_pay", 0)),
        hifob_pay=yuan(by_field.get("hifob_pay", 0)),
        maf_pay=yuan(by_field.get("maf_pay", 0)),
        hosp_part_amt=ZERO,
        oth_pay=ZERO,
        fund_pay_sumamt=yuan(funds),
        psn_part_amt=yuan(psn_part),
        acct_pay=yuan(acct),
        psn_cash_pay=yuan(psn_part - acct),
        acct_mulaid_pay=ZERO,
        balc=None if balc is None else yuan(balc),
        details=_details(parts, psn_part, acct, person.balance),
        delta=post(fen, parts, dedc_fen, acct, inpatient=inpatient),
        explanation=tuple(lines),
    )
    check_identities(settled, parts)
    return settled


def _account(
    psn_part_fen: int, balance: Decimal | None, *, acct_used: bool
) -> tuple[int, int | None, str]:
    """Account pay, balance after, and the explanation line."""
    if balance is None:
        return 0, None, f"无个人账户：个人现金支付 {yuan(psn_part_fen)}"
    before = _fen(balance, "balc")
    if not acct_used:
        return 0, before, f"未使用个人账户（余额 {balance}）：个人现金支付 {yuan(psn_part_fen)}"
    acct = min(before, psn_part_fen)
    return (
        acct,
        before - acct,
        f"个人账户：min(余额 {balance}, 个人负担 {yuan(psn_part_fen)}) = {yuan(acct)}；"
        f"现金 {yuan(psn_part_fen - acct)}；结算后余额 {yuan(before - acct)}",
    )


def _details(
    parts: list[Part], psn_part_fen: int, acct_fen: int, balance: Decimal | None
) -> tuple[FundDetail, ...]:
    rows = [
        FundDetail(
            p.code,
            FUND_TYPES.get(p.code, p.code),
            yuan(p.base_fen),
            yuan(p.room_fen),
            yuan(p.pay_fen),
            p.text,
        )
        for p in parts
        if p.pay_fen > 0
    ]
    if acct_fen > 0 and balance is not None:
        code, name = ACCOUNT_FUND
        rows.append(
            FundDetail(
                code,
                name,
                yuan(psn_part_fen),
                balance,
                yuan(acct_fen),
                f"个人账户支付 min(余额 {balance}, 个人负担 {yuan(psn_part_fen)})"
                f" = {yuan(acct_fen)}",
            )
        )
    return tuple(rows)


def check_identities(s: Settled, parts: list[Part]) -> None:
    """The identities every settlement keeps (ADR 0017); a violation is a bug, raised
    as :class:`SettlementError` rather than answered."""
    problems = []
    parts_sum = s.fulamt_ownpay_amt + s.overlmt_selfpay + s.preselfpay_amt + s.inscp_scp_amt
    if not (s.medfee_sumamt == parts_sum == s.fund_pay_sumamt + s.psn_part_amt + s.hosp_part_amt):
        problems.append("医疗费总额 ≠ 各部分之和 / 基金 + 个人 + 医院")
    if s.psn_part_amt != s.acct_pay + s.psn_cash_pay:
        problems.append("个人负担 ≠ 个人账户 + 现金")
    if sum((d.fund_payamt for d in s.fund_details), ZERO) != s.fund_pay_sumamt:
        problems.append("基金明细之和 ≠ 基金支付合计")
    for p in parts:
        if p.pay_fen < 0 or p.pay_fen > p.base_fen or p.pay_fen > p.room_fen:
            problems.append(f"{FUND_TYPES.get(p.code, p.code)} 支付超出基数或年度限额或为负数")
    if s.psn_cash_pay < 0 or s.acct_pay < 0:
        problems.append("个人账户或现金支付为负数")
    if problems:
        raise SettlementError(
            "结算恒等式不成立：" + "；".join(problems), field="settlement", problems=problems
        )
