"""Intake: one stay, one list to pay (``INTAKE07``, ADR 0005 amendment of 2026-12-07).

A stay (the hospital's 就诊ID ``mdtrt_id`` and the person's ``psn_no``) already on
another of the hospital's lists under another settlement id — one that is neither
withdrawn nor closed out — is held: the new list gets a blocking finding naming the
other list, is stored, but is neither grouped nor priced, so it cannot be approved,
confirmed or paid.  A warning let the reviewer see the pair, but a bulk approval
paid the stay twice.  A correction is sent under the original settlement id (a new
version of the same list); a list the hospital means to replace by one with a new id
is withdrawn first.  Two lists of one batch for the same stay are both held.

Lists being replaced in the same batch are compared by their new versions, not by
what is stored (a corrected 就诊ID moves a list off a stay).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.cases.models import Case
from yibao.engines.qc import Finding
from yibao.engines.settlement import State
from yibao.regions.models import Hospital
from yibao.settlement.intake.prepare import PreparedBatch
from yibao.settlement.intake.screen import ListOutcome, _finding_dict
from yibao.settlement.models import SettlementList
from yibao.settlement.review import state_label

DUPLICATE_RULE: Final = "INTAKE07"
#: lists that no longer count for their stay
GONE: Final = (State.CLOSED_OUT.value, State.WITHDRAWN.value)

Stay = tuple[int, str, str]  # hospital id, mdtrt_id, psn_no


def hold_duplicate_stays(
    session: Session,
    prepared: PreparedBatch,
    kept: list[tuple[int, SettlementList | None, Hospital]],
    outcomes: list[ListOutcome],
) -> None:
    """Hold each kept list whose stay another list of the hospital already has (module
    docstring): a blocking finding in ``prepared.findings`` (so it is stored held) and
    in its outcome."""
    hospital_at = {i: h for i, _, h in kept}
    stays: dict[int, Stay] = {}
    for i, mdtrt, psn in prepared.cases.select("list_index", "mdtrt_id", "psn_no").iter_rows():
        if i in hospital_at and mdtrt and psn:
            stays[int(i)] = (hospital_at[i].id, mdtrt, psn)
    if not stays:
        return
    sent = {(hospital_at[i].id, prepared.setl_ids[i]) for i in hospital_at}
    others: dict[Stay, list[str]] = {}
    for i, stay in stays.items():  # this batch: each list names the others
        others.setdefault(stay, []).append(f"{prepared.setl_ids[i]}（本批次）")
    stored = _stored_twins(session, set(stays.values()))
    for i, stay in stays.items():
        mine = f"{prepared.setl_ids[i]}（本批次）"
        twins = [t for t in others[stay] if t != mine]
        twins += [
            f"{setl_id}（{state_label(state)}）"
            for setl_id, state in stored.get(stay, [])
            if (stay[0], setl_id) not in sent  # a list replaced now counts by its new version
        ]
        if twins:
            finding = _finding(stay, sorted(twins))
            prepared.findings[i].append(finding)
            outcomes[i].findings.append(_finding_dict(finding))


def _stored_twins(session: Session, stays: set[Stay]) -> dict[Stay, list[tuple[str, str]]]:
    """(settlement id, state) of the stored lists with a case on each of ``stays``."""
    found: dict[Stay, list[tuple[str, str]]] = {}
    people = sorted({psn for _, _, psn in stays})
    for start in range(0, len(people), 5000):
        for hid, mdtrt, psn, setl_id, state in session.execute(
            select(
                Case.hospital_id,
                Case.mdtrt_id,
                Case.psn_no,
                SettlementList.setl_id,
                SettlementList.state,
            )
            .join(SettlementList, SettlementList.case_id == Case.id)
            .where(Case.psn_no.in_(people[start : start + 5000]), SettlementList.state.not_in(GONE))
        ):
            if (hid, mdtrt, psn) in stays:
                found.setdefault((hid, mdtrt, psn), []).append((setl_id, state))
    return found


def _finding(stay: Stay, twins: list[str]) -> Finding:
    named = "、".join(twins[:5]) + (f" 等 {len(twins)} 份" if len(twins) > 5 else "")
    message = (
        f"同一就诊（就诊ID mdtrt_id = {stay[1]!r}，人员编号 psn_no = {stay[2]!r}）已有结算清单 "
        f"{named}：一次就诊只结算一份清单，本清单已挂起，不分组、不计价（规则 {DUPLICATE_RULE}）。"
        "如为更正，请以原结算ID重新上传；如原清单作废，请先撤回原清单，再重新上传本清单"
    )
    return Finding(DUPLICATE_RULE, "blocking", "setlinfo.mdtrt_id", stay[1], message, "logic")
