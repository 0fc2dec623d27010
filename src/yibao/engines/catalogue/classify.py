"""Fee lines classified against a catalogue for a hospital level (ADR 0016).

Per line, with ``amount`` the line's fee (``det_item_fee_sumamt``), ``price`` its unit
price (``pric``), ``quantity`` its count (``cnt``) and ``cap`` the item's unit-price cap
at the hospital's level (``pric_uplmt_amt``):

1. ``amount`` is rounded half up to the fen (ROUND_HALF_UP: 0.005 → 0.01, and
   −0.005 → −0.01, so a refund line mirrors its charge exactly).
2. Not in the catalogue, or 丙类: the whole amount is 全自费 (``fulamt_ownpay_amt``).
3. Otherwise, over the cap: ``overlmt_amt`` = (price − cap) × quantity, rounded half up
   to the fen and kept between 0 and the amount (on the amount's side of zero).
   The capped amount is ``amount − overlmt_amt``.
4. 乙类: ``preselfpay_amt`` = ``selfpay_prop`` × the capped amount, rounded half up to
   the fen — the ratio applies to what the funds accept, not to the part over the cap,
   which the patient already pays in full.
5. ``inscp_scp_amt`` = the capped amount − ``preselfpay_amt`` (甲类: the capped amount).

Every part of a line is derived from the amount by subtraction after one rounding, so
``amount = fulamt_ownpay_amt + overlmt_amt + preselfpay_amt + inscp_scp_amt`` holds
exactly per line, and the totals (sums of the lines) satisfy
``medfee_sumamt = fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt``
to the fen.  Restrictions (限定支付范围) are not applied here: the audit rules do.

A refund line (退费: a negative line naming its charge by ``init_feedetl_sn``)
mirrors its charge's split (ADR 0045).

Classified on its own, a refund is rounded per line like any line: a charge of
3 × 3.35 = 10.05 at 10 % 先自付 gives 1.01, three refunds of −3.35 give −0.34 each,
and the refunded item leaves −0.01 先自付 and +0.01 范围内 behind; a refund after a
catalogue change would be split by the new class.  Instead each part of the charge
is refunded in proportion, on the **cumulative** refund, so that rounding never
accumulates: with ``A`` the charge's amount, ``P`` one of its parts and ``R`` every
refund of it so far including this one (negative),

    part refunded so far = half_up(P × R ÷ A);  this refund's part = that − the earlier ones'

and 范围内 takes the rest of the refund's amount.  A charge refunded in full leaves
exactly nothing in any part; the class, fee category, 先自付 ratio and cap are the
charge's.  A refund larger than what is left of its charge is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

from yibao.engines.catalogue.model import (
    CLASS_A,
    CLASS_B,
    CLASS_C,
    LEVELS,
    ZERO,
    CatalogueError,
    CatalogueItem,
)

FEN: Final = Decimal("0.01")
#: quantities, prices and amounts stay below this in magnitude (exact Decimal arithmetic
#: at 28 digits then never runs out of precision)
LIMIT: Final = Decimal(10) ** 12
#: the fee category of a line whose code the catalogue does not know (其他费)
UNKNOWN_FEE_TYPE: Final = "14"


def half_up(value: Decimal) -> Decimal:
    """Round to the fen, half away from zero (四舍五入)."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class FeeLine:
    """One fee detail line as a HIS sends it (2301 ``feedetail``): the catalogue code
    (``med_list_codg``), count, unit price and amount; ``ref`` is the line's own
    serial (``feedetl_sn``); ``fee_type`` the HIS's fee category, used only when the
    catalogue does not know the code."""

    code: str
    quantity: Decimal
    price: Decimal
    amount: Decimal
    ref: str = ""
    fee_type: str | None = None
    #: the charge a refund line (negative amount) takes back (``init_feedetl_sn``)
    init_ref: str | None = None


@dataclass(frozen=True, slots=True)
class LineSplit:
    """A classified line (field names of the 2301 output).  ``in_catalogue`` False:
    the code is unknown and the line is 全自费 with class 03."""

    ref: str
    code: str
    name: str
    in_catalogue: bool
    chrgitm_lv: str
    med_chrgitm_type: str
    cnt: Decimal
    pric: Decimal
    det_item_fee_sumamt: Decimal
    pric_uplmt_amt: Decimal | None
    selfpay_prop: Decimal
    fulamt_ownpay_amt: Decimal
    overlmt_amt: Decimal
    preselfpay_amt: Decimal
    inscp_scp_amt: Decimal


@dataclass(frozen=True, slots=True)
class FeeSplit:
    """The four parts of the total (settlement ``setlinfo``, domain.md §3.4)."""

    medfee_sumamt: Decimal
    fulamt_ownpay_amt: Decimal
    overlmt_selfpay: Decimal
    preselfpay_amt: Decimal
    inscp_scp_amt: Decimal

    @property
    def balanced(self) -> bool:
        """Whether the parts add up to the total (always, by construction)."""
        parts = (
            self.fulamt_ownpay_amt + self.overlmt_selfpay + self.preselfpay_amt + self.inscp_scp_amt
        )
        return parts == self.medfee_sumamt


@dataclass(frozen=True, slots=True)
class CategorySplit:
    """One fee category's sums, as the settlement list's ``iteminfo`` (4101): total,
    甲类 (``claa_sumfee``), 乙类 (``clab_amt``), 全自费 and the rest (``oth_amt``)."""

    med_chrgitm_type: str
    amt: Decimal
    claa_sumfee: Decimal
    clab_amt: Decimal
    fulamt_ownpay_amt: Decimal
    oth_amt: Decimal


@dataclass(frozen=True, slots=True)
class Classification:
    """Lines classified for one hospital level, their totals and the sums by fee
    category (in category order)."""

    catalogue_key: str
    hospital_level: str
    lines: tuple[LineSplit, ...]
    totals: FeeSplit
    categories: tuple[CategorySplit, ...]


def _number(value: object, what: str, ref: str) -> Decimal:
    where = f"费用明细 {ref}：" if ref else "费用明细："
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise CatalogueError(f"{where}{what}须为数字（收到 {value!r}）", field=what) from None
    if not number.is_finite():
        raise CatalogueError(f"{where}{what}须为有限的数字（收到 {value!r}）", field=what)
    if abs(number) >= LIMIT:
        raise CatalogueError(f"{where}{what}超出范围（绝对值须小于 10¹²）", field=what)
    return number


def _clamp(value: Decimal, amount: Decimal) -> Decimal:
    """``value`` kept between 0 and ``amount`` (whichever side of zero it lies)."""
    if amount >= 0:
        return min(max(value, ZERO), amount)
    return max(min(value, ZERO), amount)


def classify_line(line: FeeLine, item: CatalogueItem | None, level: str) -> LineSplit:
    """One line's four parts (module docstring)."""
    quantity = _number(line.quantity, "数量", line.ref)
    price = _number(line.price, "单价", line.ref)
    amount = half_up(_number(line.amount, "金额", line.ref))
    if price < 0:
        where = f"费用明细 {line.ref}：" if line.ref else "费用明细："
        raise CatalogueError(f"{where}单价不能为负数（收到 {price}）", field="单价")
    if item is None or item.chrgitm_lv == CLASS_C:
        return LineSplit(
            ref=line.ref,
            code=line.code,
            name=item.name if item else "",
            in_catalogue=item is not None,
            chrgitm_lv=CLASS_C,
            med_chrgitm_type=item.fee_type if item else (line.fee_type or UNKNOWN_FEE_TYPE),
            cnt=quantity,
            pric=price,
            det_item_fee_sumamt=amount,
            pric_uplmt_amt=item.cap(level) if item else None,
            selfpay_prop=Decimal(1),
            fulamt_ownpay_amt=amount,
            overlmt_amt=ZERO.quantize(FEN),
            preselfpay_amt=ZERO.quantize(FEN),
            inscp_scp_amt=ZERO.quantize(FEN),
        )
    cap = item.cap(level)
    over = ZERO
    if cap is not None and price > cap:
        over = _clamp(half_up((price - cap) * quantity), amount)
    capped = amount - over
    pre = half_up(item.selfpay_prop * capped) if item.chrgitm_lv == CLASS_B else ZERO
    return LineSplit(
        ref=line.ref,
        code=line.code,
        name=item.name,
        in_catalogue=True,
        chrgitm_lv=item.chrgitm_lv,
        med_chrgitm_type=item.fee_type,
        cnt=quantity,
        pric=price,
        det_item_fee_sumamt=amount,
        pric_uplmt_amt=cap,
        selfpay_prop=item.selfpay_prop,
        fulamt_ownpay_amt=ZERO.quantize(FEN),
        overlmt_amt=half_up(over),
        preselfpay_amt=half_up(pre),
        inscp_scp_amt=half_up(capped - pre),
    )


def classify_fees(
    lines: Iterable[FeeLine],
    catalogue: Mapping[str, CatalogueItem],
    hospital_level: str,
    *,
    catalogue_key: str = "",
    charges: Mapping[str, tuple[LineSplit, Refunded]] | None = None,
) -> Classification:
    """Classify every line against ``catalogue`` for a hospital of ``hospital_level``
    (``"1"``/``"2"``/``"3"``); totals and fee-category sums are sums of the lines.
    A refund line naming a charge (``init_ref``) of ``lines`` or of ``charges``
    (earlier lines: their split and :class:`Refunded`)
    mirrors it (:func:`mirror_refund`).

    >>> from yibao.engines.catalogue.model import CatalogueItem
    >>> drug = CatalogueItem(code="X1", name="演达沙坦片", kind="western", fee_type="09",
    ...     chrgitm_lv="02", selfpay_prop=Decimal("0.10"), caps={"3": Decimal("2.50")})
    >>> c = classify_fees([FeeLine("X1", Decimal(10), Decimal("3.00"), Decimal("30.00")),
    ...     FeeLine("NOPE", Decimal(1), Decimal("8"), Decimal("8"))], {"X1": drug}, "3")
    >>> t = c.totals
    >>> (t.medfee_sumamt, t.fulamt_ownpay_amt, t.overlmt_selfpay, t.preselfpay_amt,
    ...  t.inscp_scp_amt)
    (Decimal('38.00'), Decimal('8.00'), Decimal('5.00'), Decimal('2.50'), Decimal('22.50'))
    """
    if hospital_level not in LEVELS:
        raise CatalogueError(
            f"医院等级须为 {'、'.join(LEVELS)}（收到 {hospital_level!r}）", field="hospital_level"
        )
    split = _split(lines, catalogue, hospital_level, charges)
    totals = FeeSplit(
        medfee_sumamt=_sum(s.det_item_fee_sumamt for s in split),
        fulamt_ownpay_amt=_sum(s.fulamt_ownpay_amt for s in split),
        overlmt_selfpay=_sum(s.overlmt_amt for s in split),
        preselfpay_amt=_sum(s.preselfpay_amt for s in split),
        inscp_scp_amt=_sum(s.inscp_scp_amt for s in split),
    )
    return Classification(
        catalogue_key=catalogue_key,
        hospital_level=hospital_level,
        lines=split,
        totals=totals,
        categories=_categories(split),
    )


def _split(
    lines: Iterable[FeeLine],
    catalogue: Mapping[str, CatalogueItem],
    level: str,
    charges: Mapping[str, tuple[LineSplit, Refunded]] | None,
) -> tuple[LineSplit, ...]:
    known: dict[str, tuple[LineSplit, Refunded]] = dict(charges or {})
    out = []
    for line in lines:
        found = known.get(line.init_ref) if line.init_ref and line.amount < 0 else None
        if found is not None:
            split = mirror_refund(found[0], found[1], line)
        else:
            split = classify_line(line, catalogue.get(line.code), level)
        remember(known, line, split)
        out.append(split)
    return tuple(out)


def remember(known: dict[str, tuple[LineSplit, Refunded]], line: FeeLine, split: LineSplit) -> None:
    """Keep ``split`` in ``known``: a charge under its serial, a refund added to what
    its charge has had back."""
    if line.init_ref and line.amount < 0 and line.init_ref in known:
        charge, before = known[line.init_ref]
        known[line.init_ref] = (charge, before.plus(split))
    elif line.ref and split.det_item_fee_sumamt > 0:
        known.setdefault(line.ref, (split, Refunded()))


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, ZERO.quantize(FEN))


def _categories(lines: tuple[LineSplit, ...]) -> tuple[CategorySplit, ...]:
    out = []
    for fee_type in sorted({s.med_chrgitm_type for s in lines}):
        mine = [s for s in lines if s.med_chrgitm_type == fee_type]
        amt = _sum(s.det_item_fee_sumamt for s in mine)
        claa = _sum(s.det_item_fee_sumamt for s in mine if s.chrgitm_lv == CLASS_A)
        clab = _sum(s.det_item_fee_sumamt for s in mine if s.chrgitm_lv == CLASS_B)
        own = _sum(s.fulamt_ownpay_amt for s in mine)
        out.append(CategorySplit(fee_type, amt, claa, clab, own, amt - claa - clab - own))
    return tuple(out)


_PARTS = ("fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt")


@dataclass(frozen=True, slots=True)
class Refunded:
    """What the earlier refunds of one charge took (sums, ≤ 0)."""

    amount: Decimal = ZERO
    fulamt_ownpay_amt: Decimal = ZERO
    overlmt_amt: Decimal = ZERO
    preselfpay_amt: Decimal = ZERO
    inscp_scp_amt: Decimal = ZERO

    def plus(self, line: LineSplit) -> Refunded:
        return Refunded(
            self.amount + line.det_item_fee_sumamt,
            self.fulamt_ownpay_amt + line.fulamt_ownpay_amt,
            self.overlmt_amt + line.overlmt_amt,
            self.preselfpay_amt + line.preselfpay_amt,
            self.inscp_scp_amt + line.inscp_scp_amt,
        )


def mirror_refund(charge: LineSplit, before: Refunded, line: FeeLine) -> LineSplit:
    """The split of refund ``line`` of ``charge`` (module docstring)."""
    amount = half_up(line.amount)
    left = charge.det_item_fee_sumamt + before.amount
    if charge.det_item_fee_sumamt <= 0 or amount >= 0 or -amount > left:
        where = f"费用明细 {line.ref}：" if line.ref else "费用明细："
        raise CatalogueError(
            f"{where}退费金额 {amount} 超过原费用明细 {charge.ref} 尚未退费的 {left}"
            f"（原金额 {charge.det_item_fee_sumamt}）",
            field="init_feedetl_sn",
        )
    total = before.amount + amount
    share = total / charge.det_item_fee_sumamt
    parts = {
        name: half_up(getattr(charge, name) * share) - getattr(before, name) for name in _PARTS
    }
    inscp = amount - sum(parts.values(), ZERO)
    return replace(
        charge,
        ref=line.ref,
        cnt=line.quantity,
        pric=line.price,
        det_item_fee_sumamt=amount,
        inscp_scp_amt=inscp.quantize(FEN),
        **{name: value.quantize(FEN) for name, value in parts.items()},
    )
