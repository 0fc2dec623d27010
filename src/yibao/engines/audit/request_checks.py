"""Checks of a real-time audit request that the models alone cannot make (ADR 0023
amendments): dates against the encounter, the patient's birth and today, and the
trigger scenario against the kind of encounter.  A request that fails one would slip
past rules that count by day, by age or by scene: refused naming the field."""

from __future__ import annotations

from datetime import date

from yibao.engines.audit.claims import Encounter, Line
from yibao.engines.audit.messages import MDTRT_TYPES, TRIG_SCENES, EncounterDto, PatientDto
from yibao.engines.exchange import Refused

#: trigger scenes of inpatient encounters (the others: outpatient and pharmacy)
IPT_SCENES = frozenset({3, 4, 5, 8, 9})


def within_encounter(line: Line, encounter: Encounter, today: date | None, where: str) -> None:
    """An order dated outside its encounter (before admission, after discharge) or
    after today would slip past the rules that count by day: refused."""
    field = f"{where}.drord_begn_date"
    shown = f"医嘱开始日期（{field}）：{line.day}"
    if line.day < encounter.begin_date:
        raise Refused(field, f"{shown} 早于入院（就诊）日期 {encounter.begin_date}")
    if encounter.end_date is not None and line.day > encounter.end_date:
        raise Refused(field, f"{shown} 晚于出院日期 {encounter.end_date}")
    if today is not None and line.day > today:
        raise Refused(field, f"{shown} 晚于今天（{today}）")


def dated_sanely(
    patient_dto: PatientDto, encounter: Encounter, today: date | None, base: str, where: str
) -> None:
    """An encounter begins after the patient's birth and, with ``today``, not after it."""
    if patient_dto.brdy is not None and patient_dto.brdy > encounter.begin_date:
        raise Refused(
            f"{base}.brdy",
            f"出生日期（{base}.brdy）：{patient_dto.brdy} 晚于就诊 {encounter.mdtrt_id} 的"
            f"入院（就诊）日期 {encounter.begin_date}",
        )
    if today is not None and encounter.begin_date > today:
        raise Refused(
            f"{where}.adm_date",
            f"入院日期（{where}.adm_date）：{encounter.begin_date} 晚于今天（{today}）",
        )


def scene_fits(scene: int | None, care_mode: str, enc: EncounterDto) -> None:
    """An inpatient scene (3–5, 8, 9) for an inpatient encounter, the others for the
    rest: 事中-住院结算 of an outpatient visit is no request the rules were written for."""
    if scene is None or (scene in IPT_SCENES) == (care_mode == "ipt"):
        return
    kind = MDTRT_TYPES.get(enc.med_mdtrt_type, enc.med_mdtrt_type)
    raise Refused(
        "data.trig_scen",
        f"触发场景（data.trig_scen）：{scene} {TRIG_SCENES[scene]} 与本次就诊的就诊类型"
        f" {enc.med_mdtrt_type} {kind} 不符",
    )
