"""What is audited: a claim = one patient, one encounter (就诊) and its order/fee lines.

The fields follow 3101/3102 (明细审核事前 / 事中分析, domain.md §4.2) so that the endpoint
maps them one to one: ``patient_dtos`` → :class:`Patient`, ``fsi_encounter_dtos`` →
:class:`Encounter` (with ``fsi_diagnose_dtos`` → ``diagnoses`` and
``fsi_operation_dtos`` → ``operations``), ``fsi_order_dtos`` → :class:`Line`.  Field
names of the interface are given per attribute; [S] seen in HIS vendor code, [M] not
verified.

Lines with a quantity of zero or less (refunds, corrections) are not audited: the
caller nets refunds into their original line first (ADR 0020; :func:`net_refunds`
for stored lines that name their charge).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final, Literal

from yibao.engines.audit.errors import AuditError

CareMode = Literal["ipt", "otp"]
CARE_MODES: Final[dict[str, str]] = {"ipt": "住院", "otp": "门诊"}
SEXES: Final[dict[str, str]] = {"1": "男", "2": "女", "0": "未知", "9": "未说明"}
LEVELS: Final = ("1", "2", "3")
#: places of the numbers a line may carry (the batch path holds them as scaled integers)
QTY_PLACES: Final = 4
PRICE_PLACES: Final = 6
AMOUNT_PLACES: Final = 2
_LIMIT: Final = Decimal(10) ** 9


@dataclass(frozen=True, slots=True)
class Patient:
    """``patient_dtos``: ``psn_no`` ← ``patn_id`` [S], ``sex`` ← ``gend`` [S] (GB/T
    2261.1: 1 男, 2 女; 0/9 unknown: sex rules do not apply), ``birth_date`` ← ``brdy``
    [S]."""

    psn_no: str
    sex: str
    birth_date: date

    def __post_init__(self) -> None:
        if not self.psn_no:
            raise AuditError("参保人：patn_id（人员编号）不能为空", field="patn_id")
        if self.sex not in SEXES:
            raise AuditError(
                f"参保人：性别（gend）须为 1、2、0 或 9（收到“{self.sex}”）", field="gend"
            )


@dataclass(frozen=True, slots=True)
class Encounter:
    """``fsi_encounter_dtos``: ``mdtrt_id`` ← ``mdtrt_id`` [S]; ``care_mode`` ←
    ``med_mdtrt_type`` [S] (1 门诊 and 3 购药 → ``otp``, 2 住院 → ``ipt``);
    ``hospital_level`` ← ``medins_lv`` mapped to 1/2/3 [M]; ``dept_code`` ←
    ``adm_dept_codg`` [S] (a line's own department wins, see :class:`Line`);
    ``begin_date`` ← ``adm_date`` [S]; ``end_date`` ← ``dscg_date`` [S] (None while
    in hospital); ``insutype`` ← ``insutype`` [S] (3101 carries the insurance type on
    the encounter, not the patient); ``diagnoses`` ← ``fsi_diagnose_dtos[].dise_codg``
    [S] with the principal (``maindise_flag`` 1) first; ``operations`` ←
    ``fsi_operation_dtos[].oprn_code`` [M]."""

    mdtrt_id: str
    care_mode: CareMode
    hospital_level: str
    begin_date: date
    end_date: date | None = None
    dept_code: str = ""
    insutype: str = ""
    diagnoses: tuple[str, ...] = ()
    operations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.mdtrt_id:
            raise AuditError("就诊信息：mdtrt_id（就诊ID）不能为空", field="mdtrt_id")
        if self.care_mode not in CARE_MODES:
            raise AuditError(
                f"就诊信息：就诊类型（med_mdtrt_type）须为 ipt 或 otp（收到“{self.care_mode}”）",
                field="med_mdtrt_type",
            )
        if self.hospital_level not in LEVELS:
            raise AuditError(
                f"就诊信息：医院等级（medins_lv）须为 1、2、3（收到“{self.hospital_level}”）",
                field="medins_lv",
            )
        if self.end_date is not None and self.end_date < self.begin_date:
            raise AuditError("就诊信息：dscg_date（出院日期）不能早于入院日期", field="dscg_date")


@dataclass(frozen=True, slots=True)
class Line:
    """``fsi_order_dtos``: ``rx_id`` ← ``rx_id`` [S]; ``item_code`` ← ``hilist_code``
    [S]; ``name`` ← ``hilist_name`` [S]; ``quantity`` ← ``cnt`` [S] (≤ 4 places);
    ``price`` ← ``pric`` [S] (≤ 6 places); ``amount`` ← ``sumamt`` [S] (≤ 2 places);
    ``day`` ← the day of ``drord_begn_date`` [S] (the fee's day); ``days`` ← days of
    supply (用药天数) [M], None: one day; ``frequency`` ← the order's frequency
    (``drug_frqu``) [M], kept for evidence; ``dept_code`` ← ``drord_dept_codg`` [S]."""

    rx_id: str
    item_code: str
    quantity: Decimal
    price: Decimal
    amount: Decimal
    day: date
    name: str = ""
    days: int | None = None
    frequency: str = ""
    dept_code: str = ""


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 99


def check_line(line: Line, i: int) -> None:
    """Raise :class:`AuditError` naming ``fsi_order_dtos[i].<field>`` if the line is
    unusable."""
    where = f"处方（医嘱）第 {i + 1} 条"
    if not line.rx_id:
        raise AuditError(f"{where}：rx_id 不能为空", field=f"fsi_order_dtos[{i}].rx_id")
    if not line.item_code:
        raise AuditError(f"{where}：hilist_code 不能为空", field=f"fsi_order_dtos[{i}].hilist_code")
    for name, value, places, text in (
        ("cnt", line.quantity, QTY_PLACES, "数量"),
        ("pric", line.price, PRICE_PLACES, "单价"),
        ("sumamt", line.amount, AMOUNT_PLACES, "金额"),
    ):
        if not isinstance(value, Decimal) or not value.is_finite() or abs(value) >= _LIMIT:
            raise AuditError(
                f"{where}：{name}（{text}）须为绝对值小于 10⁹ 的数字",
                field=f"fsi_order_dtos[{i}].{name}",
            )
        if _places(value) > places:
            raise AuditError(
                f"{where}：{name}（{text}）最多 {places} 位小数（收到 {value}）",
                field=f"fsi_order_dtos[{i}].{name}",
            )
    if line.price < 0:
        raise AuditError(f"{where}：pric（单价）不能为负数", field=f"fsi_order_dtos[{i}].pric")
    if line.quantity > 0 and line.amount < 0:
        raise AuditError(
            f"{where}：sumamt（金额）在数量为正时不能为负数", field=f"fsi_order_dtos[{i}].sumamt"
        )
    if line.days is not None and not 1 <= line.days <= 366:
        raise AuditError(f"{where}：用药天数须在 1 到 366 之间", field=f"fsi_order_dtos[{i}].days")


@dataclass(frozen=True, slots=True)
class Claim:
    """One patient's encounter and its lines (the unit 3101/3102 audits).  ``rx_id``
    is unique within the claim."""

    patient: Patient
    encounter: Encounter
    lines: tuple[Line, ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for i, line in enumerate(self.lines):
            check_line(line, i)
            if line.rx_id in seen:
                raise AuditError(
                    f"处方（医嘱）第 {i + 1} 条：rx_id {line.rx_id} 重复",
                    field=f"fsi_order_dtos[{i}].rx_id",
                )
            seen.add(line.rx_id)


def net_refunds(
    lines: Sequence[tuple[Hashable, str, str | None, Decimal, Decimal]],
) -> list[tuple[Decimal, Decimal] | None]:
    """Refunds taken into the charges they name (ADR 0045: a refund line names its
    charge by ``init_feedetl_sn``): for each line ``(group, sn, charge_sn, quantity,
    amount)`` — ``group`` the visit, ``sn`` its feedetl_sn — the quantity and amount
    to audit, the refunds of it taken off; None for a refund taken into its charge
    (found among the lines of its group).  A charge refunded in full is left with
    nothing (quantity 0: not audited); a refund naming no charge here is left as it
    is (its quantity is not above zero: not audited either)."""
    out: list[tuple[Decimal, Decimal] | None] = [(q, a) for _, _, _, q, a in lines]
    where = {(g, sn): i for i, (g, sn, _, q, _) in enumerate(lines) if q > 0}
    for i, (group, _, charge, quantity, amount) in enumerate(lines):
        if not charge or quantity > 0:
            continue
        j = where.get((group, charge))
        if j is None:
            continue
        q, a = out[j] or (Decimal(0), Decimal(0))
        out[j] = (q + quantity, a + amount)
        out[i] = None
    return out


def without_resent(history: list[Claim], claim: Claim, mdtrt_ids: frozenset[str]) -> list[Claim]:
    """The stored claims with the lines of encounters ``mdtrt_ids`` (the audited one,
    :attr:`realtime.Request.stored_counts`) that ``claim`` sends again left out: a
    stored line whose feedetl_sn is the rx_id of a line of the claim (a HIS numbering
    its orders and fee lines alike).  Otherwise a stored line is an earlier order: the
    message marked none of its orders as earlier (``curr_drord_flag`` 0), so it sent
    only the new ones (ADR 0023)."""
    if not mdtrt_ids:
        return history
    sent = {line.rx_id for line in claim.lines}
    out = []
    for c in history:
        if c.encounter.mdtrt_id not in mdtrt_ids:
            out.append(c)
            continue
        kept = tuple(line for line in c.lines if line.rx_id not in sent)
        if kept:
            out.append(Claim(c.patient, c.encounter, kept))
    return out
