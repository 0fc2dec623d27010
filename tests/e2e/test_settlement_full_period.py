"""One settlement period walked end to end through the public HTTP API, as a bureau and
its hospitals do it (SQLite by default, PostgreSQL with YIBAO_TEST_DATABASE_URL):

upload (JSON 4101A and a CSV file, with invalid lists rejected field by field) → QC →
grouping and pricing with the published standard → review (approve, return, adjust,
an illegal move) → special case within the quota (and one beyond it) → appeals → the
confirmation job → monthly statements (JSON, Excel, PDF) → year-end clearing.

Only the region, hospitals, users and the published payment standard are set up with
builders; every step of the walk is an HTTP call.  Expected figures are computed here
from the standard, the benefit policy and each list's own figures — never read back
from the product and compared with itself.

The period is last month (Asia/Shanghai): hospitals upload last month's discharges and
apply for special cases before the end of this month (the application window), so the
walk needs no fake clock.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from sqlalchemy import func, select

import yibao.engines.settlement as settlement_engine
from tests import builders as b
from tests.builders.settlement import (
    login,
    money,
    publish_standards,
    settlement_list,
    standards_table,
)
from tests.e2e.test_grouping_api import wait_job
from yibao.accounts.roles import Role
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.engines.qc import lists_to_flat
from yibao.kit.timeutil import local, utcnow
from yibao.settlement.models import SettlementConfirmation

D = Decimal
HAN = re.compile(r"[\u4e00-\u9fff]")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
POLICIES = Path(settlement_engine.__file__).parent / "policies" / "990100.json"
BASE_RATES = {"1": D(8000), "2": D(9000), "3": D(10000)}
HIGH_MULTIPLE = {"1": D(2), "2": D(2), "3": D(3)}  # 三级 3×, 二级/一级 2× (ADR 0006)
LOW_MULTIPLE = D("0.3")


def weight(drg: str) -> Decimal:
    """A relative weight per DRG between 0.50 and 1.99, so standards differ by DRG."""
    return D(50 + sum(map(ord, drg)) % 150) / 100


@dataclass(frozen=True)
class Golden:
    """A public case of ../shared/data/chs-drg-1.1/cases-public.csv (the reference
    grouper's result in ``drg``)."""

    case_id: str
    sex: str
    age: int
    dept: str
    los: int
    diagnoses: tuple[str, ...]
    drg: str


# key → (public case, how the cost relates to the standard)
PLAN: dict[str, tuple[Golden, str]] = {
    "A1": (Golden("P005288", "1", 65, "03.03", 6, ("F03.x00", "Q85.900x038"), "BX15"), "normal"),
    "A2": (Golden("P003358", "1", 55, "03.03", 11, ("T02.010", "M00.001"), "BY11"), "normal"),
    "A3": (Golden("P009542", "1", 36, "10", 8, ("H59.803",), "CZ19"), "high"),
    "A4": (Golden("P004322", "1", 31, "11", 8, ("C02.300x011",), "DR19"), "low"),
    "A5": (Golden("P005487", "2", 46, "11", 4, ("H91.300x001", "K29.100"), "DS19"), "normal"),
    "A6": (Golden("P007732", "2", 50, "03.05", 3, ("D55.900",), "QS25"), "normal"),
    "A7": (Golden("P009444", "2", 37, "19", 7, ("D47.100x008", "I10.x03"), "RS15"), "normal"),
    "A8": (Golden("P002501", "1", 59, "16", 5, ("T81.403", "E78.801"), "SS15"), "normal"),
    "A9": (Golden("P009410", "1", 32, "15", 7, ("F20.802", "H40.505"), "TR19"), "normal"),
    "I1": (Golden("P005029", "2", 79, "20", 11, ("S41.000x002",), "VR19"), "normal"),
    "I2": (Golden("P003509", "1", 37, "03.03", 8, ("C47.100x007", "M17.300"), "BU15"), "normal"),
    "B1": (Golden("P000916", "2", 51, "03.03", 9, ("G71.005", "K21.903"), "BV25"), "normal"),
}


def last_month() -> tuple[str, date]:
    today = local(utcnow()).date()
    last = today.replace(day=1) - timedelta(days=1)
    return f"{last:%Y-%m}", last.replace(day=1)


def benefit(insutype: str, level: str, day: date) -> tuple[Decimal, Decimal]:
    """(deductible, ratio) of the demo policy of 990100 valid on ``day`` (local care)."""
    for p in json.loads(POLICIES.read_text(encoding="utf-8"))["policies"]:
        ends = date.fromisoformat(p["valid_to"]) if p.get("valid_to") else date.max
        if p["insutype"] == insutype and date.fromisoformat(p["valid_from"]) <= day <= ends:
            lv = p["levels"][level]
            return D(lv["deductible"]), D(lv["ratio"])
    raise AssertionError(f"no demo policy for {insutype} on {day}")


@dataclass
class Expected:
    """What the list must be priced at, worked out from the standard and its figures."""

    key: str
    message: dict[str, Any]
    level: str
    drg: str
    payment_class: str
    standard: Decimal
    payment: Decimal
    fund: Decimal
    list_id: int = 0
    paid: Decimal = Decimal(0)  # what the confirmation must pay
    paid_fund: Decimal = Decimal(0)
    basis: str = "standard"

    @property
    def cost(self) -> Decimal:
        return D(self.message["setlinfo"]["medfee_sumamt"])


def expected(key: str, message: dict[str, Any], level: str) -> Expected:
    golden, kind = PLAN[key]
    info = message["setlinfo"]
    standard = money(weight(golden.drg) * BASE_RATES[level])
    cost = D(info["medfee_sumamt"])
    if cost > HIGH_MULTIPLE[level] * standard:
        cls = "high"
    elif cost < LOW_MULTIPLE * standard:
        cls = "low"
    else:
        cls = "normal"
    assert cls == kind, (key, cls, kind)
    if cls == "normal":  # national formula on the standard (ADR 0006 §3)
        payment, fund = standard, formula_fund(message, level, standard)
    else:  # by items: the cost, and the case's actual pooled fund
        payment, fund = cost, D(info["fund_pay_sumamt"])
    return Expected(key, message, level, golden.drg, cls, standard, payment, fund)


def formula_fund(message: dict[str, Any], level: str, amount: Decimal) -> Decimal:
    """The national formula's fund at payment ``amount`` (ADR 0006 §3): max(0, (amount −
    全自费 − 先自付 − 起付线) × ratio) with the demo policy of the list's insutype and day."""
    info = message["setlinfo"]
    day = date.fromisoformat(info["dscg_time"][:10])
    deductible, ratio = benefit(info["insutype"], level, day)
    in_scope = amount - D(info["fulamt_ownpay_amt"]) - D(info["preselfpay_amt"])
    return money(max(D(0), (in_scope - deductible) * ratio))


def cost_for(key: str, level: str) -> Decimal:
    golden, kind = PLAN[key]
    standard = money(weight(golden.drg) * BASE_RATES[level])
    factor = {"normal": D("1.2"), "high": HIGH_MULTIPLE[level] + 1, "low": D("0.25")}[kind]
    return money(standard * factor)


def message_for(key: str, hospital_code: str, level: str, discharge: date, **kw: Any):  # type: ignore[no-untyped-def]
    golden, _ = PLAN[key]
    return settlement_list(
        hospital_code,
        discharge=discharge,
        diagnoses=golden.diagnoses,
        total_cost=kw.pop("total_cost", cost_for(key, level)),
        los_days=golden.los,
        sex=golden.sex,
        age=golden.age,
        dept=golden.dept,
        **kw,
    )


def _error(r) -> str:  # type: ignore[no-untyped-def]
    message = r.json()["error"]["message"]
    assert HAN.search(message), message
    return message


@dataclass
class Walk:
    client: Any
    period: str
    first_day: date
    set_id: int
    codes: dict[str, str]  # "A" / "B" → hospital code
    levels: dict[str, str]
    lists: dict[str, Expected] = field(default_factory=dict)

    def discharge(self, key: str) -> date:
        return self.first_day + timedelta(days=1 + list(PLAN).index(key))

    def message(self, key: str, **kw: Any) -> dict[str, Any]:
        side = key[0] if key[0] == "B" else "A"
        return message_for(
            key,
            self.codes[side],
            self.levels[side],
            self.discharge(key),
            setl_id=f"S{self.period.replace('-', '')}{key}",
            **kw,
        )

    def id(self, key: str) -> int:
        return self.lists[key].list_id


@pytest.fixture()
def walk(client, db):  # type: ignore[no-untyped-def]
    """A city (990100) with two hospitals in two districts, their users, a reviewer and
    a published payment standard (weights by DRG × base rate by level)."""
    set_scope(db, SYSTEM_SCOPE)
    ha = b.hospital(db, "990102", name="演示甲医院", level="3")
    hb = b.hospital(db, "990103", name="演示乙医院", level="2")
    b.user(db, Role.HOSPITAL_USER, hospital=ha, username="hosp_a")
    b.user(db, Role.HOSPITAL_USER, hospital=hb, username="hosp_b")
    b.user(db, Role.BUREAU_REVIEWER, region_code="990100", username="reviewer")
    b.benefit_policies(db)
    drgs = sorted({g.drg for g, _ in PLAN.values()})
    published = publish_standards(db, standards_table(drgs, weight=weight, base_rates=BASE_RATES))
    db.commit()
    period, first_day = last_month()
    return Walk(
        client,
        period,
        first_day,
        published.id,
        {"A": ha.code, "B": hb.code},
        {"A": ha.level, "B": hb.level},
    )


# --------------------------------------------------------------------------- steps


def _check_priced(w: Walk, key: str, out: dict[str, Any]) -> None:
    exp = w.lists[key]
    assert out["state"] == "priced", (key, out)
    assert (out["drg"], out["payment_class"]) == (exp.drg, exp.payment_class), key
    assert D(out["drg_payment"]) == exp.payment, (key, out["drg_payment"], exp.payment)
    assert abs(D(out["fund_amount"]) - exp.fund) <= D("0.01"), (key, out, exp.fund)
    exp.list_id = out["list_id"]


def _check_findings(findings: list[dict[str, Any]]) -> None:
    """Every finding names its field, the offending value and its rule, in Chinese."""
    assert findings
    for f in findings:
        assert f["rule_id"] and f["field"] and f["severity"] in ("blocking", "warning"), f
        message = f["message"]
        assert HAN.search(message) and f"规则 {f['rule_id']}" in message, f
        assert f["field"] in message, f
        if f["value"] is not None:
            assert f"'{f['value']}'" in message, f


def _upload_json(w: Walk) -> None:
    """Hospital A uploads a JSON batch: clean lists are priced, a list with a warning is
    priced with it, an invalid list is held with its findings, another hospital's list
    is refused."""
    client = w.client
    login(client, "hosp_a")
    for key in PLAN:
        side = "B" if key == "B1" else "A"
        w.lists[key] = expected(key, w.message(key), w.levels[side])
    # A9 states one day too many: a warning only, so it is grouped and priced anyway
    info = w.lists["A9"].message["setlinfo"]
    info["act_ipt_days"] = str(int(info["act_ipt_days"]) + 1)
    # I1: sex code 3 and a fee item that does not add up → two blocking findings
    bad = w.message("I1", gend="3")
    bad["iteminfo"][1]["amt"] = str(D(bad["iteminfo"][1]["amt"]) + 1)
    foreign = w.message("B1")  # another hospital's list: not ours to upload
    json_keys = ["A3", "A4", "A5", "A6", "A7", "A8", "A9"]
    r = client.post(
        "/api/settlement/lists",
        json={"lists": [w.lists[k].message for k in json_keys] + [bad, foreign]},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["received"] == 9
    assert body["by_state"] == {"priced": 7, "qc_failed": 1, "refused": 1}
    out = body["lists"]
    for key, item in zip(json_keys, out, strict=False):
        _check_priced(w, key, item)
        if key != "A9":
            assert item["findings"] == []  # clean lists carry no finding
    warning = out[json_keys.index("A9")]["findings"]
    _check_findings(warning)
    assert [(f["rule_id"], f["severity"], f["field"]) for f in warning] == [
        ("QC019", "warning", "setlinfo.act_ipt_days")
    ]
    held = out[7]
    assert held["state"] == "qc_failed" and held["drg"] is None and held["drg_payment"] is None
    _check_findings(held["findings"])
    found = {f["rule_id"]: f for f in held["findings"]}
    assert {"QC003", "QC021"} <= set(found), held["findings"]
    sex, fees = found["QC003"], found["QC021"]
    assert (sex["severity"], sex["field"], sex["value"]) == ("blocking", "setlinfo.gend", "3")
    assert "性别" in sex["message"] and "值域" in sex["message"]
    total = bad["setlinfo"]["medfee_sumamt"]
    assert (fees["severity"], fees["field"]) == ("blocking", "setlinfo.medfee_sumamt")
    assert fees["value"] == total and "医疗费总额" in fees["message"]
    w.lists["I1"].list_id = held["list_id"]
    refused = out[8]
    assert refused["state"] == "refused" and refused["findings"][0]["rule_id"] == "INTAKE01"
    assert refused["findings"][0]["field"] == "setlinfo.fixmedins_code"


def _upload_csv(w: Walk) -> None:
    """The flat CSV form (one row per list): two clean lists and I2 with an impossible
    birth date, held with a format finding."""
    client = w.client
    i2 = w.message("I2", brdy=f"{w.first_day.year - 37}-02-30")
    flat = lists_to_flat([w.lists["A1"].message, w.lists["A2"].message, i2])
    buf = io.BytesIO()
    pl.DataFrame(flat).write_csv(buf)
    r = client.post("/api/settlement/lists/upload", files={"file": ("清单.csv", buf.getvalue())})
    assert r.status_code == 200, r.text
    out = r.json()["lists"]
    assert r.json()["by_state"] == {"priced": 2, "qc_failed": 1}
    _check_priced(w, "A1", out[0])
    _check_priced(w, "A2", out[1])
    i2_out = out[2]
    assert i2_out["state"] == "qc_failed" and i2_out["drg"] is None
    _check_findings(i2_out["findings"])
    birth = next(f for f in i2_out["findings"] if f["field"] == "setlinfo.brdy")
    assert (birth["rule_id"], birth["severity"]) == ("QC005", "blocking")
    assert birth["value"] == i2["setlinfo"]["brdy"] and "出生日期" in birth["message"]
    w.lists["I2"].list_id = i2_out["list_id"]


def _detail_and_correction(w: Walk) -> None:
    """The detail names the published standard; the corrected I1 is a new version."""
    client = w.client
    detail = client.get(f"/api/settlement/lists/{w.id('A1')}").json()
    pricing = detail["pricing"]
    assert pricing["standard_set_id"] == w.set_id and pricing["drg"] == w.lists["A1"].drg
    assert D(pricing["payment_standard"]) == w.lists["A1"].standard
    assert pricing["terms"]["term_deductible"] is not None and pricing["explanation"]
    held_detail = client.get(f"/api/settlement/lists/{w.id('I1')}").json()
    assert held_detail["pricing"] is None and len(held_detail["findings"]) >= 2
    r = client.post("/api/settlement/lists", json=w.lists["I1"].message)
    fixed = r.json()["lists"][0]
    assert (fixed["list_id"], fixed["version"]) == (w.id("I1"), 2)
    assert fixed["findings"] == []
    _check_priced(w, "I1", fixed)
    history = client.get(f"/api/settlement/lists/{w.id('I1')}/history").json()
    received = [e for e in history["events"] if e["action"] == "receive"]
    assert [(e["version"], e["to_state"]) for e in received] == [(1, "qc_failed"), (2, "grouped")]


def _other_hospital(w: Walk) -> None:
    """Hospital B uploads its own list and can neither see nor touch hospital A's."""
    client = w.client
    login(client, "hosp_b")
    r = client.post("/api/settlement/lists", json=w.lists["B1"].message)
    _check_priced(w, "B1", r.json()["lists"][0])
    a1, a6 = w.id("A1"), w.id("A6")
    assert client.get(f"/api/settlement/lists/{a1}").status_code == 404
    assert client.get(f"/api/settlement/lists/{a1}/history").status_code == 404
    assert [i["setl_id"] for i in client.get("/api/settlement/lists").json()["items"]] == [
        w.lists["B1"].message["setlinfo"]["setl_id"]
    ]
    # replacing A's list under A's institution code is refused
    r = client.post("/api/settlement/lists", json=w.lists["A1"].message)
    assert r.json()["lists"][0]["findings"][0]["rule_id"] == "INTAKE01"
    r = client.post(f"/api/settlement/lists/{a1}/special-case", data={"reason": "x"})
    assert r.status_code == 404
    assert (
        client.post(f"/api/settlement/lists/{a6}/appeal", json={"reason": "x"}).status_code == 404
    )
    assert client.post(f"/api/settlement/review/{a1}/approve", json={}).status_code == 403


def _special_cases(w: Walk) -> dict[str, Any]:
    """A applies for A8 (new technique) within the quota; A3 (cost ≥ 2× standard) is
    eligible too but beyond the quota of 1 (5 ‰ of 10 cases, at least 1)."""
    client = w.client
    login(client, "hosp_a")
    files = [("files", ("新技术说明.pdf", b"%PDF-1.4 new technique", "application/pdf"))]
    r = client.post(
        f"/api/settlement/lists/{w.id('A8')}/special-case",
        data={"reason": "使用新技术（经皮介入治疗），费用明显高于病组标准", "new_tech": "true"},
        files=files,
    )
    assert r.status_code == 200, r.text
    app = r.json()
    assert app["list_state"] == "special_applied" and app["period"] == w.period
    ours = sum(1 for k in w.lists if k.startswith("A") or k == "I1")
    assert (app["quota"]["quota"], app["quota"]["drg_cases"]) == (1, ours)
    assert app["attachments"] == [{"name": "新技术说明.pdf", "size": 22}]
    r = client.post(
        f"/api/settlement/lists/{w.id('A3')}/special-case", data={"reason": "费用超过标准 4 倍"}
    )
    assert r.status_code == 409
    message = _error(r)
    assert "超出本院本期特例单议名额" in message and "名额 1 个" in message
    assert f"{ours} 例" in message
    return app


def _review(w: Walk, special_id: int) -> None:
    """The reviewer approves, returns, adjusts (twice) and decides the special case."""
    client = w.client
    login(client, "reviewer")
    queue = client.get("/api/settlement/review", params={"period": w.period, "size": 100}).json()
    assert queue["total"] == 10  # every priced list of the period; A8 is with the experts
    rows = {i["id"]: i for i in queue["items"]}
    for key, exp in w.lists.items():
        if key in ("A8", "I2"):
            assert exp.list_id not in rows
            continue
        row = rows[exp.list_id]
        assert (row["drg"], D(row["payment_standard"])) == (exp.drg, exp.standard)
        assert D(row["drg_payment"]) == exp.payment
    r = client.post(f"/api/settlement/review/{w.id('A1')}/approve", json={})
    assert r.status_code == 200 and r.json()["state"] == "approved", r.text
    ids = [w.id(k) for k in ("A2", "A3", "A4", "A9", "I1", "B1")]
    r = client.post("/api/settlement/review/bulk-approve", json={"ids": ids})
    assert (r.json()["approved"], r.json()["refused"]) == (6, 0), r.text
    reason = "费用明细与票据不一致，请核对后重新上传"
    r = client.post(f"/api/settlement/review/{w.id('A5')}/return", json={"reason": reason})
    assert r.json()["state"] == "returned" and r.json()["reason"]["text"] == reason
    for key, share in (("A6", D("0.8")), ("A7", D("0.9"))):
        exp = w.lists[key]
        amount = money(exp.payment * share)
        r = client.post(
            f"/api/settlement/review/{exp.list_id}/adjust",
            json={"reason": "主要诊断选择不当，按核定金额支付", "drg_payment": str(amount)},
        )
        assert r.status_code == 200, r.text
        adj = r.json()["adjustment"]
        assert D(adj["original_payment"]) == exp.payment and D(adj["adjusted_payment"]) == amount
        # the case's own fund formula at the adjusted payment (ADR 0010 amendment)
        assert D(adj["adjusted_fund"]) == formula_fund(exp.message, exp.level, amount)
    # illegal: a returned list cannot be approved (409 naming state and action)
    r = client.post(f"/api/settlement/review/{w.id('A5')}/approve", json={})
    assert r.status_code == 409
    assert "已退回医院" in _error(r) and "审核通过" in r.json()["error"]["message"]
    # the expert panel's decision: A8 paid by items (its total cost)
    r = client.post(
        f"/api/settlement/special-cases/{special_id}/decide",
        json={"decision": "approve", "method": "items", "reason": "专家评审通过"},
    )
    assert r.status_code == 200, r.text
    a8 = w.lists["A8"]
    decision = r.json()["decision"]
    assert r.json()["list_state"] == "special_approved"
    assert D(decision["original_payment"]) == a8.payment
    assert D(decision["new_payment"]) == a8.cost
    # paid by items: the case's actual pooled fund, as any item-paid case (ADR 0006 §3)
    assert D(decision["new_fund"]) == D(a8.message["setlinfo"]["fund_pay_sumamt"])


def _appeals(w: Walk) -> None:
    """A appeals both adjustments in time (a returned list is corrected instead)."""
    client = w.client
    login(client, "hosp_a")
    r = client.post(f"/api/settlement/lists/{w.id('A5')}/appeal", json={"reason": "不服"})
    assert r.status_code == 409 and "已退回医院" in _error(r)
    history = client.get(f"/api/settlement/lists/{w.id('A5')}/history").json()
    assert history["reason"]["text"].startswith("费用明细")
    corrected = w.message("A5", total_cost=money(w.lists["A5"].standard * D("1.1")))
    list_id = w.id("A5")
    w.lists["A5"] = expected("A5", corrected, w.levels["A"])
    r = client.post("/api/settlement/lists", json=corrected)
    resubmitted = r.json()["lists"][0]
    assert (resubmitted["list_id"], resubmitted["version"]) == (list_id, 2)
    _check_priced(w, "A5", resubmitted)
    today = local(utcnow()).date()
    appeals = {}
    for key in ("A6", "A7"):
        r = client.post(
            f"/api/settlement/lists/{w.id(key)}/appeal",
            json={"reason": "主要诊断符合病案首页，附检查报告"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["list_state"] == "appealed"
        assert r.json()["deadline"] == (today + timedelta(days=15)).isoformat()
        appeals[key] = r.json()["id"]
    login(client, "reviewer")
    r = client.post(
        f"/api/settlement/appeals/{appeals['A6']}/decide",
        json={"decision": "reject", "reason": "检查报告不支持该主要诊断"},
    )
    assert r.status_code == 200 and r.json()["list_state"] == "appeal_rejected", r.text
    r = client.post(
        f"/api/settlement/appeals/{appeals['A7']}/decide",
        json={"decision": "uphold", "reason": "申诉理由成立"},
    )
    assert r.status_code == 200 and r.json()["list_state"] == "approved", r.text
    r = client.post(f"/api/settlement/review/{w.id('A5')}/approve", json={})
    assert r.json()["state"] == "approved"


def _payments(w: Walk) -> None:
    """What each list must be paid: its pricing, its adjustment (appeal rejected) or
    the special-case decision."""
    for exp in w.lists.values():
        exp.paid, exp.paid_fund = exp.payment, exp.fund
        exp.basis = "standard" if exp.payment_class == "normal" else "items"
    a6 = w.lists["A6"]
    a6.paid = money(a6.payment * D("0.8"))
    a6.paid_fund = formula_fund(a6.message, a6.level, a6.paid)
    a8 = w.lists["A8"]
    a8_fund = D(a8.message["setlinfo"]["fund_pay_sumamt"])
    a8.paid, a8.paid_fund, a8.basis = a8.cost, a8_fund, "items"


def _confirm(w: Walk) -> dict[str, Expected]:
    client = w.client
    login(client, "reviewer")
    paid = {k: e for k, e in w.lists.items() if k != "I2"}
    before = client.get(f"/api/settlement/periods/{w.period}").json()
    assert before["status"] == "open" and before["to_confirm"] == len(paid)
    r = client.post(f"/api/settlement/periods/{w.period}/confirm", json={"chunk_size": 4})
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["job_id"], timeout=60)
    assert job["status"] == "succeeded", job
    summary = job["summary"]
    assert summary["status"] == "done" and summary["confirmed"] == len(paid)
    assert summary["pending"]["by_state"] == {"qc_failed": 1}  # I2, never corrected
    assert summary["pending"]["lists"][0]["id"] == w.id("I2")
    assert summary["period_status"] == "open"
    assert D(summary["amount_paid"]) == sum(e.paid for e in paid.values())
    assert D(summary["fund_amount"]) == sum(e.paid_fund for e in paid.values())
    records = client.get(
        f"/api/settlement/periods/{w.period}/confirmations", params={"size": 100}
    ).json()
    by_list = Counter(x["list_id"] for x in records["items"])
    assert by_list == Counter(e.list_id for e in paid.values())  # each exactly once
    assert D(records["amount_paid"]) == sum(D(x["amount_paid"]) for x in records["items"])
    for x in records["items"]:
        exp = next(e for e in paid.values() if e.list_id == x["list_id"])
        assert (D(x["amount_paid"]), D(x["fund_amount"])) == (exp.paid, exp.paid_fund), exp.key
        assert x["adjusted"] == (exp.key == "A6")
    # a second run finds nothing left (refused, nothing twice); confirmed lists are locked
    r = client.post(f"/api/settlement/periods/{w.period}/confirm", json={})
    assert r.status_code == 422 and "没有待确认的清单" in _error(r), r.text
    r = client.post(f"/api/settlement/review/{w.id('A1')}/return", json={"reason": "再审"})
    assert r.status_code == 409 and "已确认结算" in _error(r)
    login(client, "hosp_a")
    again = client.post("/api/settlement/lists", json=w.lists["A1"].message).json()["lists"][0]
    assert again["state"] == "refused" and again["findings"][0]["rule_id"] == "INTAKE02"
    history = client.get(f"/api/settlement/lists/{w.id('A8')}/history").json()
    assert history["state"] == "confirmed"
    assert history["confirmation"]["period"] == w.period
    return paid


def _statement_figures(lists: list[Expected]) -> dict[str, Any]:
    drg = [e for e in lists if e.basis == "standard"]
    items = [e for e in lists if e.basis != "standard"]
    deductions = sum((e.fund - e.paid_fund for e in lists if e.key == "A6"), D(0))
    fund_total = sum((e.fund for e in drg), D(0)) + sum((e.paid_fund for e in items), D(0))
    settlement = fund_total - deductions
    deposit = money(settlement * D("0.10"))
    return {
        "cases": len(lists),
        "drg_cases": len(drg),
        "item_cases": len(items),
        "drg_payment": sum((e.payment for e in drg), D(0)),
        "item_payment": sum((e.paid for e in items), D(0)),
        "fund_total": fund_total,
        "deductions": deductions,
        "settlement_amount": settlement,
        "deposit_withheld": deposit,
        "net_payable": settlement - deposit,
    }


def _statements(w: Walk, paid: dict[str, Expected]) -> dict[str, dict[str, Any]]:
    client = w.client
    login(client, "reviewer")
    r = client.get(f"/api/settlement/periods/{w.period}/statements")
    assert r.status_code == 200, r.text
    got = {i["hospital_code"]: i for i in r.json()["items"]}
    assert set(got) == set(w.codes.values())
    figures = {}
    for side, code in w.codes.items():
        mine = [e for k, e in paid.items() if (k == "B1") == (side == "B")]
        want = _statement_figures(mine)
        st = got[code]
        for name, value in want.items():
            assert D(str(st[name])) == value, (side, name, st[name], value)
        assert D(st["settlement_amount"]) == sum(e.paid_fund for e in mine)  # = Σ per list
        figures[code] = st
    a = w.codes["A"]
    assert D(figures[a]["deductions"]) > 0 and figures[a]["item_cases"] == 3
    for fmt, media in (("xlsx", XLSX), ("pdf", "application/pdf")):
        r = client.get(f"/api/settlement/periods/{w.period}/statements/{a}", params={"format": fmt})
        assert r.status_code == 200 and r.headers["content-type"].startswith(media), fmt
        assert len(r.content) > 1000
        if fmt == "xlsx":
            wb = openpyxl.load_workbook(io.BytesIO(r.content))
            summary, cases = wb["汇总"], wb["病例明细"]
            head = [c.value for c in summary[1]]
            row = dict(zip(head, [c.value for c in summary[2]], strict=True))
            assert D(str(row["本月应付净额（元）"])) == D(figures[a]["net_payable"])
            assert cases.max_row == 1 + figures[a]["cases"]
        else:
            assert r.content.startswith(b"%PDF")
    # each hospital sees its own statement only
    login(client, "hosp_a")
    own = client.get(f"/api/settlement/periods/{w.period}/statements").json()["items"]
    assert [i["hospital_code"] for i in own] == [a]
    assert D(own[0]["net_payable"]) == D(figures[a]["net_payable"])
    mine = client.get(f"/api/settlement/periods/{w.period}/statements/{a}")
    assert mine.status_code == 200 and len(mine.json()["cases"]) == figures[a]["cases"]
    other = client.get(f"/api/settlement/periods/{w.period}/statements/{w.codes['B']}")
    assert other.status_code == 404
    return figures


def _clearing(w: Walk, paid: dict[str, Expected], statements: dict[str, Any]) -> None:
    """Year-end clearing (rate method, linear deposit release), recomputed here."""
    client = w.client
    login(client, "reviewer")
    year = int(w.period[:4])
    provisional = sum(e.paid if e.basis == "items" else e.payment for e in paid.values())
    budget = money(provisional * D("1.05"))
    scores = {w.codes["A"]: 95, w.codes["B"]: 80}
    body = {"budget": str(budget), "method": "rate", "assessment_scores": scores}
    r = client.post(f"/api/settlement/years/{year}/clearing", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    fixed = sum(e.paid for e in paid.values() if e.basis == "items")
    # each weight counts × its level's coefficient from the standard's level rates (ADR
    # 0006 amendment): 三级 1, 二级 9,000 ÷ 10,000
    coefficient = {lv: rate / BASE_RATES["3"] for lv, rate in BASE_RATES.items()}
    weights = sum(
        weight(e.drg) * coefficient[e.level] for e in paid.values() if e.basis == "standard"
    )
    rate = (Fraction(budget) - Fraction(fixed)) / Fraction(weights)
    rate_4 = (D(rate.numerator) / D(rate.denominator)).quantize(D("0.0001"), ROUND_HALF_UP)
    assert D(out["fixed_total"]) == fixed and D(out["final_value"]) == rate_4
    hospitals = {h["hospital_code"]: h for h in out["hospitals"]}
    for side, code in w.codes.items():
        mine = [e for k, e in paid.items() if (k == "B1") == (side == "B")]
        final = sum(
            money(weight(e.drg) * rate_4 * coefficient[e.level])
            if e.basis == "standard"
            else e.paid
            for e in mine
        )
        patient = sum(
            (e.paid - e.paid_fund) if e.key == "A8" else (e.payment - e.fund) for e in mine
        )
        st = statements[code]
        final_fund = final - patient - D(st["deductions"])
        deposit = money(final_fund * D("0.10"))
        released = money(deposit * D(scores[code]) / 100)
        h = hospitals[code]
        assert D(h["final_payment"]) == final, side
        assert D(h["final_fund"]) == final_fund, side
        assert (D(h["deposit"]), D(h["deposit_released"])) == (deposit, released), side
        assert D(h["paid_during_year"]) == D(st["net_payable"]), side
        assert D(h["deposit_withheld_monthly"]) == D(st["deposit_withheld"]), side
        clearing = final_fund - (deposit - released) - D(st["net_payable"])
        assert D(h["clearing_amount"]) == clearing, side
    totals = out["totals"]
    assert D(totals["clearing_amount"]) == sum(D(h["clearing_amount"]) for h in hospitals.values())
    assert D(out["payment_budget"]) - D(out["residual"]) == sum(
        D(h["final_payment"]) for h in hospitals.values()
    )
    login(client, "hosp_a")
    assert client.post(f"/api/settlement/years/{year}/clearing", json=body).status_code == 403


def test_one_settlement_period(walk, db):  # type: ignore[no-untyped-def]
    _upload_json(walk)
    _upload_csv(walk)
    _detail_and_correction(walk)
    _other_hospital(walk)
    special = _special_cases(walk)
    _review(walk, special["id"])
    _appeals(walk)
    _payments(walk)
    paid = _confirm(walk)
    statements = _statements(walk, paid)
    _clearing(walk, paid, statements)
    db.expire_all()
    set_scope(db, SYSTEM_SCOPE)
    rows = db.execute(
        select(SettlementConfirmation.list_id, func.count()).group_by(
            SettlementConfirmation.list_id
        )
    ).all()
    assert sorted(rows) == sorted((e.list_id, 1) for e in paid.values())
