"""The gateway's pages and read API (issue 12 item 10, clearing of item 5): journal,
settlements, reconciliation and the monthly inter-region clearing, for bureau and
hospital users, with data made through the gateway itself — stays of a local
patient, one insured in the same province (990200) and two in another province
(980100, one reversed), and one at a second hospital."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from sqlalchemy import String, cast, func, select

from tests import builders as b
from tests.builders.exchange import His, ok, plain_item, reverse_stay, settle_stay, token_of
from tests.builders.insured import person
from tests.builders.settlement import demo_world, login
from yibao.accounts.roles import Role
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD
from yibao.exchange.models import ExchangeMessage, Settlement
from yibao.kit.timeutil import local, utcnow
from yibao.regions.models import Hospital

HTML = {"accept": "text/html"}
ZERO = Decimal("0.00")


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    codes = demo_world(db)
    set_scope(db, SYSTEM_SCOPE)
    h2 = db.scalar(select(Hospital).where(Hospital.code == codes["hosp02"]))
    b.region(db, "980100")
    b.user(db, Role.BUREAU_REVIEWER, region_code="980100", username="far_bureau")
    b.user(db, Role.HIS_CLIENT, hospital=h2, username="his02")
    people = {
        "local": person(db, "990102", balance="500.00"),
        "near": person(db, "990202", balance="200.00"),
        "far1": person(db, "980102", balance="100.00"),
        "far2": person(db, "980103", balance="0.00"),
        "other": person(db, "990103", balance="50.00"),
    }
    db.commit()
    his1 = His(client, token_of(db, "his01"), codes["hosp01"])
    his2 = His(client, token_of(db, "his02"), codes["hosp02"])
    his1.sign_in()
    his2.sign_in()
    item = plain_item(db)
    stays = {
        "local": settle_stay(his1, people["local"], item, amount=Decimal("1200.00")),
        "near": settle_stay(his1, people["near"], item, amount=Decimal("8600.00")),
        "far1": settle_stay(his1, people["far1"], item, amount=Decimal("23456.78")),
        "far2": settle_stay(his1, people["far2"], item, amount=Decimal("5000.00")),
        "other": settle_stay(his2, people["other"], item, amount=Decimal("900.00")),
    }
    reversal = reverse_stay(his1, people["far2"], stays["far2"])
    today = local(utcnow()).date()
    info = stays["local"]["setlinfo"]
    stmt = {
        "insutype": "310",
        "clr_type": "21",
        "setl_optins": "990100",
        "stmt_begndate": str(today.replace(day=1)),
        "stmt_enddate": str(today),
        "medfee_sumamt": str(info["medfee_sumamt"]),
        "fund_pay_sumamt": str(info["fund_pay_sumamt"]),
        "acct_pay": str(info["acct_pay"]),
        "fixmedins_setl_cnt": 1,
    }
    assert ok(his1.send(his1.envelope("3201", {"data": stmt})))["stmtinfo"]["stmt_rslt"] == "0"
    wrong = {**stmt, "fixmedins_setl_cnt": 3}
    assert ok(his1.send(his1.envelope("3201", {"data": wrong})))["stmtinfo"]["stmt_rslt"] == "1"
    detail = {
        "setl_optins": "990100",
        "stmt_begndate": str(today.replace(day=1)),
        "stmt_enddate": str(today),
        "file_content": "setl_id,mdtrt_id,psn_no,medfee_sumamt,fund_pay_sumamt,acct_pay,"
        "refd_setl_flag\nNOSUCH,M1,P1,1.00,0.00,0.00,0",
    }
    ok(his1.send(his1.envelope("3202", {"data": detail})))
    return {
        "client": client,
        "codes": codes,
        "people": people,
        "stays": stays,
        "reversal": reversal,
        "month": f"{today:%Y%m}",
    }


def _message_id(db, msgid: str) -> int:  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    found = db.scalar(select(ExchangeMessage.id).where(ExchangeMessage.msgid == msgid))
    assert found is not None
    return int(found)


def _yuan(text: str) -> str:
    return f"{Decimal(str(text)):,.2f}"


def test_bureau_pages_show_the_figures(world, db) -> None:  # type: ignore[no-untyped-def]
    client, stays = world["client"], world["stays"]
    login(client, "admin", DEMO_PASSWORD)
    home = client.get("/", headers=HTML).text
    assert 'href="/exchange"' in home and "实时结算" in home
    assert client.get("/exchange", follow_redirects=False).headers["location"] == (
        "/exchange/settlements"
    )
    # journal: every settlement message, with the transaction's Chinese name
    page = client.get("/exchange/journal", params={"infno": "2304"}, headers=HTML)
    assert page.status_code == 200
    assert page.text.count('data-testid="journal-row"') == 5 and "住院结算" in page.text
    assert stays["far1"]["msgid"] in page.text
    # paged: the pager counts the pages of an API page model and links the next one
    total = client.get("/api/exchange/journal").json()["total"]
    first = client.get("/exchange/journal", params={"size": 3}, headers=HTML).text
    assert f"第 1/{-(-total // 3)} 页" in first and total > 3
    pager = first[first.index('aria-label="分页"') :]
    pager = pager[: pager.index("</nav>")]
    nxt = re.search(
        r'<li class="page-item ([a-z]*)"><a class="page-link" href="([^"]*)">下一页', pager
    )
    assert nxt is not None and nxt.group(1) == "", pager
    assert "page=2" in nxt.group(2) and "size=3" in nxt.group(2)
    failed = client.get("/api/exchange/journal", params={"result": "failed"}).json()
    assert failed["total"] == 0
    api = client.get("/api/exchange/journal", params={"msgid": stays["near"]["msgid"]}).json()
    assert [m["infno"] for m in api["items"]] == ["2304"] and api["items"][0]["infno_name"]
    who = world["people"]["far1"]
    by_person = client.get("/api/exchange/journal", params={"person": who.psn_no}).json()
    assert {m["infno"] for m in by_person["items"]} == {"2401", "2301", "2402", "2304"}
    # one message: request and response as JSON; an admin sees ID numbers in full
    one = client.get(f"/exchange/journal/{_message_id(db, stays['far1']['msgid'])}", headers=HTML)
    assert one.status_code == 200 and "请求报文" in one.text and "应答报文" in one.text
    assert who.certno in one.text and "已隐去" not in one.text
    # settlements: all five in the region, local and cross-region, with the reversal
    page = client.get("/exchange/settlements", headers=HTML).text
    for stay in stays.values():
        assert stay["setl_id"] in page
    assert _yuan(stays["far1"]["setlinfo"]["medfee_sumamt"]) in page
    assert "跨省异地" in page and "省内异地" in page and "已撤销" in page
    # the benefit policy by its name (its key in the tooltip), not the key alone
    assert re.search(r'title="\d{6}-\d{3}-[A-Z]+@v\d+">[^<@]*待遇[^<@]*<', page)
    cross = client.get("/api/exchange/settlements", params={"scope": "out_of_province"}).json()
    assert {s["setl_id"] for s in cross["items"]} == {
        stays["far1"]["setl_id"],
        stays["far2"]["setl_id"],
    }
    reversed_ = client.get("/api/exchange/settlements", params={"state": "reversed"}).json()
    assert [s["setl_id"] for s in reversed_["items"]] == [stays["far2"]["setl_id"]]
    assert reversed_["items"][0]["reversal_infno"] == "2305"
    # one settlement: setlinfo with Chinese names, the funds, the lines, the reversal
    far2 = client.get(f"/exchange/settlements/{stays['far2']['setl_id']}", headers=HTML).text
    assert "基本医疗保险统筹基金支出" in far2 and "参保地医保区划" in far2
    assert 'data-testid="reversal"' in far2 and world["reversal"]["msgid"] in far2
    assert "结算已撤销，费用明细已退回待结算" in far2
    far1 = client.get(f"/api/exchange/settlements/{stays['far1']['setl_id']}").json()
    assert far1["state"] == "settled" and [f["feedetl_sn"] for f in far1["fees"]] == ["L1"]
    assert {d[0]["value"] for d in far1["setldetail"]} == {
        d["fund_pay_type"] for d in stays["far1"]["setldetail"]
    }
    labels = {f["name"]: f["label"] for f in far1["setlinfo"]}
    assert labels["hifp_pay"] == "基本医疗保险统筹基金支出"
    # reconciliation: 3201 平 and 不平, 3202 with its count
    rec = client.get("/exchange/reconciliation", headers=HTML).text
    assert rec.count('data-testid="reconciliation-row"') == 3
    assert ">平<" in rec and ">不平<" in rec and "结算笔数" in rec
    assert re.search(r"机构 1 笔，中心 \d+ 笔，不符 [1-9]\d* 笔", rec)
    unbalanced = client.get("/api/exchange/reconciliation", params={"balanced": "false"}).json()
    assert {r["infno"] for r in unbalanced["items"]} == {"3201", "3202"}
    detail = next(r for r in unbalanced["items"] if r["infno"] == "3202")
    diff = client.get(f"/exchange/journal/{detail['id']}", headers=HTML).text
    assert 'data-testid="differences"' in diff and "中心无此结算" in diff and "NOSUCH" in diff
    # clearing: the two cross-region pairs, not the local stays
    clearing = client.get("/exchange/clearing", headers=HTML).text
    pairs = re.findall(r'data-pair="(\d{6}-\d{6})"', clearing)
    assert pairs == ["980100-990100", "990200-990100"]


def test_hospital_sees_only_its_own(world, db) -> None:  # type: ignore[no-untyped-def]
    client, stays = world["client"], world["stays"]
    login(client, "hosp01", DEMO_PASSWORD)
    mine = client.get("/api/exchange/settlements").json()
    assert mine["total"] == 4 and stays["other"]["setl_id"] not in {
        s["setl_id"] for s in mine["items"]
    }
    page = client.get("/exchange/settlements", headers=HTML).text
    assert stays["local"]["setl_id"] in page and stays["other"]["setl_id"] not in page
    assert 'name="hospital"' not in page  # no institution filter for a hospital
    # another hospital's settlement and message are not found
    other = stays["other"]["setl_id"]
    assert client.get(f"/exchange/settlements/{other}", headers=HTML).status_code == 404
    assert client.get(f"/api/exchange/settlements/{other}").status_code == 404
    theirs = _message_id(db, stays["other"]["msgid"])
    assert client.get(f"/exchange/journal/{theirs}", headers=HTML).status_code == 404
    assert client.get(f"/api/exchange/journal/{theirs}").status_code == 404
    assert client.get(f"/exchange/settlements/{stays['far1']['setl_id']}").status_code == 200
    # its own reconciliations; no clearing (a bureau's report)
    rec = client.get("/api/exchange/reconciliation").json()
    assert rec["total"] == 3 and {r["hospital_code"] for r in rec["items"]} == {
        world["codes"]["hosp01"]
    }
    assert client.get("/exchange/clearing", headers=HTML).status_code == 403
    assert client.get("/api/exchange/clearing", params={"month": world["month"]}).status_code == (
        403
    )
    assert "异地就医清算" not in client.get("/exchange/settlements", headers=HTML).text
    # the other hospital: its one settlement, no reconciliation yet
    login(client, "hosp02", DEMO_PASSWORD)
    assert [s["setl_id"] for s in client.get("/api/exchange/settlements").json()["items"]] == [
        other
    ]
    empty = client.get("/exchange/reconciliation", headers=HTML).text
    assert "本机构尚未发起 3201 / 3202 对账" in empty


def test_id_numbers_masked_without_the_permission(world, db) -> None:  # type: ignore[no-untyped-def]
    client, stays = world["client"], world["stays"]
    who = world["people"]["far1"]
    masked = who.certno[:6] + "********" + who.certno[-4:]
    set_scope(db, SYSTEM_SCOPE)
    identify = db.scalar(
        select(ExchangeMessage.id)
        .where(ExchangeMessage.infno == "1101")
        .where(cast(ExchangeMessage.request, String).contains(who.certno))
    )
    login(client, "reviewer", DEMO_PASSWORD)  # 结算审核员: no 查看完整身份证号
    for url in (
        f"/exchange/journal/{identify}",
        f"/exchange/journal/{_message_id(db, stays['far1']['msgid'])}",
        f"/exchange/settlements/{stays['far1']['setl_id']}",
    ):
        page = client.get(url, headers=HTML)
        assert page.status_code == 200, url
        assert who.certno not in page.text and masked in page.text, url
    entry = client.get(f"/api/exchange/journal/{identify}").json()
    assert entry["ids_masked"] is True
    assert entry["request"]["input"]["data"]["mdtrt_cert_no"] == masked
    assert who.certno not in str(entry)
    detail = client.get(f"/api/exchange/settlements/{stays['far1']['setl_id']}").json()
    assert {f["name"]: f["value"] for f in detail["setlinfo"]}["certno"] == masked
    # searching by the whole number still finds the person's messages (as the register does)
    found = client.get("/api/exchange/journal", params={"person": who.certno}).json()
    assert found["total"] >= 2
    # … but a part of it finds nothing: the hidden digits cannot be read one by one
    for part in (who.certno[:14], who.certno[6:14], who.certno[:-1]):
        probe = client.get("/api/exchange/journal", params={"person": part}).json()
        assert probe["total"] == 0, part
        page = client.get("/exchange/journal", params={"person": part}, headers=HTML).text
        assert 'data-testid="journal-row"' not in page and "（完整号码）" in page
    login(client, "admin", DEMO_PASSWORD)
    part = client.get("/api/exchange/journal", params={"person": who.certno[:14]}).json()
    assert part["total"] >= 2  # a role that sees the numbers may search by a part
    entry = client.get(f"/api/exchange/journal/{identify}").json()
    assert entry["request"]["input"]["data"]["mdtrt_cert_no"] == who.certno


def _db_sums(db, month: str, insured_prefix: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Settled in the month minus reversed in the month, straight from the table."""
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    cols = (
        func.count(Settlement.id),
        func.sum(Settlement.medfee_sumamt),
        func.sum(Settlement.fund_pay_sumamt),
        func.sum(Settlement.hifp_pay),
        func.sum(Settlement.acct_pay),
        func.sum(Settlement.psn_cash_pay),
    )
    base = select(*cols).where(
        Settlement.scope != "local", Settlement.insuplc_admdvs.startswith(insured_prefix)
    )
    plus = db.execute(base.where(Settlement.clr_month == month)).one()
    minus = db.execute(base.where(Settlement.reversal_month == month)).one()
    keys = ("count", "medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "acct_pay", "psn_cash_pay")
    out: dict[str, Any] = {}
    for key, p, m in zip(keys, plus, minus, strict=True):
        out[key] = (p or 0) - (m or 0)
        if key != "count":
            out[key] = Decimal(out[key]).quantize(Decimal("0.01"))
    out["settled"], out["reversed"] = plus[0], minus[0]
    return out


def _check_pair(pair: dict[str, Any], sums: dict[str, Any]) -> None:
    assert pair["count"] == sums["count"]
    assert pair["settled_count"] == sums["settled"] and pair["reversed_count"] == sums["reversed"]
    for key in ("medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "acct_pay", "psn_cash_pay"):
        assert Decimal(pair[key]) == sums[key], key
    parts = ("hifp_pay", "large_amount_pay", "cvlserv_pay", "maf_pay", "other_pay")
    assert sum(Decimal(pair[k]) for k in parts) == Decimal(pair["fund_pay_sumamt"])
    assert Decimal(pair["clearing_amount"]) == sums["fund_pay_sumamt"] + sums["acct_pay"]


def test_clearing_equals_database_sums_and_the_excel(world, db) -> None:  # type: ignore[no-untyped-def]
    client, stays, month = world["client"], world["stays"], world["month"]
    login(client, "reviewer", DEMO_PASSWORD)
    report = client.get("/api/exchange/clearing", params={"month": month}).json()
    pairs = {(p["insured_region"], p["treating_region"]): p for p in report["pairs"]}
    assert set(pairs) == {("980100", "990100"), ("990200", "990100")}  # the local stays are out
    far, near = pairs[("980100", "990100")], pairs[("990200", "990100")]
    assert far["scope"] == "out_of_province" and near["scope"] == "in_province"
    _check_pair(far, _db_sums(db, month, "98"))
    _check_pair(near, _db_sums(db, month, "9902"))
    # the reversal in the month cancels far2: far1's figures remain
    assert (far["settled_count"], far["reversed_count"], far["count"]) == (2, 1, 1)
    assert Decimal(far["medfee_sumamt"]) == Decimal(str(stays["far1"]["setlinfo"]["medfee_sumamt"]))
    assert Decimal(far["acct_pay"]) == Decimal(str(stays["far1"]["setlinfo"]["acct_pay"]))
    # per region: 990100 receives what the two insured places owe
    regions = {r["region"]: r for r in report["regions"]}
    owed = Decimal(far["clearing_amount"]) + Decimal(near["clearing_amount"])
    assert Decimal(regions["990100"]["receivable"]) == owed
    assert Decimal(regions["980100"]["payable"]) == Decimal(far["clearing_amount"])
    assert Decimal(regions["980100"]["net"]) == -Decimal(far["clearing_amount"])
    # the page shows the same figures
    page = client.get("/exchange/clearing", params={"month": month}, headers=HTML).text
    assert _yuan(far["medfee_sumamt"]) in page and _yuan(near["clearing_amount"]) in page
    # Excel: a title row, Chinese headers, the pairs and the total as the database has them
    xlsx = client.get("/api/exchange/clearing", params={"month": month, "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith(
        "application/vnd.openxmlformats"
    )
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert wb.sheetnames == ["跨统筹区清算", "统筹区应收应付"]
    ws = wb["跨统筹区清算"]
    assert "异地就医跨统筹区清算表" in ws.cell(1, 1).value and month[:4] in ws.cell(1, 1).value
    header = [c.value for c in ws[4]]
    assert header[:3] == ["参保地统筹区", "参保地", "就医地统筹区"]
    assert "医疗费总额" in header and "清算金额（参保地应付就医地）" in header
    rows = {
        r[0]: dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=5, values_only=True)
    }
    for code, prefix in (("980100", "98"), ("990200", "9902")):
        sums = _db_sums(db, month, prefix)
        row = rows[code]
        assert row["净笔数"] == sums["count"]
        assert row["异地类型"] in ("跨省异地", "省内异地")
        assert Decimal(str(row["医疗费总额"])).quantize(Decimal("0.01")) == sums["medfee_sumamt"]
        assert (
            Decimal(str(row["基金支付总额"])).quantize(Decimal("0.01")) == sums["fund_pay_sumamt"]
        )
        assert Decimal(str(row["个人账户支付"])).quantize(Decimal("0.01")) == sums["acct_pay"]
    total = next(r for r in rows.values() if r["参保地"] == "合计")
    both = _db_sums(db, month, "9")  # 98… and 99…: every cross-region settlement
    assert Decimal(str(total["医疗费总额"])).quantize(Decimal("0.01")) == both["medfee_sumamt"]
    assert total["净笔数"] == both["count"]


def test_reversal_in_a_later_month_is_cleared_in_that_month(world, db) -> None:  # type: ignore[no-untyped-def]
    """far2 settled last month (its clr_month moved back) and reversed this month:
    +1 last month, −1 this month."""
    client, stays, month = world["client"], world["stays"], world["month"]
    year, mon = int(month[:4]), int(month[4:])
    last = f"{year - 1}12" if mon == 1 else f"{year}{mon - 1:02d}"
    set_scope(db, SYSTEM_SCOPE)
    row = db.scalar(select(Settlement).where(Settlement.setl_id == stays["far2"]["setl_id"]))
    row.clr_month = last
    db.commit()
    login(client, "admin", DEMO_PASSWORD)
    now = client.get("/api/exchange/clearing", params={"month": month}).json()
    before = client.get("/api/exchange/clearing", params={"month": f"{last[:4]}-{last[4:]}"}).json()
    far_now = next(p for p in now["pairs"] if p["insured_region"] == "980100")
    far_before = next(p for p in before["pairs"] if p["insured_region"] == "980100")
    _check_pair(far_now, _db_sums(db, month, "98"))
    _check_pair(far_before, _db_sums(db, last, "98"))
    medfee = lambda key: Decimal(str(stays[key]["setlinfo"]["medfee_sumamt"]))  # noqa: E731
    assert (far_now["settled_count"], far_now["reversed_count"], far_now["count"]) == (1, 1, 0)
    assert Decimal(far_now["medfee_sumamt"]) == medfee("far1") - medfee("far2")
    assert (far_before["count"], Decimal(far_before["medfee_sumamt"])) == (1, medfee("far2"))
    assert [p["insured_region"] for p in before["pairs"]] == ["980100"]


def test_insured_place_bureau_sees_its_pairs_only(world) -> None:  # type: ignore[no-untyped-def]
    client, month = world["client"], world["month"]
    login(client, "far_bureau", b.PASSWORD)
    report = client.get("/api/exchange/clearing", params={"month": month}).json()
    assert [(p["insured_region"], p["treating_region"]) for p in report["pairs"]] == [
        ("980100", "990100")
    ]
    assert report["pairs"][0]["count"] == 1
    # the treating place's settlements themselves stay the treating place's
    assert client.get("/api/exchange/settlements").json()["total"] == 0
    page = client.get("/exchange/settlements", headers=HTML).text
    assert "没有符合条件的结算" in page


def test_bad_filters_are_named(world) -> None:  # type: ignore[no-untyped-def]
    client = world["client"]
    login(client, "admin", DEMO_PASSWORD)
    bad = client.get("/exchange/journal", params={"date_from": "2026-13-01"}, headers=HTML)
    assert bad.status_code == 422 and 'data-field="date_from"' in bad.text
    bad = client.get("/exchange/clearing", params={"month": "2026-13"}, headers=HTML)
    assert bad.status_code == 422 and "YYYYMM" in bad.text
    bad = client.get("/exchange/settlements", params={"month": "May"}, headers=HTML)
    assert bad.status_code == 422 and 'data-field="month"' in bad.text
    assert client.get("/api/exchange/clearing", params={"month": "202613"}).status_code == 422
    assert client.get("/exchange/journal/0", headers=HTML).status_code == 422
    assert client.get("/exchange/journal/999999", headers=HTML).status_code == 404
    empty = client.get("/exchange/clearing", params={"month": "199001"}, headers=HTML)
    assert empty.status_code == 200 and 'data-testid="clearing-empty"' in empty.text
