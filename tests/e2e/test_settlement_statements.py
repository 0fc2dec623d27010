"""Monthly statements and year-end clearing over HTTP: figures equal the sums of the
confirmations, 10 % deposit, Excel and PDF exports, clearing reconciliation, scoping
and roles."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl

from tests.builders.settlement import appeal_window_over
from tests.e2e import test_settlement_review as review
from tests.e2e.test_grouping_api import wait_job

D = Decimal
_as = review._as
world = review.world  # the review tests' fixture: priced lists of two hospitals


def _confirm_month_a(world):  # type: ignore[no-untyped-def]
    client, codes = world["client"], world["codes"]
    _as(client, "reviewer")
    a = world["a"]
    r = client.post(
        f"/api/settlement/review/{a[0]}/adjust",
        json={"reason": "高套分组，按核定金额支付", "drg_payment": "5000.00"},
    )
    assert r.status_code == 200, r.text
    r = client.post("/api/settlement/review/bulk-approve", json={"ids": [*a[1:], world["other"]]})
    assert r.status_code == 200, r.text
    with appeal_window_over():  # the adjusted list is confirmed after its appeal window
        r = client.post(f"/api/settlement/periods/{world['month_a']}/confirm", json={})
        assert wait_job(client, r.json()["job_id"])["status"] == "succeeded"
    records = client.get(
        f"/api/settlement/periods/{world['month_a']}/confirmations", params={"size": 100}
    ).json()
    assert records["total"] == 9
    return client, codes, records["items"]


def test_statements_figures_and_exports(world):  # type: ignore[no-untyped-def]
    client, codes, records = _confirm_month_a(world)
    month, h1, h2 = world["month_a"], codes["hosp01"], codes["hosp02"]
    r = client.get(f"/api/settlement/periods/{month}/statements")
    assert r.status_code == 200, r.text
    items = {i["hospital_code"]: i for i in r.json()["items"]}
    assert set(items) == {h1, h2}
    for code, st in items.items():
        mine = [x for x in records if x["hospital_code"] == code]
        fund = sum(D(x["fund_amount"]) for x in mine)
        normal = [x for x in mine if x["payment_class"] == "normal"]
        assert st["cases"] == len(mine)
        assert st["drg_cases"] + st["item_cases"] == len(mine)
        assert st["drg_cases"] == len(normal)
        # settlement = Σ confirmed fund (fund total − deductions of the adjustments)
        assert D(st["settlement_amount"]) == fund
        assert D(st["fund_total"]) - D(st["deductions"]) == fund
        assert D(st["deposit_withheld"]) == (fund * D("0.10")).quantize(D("0.01"))
        assert D(st["net_payable"]) == fund - D(st["deposit_withheld"])
    assert D(items[h1]["deductions"]) > 0  # the adjusted case
    assert D(items[h2]["deductions"]) == 0

    # parameters: deposit 5 %, an advance for hosp01
    r = client.get(
        f"/api/settlement/periods/{month}/statements/{h1}",
        params={"deposit_rate": "0.05", "advances": f'{{"{h1}": "1000"}}'},
    )
    st = r.json()["statement"]
    assert D(st["deposit_withheld"]) == (D(st["prepaid"]) * D("0.05")).quantize(D("0.01"))
    assert D(st["net_payable"]) == D(st["prepaid"]) - D(st["deposit_withheld"]) - 1000
    assert len(r.json()["cases"]) == 8
    bad = client.get(f"/api/settlement/periods/{month}/statements", params={"advances": "x"})
    assert bad.status_code == 422

    xlsx = client.get(f"/api/settlement/periods/{month}/statements/{h1}", params={"format": "xlsx"})
    assert xlsx.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert wb.sheetnames == ["汇总", "病例明细"]
    assert wb["病例明细"].max_row == 9 and wb["汇总"].max_row == 2
    header = [c.value for c in wb["汇总"][1]]
    detail = [c.value for c in wb["病例明细"][1]]
    assert {"结算ID", "就诊ID", "人员编号", "出院日期"} <= set(detail)  # to match its records
    first = [c.value for c in wb["病例明细"][2]]
    assert first[detail.index("就诊ID")] and first[detail.index("人员编号")]
    rate = wb["汇总"].cell(row=2, column=header.index("质量保证金比例") + 1)
    assert rate.value == 0.1 and rate.number_format == "0.00%"  # shows 10.00%, not 0.1000

    pdf = client.get(f"/api/settlement/periods/{month}/statements/{h1}", params={"format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 1500

    # a hospital sees its own statement only
    _as(client, "hosp02")
    own = client.get(f"/api/settlement/periods/{month}/statements").json()["items"]
    assert [i["hospital_code"] for i in own] == [h2]
    assert client.get(f"/api/settlement/periods/{month}/statements/{h1}").status_code == 404
    assert client.get(f"/api/settlement/periods/{month}/statements/{h2}").status_code == 200
    bad_period = client.get("/api/settlement/periods/2024-13/statements")
    assert bad_period.status_code == 422


def test_year_end_clearing(world):  # type: ignore[no-untyped-def]
    client, codes, records = _confirm_month_a(world)
    h1, h2 = codes["hosp01"], codes["hosp02"]
    year = int(world["month_a"][:4])
    body = {"budget": "200000", "method": "rate", "assessment_scores": {h1: 95, h2: 50}}
    r = client.post(f"/api/settlement/years/{year}/clearing", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    hosp = {h["hospital_code"]: h for h in out["hospitals"]}
    assert set(hosp) == {h1, h2}
    for h in hosp.values():
        deposit = D(h["deposit"])
        assert D(h["deposit_released"]) == (deposit * D(h["score"]) / 100).quantize(D("0.01"))
        assert D(h["clearing_amount"]) == (
            D(h["final_fund"]) - (deposit - D(h["deposit_released"])) - D(h["paid_during_year"])
        )
        # paid during the year = the month's net payable (90 % of the confirmed fund)
        fund = sum(D(x["fund_amount"]) for x in records if x["hospital_code"] == h["hospital_code"])
        assert D(h["paid_during_year"]) == fund - (fund * D("0.1")).quantize(D("0.01"))
    total = sum(D(h["clearing_amount"]) for h in hosp.values())
    assert D(out["totals"]["clearing_amount"]) == total
    final = sum(D(h["final_fund"]) for h in hosp.values())
    paid = sum(D(h["paid_during_year"]) for h in hosp.values())
    forfeited = sum(D(h["deposit"]) - D(h["deposit_released"]) for h in hosp.values())
    assert total == final - paid - forfeited
    assert D(out["payment_budget"]) - D(out["residual"]) == sum(
        D(h["final_payment"]) for h in hosp.values()
    )

    point = client.post(f"/api/settlement/years/{year}/clearing", json={**body, "method": "point"})
    assert point.status_code == 200 and point.json()["method"] == "point"
    xlsx = client.post(
        f"/api/settlement/years/{year}/clearing", params={"format": "xlsx"}, json=body
    )
    assert openpyxl.load_workbook(io.BytesIO(xlsx.content)).sheetnames == ["医院清算", "病例"]
    missing = client.post(
        f"/api/settlement/years/{year}/clearing", json={**body, "assessment_scores": {h1: 90}}
    )
    assert missing.status_code == 422
    for scores, words in (
        ({h1: 150, h2: 50}, "0 到 100"),
        ({h1: -5, h2: 50}, "0 到 100"),
        ({h1: 95, h2: 50, "H00000000000": 90}, "H00000000000"),
    ):
        bad = client.post(
            f"/api/settlement/years/{year}/clearing", json={**body, "assessment_scores": scores}
        )
        assert bad.status_code == 422 and words in bad.json()["error"]["message"], bad.text

    _as(client, "hosp01")
    assert client.post(f"/api/settlement/years/{year}/clearing", json=body).status_code == 403
    _as(client, "analyst")
    assert client.post(f"/api/settlement/years/{year}/clearing", json=body).status_code == 403


def test_special_case_is_item_paid_in_the_statement(world, monkeypatch):  # type: ignore[no-untyped-def]
    """A special case approved by items is an item-paid case paid its decided amount,
    not a DRG case with a negative deduction (deductions come from adjustments only)."""
    from tests.e2e.test_settlement_special import _clock, _in_window

    client, month, h1 = world["client"], world["month_a"], world["codes"]["hosp01"]
    _as(client, "reviewer")
    queue = client.get("/api/settlement/review", params={"period": month, "size": 100}).json()
    normal = next(
        i["id"] for i in queue["items"] if i["id"] in world["a"] and i["payment_class"] == "normal"
    )
    _clock(monkeypatch, _in_window(month))
    _as(client, "hosp01")
    r = client.post(
        f"/api/settlement/lists/{normal}/special-case", data={"reason": "新技术", "new_tech": "1"}
    )
    assert r.status_code == 200, r.text
    _as(client, "reviewer")
    r = client.post(
        f"/api/settlement/special-cases/{r.json()['id']}/decide",
        json={"decision": "approve", "method": "items", "reason": "专家评审通过"},
    )
    decision = r.json()["decision"]
    assert D(decision["new_payment"]) != D(decision["original_payment"])
    rest = [i for i in [*world["a"], world["other"]] if i != normal]
    assert client.post("/api/settlement/review/bulk-approve", json={"ids": rest}).status_code == 200
    r = client.post(f"/api/settlement/periods/{month}/confirm", json={})
    assert wait_job(client, r.json()["job_id"])["status"] == "succeeded"
    records = client.get(
        f"/api/settlement/periods/{month}/confirmations", params={"hospital": h1, "size": 100}
    ).json()["items"]
    special = next(x for x in records if x["list_id"] == normal)
    assert D(special["amount_paid"]) == D(decision["new_payment"])

    body = client.get(f"/api/settlement/periods/{month}/statements/{h1}").json()
    st, cases = body["statement"], body["cases"]
    row = next(c for c in cases if c["setl_id"] == special["setl_id"])
    assert (row["payment_class"], row["payment_basis"]) == ("special", "items")
    assert D(row["drg_payment"]) == D(decision["new_payment"])
    assert D(row["fund_deduction"]) == 0
    others = [x for x in records if x["list_id"] != normal]
    drg = [x for x in others if x["payment_class"] == "normal"]
    assert st["drg_cases"] == len(drg) and st["item_cases"] == len(records) - len(drg)
    assert D(st["item_payment"]) == D(decision["new_payment"]) + sum(
        D(x["amount_paid"]) for x in others if x["payment_class"] != "normal"
    )
    assert D(st["fund_items"]) - D(decision["new_fund"]) == sum(
        D(x["fund_amount"]) for x in others if x["payment_class"] != "normal"
    )
    assert D(st["deductions"]) == 0
    assert D(st["settlement_amount"]) == sum(D(x["fund_amount"]) for x in records)
