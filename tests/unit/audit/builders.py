"""Hand-made knowledge, rules and claims for the audit tests (keyword overrides)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from yibao.engines.audit import (
    Claim,
    Encounter,
    Finding,
    Knowledge,
    Line,
    Patient,
    RuleSet,
    compile_rules,
)

DAY = date(2024, 3, 4)
ON = date(2024, 1, 1)


def _item(code: str, name: str, kind: str = "service", **kw: Any) -> dict[str, Any]:
    fee = {"service": "05", "western": "09", "material": "08"}[kind]
    return {"code": code, "name": name, "kind": kind, "fee_type": fee, "chrgitm_lv": "01"} | kw


ITEMS: list[dict[str, Any]] = [
    _item("S001", "前列腺特异抗原测定", restrictions=[{"kind": "sex", "sex": "1"}]),
    _item("S002", "宫颈细胞学检查", restrictions=[{"kind": "sex", "sex": "2"}]),
    _item("D001", "小儿退热颗粒", "western", restrictions=[{"kind": "age", "max_years": 14}]),
    _item(
        "D002",
        "曲妥珠单抗注射液",
        "western",
        restrictions=[{"kind": "indication", "diagnoses": ["C50", "C56"]}],
    ),
    _item(
        "D003",
        "住院专用注射液",
        "western",
        restrictions=[{"kind": "setting", "setting": "inpatient"}],
    ),
    _item("S003", "高端检查", restrictions=[{"kind": "hospital_level", "min_level": "3"}]),
    _item("S004", "产前检查", restrictions=[{"kind": "insutype", "insutypes": ["510"]}]),
    _item("S005", "眼科专项治疗", restrictions=[{"kind": "department", "departments": ["A10"]}]),
    _item(
        "D004",
        "阿莫西林胶囊",
        "western",
        caps={"1": "8.00", "2": "9.00", "3": "10.00"},
        restrictions=[{"kind": "quantity", "per_day": "3", "per_stay": "20"}],
    ),
    _item(
        "S006",
        "血糖监测",
        restrictions=[
            {"kind": "frequency", "max_times": 2, "per": "day"},
            {"kind": "frequency", "max_times": 3, "per": "visit"},
            {"kind": "frequency", "max_times": 4, "per": "month"},
        ],
    ),
    _item(
        "S007",
        "针灸治疗",
        restrictions=[
            {"kind": "course", "per": "visit", "max_sessions": 3},
            {"kind": "course", "per": "month", "max_days": 2},
        ],
    ),
    _item("S008", "氧气吸入", unit="小时"),
    _item("S009", "床位费", unit="床日"),
    _item("S101", "血常规", unit="次"),
    _item("S102", "血细胞分析", unit="次"),
    _item("S103", "全身麻醉", unit="次"),
    _item("S104", "气管插管", unit="次"),
    _item("A001", "麻醉中监测", unit="次"),
    _item("O001", "阑尾切除术", unit="次"),
    _item("P001", "肝功能组合", unit="次"),
    _item("C001", "丙氨酸氨基转移酶", unit="次"),
    _item("C002", "天门冬氨酸氨基转移酶", unit="次"),
    _item("C003", "总胆红素", unit="次"),
]
RELATIONS: list[dict[str, Any]] = [
    {"kind": "exclusive", "codes": ["S101", "S102"]},
    {"kind": "inclusive", "whole": "S103", "part": "S104"},
    {"kind": "requires", "item": "A001", "any_of": ["O001", "S103"]},
    {"kind": "package", "package": "P001", "components": ["C001", "C002", "C003"]},
]


def knowledge() -> Knowledge:
    return Knowledge.from_data(ITEMS, RELATIONS)


def rule(family: str, rule_id: str | None = None, **kw: Any) -> dict[str, Any]:
    return {
        "rule_id": rule_id or f"R_{family}",
        "version": 1,
        "name": f"{family} 规则",
        "family": family,
        "stages": ["pre", "mid", "post"],
    } | kw


def ln(
    rx: str,
    code: str,
    qty: str | int = 1,
    price: str = "10.00",
    *,
    amount: str | None = None,
    day: date = DAY,
    **kw: Any,
) -> Line:
    q, p = Decimal(str(qty)), Decimal(price)
    a = Decimal(amount) if amount is not None else (q * p).quantize(Decimal("0.01"))
    return Line(rx, code, q, p, a, day, **kw)


def claim(
    lines: Sequence[Line],
    *,
    psn: str = "P1",
    sex: str = "1",
    birth: date = date(1980, 6, 1),
    mdtrt: str = "M1",
    mode: str = "otp",
    level: str = "3",
    begin: date = DAY,
    end: date | None = None,
    dept: str = "A01",
    insutype: str = "310",
    dx: tuple[str, ...] = ("J18.9",),
) -> Claim:
    return Claim(
        Patient(psn, sex, birth),
        Encounter(mdtrt, mode, level, begin, end, dept, insutype, dx),  # type: ignore[arg-type]
        tuple(lines),
    )


def compiled(*rules: dict[str, Any], on: date = ON) -> RuleSet:
    return compile_rules(list(rules), knowledge(), on=on)


def both(rs: RuleSet, claims: Sequence[Claim], *, stage: str = "post", **kw: Any) -> list[Finding]:
    """Findings of every claim by the single path (with the person's other claims as
    history), checked equal to the batch path's; sorted by jr_id, which is unique (two
    findings sharing an id would also leave their order to chance)."""
    single = []
    for c in claims:
        history = [o for o in claims if o is not c and o.patient.psn_no == c.patient.psn_no]
        single += rs.audit(c, stage=stage, history=history, **kw)
    from yibao.engines.audit import claims_to_frames

    frame = rs.audit_frames(*claims_to_frames(claims), stage=stage, **kw)
    batch = sorted(frame.to_dicts(), key=lambda r: r["jr_id"])
    single.sort(key=lambda f: f.jr_id)
    ids = [f.jr_id for f in single]
    assert len(set(ids)) == len(ids), f"jr_id shared by two findings: {ids}"
    as_rows = [
        {
            "jr_id": f.jr_id,
            "rule_id": f.rule_id,
            "rule_version": f.rule_version,
            "rule_name": f.rule_name,
            "family": f.family,
            "psn_no": f.psn_no,
            "mdtrt_id": f.mdtrt_id,
            "vola_cont": f.vola_cont,
            "vola_amt": f.vola_amt,
            "sev_deg": f.sev_deg,
            "vola_evid": f.vola_evid,
            "vola_bhvr_type": f.vola_bhvr_type,
            "result_type": f.result_type,
            "lines": [
                {"rx_id": x.rx_id, "vola_item_type": x.vola_item_type, "vola_amt": x.vola_amt}
                for x in f.lines
            ],
        }
        for f in single
    ]
    only_single = [r for r in as_rows if r not in batch]
    only_batch = [r for r in batch if r not in as_rows]
    assert as_rows == batch, f"single only: {only_single}\nbatch only: {only_batch}"
    return single
