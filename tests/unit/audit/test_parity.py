"""The two paths agree: random knowledge, rule sets and claims of a few persons over two
months; every claim audited alone (with the person's other claims as history) gives
exactly the findings the batch path gives for its encounter — same jr_ids, amounts,
lines and words."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.unit.audit.builders import both
from yibao.engines.audit import Claim, Encounter, Knowledge, Line, Patient, compile_rules
from yibao.engines.audit.rules import FAMILIES

CODES = [f"K{i}" for i in range(8)]
START = date(2024, 3, 1)


@st.composite
def restrictions(draw: st.DrawFn) -> list[dict[str, Any]]:
    options: list[dict[str, Any]] = [
        {"kind": "sex", "sex": draw(st.sampled_from(["1", "2"]))},
        {"kind": "age", "min_years": draw(st.sampled_from([None, 18])), "max_years": 60},
        {"kind": "indication", "diagnoses": draw(st.sampled_from([["C50"], ["J1", "I10"]]))},
        {"kind": "setting", "setting": draw(st.sampled_from(["inpatient", "outpatient"]))},
        {"kind": "hospital_level", "min_level": draw(st.sampled_from(["2", "3"]))},
        {"kind": "insutype", "insutypes": draw(st.sampled_from([["510"], ["310", "390"]]))},
        {"kind": "department", "departments": draw(st.sampled_from([["A03"], ["A1", "B"]]))},
        {"kind": "quantity", "per_day": draw(st.sampled_from(["1", "2.5"])), "per_stay": "6"},
        {"kind": "frequency", "max_times": draw(st.integers(1, 3)), "per": "day"},
        {"kind": "frequency", "max_times": draw(st.integers(2, 5)), "per": "visit"},
        {"kind": "frequency", "max_times": draw(st.integers(3, 6)), "per": "month"},
        {"kind": "course", "per": "visit", "max_sessions": draw(st.integers(2, 5)), "max_days": 2},
        {"kind": "course", "per": "month", "max_days": draw(st.integers(1, 3))},
    ]
    chosen = draw(st.lists(st.sampled_from(range(len(options))), max_size=6, unique=True))
    return [options[i] for i in chosen]


@st.composite
def knowledge(draw: st.DrawFn) -> Knowledge:
    items = [
        {
            "code": code,
            "name": f"项目{code}",
            "kind": "service",
            "fee_type": "05",
            "chrgitm_lv": "01",
            "unit": draw(st.sampled_from(["次", "小时", "床日"])),
            "caps": draw(st.sampled_from([{}, {"1": "5.00", "2": "8.00", "3": "10.00"}])),
            "restrictions": draw(restrictions()),
        }
        for code in CODES
    ]
    pair = st.lists(st.sampled_from(CODES), min_size=2, max_size=2, unique=True)
    relation = st.one_of(
        pair.map(lambda p: {"kind": "exclusive", "codes": p}),
        pair.map(lambda p: {"kind": "inclusive", "whole": p[0], "part": p[1]}),
        pair.map(lambda p: {"kind": "requires", "item": p[0], "any_of": [p[1]]}),
        st.lists(st.sampled_from(CODES), min_size=4, max_size=4, unique=True).map(
            lambda p: {"kind": "package", "package": p[0], "components": p[1:]}
        ),
    )
    return Knowledge.from_data(items, draw(st.lists(relation, max_size=5)))


@st.composite
def rules(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(1, 10))):
        family = draw(st.sampled_from(sorted(FAMILIES)))
        params: dict[str, Any] = {}
        if draw(st.booleans()):
            params["codes"] = draw(
                st.lists(st.sampled_from(CODES), min_size=1, max_size=4, unique=True)
            )
        window = draw(st.sampled_from(FAMILIES[family].windows))
        if family == "unbundling":
            params["mode"] = draw(st.sampled_from(["with_package", "instead", "both"]))
        if family == "indication":
            params["principal_only"] = draw(st.booleans())
        if family == "frequency" and "codes" in params and draw(st.booleans()):
            params["max_times"] = draw(st.integers(1, 3))
        out.append(
            {
                "rule_id": f"R{i}",
                "version": 1,
                "name": f"规则{i}",
                "family": family,
                "params": params,
                "stages": ["post"],
                "window": window,
                "sev_deg": draw(st.integers(1, 3)),
            }
        )
    return out


@st.composite
def claims(draw: st.DrawFn) -> list[Claim]:
    out = []
    years = st.sampled_from([1950, 1990, 2015])
    births = {"P1": date(draw(years), 3, 10), "P2": date(draw(years), 3, 10)}
    for n in range(draw(st.integers(1, 5))):
        psn = draw(st.sampled_from(["P1", "P2"]))
        begin = START + timedelta(draw(st.integers(0, 45)))
        lines = []
        for j in range(draw(st.integers(1, 7))):
            qty = Decimal(draw(st.sampled_from(["1", "2", "3", "0.5", "5", "20", "-1"])))
            price = Decimal(draw(st.sampled_from(["4.00", "9.50", "12.345678", "30"])))
            amount = (qty * price).quantize(Decimal("0.01"))
            day = begin + timedelta(draw(st.integers(0, 3)))
            days = draw(st.sampled_from([None, 1, 3]))
            dept = draw(st.sampled_from(["", "A03", "B2"]))
            code = draw(st.sampled_from(CODES))
            lines.append(Line(f"x{j}", code, qty, price, amount, day, days=days, dept_code=dept))
        end = draw(st.sampled_from([None, begin + timedelta(2)]))
        enc = Encounter(
            f"M{n}",
            draw(st.sampled_from(["ipt", "otp"])),
            draw(st.sampled_from(["1", "2", "3"])),
            begin,
            end,
            draw(st.sampled_from(["A03", "C1"])),
            draw(st.sampled_from(["310", "390", "510", ""])),
            tuple(draw(st.lists(st.sampled_from(["C50.9", "J18.0", "I10"]), max_size=3))),
        )
        sex = "1" if psn == "P1" else "2"
        out.append(Claim(Patient(psn, sex, births[psn]), enc, tuple(lines)))
    return out


#: the shrunk failure of two ``requires`` of one item: two findings that shared a
#: ``jr_id``, so sorted by it the batch path's order (Polars group order) could differ
_TWO_REQUIRES = (
    Knowledge.from_data(
        [
            {"code": c, "name": f"项目{c}", "kind": "service", "fee_type": "05", "chrgitm_lv": "01"}
            for c in CODES
        ],
        [
            {"kind": "requires", "item": "K2", "any_of": ["K0"]},
            {"kind": "requires", "item": "K2", "any_of": ["K3"]},
        ],
    ),
    [
        {
            "rule_id": "R0",
            "version": 1,
            "name": "规则0",
            "family": "linkage",
            "params": {},
            "stages": ["post"],
            "window": "visit",
            "sev_deg": 1,
        }
    ],
    [
        Claim(
            Patient("P1", "1", date(1950, 3, 10)),
            Encounter("M0", "ipt", "1", START, None, "A03", "310", ()),
            (Line("x0", "K2", Decimal("1"), Decimal("4.00"), Decimal("4.00"), START),),
        )
    ],
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(knowledge(), rules(), claims())
@example(*_TWO_REQUIRES)
def test_single_and_batch_paths_give_the_same_findings(
    k: Knowledge, rule_set: list[dict[str, Any]], cs: list[Claim]
) -> None:
    rs = compile_rules(rule_set, k, on=date(2024, 1, 1))
    both(rs, cs)
