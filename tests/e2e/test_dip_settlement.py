"""DIP end to end through the HTTP API on the demo region (issue 14 item 6 and its
acceptance line): build a catalogue → publish → simulate a year → a DIP payment
scheme → hospitals upload a month of settlement lists → each is grouped and priced
under DIP → review → the month is confirmed and its statements drawn → year-end
clearing by the DIP settlement point value (SQLite by default, PostgreSQL with
YIBAO_TEST_DATABASE_URL).

The new lists copy the diagnoses and procedures of stored history cases whose
combination is a core group, at costs chosen against the group's standard (normal,
low, high, extreme).  Every payment, fund amount, statement total and clearing
figure is recomputed here from the group's score and standard, the scheme's point
value and coefficients and the demo benefit policy — never read back from the
product and compared with itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import select

from tests.builders.settlement import login, money, settlement_list
from tests.e2e.test_dip_catalogue_api import _build, analyst  # noqa: F401
from tests.e2e.test_grouping_api import wait_job
from tests.e2e.test_settlement_full_period import benefit, last_month
from yibao.accounts.models import User
from yibao.cases.models import Case, CaseDiagnosis, CaseProcedure
from yibao.demo.seed import DEMO_PASSWORD
from yibao.regions.models import Hospital
from yibao.settlement.models import CasePricing

D = Decimal
BASE = {"3": D("0.93"), "2": D("0.72"), "1": D("0.55")}
FACTOR = {"normal": D("1.10"), "low": D("0.30"), "high": D("3.00"), "extreme": D("6.00")}


def half_up(value: Fraction, places: int) -> Decimal:
    q = D(1).scaleb(-places)
    return (D(value.numerator) / D(value.denominator)).quantize(q, ROUND_HALF_UP)


@dataclass
class Sent:
    key: str
    hospital: str
    level: str
    group: dict[str, Any]
    kind: str
    message: dict[str, Any]
    coefficient: Decimal
    point_value: Decimal
    list_id: int = 0
    decided: Decimal | None = None  # an expert panel's payment (特例单议)

    @property
    def cost(self) -> Decimal:
        return D(self.message["setlinfo"]["medfee_sumamt"])

    @property
    def standard(self) -> Decimal:
        return D(self.group.get(f"standard_{self.level}") or self.group["mean_cost"])

    @property
    def adjusted(self) -> Decimal:
        score, c, t = Fraction(D(self.group["score"])), Fraction(self.cost), Fraction(self.standard)
        if self.kind == "low":
            return half_up(score * c / t, 2)
        if self.kind in ("high", "extreme"):
            return half_up(score * (c - t) / t, 2)
        return D(self.group["score"])

    @property
    def points(self) -> Fraction:
        return Fraction(self.adjusted) * Fraction(self.coefficient)

    @property
    def payment(self) -> Decimal:
        return half_up(self.points * Fraction(self.point_value), 2)

    @property
    def fund(self) -> Decimal:
        info = self.message["setlinfo"]
        day = date.fromisoformat(info["dscg_time"][:10])
        deductible, ratio = benefit(info["insutype"], self.level, day)
        in_scope = self.payment - D(info["fulamt_ownpay_amt"]) - D(info["preselfpay_amt"])
        return money(max(D(0), (in_scope - deductible) * ratio))


def _hospital(db, username: str) -> Hospital:  # type: ignore[no-untyped-def]
    user = db.scalar(select(User).where(User.username == username))
    return db.get(Hospital, user.hospital_id)


def _history_case(db, group: dict[str, Any], level: str) -> Case | None:  # type: ignore[no-untyped-def]
    """A stored case whose principal diagnosis category and procedure set are the
    group's combination (so a copy of it must be grouped into that core group)."""
    want = {p for p in group["procedures"].split("+") if p}
    bare = group["dx_key"].replace(".", "")
    rows = db.execute(
        select(Case, CaseDiagnosis.code)
        .join(CaseDiagnosis, CaseDiagnosis.case_id == Case.id)
        .join(Hospital, Hospital.id == Case.hospital_id)
        .where(CaseDiagnosis.is_principal, CaseDiagnosis.code.startswith(bare[:3]))
    ).all()
    for case, code in rows:
        if code.replace(".", "")[:4] != bare:
            continue
        procs = set(
            db.scalars(select(CaseProcedure.code).where(CaseProcedure.case_id == case.id)).all()
        )
        if {p.strip() for p in procs} == want:
            return case
    return None


def _codes(db, case: Case) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    dx = db.scalars(
        select(CaseDiagnosis.code)
        .where(CaseDiagnosis.case_id == case.id)
        .order_by(CaseDiagnosis.seq)
    ).all()
    px = db.scalars(
        select(CaseProcedure.code)
        .where(CaseProcedure.case_id == case.id)
        .order_by(CaseProcedure.seq)
    ).all()
    return list(dx), list(px)


def _core_groups(client, catalogue_id: int) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    page = client.get(
        f"/api/dip/catalogues/{catalogue_id}/groups", params={"kind": "core", "size": 200}
    ).json()
    return [g for g in page["items"] if g["score"] and "." in g["dx_key"]]


def _messages(client, db, catalogue_id: int, scheme: dict[str, Any]) -> list[Sent]:  # type: ignore[no-untyped-def]
    """Six lists of last month: four kinds at hosp01, a normal and a low one at hosp02."""
    period, first = last_month()
    add_ons = {k: D(v) for k, v in scheme["params"]["add_ons"].items()}
    pv = D(scheme["point_value"])
    plan = [("hosp01", k) for k in ("normal", "low", "high", "extreme")] + [("hosp02", "normal")]
    plan.append(("hosp02", "low"))
    groups = _core_groups(client, catalogue_id)
    out: list[Sent] = []
    used: set[str] = set()
    for n, (user, kind) in enumerate(plan):
        h = _hospital(db, user)
        # alternately a combination with procedures and a conservative one
        for g in sorted(groups, key=lambda g: ((g["procedures"] == "") == (n % 2 == 0), g["code"])):
            if g["code"] in used:
                continue
            case = _history_case(db, g, h.level)
            if case is not None:
                break
        else:  # pragma: no cover - the seeded demo always has such cases
            raise AssertionError("no history case for a core group")
        used.add(g["code"])
        dx, px = _codes(db, case)
        sent = Sent(f"{user}-{kind}", h.code, h.level, g, kind, {}, BASE[h.level], pv)
        sent.coefficient += add_ons.get(h.code, D(0))
        sent.message = settlement_list(
            h.code,
            discharge=first + timedelta(days=3 + n),
            diagnoses=dx,
            procedures=px,
            total_cost=money(sent.standard * FACTOR[kind]),
            los_days=max(1, case.los_days),
            sex=case.sex,
            age=case.age_years or 40,
            dept=case.discharge_dept or "03.03",
        )
        out.append(sent)
    assert period == f"{first:%Y-%m}"
    return out


def _scheme(client, catalogue: dict[str, Any], hosp01: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    summary = catalogue["summary"]
    years = summary["point_value_years"]
    num = sum(Fraction(D(y["weight"])) * Fraction(D(y["cost"])) for y in years.values())
    den = sum(Fraction(D(y["weight"])) * Fraction(D(y["score"])) for y in years.values())
    assert D(summary["budget_point_value"]) == half_up(num / den, 4)  # 预算点值 §2.3
    year = int(last_month()[0][:4])
    body = {
        "catalogue_id": catalogue["id"],
        "name": "DIP 付费方案（测试）",
        "valid_from": f"{year}-01-01",
        "add_ons": {hosp01: "0.03"},
    }
    # DIP begins on 1 January: a first scheme from March would leave the year's
    # January and February cases to another method, and the year could not be cleared
    mid = client.post("/api/dip/schemes", json={**body, "valid_from": f"{year}-03-01"})
    assert mid.status_code in (409, 422), mid.text
    assert "同一年度" in mid.json()["error"]["message"], mid.text
    r = client.post("/api/dip/schemes", json=body)
    assert r.status_code == 201, r.text
    scheme = r.json()
    assert scheme["status"] == "published"
    assert D(scheme["point_value"]) == D(summary["budget_point_value"])  # the default
    # a second open scheme from the same day overlaps: refused, nothing stored
    again = client.post("/api/dip/schemes", json=body)
    assert again.status_code == 409 and "重叠" in again.json()["error"]["message"]
    bad = client.post("/api/dip/schemes", json={**body, "point_value": "-1"})
    assert bad.status_code == 422 and "点值" in bad.json()["error"]["message"]
    assert len(client.get("/api/dip/schemes").json()) == 1
    return scheme


def _upload(client, lists: list[Sent]) -> None:  # type: ignore[no-untyped-def]
    for user in ("hosp01", "hosp02"):
        login(client, user, DEMO_PASSWORD)
        mine = [s for s in lists if s.key.startswith(user)]
        r = client.post("/api/settlement/lists", json=[s.message for s in mine])
        assert r.status_code in (200, 201, 207), r.text
        for s, got in zip(mine, r.json()["lists"], strict=True):
            assert got["state"] == "priced", (s.key, got)
            s.list_id = got["list_id"]
            assert got["drg"] == s.group["code"], (s.key, got["drg"], s.group["code"])
            assert got["payment_class"] == f"dip_{s.kind}", (s.key, got["payment_class"])
            assert D(got["drg_payment"]) == s.payment, (s.key, got["drg_payment"], s.payment)
            assert D(got["fund_amount"]) == s.fund, (s.key, got["fund_amount"], s.fund)
        detail = client.get(f"/api/settlement/lists/{mine[0].list_id}").json()
        assert "分值" in str(detail) and "点值" in str(detail)
        page = client.get(f"/settlement/lists/{mine[0].list_id}", headers={"accept": "text/html"})
        assert page.status_code == 200, page.text[-2000:]
        for words in ("DIP 病种", "医疗机构系数", "预算点值（元/分）", "DIP 支付额"):
            assert words in page.text, words


def _blank_group(client, db) -> None:  # type: ignore[no-untyped-def]
    """A case in no DIP group (空白病组: a category without history cases) is paid by
    items (ADR 0029 §8, 0030 §3) — with a normal case in the same upload, both stored
    (it was a NOT NULL failure that lost the whole upload)."""
    h = _hospital(db, "hosp01")
    first = last_month()[1]
    blank = settlement_list(
        h.code, discharge=first + timedelta(days=20), diagnoses=["U04.900"], total_cost="12345.67"
    )
    login(client, "hosp01", DEMO_PASSWORD)
    r = client.post("/api/settlement/lists", json=[blank])
    assert r.status_code in (200, 201, 207), r.text
    got = r.json()["lists"][0]
    assert got["state"] == "priced", got
    assert got["drg"] == "空白病组" and got["payment_class"] == "dip_items", got
    assert D(got["drg_payment"]) == D("12345.67"), got
    # withdrawn: the month's statements below are those of the six lists
    r = client.post(f"/api/settlement/lists/{got['list_id']}/withdraw", json={"reason": "测试"})
    assert r.status_code == 200, r.text


def _extreme_review(client, lists: list[Sent]) -> None:  # type: ignore[no-untyped-def]
    """The case beyond 5× its standard goes to expert review: the hospital applies
    (特例单议), the panel pays it by items (its cost), the fund follows."""
    extreme = next(s for s in lists if s.kind == "extreme")
    login(client, "hosp01", DEMO_PASSWORD)
    r = client.post(
        f"/api/settlement/lists/{extreme.list_id}/special-case",
        data={"reason": "DIP 极端异常病例（费用超过病种标准 5 倍），申请专家评审"},
    )
    assert r.status_code == 200, r.text
    special_id = r.json()["id"]
    login(client, "reviewer", DEMO_PASSWORD)
    r = client.post(
        f"/api/settlement/special-cases/{special_id}/decide",
        json={"decision": "approve", "method": "items", "reason": "专家评审：按项目付费"},
    )
    assert r.status_code == 200, r.text
    decision = r.json()["decision"]
    assert D(decision["original_payment"]) == extreme.payment
    assert D(decision["new_payment"]) == extreme.cost
    assert D(decision["new_fund"]) == D(extreme.message["setlinfo"]["fund_pay_sumamt"])
    extreme.decided = extreme.cost


def _paid(s: Sent) -> Decimal:
    return s.decided if s.decided is not None else s.payment


def _paid_fund(s: Sent) -> Decimal:
    """A decision to pay by items pays the case's actual pooled fund (as DRG does)."""
    return s.fund if s.decided is None else D(s.message["setlinfo"]["fund_pay_sumamt"])


def _confirm(client, lists: list[Sent]) -> None:  # type: ignore[no-untyped-def]
    period = last_month()[0]
    login(client, "reviewer", DEMO_PASSWORD)
    ids = [s.list_id for s in lists if s.decided is None]  # the decided one is settled as such
    r = client.post("/api/settlement/review/bulk-approve", json={"ids": ids})
    assert r.status_code == 200 and r.json()["approved"] == len(ids), r.text
    r = client.post(f"/api/settlement/periods/{period}/confirm", json={})
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["job_id"], timeout=60)
    assert job["status"] == "succeeded", job
    assert D(job["summary"]["amount_paid"]) == sum(_paid(s) for s in lists)
    assert D(job["summary"]["fund_amount"]) == sum(_paid_fund(s) for s in lists)
    got = client.get(f"/api/settlement/periods/{period}/statements").json()["items"]
    by_code = {i["hospital_code"]: i for i in got}
    for code in {s.hospital for s in lists}:
        mine = [s for s in lists if s.hospital == code]
        st = by_code[code]
        scored = [s for s in mine if s.decided is None]
        assert st["drg_cases"] == len(scored) and st["item_cases"] == len(mine) - len(scored)
        assert D(st["drg_payment"]) == sum(s.payment for s in scored)
        fund = sum(_paid_fund(s) for s in mine)
        assert D(st["fund_total"]) == fund and D(st["settlement_amount"]) == fund
        assert D(st["deposit_withheld"]) == money(fund * D("0.10"))


def _clearing(client, lists: list[Sent]) -> None:  # type: ignore[no-untyped-def]
    """Year-end clearing by the 结算点值: budget ÷ Σ points, each case re-priced."""
    year = int(last_month()[0][:4])
    budget = money(sum(_paid(s) for s in lists) * D("0.95"))
    scores = dict.fromkeys({s.hospital for s in lists}, 90)
    body = {"budget": str(budget), "method": "rate", "assessment_scores": scores}
    wrong = client.post(f"/api/settlement/years/{year}/clearing", json=body)
    assert wrong.status_code == 422 and "method=dip" in wrong.json()["error"]["message"]
    r = client.post(f"/api/settlement/years/{year}/clearing", json={**body, "method": "dip"})
    assert r.status_code == 200, r.text
    out = r.json()
    scored = [s for s in lists if s.decided is None]
    fixed = sum((s.decided for s in lists if s.decided is not None), D(0))
    points = sum((s.points for s in scored), Fraction(0))
    value = half_up((Fraction(budget) - Fraction(fixed)) / points, 4)  # the 结算点值
    assert D(out["final_value"]) == value and D(out["fixed_total"]) == fixed
    assert D(out["total_points"]) == D(points.numerator) / D(points.denominator)
    hospitals = {h["hospital_code"]: h for h in out["hospitals"]}
    for code, h in hospitals.items():
        mine = [s for s in lists if s.hospital == code]
        final = sum(
            half_up(s.points * Fraction(value), 2) if s.decided is None else s.decided for s in mine
        )
        assert D(h["final_payment"]) == final, code
        assert D(h["provisional_payment"]) == sum(_paid(s) for s in mine)
        assert D(h["cases"]) == len(mine)


def _dip_performance(client, db) -> None:  # type: ignore[no-untyped-def]
    """决策分析 DIP 绩效 after a refresh: each hospital's figures equal its DIP-priced
    cases summed directly (ADR 0037)."""
    login(client, "analyst", DEMO_PASSWORD)
    r = client.post("/api/analysis/refresh")
    assert r.status_code == 202, r.text
    assert wait_job(client, r.json()["job_id"], timeout=120)["status"] == "succeeded"
    want: dict[str, dict[str, Any]] = {}
    year = None
    for p, case in db.execute(
        select(CasePricing, Case)
        .join(Case, Case.id == CasePricing.case_id)
        .where(CasePricing.payment_class.startswith("dip_"))
    ):
        year = case.discharge_date.year
        w = want.setdefault(
            case.hospital_code, {"cases": 0, "grouped": 0, "score": D(0), "payment": D(0)}
        )
        w["cases"] += 1
        w["payment"] += p.drg_payment
        if p.payment_class != "dip_items":
            w["grouped"] += 1
            w["score"] += D(str(p.terms["dip_score"]))
    assert want and year is not None
    body = client.get("/api/analysis/reports/dip", params={"year": year}).json()
    got = {row["hospital_code"]: row for row in body["rows"]}
    assert set(got) == set(want)
    for code, w in want.items():
        assert got[code]["cases"] == w["cases"] and got[code]["grouped"] == w["grouped"]
        assert D(got[code]["total_score"]) == w["score"]
        assert D(got[code]["payment"]) == w["payment"]


def test_dip_build_publish_simulate_settle_and_clear(analyst, db):  # type: ignore[no-untyped-def]  # noqa: F811
    client = analyst
    catalogue = _build(client, threshold=2)  # small demo: combinations with procedures too
    r = client.post(f"/api/dip/catalogues/{catalogue['id']}/publish")
    assert r.status_code == 200, r.text
    r = client.post(
        f"/api/dip/catalogues/{catalogue['id']}/simulations",
        json={"year": 2025, "point_value": catalogue["summary"]["budget_point_value"]},
    )
    assert r.status_code == 202, r.text
    sim = wait_job(client, r.json()["job_id"], timeout=120)
    assert sim["status"] == "succeeded", sim
    hosp01 = _hospital(db, "hosp01").code
    scheme = _scheme(client, catalogue, hosp01)
    lists = _messages(client, db, catalogue["id"], scheme)
    assert any(s.group["procedures"] for s in lists)  # operated and conservative cases
    assert any(not s.group["procedures"] for s in lists)
    _upload(client, lists)
    _blank_group(client, db)
    _extreme_review(client, lists)
    _confirm(client, lists)
    _clearing(client, lists)
    _dip_performance(client, db)
