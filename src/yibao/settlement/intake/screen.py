"""Intake's screen: which lists of a prepared batch may be stored.

Checks against the hospitals in the session's scope and the lists already stored: a
list is refused (one blocking finding, nothing written) without a usable settlement
id, with the upload template's example id, of an institution outside the scope,
repeated later in the same batch, with a settlement id the hospital already uses for
a case that is not a list's, or when its stored list may no longer be replaced
(confirmed, paid, closed out, under review), or when a new version QC holds would
replace one that passed (:func:`keep_passed_versions`).  Also the per-list :class:`ListOutcome`
every step of intake reports into.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.cases.models import Case
from yibao.db import locks
from yibao.engines.qc import Finding
from yibao.engines.settlement import Action, Role, State, allowed_actions
from yibao.regions.models import Hospital
from yibao.settlement.intake.prepare import PreparedBatch
from yibao.settlement.models import SettlementList
from yibao.settlement.review import state_label

LOCKED_STATES = frozenset({State.CONFIRMED, State.PAID})
#: the upload template's example row carries this settlement id (SAMPLE0001): a file
#: sent with the example still in it must not create a list
TEMPLATE_SAMPLE_PREFIX = "SAMPLE"
TEMPLATE_SAMPLE_ID = TEMPLATE_SAMPLE_PREFIX + "0001"
#: a stored list may be replaced by a new version where the state machine lets its
#: hospital RESUBMIT it: before review starts, after QC held it, after the reviewer
#: returned it, or after the hospital withdrew it
REPLACEABLE_STATES = frozenset(
    s for s in State if any(t.action == Action.RESUBMIT for t in allowed_actions(s, Role.HOSPITAL))
)


@dataclass
class ListOutcome:
    index: int
    setl_id: str | None
    state: str
    list_id: int | None = None
    version: int | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    drg: str | None = None
    payment_class: str | None = None
    drg_payment: str | None = None
    fund_amount: str | None = None
    hospital_code: str | None = None


def _finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "rule_id": f.rule_id,
        "severity": f.severity,
        "field": f.field,
        "value": None if f.value is None else str(f.value)[:200],
        "message": f.message,
    }


def _refused(
    index: int,
    setl_id: str | None,
    rule: str,
    field_: str,
    message: str,
    value: str | None = None,
) -> ListOutcome:
    """A list refused whole: one blocking finding on ``field_`` with the offending
    ``value`` (the settlement id unless another field is at fault)."""
    return ListOutcome(
        index,
        setl_id,
        "refused",
        findings=[
            {
                "rule_id": rule,
                "severity": "blocking",
                "field": field_,
                "value": setl_id if value is None else value,
                "message": message,
            }
        ],
    )


def screen_lists(
    session: Session, prepared: PreparedBatch, hospitals: dict[str, Hospital]
) -> tuple[list[ListOutcome], list[tuple[int, SettlementList | None, Hospital]]]:
    """Screen a prepared batch: an outcome per list (``refused`` or ``pending``) and
    the lists that may be stored as (position, the stored list it replaces or None,
    hospital), the last occurrence of each (hospital, settlement id) only."""
    outcomes: list[ListOutcome] = []
    wanted: dict[tuple[int, str], int] = {}  # (hospital id, setl_id) → position, last wins
    for i in range(len(prepared.setl_ids)):
        outcomes.append(_screen(i, prepared, hospitals, wanted))
    latest = set(wanted.values())
    for i, out in enumerate(outcomes):
        if out.state == "pending" and i not in latest:
            outcomes[i] = _refused(
                i,
                out.setl_id,
                "INTAKE03",
                "setlinfo.setl_id",
                f"结算清单 {out.setl_id} 在本批次中重复出现，以最后一份为准",
            )
    # a list being stored by a parallel request (a HIS retrying) is waited for and then
    # found, as if it had come later, instead of failing on the unique constraint
    locks.hold(session, "settlement_intake", (hid for hid, _ in wanted))
    existing = _existing(session, wanted)
    taken = _taken_ids(session, [k for k in wanted if k not in existing])
    kept: list[tuple[int, SettlementList | None, Hospital]] = []
    for (hid, setl_id), i in wanted.items():
        row = existing.get((hid, setl_id))
        refusal = _stored_refusal(i, setl_id, row, (hid, setl_id) in taken)
        if refusal is not None:
            outcomes[i] = refusal
            continue
        kept.append((i, row, hospitals[outcomes[i].hospital_code or ""]))
    return outcomes, kept


def _stored_refusal(
    i: int, setl_id: str, row: SettlementList | None, taken: bool
) -> ListOutcome | None:
    """The refusal of a list that what is stored forbids: its settlement id used by a
    case of the hospital that is no list's (``taken``), or its stored list ``row`` in a
    state that may not be replaced; None when the list may be stored."""
    if row is None and taken:
        return _refused(
            i,
            setl_id,
            "INTAKE04",
            "setlinfo.setl_id",
            f"结算ID setlinfo.setl_id = {setl_id!r} 已被本机构的其他病例数据使用"
            "（不是经结算清单上传的病例）：请核对结算ID（本机构每份结算清单的结算ID必须唯一）",
        )
    if row is not None and row.state in LOCKED_STATES:
        return _refused(
            i,
            setl_id,
            "INTAKE02",
            "setlinfo.setl_id",
            f"结算清单 {setl_id} 已在确认的结算中（状态 {row.state}），不能替换："
            "如需更正请走申诉流程",
        )
    if row is not None and row.state == State.CLOSED_OUT:
        return _refused(
            i,
            setl_id,
            "INTAKE02",
            "setlinfo.setl_id",
            f"结算清单 {setl_id} 已随结算期间关闭（不予结算），不能再上传："
            "如有异议请联系医保经办机构",
        )
    if row is not None and row.state not in REPLACEABLE_STATES:
        return _refused(
            i,
            setl_id,
            "INTAKE05",
            "setlinfo.setl_id",
            f"结算清单 {setl_id} 正在审核流程中（状态：{state_label(row.state)}），"
            "不能直接替换：请等待审核结果，或请审核人员先退回后再重新上传",
        )
    return None


#: stored states of a version that passed QC and was grouped (priced or not): a new
#: version that QC holds does not replace it (INTAKE09)
PASSED_STATES = frozenset({State.GROUPED, State.PRICED})


def keep_passed_versions(
    prepared: PreparedBatch,
    kept: list[tuple[int, SettlementList | None, Hospital]],
    outcomes: list[ListOutcome],
) -> list[tuple[int, SettlementList | None, Hospital]]:
    """``kept`` without the new versions that would hold a list whose stored version
    passed QC: such a version is refused (the stored one stays, grouped and priced as
    it was) and its outcome names its blocking findings.  A resend with a column
    missing or a typo must not take a priced list out of the month's settlement."""
    out = []
    for i, row, hospital in kept:
        blocking = [f for f in prepared.findings[i] if f.severity == "blocking"]
        if row is None or row.state not in PASSED_STATES or not blocking:
            out.append((i, row, hospital))
            continue
        shown = "；".join(f"{f.field}（规则 {f.rule_id}）" for f in blocking[:3])
        more = f" 等 {len(blocking)} 项" if len(blocking) > 3 else ""
        refused = _refused(
            i,
            row.setl_id,
            "INTAKE09",
            "setlinfo.setl_id",
            f"结算清单 {row.setl_id} 已{state_label(row.state)}（第 {row.version} 版），"
            f"新上传的版本有阻断问题：{shown}{more}，未替换原版本（原版本照常审核结算）："
            "请更正后重新上传",
        )
        refused.findings += [_finding_dict(f) for f in prepared.findings[i]]
        refused.hospital_code = outcomes[i].hospital_code
        outcomes[i] = refused
    return out


def _same_pool(place: str, home: str) -> bool:
    """Whether 就医地 ``place`` is in the pooling region of an institution registered
    at ``home``: the same city (first 4 digits); for a province-level institution
    (xx0000), the same province.  Its cases are grouped and priced by that place's
    plan and standards: another place would let a list choose how it is paid."""
    if home.endswith("0000"):
        return place[:2] == home[:2]
    return place[:4] == home[:4]


def _screen(
    i: int,
    prepared: PreparedBatch,
    hospitals: dict[str, Hospital],
    wanted: dict[tuple[int, str], int],
) -> ListOutcome:
    """Refuse a list without id / with a foreign institution; remember the others."""
    setl_id, code = prepared.setl_ids[i], prepared.hospital_codes[i]
    findings = prepared.findings[i]
    if not setl_id or code is None:
        return ListOutcome(i, setl_id, "refused", findings=[_finding_dict(f) for f in findings])
    if setl_id.upper().startswith(TEMPLATE_SAMPLE_PREFIX):
        return _refused(
            i,
            setl_id,
            "INTAKE06",
            "setlinfo.setl_id",
            f"结算ID setlinfo.setl_id = {setl_id!r} 是上传模板中的示例行，不是真实结算清单："
            "请删除示例行，填入本机构的结算清单后再上传",
        )
    hospital = hospitals.get(code)
    if hospital is None:
        return _refused(
            i,
            setl_id,
            "INTAKE01",
            "setlinfo.fixmedins_code",
            f"定点医疗机构编码 setlinfo.fixmedins_code = {code!r} "
            "不存在或不属于您的机构/辖区：只能上传本机构的结算清单",
            value=code,
        )
    place = (prepared.places[i] if i < len(prepared.places) else None) or ""
    if place and not _same_pool(place, hospital.region_code):
        return _refused(
            i,
            setl_id,
            "INTAKE08",
            "setlinfo.mdtrtarea_admvs",
            f"就医地医保区划 setlinfo.mdtrtarea_admvs = {place!r} 不是本机构所在统筹区"
            f"（{hospital.region_code}）：结算清单的就医地是定点医疗机构所在地，"
            "请更正后重新上传",
            value=place,
        )
    key = (hospital.id, setl_id)
    out = ListOutcome(i, setl_id, "pending", findings=[_finding_dict(f) for f in findings])
    out.hospital_code = code
    wanted[key] = i  # the same list twice in one batch: the later one counts
    return out


def _existing(
    session: Session, wanted: dict[tuple[int, str], int]
) -> dict[tuple[int, str], SettlementList]:
    found: dict[tuple[int, str], SettlementList] = {}
    setl_ids = sorted({s for _, s in wanted})
    for start in range(0, len(setl_ids), 5000):
        chunk = setl_ids[start : start + 5000]
        for row in session.scalars(select(SettlementList).where(SettlementList.setl_id.in_(chunk))):
            found[(row.hospital_id, row.setl_id)] = row
    return found


def _taken_ids(session: Session, keys: list[tuple[int, str]]) -> set[tuple[int, str]]:
    """(hospital id, settlement id) pairs already used by a stored case of that hospital
    that is not a settlement list's (e.g. historical cases loaded for measurement).

    Settlement ids are the hospital's own (ADR 0009): a case of *another* hospital with
    the same id neither blocks this list nor is revealed by the answer."""
    taken: set[tuple[int, str]] = set()
    by_hospital: dict[int, list[str]] = {}
    for hid, setl_id in keys:
        by_hospital.setdefault(hid, []).append(setl_id)
    for hid, setl_ids in by_hospital.items():
        for start in range(0, len(setl_ids), 5000):
            chunk = setl_ids[start : start + 5000]
            taken.update(
                (hid, s)
                for s in session.scalars(
                    select(Case.setl_id).where(Case.hospital_id == hid, Case.setl_id.in_(chunk))
                )
            )
    return taken
