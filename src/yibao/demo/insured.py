"""The demo's insured persons (合成参保人员), generated from a seed and a day.

People of three insured places: 演示市 (990100, the demo region's districts),
演示二市 (990200, same province) and 演示外省市 (980100, another province — provinces 99
and 98 do not exist).  Each person has a valid synthetic ID number (address = the
insured district, GB 11643 check digit), an insurance type by age, a personal account
when employee-insured, sometimes a special identity (低保, 特困 …), and — for about a
fifth of them — figures already accumulated this year, loaded as one ``opening``
posting each so that the postings of a person always add up to their figures.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Table, delete, insert, or_, select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.benefits.models import StoredPolicy
from yibao.benefits.service import do_seed_policies
from yibao.db.bulk import reserve_ids
from yibao.engines.insured import IDENTITIES, Delta, make_certno, settlement_delta
from yibao.engines.settlement import load_policies
from yibao.insured.models import (
    InsuredAccount,
    InsuredCumulative,
    InsuredIdentity,
    InsuredPerson,
    InsuredPosting,
)
from yibao.kit.timeutil import utcnow

#: benefit policies of the insured places that the engine's demo policies lack
POLICY_DIR = Path(__file__).resolve().parent / "policies"
_SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章"
_FIRMS = ("恒达", "瑞丰", "宏远", "嘉禾", "新城", "华信", "永安", "东方", "启明", "联创")
_TRADES = ("机械有限公司", "纺织有限公司", "商贸有限公司", "建设集团", "科技有限公司", "食品厂")
_OFFICES = ("财政局", "教育局", "卫生健康委员会", "税务局", "人民法院", "自然资源局")
_AGES = ((0, 6, 0.07), (7, 17, 0.10), (18, 44, 0.33), (45, 59, 0.25), (60, 90, 0.25))


@dataclass(frozen=True)
class Place:
    """An insured place (pooling region), its districts and how many people."""

    code: str
    name: str
    districts: tuple[str, ...]
    people: int


def demo_places(city_districts: tuple[str, ...], people: int) -> tuple[Place, ...]:
    """演示市 gets three quarters of ``people``, the two other places an eighth each."""
    other = max(1, people // 8)
    return (
        Place("990100", "演示市", city_districts, max(1, people - 2 * other)),
        Place("990200", "演示二市", ("990202", "990203"), other),
        Place("980100", "演示外省市", ("980102", "980103"), other),
    )


@dataclass
class Register:
    """Rows of the generated register (before ids): persons, identities by person
    index, account balances (fen) by person index, opening deltas by person index."""

    persons: list[dict[str, Any]]
    identities: list[tuple[int, dict[str, Any]]]
    balances: dict[int, int]
    openings: dict[int, Delta]


def _age(rng: random.Random) -> int:
    u, acc = rng.random(), 0.0
    for lo, hi, share in _AGES:
        acc += share
        if u < acc:
            return rng.randint(lo, hi)
    return rng.randint(60, 90)


def _psn_type(insutype: str, age: int, gend: str) -> str:
    if insutype == "310":
        return "1102" if age >= (60 if gend == "1" else 55) else "1101"
    if age < 7:
        return "1401"
    if age < 18:
        return "1402"
    return "1403" if age < 60 else "1404"


ZERO = Decimal("0.00")


def _yuan(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _person(
    rng: random.Random, place: Place, serial: int, today: date, seqs: dict[tuple[str, date], int]
) -> dict[str, Any]:
    gend = rng.choice("12")
    age = _age(rng)
    brdy = date(today.year - age - 1, 1, 1) + timedelta(days=rng.randrange(365))
    district = rng.choice(place.districts)
    insutype = "390"
    if age >= 18 and rng.random() < (0.55 if age < 60 else 0.40):
        insutype = "310"
    k = seqs.get((district, brdy), 0)
    seqs[(district, brdy)] = k + 1
    sequence = 2 * k + (1 if gend == "1" else 2)
    cvlserv = insutype == "310" and rng.random() < 0.10
    if cvlserv:
        emp = f"{place.name}{rng.choice(_OFFICES)}"
    elif insutype == "310":
        emp = f"{place.name}{rng.choice(_FIRMS)}{rng.choice(_TRADES)}"
    else:
        emp = ""
    u = rng.random()
    stas = "2" if u < 0.02 else ("4" if u < 0.03 else "1")
    since = date(rng.randint(max(2000, brdy.year), today.year - 1), rng.randint(1, 12), 1)
    return {
        "psn_no": f"{district}{serial:014d}",
        "psn_cert_type": "01",
        "certno": make_certno(district, brdy, sequence),
        "psn_name": f"测试{rng.choice(_SURNAMES)}{rng.randint(1, 997)}",
        "gend": gend,
        "brdy": brdy,
        "naty": "01",
        "insutype": insutype,
        "psn_type": _psn_type(insutype, age, gend),
        "psn_insu_stas": stas,
        "psn_insu_date": since,
        "paus_insu_date": date(today.year - 1, rng.randint(1, 12), 1) if stas != "1" else None,
        "insuplc_admdvs": district,
        "emp_name": emp,
        "cvlserv_flag": "1" if cvlserv else "0",
    }


def _opening(rng: random.Random, insutype: str, balance_fen: int | None) -> Delta | None:
    """This year's figures so far (a fifth of the people), as one delta with the same
    kinds of figures a settlement posts (ADR 0017): the inpatient stays' deductible,
    basic fund (``ipt_hifp``) and burden left (``large_base``); the outpatient visits'
    ``otp_dedc`` and ``otp_hifp``; the fund, account and cash totals of both."""
    stays, visits = rng.choice((0, 0, 1, 1, 2)), rng.randint(0, 6)
    if stays == 0 and visits == 0:
        return None
    values: dict[str, Decimal] = {}
    for inpatient, count in ((True, stays), (False, visits)):
        if count:
            part = _opening_part(rng, insutype, inpatient, count, balance_fen is not None)
            for k, v in part.items():
                values[k] = values.get(k, Decimal(0)) + v
    values["ipt_cnt"] = Decimal(stays)  # the counts of the whole year so far
    values["otp_cnt"] = Decimal(visits)
    return Delta(values)


def _opening_part(
    rng: random.Random, insutype: str, inpatient: bool, count: int, account: bool
) -> dict[str, Decimal]:
    """The figures of ``count`` earlier stays (or visits) of this year."""
    if inpatient:
        medfee = sum(rng.lognormvariate(9.2, 0.6) for _ in range(count))
    else:
        medfee = sum(rng.uniform(80, 600) for _ in range(count))
    fee = _yuan(medfee)
    inscp = _yuan(float(fee) * rng.uniform(0.75, 0.92))
    if inpatient:
        deductible = min(inscp, Decimal(800 if insutype == "310" else 600))
    else:  # the demo policies' smallest 门诊统筹 deductible (level 1): met at any level
        deductible = min(inscp, Decimal(200 if insutype == "310" else 100))
    fund = _yuan(float(inscp - deductible) * (0.8 if inpatient else 0.5))
    acct = min(_yuan(rng.uniform(0, 800)), fee - fund) if account else ZERO
    delta = settlement_delta(
        medfee_sumamt=fee,
        inscp_scp_amt=inscp,
        act_pay_dedc=deductible if inpatient else ZERO,
        funds={"310100" if insutype == "310" else "390100": fund},
        acct_pay=acct,
        psn_cash_pay=fee - fund - acct,
        inpatient=inpatient,
    )
    values = dict(delta.values)
    if inpatient:
        values["ipt_hifp"], values["large_base"] = fund, inscp - fund
    else:  # the fund paid only above the deductible paid first
        values["otp_dedc"], values["otp_hifp"] = deductible, fund
    return values


def demo_register(seed: int, places: tuple[Place, ...], today: date) -> Register:
    """The generated register (deterministic by ``seed`` and ``today``)."""
    rng = random.Random(f"insured-{seed}")
    persons: list[dict[str, Any]] = []
    identities: list[tuple[int, dict[str, Any]]] = []
    balances: dict[int, int] = {}
    openings: dict[int, Delta] = {}
    seqs: dict[tuple[str, date], int] = {}
    serial = 0
    for place in places:
        for _ in range(place.people):
            serial += 1
            person = _person(rng, place, serial, today, seqs)
            i = len(persons)
            persons.append(person)
            if person["insutype"] == "310":
                retired = person["psn_type"] == "1102"
                balances[i] = round(rng.uniform(1000, 20000) if retired else rng.uniform(300, 9000))
                balances[i] *= 100
            elif rng.random() < 0.06:
                kind = rng.choice(sorted(IDENTITIES))
                start = date(rng.randint(2018, today.year - 1), rng.randint(1, 12), 1)
                identities.append((i, {"psn_idet_type": kind, "begntime": start}))
            if rng.random() < 0.2 and person["psn_insu_stas"] == "1":
                delta = _opening(rng, person["insutype"], balances.get(i))
                if delta is not None:
                    openings[i] = delta
    return Register(persons, identities, balances, openings)


def _rows(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    table: Table = model.__table__
    for start in range(0, len(rows), 2000):
        session.execute(insert(table), rows[start : start + 2000])


# long: the register's five tables loaded in foreign-key order, with ids reserved first
def seed_insured(
    session: Session, *, seed: int, places: tuple[Place, ...], today: date, actor: Actor
) -> dict[str, int]:
    """Load the generated register and the benefit policies of the places the
    engine's demo policies lack (no commit).  Returns counts."""
    do_seed_policies(session, load_policies(POLICY_DIR), actor=actor)
    reg = demo_register(seed, places, today)
    ids = reserve_ids(session, InsuredPerson.__table__, len(reg.persons))
    now = utcnow()
    _rows(
        session,
        InsuredPerson,
        [{**p, "id": pid, "created_at": now} for p, pid in zip(reg.persons, ids, strict=True)],
    )
    _rows(
        session,
        InsuredIdentity,
        [{**row, "person_id": ids[i], "endtime": None, "memo": ""} for i, row in reg.identities],
    )
    _rows(
        session,
        InsuredAccount,
        [
            {"person_id": ids[i], "balc_e2": fen, "updated_at": now}
            for i, fen in reg.balances.items()
        ],
    )
    year = today.year
    cumulatives, postings = [], []
    for i, delta in reg.openings.items():
        for cum_type, value in delta.values.items():
            cumulatives.append(
                {
                    "person_id": ids[i],
                    "year": year,
                    "cum_type": cum_type,
                    "cum_e2": int(value * 100),
                }
            )
        balance = reg.balances.get(i)
        postings.append(
            {
                "person_id": ids[i],
                "year": year,
                "kind": "opening",
                "ref": f"OPEN-{year}-{reg.persons[i]['psn_no']}",
                "deltas": delta.as_json(),
                "acct_pay": delta.acct_pay,
                "balc_after": None if balance is None else Decimal(balance) / 100,
                "created_by": actor.name,
                "created_at": now,
            }
        )
    _rows(session, InsuredCumulative, cumulatives)
    _rows(session, InsuredPosting, postings)
    counts = {
        "persons": len(reg.persons),
        "accounts": len(reg.balances),
        "identities": len(reg.identities),
        "openings": len(reg.openings),
    }
    record(
        session,
        actor,
        "demo.seed.insured",
        "region",
        places[0].code,
        after={**counts, "places": {p.code: p.people for p in places}, "year": year},
        region_code=places[0].code,
    )
    return counts


def reset_insured(session: Session, prefixes: tuple[str, ...] = ("99", "98")) -> None:
    """Delete the register of the insured places under ``prefixes`` and the policies
    of the places this module added."""
    where = or_(*(InsuredPerson.insuplc_admdvs.startswith(p) for p in prefixes))
    people = select(InsuredPerson.id).where(where)
    for model in (InsuredPosting, InsuredCumulative, InsuredAccount, InsuredIdentity):
        session.execute(delete(model).where(model.person_id.in_(people)))
    session.execute(delete(InsuredPerson).where(where))
    session.execute(delete(StoredPolicy).where(StoredPolicy.region_code.startswith("98")))
