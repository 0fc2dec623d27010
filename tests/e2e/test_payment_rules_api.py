"""DRG payment rules of issue 14 item 7 through the HTTP API (ADR 0031): a payment
standard imported with its rules (multipliers by RW band, per-diem for long stays, a
cap on high-multiplier cases), lists priced by them at intake, and the cap applied at
year-end clearing (SQLite by default, PostgreSQL with YIBAO_TEST_DATABASE_URL).

Every figure is recomputed here from the standard table, the rules and each list."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import pytest

from tests import builders as b
from tests.builders.settlement import login, money, settlement_list, standards_table
from tests.e2e.test_grouping_api import wait_job
from tests.e2e.test_settlement_full_period import BASE_RATES, PLAN, benefit, last_month, weight
from yibao.accounts.roles import Role
from yibao.db.scoping import SYSTEM_SCOPE, set_scope

D = Decimal
BANDS = [{"max_rw": "1.6", "high": "2.5"}, {"max_rw": None, "high": "1.5", "low": "0.3"}]
RULES = {
    "rules": {
        "rw_bands": BANDS,
        "long_stay_days": 60,
        "per_diem": {"3": "400", "2": "300", "1": "200"},
        "high_share_cap": "0.25",
    }
}
# key → (cost ÷ standard, length of stay, expected class); hospital A (三级) but B1
CASES = {
    "A1": (D("2.0"), None, "normal"),  # BX15 RW 1.56 → 2.5× band: normal (default too)
    "A3": (D("1.6"), None, "high"),  # CZ19 RW 1.63 → 1.5× band: high (normal at 3×)
    "A7": (D("1.7"), None, "high"),  # RS15 RW 1.67 → high, higher ratio than A3
    "A5": (D("1.2"), None, "normal"),
    "A8": (D("1.2"), None, "normal"),
    "A2": (D("1.0"), 70, "long_stay"),  # BY11, 70 days > 60 → 70 × 400
    "B1": (D("1.2"), None, "normal"),
}


@dataclass
class Sent:
    key: str
    level: str
    message: dict[str, Any]
    cls: str
    list_id: int = 0

    @property
    def info(self) -> dict[str, Any]:
        return self.message["setlinfo"]  # type: ignore[no-any-return]

    @property
    def cost(self) -> Decimal:
        return D(self.info["medfee_sumamt"])

    @property
    def standard(self) -> Decimal:
        return money(weight(PLAN[self.key][0].drg) * BASE_RATES[self.level])

    @property
    def payment(self) -> Decimal:
        if self.cls == "normal":
            return self.standard
        if self.cls == "long_stay":
            return int(self.info["act_ipt_days"]) * D(RULES["rules"]["per_diem"][self.level])
        return self.cost

    @property
    def fund(self) -> Decimal:
        if self.cls == "normal":  # national formula on the standard
            day = date.fromisoformat(self.info["dscg_time"][:10])
            deductible, ratio = benefit(self.info["insutype"], self.level, day)
            in_scope = self.standard - D(self.info["fulamt_ownpay_amt"])
            in_scope -= D(self.info["preselfpay_amt"])
            return money(max(D(0), (in_scope - deductible) * ratio))
        actual = D(self.info["fund_pay_sumamt"])  # items: the actual fund, scaled
        return money(actual * self.payment / self.cost) if self.payment != self.cost else actual


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    ha = b.hospital(db, "990102", name="规则甲医院", level="3")
    hb = b.hospital(db, "990103", name="规则乙医院", level="2")
    b.user(db, Role.HOSPITAL_USER, hospital=ha, username="hosp_a")
    b.user(db, Role.HOSPITAL_USER, hospital=hb, username="hosp_b")
    b.user(db, Role.BUREAU_REVIEWER, region_code="990100", username="reviewer")
    b.user(db, Role.BUREAU_ANALYST, region_code="990100", username="analyst")
    b.benefit_policies(db)
    db.commit()
    return {"client": client, "codes": {"A": ha.code, "B": hb.code}}


def _import(client, rules: str) -> Any:  # type: ignore[no-untyped-def]
    drgs = sorted({g.drg for g, _ in PLAN.values()})
    table = standards_table(drgs, weight=weight, base_rates=BASE_RATES)
    data = {"plan_id": "chs-drg-1.1", "valid_from": "2024-01-01", "payment_rules": rules}
    files = {"file": ("标准.csv", table.write_csv().encode())}
    return client.post("/api/measurement/standards/import", data=data, files=files)


def _standards(client) -> None:  # type: ignore[no-untyped-def]
    login(client, "analyst")
    for rules, words in (
        ("{bad", "JSON"),
        (json.dumps({"rules": {"qy_fraction": "2"}}), "歧义组支付比例"),
        (json.dumps({"colour": "red"}), "不是可识别的支付规则"),
        (json.dumps({"rules": {"long_stay_days": 60}}), "床日付费标准"),
    ):
        r = _import(client, rules)
        assert r.status_code == 422 and words in r.json()["error"]["message"], r.text
    assert client.get("/api/measurement/standards").json() == []  # nothing stored
    r = _import(client, json.dumps(RULES))
    assert r.status_code == 201, r.text
    stored = r.json()["payment_rules"]["rules"]
    assert stored["high_share_cap"] == "0.25" and stored["long_stay_days"] == 60
    assert [x["high"] for x in stored["rw_bands"]] == ["2.5", "1.5"]


def _lists(codes: dict[str, str]) -> list[Sent]:
    first = last_month()[1]
    out = []
    for n, (key, (factor, los, cls)) in enumerate(CASES.items()):
        golden = PLAN[key][0]
        side = "B" if key.startswith("B") else "A"
        level = "2" if side == "B" else "3"
        standard = money(weight(golden.drg) * BASE_RATES[level])
        message = settlement_list(
            codes[side],
            discharge=first + timedelta(days=2 + n),
            diagnoses=golden.diagnoses,
            total_cost=money(standard * factor),
            los_days=los or golden.los,
            sex=golden.sex,
            age=golden.age,
            dept=golden.dept,
        )
        out.append(Sent(key, level, message, cls))
    return out


def _upload(client, lists: list[Sent]) -> None:  # type: ignore[no-untyped-def]
    for user, side in (("hosp_a", "A"), ("hosp_b", "B")):
        login(client, user)
        mine = [s for s in lists if s.key.startswith(side)]
        r = client.post("/api/settlement/lists", json=[s.message for s in mine])
        assert r.status_code in (200, 201, 207), r.text
        for s, got in zip(mine, r.json()["lists"], strict=True):
            assert got["state"] == "priced", (s.key, got)
            assert got["payment_class"] == s.cls, (s.key, got["payment_class"])
            assert D(got["drg_payment"]) == s.payment, (s.key, got["drg_payment"], s.payment)
            assert D(got["fund_amount"]) == s.fund, (s.key, got["fund_amount"], s.fund)
            s.list_id = got["list_id"]
    login(client, "hosp_a")
    a2 = next(s for s in lists if s.key == "A2")
    detail = client.get(f"/api/settlement/lists/{a2.list_id}").json()
    assert "按床日付费 28000.00 元" in json.dumps(detail, ensure_ascii=False)


def _clearing(client, lists: list[Sent], codes: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    period = last_month()[0]
    login(client, "reviewer")
    ids = [s.list_id for s in lists]
    r = client.post("/api/settlement/review/bulk-approve", json={"ids": ids})
    assert r.status_code == 200 and r.json()["approved"] == len(ids), r.text
    r = client.post(f"/api/settlement/periods/{period}/confirm", json={})
    assert r.status_code == 202, r.text
    assert wait_job(client, r.json()["job_id"], timeout=60)["status"] == "succeeded"
    # the set's cap 0.25: hospital A has 5 normal/high cases → ⌊1.25⌋ = 1 stays high (A7,
    # ratio 1.7); A3 (1.6) is paid by weight at the final rate
    fixed = sum(s.payment for s in lists if s.key in ("A7", "A2"))
    weighted = [s for s in lists if s.key not in ("A7", "A2")]
    # the final rate keeps the standard's level rates (8,000 / 9,000 / 10,000): each
    # weight counts × its level's coefficient, the rate ÷ the highest (ADR 0006 amendment)
    coefficient = {lv: rate / BASE_RATES["3"] for lv, rate in BASE_RATES.items()}
    weights = sum((weight(PLAN[s.key][0].drg) * coefficient[s.level] for s in weighted), D(0))
    budget = money(fixed + weights * 9000)
    scores = dict.fromkeys(codes.values(), 100)
    body = {"budget": str(budget), "method": "rate", "assessment_scores": scores}
    r = client.post(f"/api/settlement/years/{period[:4]}/clearing", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    rate = (Fraction(budget) - Fraction(fixed)) / Fraction(weights)
    rate_4 = (D(rate.numerator) / D(rate.denominator)).quantize(D("0.0001"), ROUND_HALF_UP)
    assert D(out["fixed_total"]) == fixed and D(out["final_value"]) == rate_4
    hospital_a = next(h for h in out["hospitals"] if h["hospital_code"] == codes["A"])
    final_a = fixed + sum(
        money(weight(PLAN[s.key][0].drg) * rate_4) for s in weighted if s.key.startswith("A")
    )
    assert D(hospital_a["final_payment"]) == final_a
    hospital_b = next(h for h in out["hospitals"] if h["hospital_code"] == codes["B"])
    b1 = next(s for s in lists if s.key == "B1")  # 二级: paid at 0.9 × the final rate
    assert D(hospital_b["final_payment"]) == money(weight(PLAN["B1"][0].drg) * rate_4 * D("0.9"))
    assert {k: D(v) for k, v in out["level_values"].items()} == {
        lv: rate_4 * c for lv, c in coefficient.items()
    }, out["level_values"]
    assert b1.level == "2"
    # an explicit cap of 1 (no cap in effect) pays A3 by items again
    body["params"] = {"high_share_cap": "1"}
    again = client.post(f"/api/settlement/years/{period[:4]}/clearing", json=body).json()
    a3 = next(s for s in lists if s.key == "A3")
    assert D(again["fixed_total"]) == fixed + a3.cost


def test_payment_rules_from_the_standard_to_the_clearing(world) -> None:  # type: ignore[no-untyped-def]
    client, codes = world["client"], world["codes"]
    _standards(client)
    lists = _lists(codes)
    _upload(client, lists)
    _clearing(client, lists, codes)
