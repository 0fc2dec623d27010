"""The post-audit's case weights from stored data (SQLite / PostgreSQL): a case without
a pricing row takes its DRG's weight from the payment standard in force for its region
on its discharge date (the lookup settlement prices with); a case with no weight at
all is left out of the CMI, so a month without weights stores no CMI figure and no
CMI-based finding."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import polars as pl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.builders import TEST_ACTOR, case, hospital
from tests.builders.settlement import PLAN_ID, publish_standards, standards_table
from yibao.cases.models import Case
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.engines.audit import DetectorParams, hospital_month_features
from yibao.grouping.models import CaseGrouping
from yibao.kit.timeutil import utcnow
from yibao.regions.models import Hospital
from yibao.settlement.models import CasePricing
from yibao.supervision.findings import frames
from yibao.supervision.findings.models import Finding
from yibao.supervision.findings.run import run_post_audit

OLD_PLAN = "chs-drg-1.0"
#: weights of the two standards (the second in force from 2024-03-15)
FIRST = {"FR23": Decimal("1.2345"), "ES21": Decimal("0.8000"), "GB11": Decimal("2.5000")}
SECOND = {"FR23": Decimal("1.5000"), "ES21": Decimal("0.9000"), "GB11": Decimal("3.0000")}


def _standard(db: Session, weights: dict[str, Decimal], valid_from: date) -> int:
    table = standards_table(weights, weight=weights.__getitem__)
    return publish_standards(db, table, valid_from=valid_from).id


def _grouped(db: Session, h: Hospital, discharge: date, *groupings: tuple[str, str]) -> Case:
    """A stored case with its (plan, DRG) groupings, the later one grouped later."""
    c = case(db, h, discharge_date=discharge, los_days=3)
    for i, (plan, drg) in enumerate(groupings):
        db.add(
            CaseGrouping(
                case_id=c.id,
                hospital_id=h.id,
                region_code=h.region_code,
                plan_id=plan,
                plan_version=plan[-3:],
                status="normal",
                mdc=f"MDC{drg[0]}",
                adrg=drg[:3],
                drg=drg,
                grouped_at=utcnow() + timedelta(minutes=i),
            )
        )
    db.flush()
    return c


def _priced(db: Session, c: Case, set_id: int, drg: str) -> None:
    db.add(
        CasePricing(
            case_id=c.id,
            hospital_id=c.hospital_id,
            region_code=c.region_code,
            plan_id=PLAN_ID,
            standard_set_id=set_id,
            drg=drg,
            payment_class="normal",
            payment_standard=Decimal("10000.00"),
            drg_payment=Decimal("10000.00"),
            fund_amount=Decimal("7000.00"),
            explanation="测试",
            terms={},
        )
    )
    db.flush()


def test_unpriced_cases_take_the_standard_in_force(db: Session) -> None:
    set_scope(db, SYSTEM_SCOPE)
    first = _standard(db, FIRST, date(2024, 1, 1))
    _standard(db, SECOND, date(2024, 3, 15))  # closes the first on 2024-03-14
    h = hospital(db, "990102")
    away = hospital(db, "990202")  # another city: no standard in force
    early, late = date(2024, 3, 10), date(2024, 3, 20)
    ids = {
        "early FR23": _grouped(db, h, early, (PLAN_ID, "FR23")),
        "early ES21": _grouped(db, h, early, (PLAN_ID, "ES21")),
        "late FR23": _grouped(db, h, late, (PLAN_ID, "FR23")),
        "late, not in the standard": _grouped(db, h, late, (PLAN_ID, "ZZ99")),
        "late, priced with the first": _grouped(db, h, late, (PLAN_ID, "GB11")),
        "only another plan": _grouped(db, h, early, (OLD_PLAN, "FR23")),
        "the standard's plan first": _grouped(db, h, early, (PLAN_ID, "ES21"), (OLD_PLAN, "FR23")),
        "another city": _grouped(db, away, early, (PLAN_ID, "FR23")),
    }
    _priced(db, ids["late, priced with the first"], first, "GB11")
    db.commit()

    cases = frames.inpatient_cases(db, date(2024, 3, 1), date(2024, 3, 31))
    by_case = {
        name: cases.row(by_predicate=pl.col("setl_id") == c.setl_id, named=True)
        for name, c in ids.items()
    }
    expected = {
        "early FR23": FIRST["FR23"],
        "early ES21": FIRST["ES21"],
        "late FR23": SECOND["FR23"],
        "late, not in the standard": None,
        "late, priced with the first": FIRST["GB11"],
        "only another plan": None,
        "the standard's plan first": FIRST["ES21"],
        "another city": None,
    }
    got = {name: row["rw"] for name, row in by_case.items()}
    assert got == {k: None if v is None else float(v) for k, v in expected.items()}
    assert by_case["the standard's plan first"]["drg"] == "ES21"

    features = hospital_month_features(cases, None, DetectorParams(min_cases=1))
    mine = features.filter(pl.col("hospital_code") == h.code).row(0, named=True)
    weights = [w for name, w in expected.items() if w is not None and name != "another city"]
    assert (mine["cases"], mine["rw_n"]) == (7, len(weights)) == (7, 5)
    assert mine["cmi"] == pytest.approx(float(sum(weights) / len(weights)))
    theirs = features.filter(pl.col("hospital_code") == away.code).row(0, named=True)
    assert theirs["rw_n"] == 0 and theirs["cmi"] is None


# --------------------------------------------------------------------------- stored run

#: CC DRGs per hospital out of 5 (D's all CC: the CC/MCC share stands out)
CC_CASES = {"A": 1, "B": 1, "C": 2, "D": 5}
CC_DRG, PLAIN_DRG = "ES23", "ES25"
RUN_WEIGHTS = {CC_DRG: Decimal("2.0000"), PLAIN_DRG: Decimal("1.0000")}


def _month(db: Session, discharge: date) -> dict[str, str]:
    """Four level-3 hospitals with five unpriced cases each; {name: hospital code}."""
    codes = {}
    for name, cc in CC_CASES.items():
        h = hospital(db, "990102")
        codes[name] = h.code
        for i in range(5):
            _grouped(
                db, h, discharge - timedelta(days=i), (PLAN_ID, CC_DRG if i < cc else PLAIN_DRG)
            )
    db.commit()
    return codes


def _run(db: Session, month: str, **params: object) -> list[Finding]:
    run_post_audit(
        db,
        [month],
        actor=TEST_ACTOR,
        params=DetectorParams.from_data({"min_cases": 5, **params}),
    )
    db.commit()
    return list(db.scalars(select(Finding).where(Finding.period == month).order_by(Finding.id)))


def test_stored_evidence_has_the_cmi_of_the_standard_in_force(db: Session) -> None:
    set_scope(db, SYSTEM_SCOPE)
    _standard(db, RUN_WEIGHTS, date(2024, 1, 1))
    codes = _month(db, date(2024, 2, 20))
    found = _run(db, "2024-02")
    [upcode] = [f for f in found if f.rule_id == "DRG-UPCODE"]
    assert upcode.hospital_code == codes["D"]
    cmi = sum(RUN_WEIGHTS[CC_DRG] for _ in range(5)) / 5  # D: five CC cases
    assert f"本月 5 例，CMI {cmi:.4f}，CC/MCC 占比 100.0%" in upcode.vola_evid
    assert "CMI 高于同级医院" in upcode.vola_cont  # peers 1.2, 1.2, 1.4


def test_a_month_without_weights_stores_no_cmi(db: Session) -> None:
    set_scope(db, SYSTEM_SCOPE)
    _standard(db, RUN_WEIGHTS, date(2024, 1, 1))
    codes = _month(db, date(2023, 12, 20))  # before any standard is in force
    found = _run(
        db,
        "2023-12",
        anomaly_min_rows=4,
        anomaly_min_score=0,
        anomaly_contamination=0.5,
    )
    rules = {f.rule_id for f in found}
    assert {"DRG-UPCODE", "DRG-ANOMALY"} <= rules
    [upcode] = [f for f in found if f.rule_id == "DRG-UPCODE"]
    assert upcode.hospital_code == codes["D"]
    assert "CMI" not in upcode.vola_cont  # the CC/MCC share alone
    for f in found:
        text = f.vola_cont + f.vola_evid
        assert "CMI 0.0000" not in text and "CMI 0." not in text, text
        if f.rule_id in ("DRG-UPCODE", "DRG-ANOMALY"):
            assert "本月 5 例，CMI 无权重（无适用的支付标准）" in f.vola_evid
