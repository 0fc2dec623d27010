"""Settlement test data: published payment standards, 4101A settlement lists, the demo
world the settlement HTTP tests share, and logging in over HTTP with the CSRF token.

Small and explicit, with keyword overrides like the other builders: a test states the
figures it cares about (costs, dates, codes) and gets a complete message for the rest.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from unittest.mock import patch

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.builders import PASSWORD, TEST_ACTOR
from tests.builders.snapshot import cached
from yibao.accounts.models import User
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import seed_demo
from yibao.engines.grouper import PlanRegistry
from yibao.engines.measure import STANDARDS_SCHEMA
from yibao.kit.timeutil import utcnow
from yibao.measurement.models import PaymentStandardSet
from yibao.measurement.service import do_publish_standards
from yibao.settlement import special

PLAN_ID = "chs-drg-1.1"
CENT = Decimal("0.01")
FLAT_STANDARD = Decimal("10000.00")
_seq = itertools.count(1)
_registry: PlanRegistry | None = None


def plan_registry() -> PlanRegistry:
    """The package plans, compiled once per test session."""
    global _registry
    if _registry is None:
        _registry = PlanRegistry()
    return _registry


def money(value: Decimal | int | str) -> Decimal:
    """Half up to the fen (四舍五入)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------- standards


def standards_table(
    drgs: Iterable[str] | None = None,
    *,
    weight: Callable[[str], Decimal] | None = None,
    base_rates: dict[str, Decimal] | None = None,
) -> pl.DataFrame:
    """A payment-standard table (drg × hospital level): ``payment_standard`` =
    ``weight(drg)`` × the level's base rate, half up to the fen.  Defaults: every DRG of
    the plan, weight 1 and base rate 10,000 for each level (a flat 10,000.00)."""
    codes = sorted(drgs if drgs is not None else plan_registry().get(PLAN_ID).plan.drgs)
    rates = base_rates or dict.fromkeys(("1", "2", "3"), Decimal(10000))
    rows = []
    for drg in codes:
        rw = (weight(drg) if weight else Decimal(1)).quantize(Decimal("0.0001"))
        for level, rate in sorted(rates.items()):
            rows.append((drg, level, rw, Decimal(rate), money(rw * rate)))
    return pl.DataFrame(rows, schema=dict(STANDARDS_SCHEMA), orient="row")


def publish_standards(
    session: Session,
    table: pl.DataFrame | None = None,
    *,
    region_code: str = "990100",
    valid_from: date = date(2024, 1, 1),
    name: str = "测试标准",
) -> PaymentStandardSet:
    """Publish ``table`` (default :func:`standards_table`) as the region's standards."""
    return do_publish_standards(
        session,
        region_code=region_code,
        name=name,
        plan_id=PLAN_ID,
        table=standards_table() if table is None else table,
        valid_from=valid_from,
        valid_to=None,
        source="imported",
        weight_plan=None,
        rate_row=None,
        actor=TEST_ACTOR,
    )


# --------------------------------------------------------------------------- lists


def _names(kind: str, codes: Sequence[str]) -> list[str | None]:
    plan = plan_registry().get(PLAN_ID).plan
    names, mapping = (
        (plan.dx_names, plan.dx_map) if kind == "dx" else (plan.proc_names, plan.proc_map)
    )
    return [names.get(c) or names.get(mapping.get(c, "")) for c in codes]


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def settlement_list(
    hospital_code: str,
    *,
    discharge: date,
    diagnoses: Sequence[str],
    total_cost: Decimal | str,
    los_days: int = 5,
    sex: str = "1",
    age: int = 50,
    dept: str = "03.03",
    procedures: Sequence[str] = (),
    region_code: str | None = None,
    insutype: str = "310",
    fund_share: Decimal = Decimal("0.70"),
    setl_id: str | None = None,
    **setlinfo: Any,
) -> dict[str, Any]:
    """One clean 4101A message (no QC finding): the principal diagnosis first, fees in
    two bill categories (床位费 10 %, 西药费 the rest), the fund paying ``fund_share``,
    3 % 全自费 and 2 % 先行自付.  ``setlinfo`` overrides any message field."""
    n = next(_seq)
    region = region_code or hospital_code[1:7]
    cost = money(total_cost)
    bed = money(cost * Decimal("0.10"))
    fund = money(cost * fund_share)
    out = datetime.combine(discharge, time(10, 0))
    adm = out - timedelta(days=los_days, hours=1, minutes=30)
    birth = date(adm.year - age, 1, 1) if adm.month > 1 else date(adm.year - age - 1, 12, 1)
    sid = setl_id or f"S{hospital_code[-6:]}{discharge:%y%m}{n:05d}"
    info = {
        "setl_id": sid,
        "mdtrt_id": "M" + sid[1:],
        "fixmedins_code": hospital_code,
        "fixmedins_name": f"测试医院{hospital_code}",
        "mdtrtarea_admvs": region,
        "hi_no": f"P{region}{n:010d}",
        "medcasno": "B" + sid[1:],
        "psn_no": f"P{region}{n:010d}",
        "psn_name": f"测试患者{n}",
        "gend": sex,
        "brdy": birth.isoformat(),
        "age": str(age),
        "ntly": "CHN",
        "insutype": insutype,
        "insuplc": region,
        "trt_type": "1",
        "adm_time": _stamp(adm),
        "adm_caty": dept,
        "dscg_time": _stamp(out),
        "dscg_caty": dept,
        "act_ipt_days": str(los_days),
        "diag_code_cnt": str(len(diagnoses)),
        "oprn_oprt_code_cnt": str(len(procedures)),
        "dscg_way": "1",
        "bill_code": "TEST",
        "bill_no": sid,
        "biz_sn": sid,
        "chfpdr_code": "D0001",
        "resp_nurs_code": "N0001",
        "setl_begn_date": adm.date().isoformat(),
        "setl_end_date": discharge.isoformat(),
        "hi_paymtd": "4",
        "medins_fill_dept": "病案统计科",
        "medins_fill_psn": "测试填报员",
        "medfee_sumamt": str(cost),
        "fund_pay_sumamt": str(fund),
        "acct_pay": "0.00",
        "psn_cash_pay": str(cost - fund),
        "fulamt_ownpay_amt": str(money(cost * Decimal("0.03"))),
        "preselfpay_amt": str(money(cost * Decimal("0.02"))),
    }
    info.update(setlinfo)
    return {
        "setlinfo": info,
        "diseinfo": [
            {
                "diag_type": "1",
                "diag_code": code,
                "diag_name": name,
                "adm_cond_type": "1",
                "maindiag_flag": "1" if i == 0 else "0",
            }
            for i, (code, name) in enumerate(zip(diagnoses, _names("dx", diagnoses), strict=True))
        ],
        "oprninfo": [
            {
                "oprn_oprt_type": "1" if i == 0 else "2",
                "oprn_oprt_code": code,
                "oprn_oprt_name": name,
                "oprn_oprt_date": (discharge - timedelta(days=1)).isoformat(),
                "oper_dr_code": "D0002",
            }
            for i, (code, name) in enumerate(zip(procedures, _names("px", procedures), strict=True))
        ],
        "iteminfo": [
            {"med_chrgitm": "01", "amt": str(bed)},
            {"med_chrgitm": "09", "amt": str(cost - bed)},
        ],
    }


# --------------------------------------------------------------------------- HTTP


def login(client, username: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    """Log ``client`` in as ``username`` (logging out whoever was in) and send the
    session's CSRF token with every later request."""
    if "x-csrf-token" in client.headers:
        client.post("/logout")
        del client.headers["x-csrf-token"]
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:200]
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, (username, r.status_code, r.text[:200])
    home = client.get("/", headers={"accept": "text/html"})
    client.headers["x-csrf-token"] = home.text.split('"X-CSRF-Token": "', 1)[1].split('"', 1)[0]


# --------------------------------------------------------------------------- demo world


def demo_world(session: Session, seed: int = 9) -> dict[str, str]:
    """The demo region (users hosp01, hosp02, reviewer … with the demo password) and a
    flat published standard (10,000.00 for every DRG and level), committed.  Returns
    {username: hospital code} of hosp01 and hosp02.

    Seeded once per test process and copied into each later test's empty database
    (:mod:`tests.builders.snapshot`)."""
    set_scope(session, SYSTEM_SCOPE)
    return cached(session, f"demo-world-{seed}", lambda s: _build_demo_world(s, seed))


def _build_demo_world(session: Session, seed: int) -> dict[str, str]:
    seed_demo(session, seed=seed, years=[2023], cases_per_year=50)
    publish_standards(session)
    session.commit()
    users = session.scalars(select(User).where(User.username.in_(["hosp01", "hosp02"])))
    return {u.username: u.hospital.code for u in users}


def approved_list(
    session: Session,
    hospital: Any,
    *,
    discharge_date: date = date(2025, 3, 10),
    payment: Decimal | str = "8000.00",
    state: str = "approved",
) -> Any:
    """A priced settlement list already through review (default: approved), with its
    case and pricing, ready for period confirmation."""
    from tests.builders import case
    from yibao.settlement.models import CasePricing, SettlementList

    c = case(session, hospital, discharge_date=discharge_date)
    amount = money(payment)
    session.add(
        CasePricing(
            case_id=c.id,
            hospital_id=hospital.id,
            region_code=hospital.region_code,
            plan_id=PLAN_ID,
            drg="FR23",
            payment_class="normal",
            payment_standard=amount,
            drg_payment=amount,
            fund_amount=(amount * Decimal("0.7")).quantize(CENT),
            explanation="测试",
            terms={},
        )
    )
    row = SettlementList(
        setl_id=c.setl_id,
        hospital_id=hospital.id,
        hospital_code=hospital.code,
        region_code=hospital.region_code,
        version=1,
        state=state,
        case_id=c.id,
        source="test",
        discharge_month=f"{discharge_date:%Y-%m}",
    )
    session.add(row)
    session.flush()
    return row


@contextmanager
def appeal_window_over(days: int = 16) -> Iterator[None]:
    """Confirm as on a day after the appeal window of today's review decisions (an
    adjusted list is confirmed only then: ADR 0008 amendment).  Only the special-case
    clock moves; the month-over check of a confirmation reads the real date."""
    later = utcnow() + timedelta(days=days)
    with patch.object(special, "CLOCK", lambda: later):
        yield
