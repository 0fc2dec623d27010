"""The funds of a real-time settlement, one function per layer (ADR 0017), and the
delta it posts.  Integers: fen, ratios in 1/10,000; each fund rounded half up to the
fen once.  Used by :mod:`yibao.engines.settlement.realtime`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from yibao.engines.insured.cumulative import FUND_TYPES, Cumulative, Delta, settlement_delta
from yibao.engines.insured.messages import IDENTITIES
from yibao.engines.settlement.benefit import fund_terms
from yibao.engines.settlement.errors import SettlementError
from yibao.engines.settlement.layers import (
    CIVIL_SERVANT_FUND,
    MEDICAL_AID_FUND,
    CivilServantLayer,
    LargeAmountLayer,
    MedicalAidLayer,
)
from yibao.engines.settlement.levels import E4, Segment
from yibao.engines.settlement.policy import Benefit, BenefitPolicy
from yibao.kit.money import fen_to_yuan


@dataclass(frozen=True, slots=True)
class Part:
    """One fund's payment: its code (``""`` when the layer does not apply), setlinfo
    field, the base it paid on, the room under its annual cap before this settlement,
    what it paid, and how (Chinese)."""

    code: str
    setl_field: str | None
    base_fen: int
    room_fen: int
    pay_fen: int
    text: str


def yuan(fen: int) -> Decimal:
    """Fen → yuan to the fen."""
    return fen_to_yuan(fen)


def half_up(e4: int) -> int:
    """An amount in 1/10,000 fen (≥ 0) rounded half up to the fen."""
    return (2 * e4 + E4) // (2 * E4)


def percent(ratio_e4: int) -> str:
    return f"{(Decimal(ratio_e4) / 100).normalize():f}%"


def _ytd(ytd: Cumulative, cum_type: str) -> int:
    return int(ytd.get(cum_type) * 100)


def _name(code: str) -> str:
    return f"{code} {FUND_TYPES.get(code, '基金')}"


def _bands_text(segments: Iterable[Segment]) -> str:
    return "；".join(
        f"{yuan(s.lower)}–{'以上' if s.upper is None else yuan(s.upper)} {percent(s.ratio_e4)}"
        for s in segments
    )


def basic_part(
    fen: Mapping[str, int],
    policy: BenefitPolicy,
    benefit: Benefit,
    *,
    inpatient: bool,
    ytd: Cumulative,
) -> tuple[Part, int, int]:
    """The basic pooled fund (:func:`fund_terms`), the deductible applied
    (``act_pay_dedc``) and the ratio (1/10,000)."""
    code = policy.basic_fund_type
    if code is None:
        raise SettlementError(
            f"fund_pay_type：策略 {policy.key} 的险种 {policy.insutype} 须指定基本统筹基金编码",
            field="fund_pay_type",
        )
    per_stay = inpatient and policy.deductible_per == "stay"
    dedc_type, paid_type = ("act_pay_dedc", "ipt_hifp") if inpatient else ("otp_dedc", "otp_hifp")
    dedc_paid = 0 if per_stay else max(0, _ytd(ytd, dedc_type))
    fund_paid = _ytd(ytd, paid_type)
    room = max(0, benefit.cap_fen - fund_paid)
    terms = fund_terms(
        fen["medfee_sumamt"],
        fen["fulamt_ownpay_amt"] + fen["overlmt_selfpay"],
        fen["preselfpay_amt"],
        benefit,
        deductible_paid_fen=dedc_paid,
    )
    pay = min(terms.fund_fen, room)
    dedc = min(terms.deductible_fen, terms.in_scope_fen)
    ratio = (
        percent(benefit.segments[0].ratio_e4)
        if len(benefit.segments) == 1
        else f"分段比例（{_bands_text(benefit.segments)}，折合 {percent(terms.ratio_e4)}）"
    )
    text = (
        f"基本统筹（{_name(code)}）：起付线 {yuan(benefit.deductible_fen)}"
        + ("按次计算" if per_stay else f"，本年已付 {yuan(dedc_paid)}")
        + f"，本次计入 {yuan(dedc)}；(政策范围内 {yuan(terms.in_scope_fen)} − "
        f"{yuan(terms.deductible_fen)}) × {ratio} = {yuan(terms.fund_fen)}；"
        f"年度封顶线 {yuan(benefit.cap_fen)}，"
        f"已付 {yuan(fund_paid)}，剩余 {yuan(room)} → 支付 {yuan(pay)}"
        + ("（已达封顶线）" if pay < terms.fund_fen else "")
    )
    part = Part(code, "hifp_pay", terms.in_scope_fen, room, pay, text)
    return part, dedc, terms.ratio_e4


def _above(x: int, threshold: int, segments: Iterable[Segment]) -> int:
    """f(x) in 1/10,000 fen: Σ ratio × overlap of (x − threshold) with each band."""
    y = x - threshold
    total = 0
    for s in segments:
        top = y if s.upper is None else min(s.upper, y)
        total += s.ratio_e4 * max(0, top - s.lower)
    return total


def large_part(layer: LargeAmountLayer | None, base: int, ytd: Cumulative) -> Part:
    """大额 / 大病: f(before + base) − f(before) on the annual cumulative ``large_base``,
    rounded half up once, limited by the cap remaining."""
    if layer is None:
        return Part("", None, base, 0, 0, "大额（大病）：本政策未设")
    before = _ytd(ytd, "large_base")
    threshold = int(layer.threshold * 100)
    segments = layer.segments()
    raw = half_up(_above(before + base, threshold, segments) - _above(before, threshold, segments))
    cap = int(layer.annual_cap * 100)
    paid = _ytd(ytd, "fund:" + layer.fund_pay_type)
    room = max(0, cap - paid)
    pay = min(raw, room)
    text = (
        f"大额（大病）（{_name(layer.fund_pay_type)}）："
        f"基数 = 政策范围内 − 基本统筹 = {yuan(base)}；"
        f"本年累计 {yuan(before)} → {yuan(before + base)}，起付标准 {yuan(threshold)} 以上按"
        f"（{_bands_text(segments)}）= {yuan(raw)}；年度限额 {yuan(cap)}，已付 {yuan(paid)}，"
        f"剩余 {yuan(room)} → 支付 {yuan(pay)}"
    )
    return Part(layer.fund_pay_type, layer.setl_field, base, room, pay, text)


def _ratio_part(
    code: str, field: str, label: str, base: int, ratio_e4: int, cap_fen: int, ytd: Cumulative
) -> Part:
    raw = half_up(base * ratio_e4)
    paid = _ytd(ytd, "fund:" + code)
    room = max(0, cap_fen - paid)
    pay = min(raw, room)
    text = (
        f"{label}（{_name(code)}）：剩余政策范围内负担 {yuan(base)} × {percent(ratio_e4)} = "
        f"{yuan(raw)}；年度限额 {yuan(cap_fen)}，已付 {yuan(paid)}，剩余 {yuan(room)} → "
        f"支付 {yuan(pay)}"
    )
    return Part(code, field, base, room, pay, text)


def civil_part(
    layer: CivilServantLayer | None, civil_servant: bool, base: int, ytd: Cumulative
) -> Part:
    """公务员医疗补助: ratio × the burden left, for cvlserv_flag 1, limited by its cap."""
    if layer is None or not civil_servant:
        why = "本政策未设" if layer is None else "非公务员"
        return Part("", None, base, 0, 0, f"公务员医疗补助：{why}")
    cap = int(layer.annual_cap * 100)
    return _ratio_part(
        CIVIL_SERVANT_FUND,
        "cvlserv_pay",
        "公务员医疗补助",
        base,
        int(layer.ratio * E4),
        cap,
        ytd,
    )


def medical_aid_part(
    layer: MedicalAidLayer | None, identities: Iterable[str], base: int, ytd: Cumulative
) -> Part:
    """医疗救助 by the person's most favourable identity: the one that pays the most
    this time (its ratio and what its annual cap leaves of the year's aid), ties as
    :meth:`MedicalAidLayer.best` prefers."""
    held = [] if layer is None else layer.held(identities)
    if not held:
        why = "本政策未设" if layer is None else "无符合条件的救助对象身份"
        return Part("", None, base, 0, 0, f"医疗救助：{why}")
    options = []
    for code, terms in held:
        cap = int(terms.annual_cap * 100)
        label = f"医疗救助·{IDENTITIES[code]}"
        part = _ratio_part(
            MEDICAL_AID_FUND, "maf_pay", label, base, int(terms.ratio * E4), cap, ytd
        )
        options.append((part.pay_fen, terms.ratio, terms.annual_cap, -int(code), part))
    return max(options, key=lambda o: o[:4])[4]


def post(
    fen: Mapping[str, int], parts: list[Part], dedc_fen: int, acct_fen: int, *, inpatient: bool
) -> Delta:
    """The delta of the settlement: :func:`settlement_delta` (the outpatient deductible
    goes to ``otp_dedc``, not ``act_pay_dedc``) plus ``ipt_hifp`` and ``large_base``
    (inpatient) or ``otp_dedc`` and ``otp_hifp`` (outpatient)."""
    funds = {p.code: yuan(p.pay_fen) for p in parts if p.pay_fen > 0}
    paid = sum(p.pay_fen for p in parts)
    basic = parts[0].pay_fen
    values = dict(
        settlement_delta(
            medfee_sumamt=yuan(fen["medfee_sumamt"]),
            inscp_scp_amt=yuan(fen["inscp_scp_amt"]),
            act_pay_dedc=yuan(dedc_fen if inpatient else 0),
            funds=funds,
            acct_pay=yuan(acct_fen),
            psn_cash_pay=yuan(fen["medfee_sumamt"] - paid - acct_fen),
            inpatient=inpatient,
        ).values
    )
    if inpatient:
        values["ipt_hifp"] = yuan(basic)
        values["large_base"] = yuan(fen["inscp_scp_amt"] - basic)
    else:
        values["otp_dedc"] = yuan(dedc_fen)
        values["otp_hifp"] = yuan(basic)
    return Delta(values)
