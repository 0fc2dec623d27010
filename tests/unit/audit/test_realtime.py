"""The pure part of real-time audit (ADR 0023): reading a 3101/3102 input into the
claim and its sent history, stage and scenario, the history window, days supplied and
drugs on hand, recent visits."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from yibao.engines.audit import Knowledge
from yibao.engines.audit.messages import AuditIn
from yibao.engines.audit.realtime import (
    PastFee,
    PastVisit,
    days_supplied,
    drugs_on_hand,
    history_since,
    read_request,
    recent_visits,
)
from yibao.engines.exchange import Refused
from yibao.engines.exchange.lenient import read

DRUG = {"code": "XD1", "name": "演示片", "kind": "western", "fee_type": "09", "chrgitm_lv": "01"}
K = Knowledge.from_data(
    items=[
        DRUG | {"restrictions": [{"kind": "quantity", "per_day": "3"}]},
        DRUG | {"code": "XD2", "name": "无限量片"},
        {"code": "S1", "name": "检查", "kind": "service", "fee_type": "04", "chrgitm_lv": "01"},
    ]
)


def order(rx: str, code: str = "S1", **kw: Any) -> dict[str, Any]:
    return {"rx_id": rx, "hilist_code": code, "cnt": "2", "pric": "5", "sumamt": "10.00"} | kw


def body(encounters: list[dict[str, Any]], **data: Any) -> AuditIn:
    patient = {"patn_id": "P1", "gend": "2", "brdy": "1980-05-01", "fsi_encounter_dtos": encounters}
    doc = {"data": {"patient_dtos": [patient], "trig_scen": "4"} | data}
    model, _ = read(AuditIn, doc)
    return model


def enc(mdtrt_id: str, orders: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return {
        "mdtrt_id": mdtrt_id,
        "adm_date": "2026-03-05 08:00:00",
        "med_mdtrt_type": "2",
        "fsi_diagnose_dtos": [
            {"dise_codg": "J18.9", "dias_srt_no": "2"},
            {"dise_codg": "I10", "maindise_flag": "1"},
        ],
        "fsi_order_dtos": orders,
    } | kw


def test_current_encounter_and_history_the_message_carries() -> None:
    data = body(
        [
            enc("M0", [order("A")], adm_date="2026-03-01"),
            enc("M1", [order("B", curr_drord_flag="0"), order("C", drord_begn_date="2026-03-06")]),
        ],
    )
    data.data.patient_dtos[0].curr_mdtrt_id = "M1"
    req = read_request("3101", data.data, "2")
    assert (req.stage, req.trig_scen, req.on) == ("pre", 4, date(2026, 3, 5))
    assert req.claim.encounter.care_mode == "ipt" and req.claim.encounter.hospital_level == "2"
    assert req.claim.encounter.diagnoses == ("I10", "J18.9")
    assert [(ln.rx_id, ln.day) for ln in req.claim.lines] == [("C", date(2026, 3, 6))]
    assert sorted((c.encounter.mdtrt_id, ln.rx_id) for c in req.sent_history for ln in c.lines) == [
        ("M0", "A"),
        ("M1", "B"),
    ]
    assert req.mdtrt_ids == {"M0", "M1"}
    # two encounters and no curr_mdtrt_id: which one is meant is not guessed
    data.data.patient_dtos[0].curr_mdtrt_id = None
    with pytest.raises(Refused) as err:
        read_request("3101", data.data, "2")
    assert err.value.field == "data.patient_dtos[0].curr_mdtrt_id"


@pytest.mark.parametrize(
    ("infno", "scene", "ok"),
    [
        ("3101", "3", True),
        ("3101", "5", True),
        ("3101", "6", False),
        ("3102", "8", True),
        ("3102", "4", False),
        # the encounter is inpatient: an outpatient or pharmacy scene does not fit it
        ("3101", "1", False),
        ("3102", "10", False),
    ],
)
def test_scenario_belongs_to_the_transaction(infno: str, scene: str, ok: bool) -> None:
    data = body([enc("M1", [order("A")])], trig_scen=scene)
    if ok:
        assert read_request(infno, data.data, "3").trig_scen == int(scene)
    else:
        with pytest.raises(Refused) as err:
            read_request(infno, data.data, "3")
        assert err.value.field == "data.trig_scen"


def test_rule_ids_as_text_or_list_and_the_history_window() -> None:
    a = body(
        [enc("M1", [order("A", drord_begn_date="2026-03-20")])], trig_scen=None, rule_ids="R1, R2"
    )
    b = body([enc("M1", [order("A")])], trig_scen=None, rule_ids=["R1", "R2"])
    assert a.data.rule_ids == b.data.rule_ids == ["R1", "R2"]
    req = read_request("3102", a.data, "3")
    assert (req.stage, req.trig_scen, req.rule_ids) == ("mid", None, ("R1", "R2"))
    assert history_since(req, ["visit"]) is None
    assert history_since(req, ["visit", "day"]) == date(2026, 3, 5)
    assert history_since(req, ["day", "month"]) == date(2026, 3, 1)


def fee(day: date, code: str, qty: str, prd: str | None = None, settled: bool = True) -> PastFee:
    return PastFee(
        visit_id=1,
        feedetl_sn=f"{code}{day}",
        item_code=code,
        quantity=D(qty),
        price=D("1.00"),
        amount=D(qty),
        day=day,
        settled=settled,
        fee_type="09",
        prd_days=D(prd) if prd else None,
    )


def test_days_supplied_and_remaining() -> None:
    on = date(2026, 3, 10)
    assert days_supplied(fee(on, "XD1", "10", "7.5"), D(3)) == (8, "prd_days")
    assert days_supplied(fee(on, "XD1", "10"), D(3)) == (4, "per_day")  # ⌈10 / 3⌉
    assert days_supplied(fee(on, "XD2", "10"), None) is None
    visit = PastVisit(
        1, "M9", "otp", "H1", "一院", "3", on - timedelta(days=5), None, "", "", "", "", D("1")
    )
    fees = [
        fee(on - timedelta(days=3), "XD1", "12"),  # 4 days: covers 7th … 10th → 1 left
        fee(on - timedelta(days=4), "XD1", "12"),  # covers 6th … 9th → none left
        fee(on - timedelta(days=1), "XD1", "3", settled=False),  # not settled
        fee(on - timedelta(days=2), "XD2", "30", "10"),  # 8th … 17th → 8 left
        fee(on - timedelta(days=2), "XD2", "30"),  # supply unknown: not listed
        fee(on - timedelta(days=2), "S1", "30", "10"),  # not a drug
    ]
    got = [
        (d.hilist_code, d.rema_days, d.end_date, d.days_basis)
        for d in drugs_on_hand([visit], fees, K, on)
    ]
    assert got == [
        ("XD2", 8, date(2026, 3, 17), "prd_days"),
        ("XD1", 1, date(2026, 3, 10), "per_day"),
    ]


def test_recent_visits_newest_first_with_amounts() -> None:
    on = date(2026, 3, 10)

    def v(i: int, days_ago: int, settled: str | None) -> PastVisit:
        begin = on - timedelta(days=days_ago)
        return PastVisit(
            i,
            f"M{i}",
            "ipt",
            "H1",
            "一院",
            "3",
            begin,
            None,
            "I10",
            "高血压",
            "",
            "",
            D(settled) if settled else None,
        )

    fees = [
        PastFee(2, "L1", "S1", D(1), D("12.50"), D("12.50"), on, False, "04", None),
        PastFee(2, "L2", "S1", D(1), D("7.50"), D("7.50"), on, False, "04", None),
    ]
    shown = recent_visits([v(1, 31, "9.00"), v(2, 1, None), v(3, 30, "100.00")], fees, on, 30)
    assert [(h.mdtrt_date, h.setl_flag, h.medfee_sumamt) for h in shown] == [
        (on - timedelta(days=1), "0", D("20.00")),
        (on - timedelta(days=30), "1", D("100.00")),
    ]
