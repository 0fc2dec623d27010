"""Whole visits through the gateway for tests: the messages of an inpatient and an
outpatient flow, and the split each should give, computed by hand from the policy
figures and the catalogue entries (no engine code)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select

from tests.builders.exchange import His, token_of
from tests.builders.insured import person
from tests.builders.settlement import demo_world
from yibao.benefits.models import StoredPolicy
from yibao.catalogue.models import CatalogueEntry, CatalogueVersion
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.insured.models import InsuredAccount, InsuredCumulative, InsuredPerson
from yibao.kit.timeutil import local, utcnow
from yibao.regions.models import Hospital

FEN = Decimal("0.01")


def yuan(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(FEN, rounding=ROUND_HALF_UP)


def make_world(client, db):  # type: ignore[no-untyped-def]
    """The demo region, hosp01's HIS client signed in, a local and an out-of-province
    employee with accounts."""
    codes = demo_world(db)
    set_scope(db, SYSTEM_SCOPE)
    hospital = db.scalar(select(Hospital).where(Hospital.code == codes["hosp01"]))
    # women born 1980-05-17: the audit tests' patients (sex and age rules)
    local_p = person(db, "990102", insutype="310", balance="1000.00", gend="2")
    far_p = person(db, "980102", insutype="310", balance="300.00", gend="2")
    db.commit()
    his = His(client, token_of(db, "his01"), codes["hosp01"])
    his.sign_in()
    return {"his": his, "hospital": hospital, "local": local_p, "far": far_p}


def entries(db) -> dict[str, CatalogueEntry]:  # type: ignore[no-untyped-def]
    """One 甲类 item without a cap, one 乙类 drug whose cap at level 3 lies below a
    chosen price, one 丙类 item, from the published demo catalogue."""
    set_scope(db, SYSTEM_SCOPE)
    version = db.scalar(select(CatalogueVersion).where(CatalogueVersion.status == "published"))
    rows = list(db.scalars(select(CatalogueEntry).where(CatalogueEntry.version_id == version.id)))
    a = next(
        e
        for e in rows
        if e.chrgitm_lv == "01" and e.cap_lv1 is None and e.cap_lv2 is None and e.cap_lv3 is None
    )
    b = next(
        e
        for e in rows
        if e.chrgitm_lv == "02" and e.selfpay_prop > 0 and e.cap_lv1 and e.cap_lv2 and e.cap_lv3
    )
    c = next(e for e in rows if e.chrgitm_lv == "03")
    return {"a": a, "b": b, "c": c}


def cap_of(entry: CatalogueEntry, level: str) -> Decimal:
    return Decimal(getattr(entry, f"cap_lv{level}"))


def fee_lines(db, level: str, mdtrt_id: str, psn_no: str, when: datetime, **extra: Any):  # type: ignore[no-untyped-def]
    """Three lines and the expected four parts, by hand (ADR 0016 rules)."""
    e = entries(db)
    cap = cap_of(e["b"], level)
    b_price = cap + Decimal("3.00")  # over the cap by 3.00 a unit
    lines = [
        ("A1", e["a"].code, Decimal(3), Decimal("400.00")),
        ("B1", e["b"].code, Decimal(10), b_price),
        ("C1", e["c"].code, Decimal(1), Decimal("250.00")),
        ("X1", "NOT-IN-CATALOGUE", Decimal(2), Decimal("35.50")),
    ]
    body = [
        {
            "feedetl_sn": sn,
            "mdtrt_id": mdtrt_id,
            "psn_no": psn_no,
            "fee_ocur_time": f"{when:%Y-%m-%d %H:%M:%S}",
            "med_list_codg": code,
            "medins_list_codg": f"H-{code}",
            "det_item_fee_sumamt": str(yuan(cnt * price)),
            "cnt": str(cnt),
            "pric": str(price),
            "bilg_dept_codg": "A03",
            "bilg_dept_name": "心血管内科",
            **extra,
        }
        for sn, code, cnt, price in lines
    ]
    b_amount = yuan(10 * b_price)
    over = yuan(Decimal("3.00") * 10)
    b_capped = b_amount - over
    pre = yuan(e["b"].selfpay_prop * b_capped)
    expected = {
        "medfee_sumamt": yuan(1200) + b_amount + yuan(250) + yuan(71),
        "fulamt_ownpay_amt": yuan(250) + yuan(71),
        "overlmt_selfpay": over,
        "preselfpay_amt": pre,
        "inscp_scp_amt": yuan(1200) + b_capped - pre,
    }
    return body, expected


def policy_body(db, region: str, insutype: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    today = local(utcnow()).date()
    rows = db.scalars(
        select(StoredPolicy).where(
            StoredPolicy.region_code == region,
            StoredPolicy.insutype == insutype,
            StoredPolicy.status == "published",
        )
    ).all()
    row = next(
        r for r in rows if r.valid_from <= today and (r.valid_to is None or today <= r.valid_to)
    )
    return dict(row.body)


def basic_terms(
    body: dict[str, Any], level: str, scope: str, *, outpatient: bool = False
) -> tuple[Decimal, Decimal]:
    """(deductible, flat ratio) of a level and scope, read off the policy figures: the
    outpatient section's own levels and cross-region rules (the policy's when it has
    none) for an outpatient visit."""
    levels, rules = body["levels"], body.get("cross_region", {})
    if outpatient:
        levels = body["outpatient"]["levels"]
        rules = body["outpatient"].get("cross_region") or rules
    deductible, ratio = Decimal(levels[level]["deductible"]), Decimal(levels[level]["ratio"])
    if scope != "local":
        cross = rules.get(scope, {})
        if cross.get("deductible") is not None:
            deductible = Decimal(cross["deductible"])
        ratio = max(Decimal(0), ratio - Decimal(cross.get("ratio_cut", "0")))
    return deductible, ratio


def ids(his: His, who: InsuredPerson) -> dict[str, Any]:
    return {"insuplc_admdvs": who.insuplc_admdvs}


def identify(his: His, who: InsuredPerson) -> dict[str, Any]:
    data = {
        "data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": who.certno, "psn_name": who.psn_name}
    }
    answer = his.send(his.envelope("1101", data, insuplc_admdvs=who.insuplc_admdvs))
    assert answer["infcode"] == 0, answer
    return answer["output"]


def ok(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["infcode"] == 0, answer
    return answer["output"]


def admit(his: His, who: InsuredPerson, when: datetime, **kw: Any) -> str:
    """2401 for ``who`` at ``when`` (``kw``: fields of ``mdtrtinfo`` to change)."""
    info = {
        "psn_no": who.psn_no,
        "insutype": who.insutype,
        "begntime": f"{when:%Y-%m-%d %H:%M:%S}",
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": who.certno,
        "med_type": "21",
        "ipt_no": f"ZY{who.id:06d}",
        "atddr_no": "D001",
        "chfpdr_name": "王医生",
        "adm_diag_dscr": "胸痛",
        "adm_dept_codg": "A03",
        "adm_dept_name": "心血管内科",
        "adm_bed": "12",
        "dscg_maindiag_code": "I21.000",
        "dscg_maindiag_name": "急性心肌梗死",
        **kw,
    }
    dise = [
        {
            "diag_type": "1",
            "maindiag_flag": "1",
            "diag_srt_no": 1,
            "diag_code": "I21.000",
            "diag_name": "急性心肌梗死",
        }
    ]
    out = ok(his.send(his.envelope("2401", {"mdtrtinfo": info, "diseinfo": dise}, **ids(his, who))))
    return str(out["result"]["mdtrt_id"])


def settle_input(who: InsuredPerson, mdtrt_id: str, total: Decimal, **kw: Any) -> dict[str, Any]:
    return {
        "data": {
            "psn_no": who.psn_no,
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": who.certno,
            "medfee_sumamt": str(total),
            "psn_setlway": "01",
            "mdtrt_id": mdtrt_id,
            "insutype": who.insutype,
            "acct_used_flag": "1",
            **kw,
        }
    }


def figures(db, who: InsuredPerson) -> tuple[Decimal, dict[str, int]]:  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    balance = (
        Decimal(db.scalar(select(InsuredAccount.balc_e2).where(InsuredAccount.person_id == who.id)))
        / 100
    )
    cums = {
        r.cum_type: r.cum_e2
        for r in db.scalars(select(InsuredCumulative).where(InsuredCumulative.person_id == who.id))
        if r.cum_e2
    }
    return balance, cums


def check_identities(info: dict[str, Any]) -> None:
    d = {
        k: Decimal(str(v))
        for k, v in info.items()
        if isinstance(v, int | float | str) and k.endswith(("amt", "pay", "dedc", "selfpay"))
    }
    parts = d["fulamt_ownpay_amt"] + d["overlmt_selfpay"] + d["preselfpay_amt"] + d["inscp_scp_amt"]
    assert d["medfee_sumamt"] == parts
    assert d["medfee_sumamt"] == d["fund_pay_sumamt"] + d["psn_part_amt"] + d["hosp_part_amt"]
    assert d["psn_part_amt"] == d["acct_pay"] + d["psn_cash_pay"]


def run_inpatient(db, world, who: InsuredPerson, scope: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    his: His = world["his"]
    level = world["hospital"].level
    identify(his, who)
    start = datetime.combine(
        local(utcnow()).date() - timedelta(days=4), datetime.min.time()
    ).replace(hour=9)
    mdtrt_id = admit(his, who, start)
    body, expected = fee_lines(db, level, mdtrt_id, who.psn_no, start + timedelta(days=1))
    result = ok(his.send(his.envelope("2301", {"feedetail": body}, **ids(his, who))))["result"]
    assert [r["feedetl_sn"] for r in result] == ["A1", "B1", "C1", "X1"]
    assert result[3]["chrgitm_lv"] == "03" and "不在医保目录内" in result[3]["memo"]
    dscg = {
        "mdtrt_id": mdtrt_id,
        "psn_no": who.psn_no,
        "insutype": who.insutype,
        "endtime": f"{start + timedelta(days=3):%Y-%m-%d %H:%M:%S}",
        "dscg_way": "1",
    }
    ok(his.send(his.envelope("2402", {"dscginfo": dscg}, **ids(his, who))))
    # by hand: deductible and ratio of the insured place's policy for this level and scope
    region = who.insuplc_admdvs[:4] + "00"
    deductible, ratio = basic_terms(policy_body(db, region, who.insutype), level, scope)
    inscp = expected["inscp_scp_amt"]
    hifp = yuan(max(Decimal(0), inscp - deductible) * ratio)
    large = policy_body(db, region, who.insutype).get("large_amount")
    if large:  # the stay is small: the large-amount layer pays nothing
        assert inscp - hifp <= Decimal(large["threshold"])
    psn_part = expected["medfee_sumamt"] - hifp
    balance_before, cums_before = figures(db, who)
    acct = min(balance_before, psn_part)
    want = {
        **expected,
        "act_pay_dedc": min(deductible, inscp),
        "hifp_pay": hifp,
        "fund_pay_sumamt": hifp,
        "psn_part_amt": psn_part,
        "acct_pay": acct,
        "psn_cash_pay": psn_part - acct,
        "hosp_part_amt": yuan(0),
        "balc": balance_before - acct,
    }
    total = expected["medfee_sumamt"]
    pre = ok(his.send(his.envelope("2303", settle_input(who, mdtrt_id, total), **ids(his, who))))
    for key, value in want.items():
        assert Decimal(str(pre["setlinfo"][key])) == value, (key, pre["setlinfo"][key], value)
    check_identities(pre["setlinfo"])
    assert figures(db, who) == (balance_before, cums_before)  # a pre-settlement changes nothing
    envelope = his.envelope("2304", settle_input(who, mdtrt_id, total), **ids(his, who))
    out = ok(his.send(envelope))
    info = out["setlinfo"]
    for key, value in want.items():
        assert Decimal(str(info[key])) == value, (key, info[key], value)
    check_identities(info)
    assert info["setl_type"] == "1" and info["medins_setl_id"] == envelope["msgid"]
    assert info["out_setl_flag"] == ("0" if scope == "local" else "1")
    rows = {d["fund_pay_type"]: Decimal(str(d["fund_payamt"])) for d in out["setldetail"]}
    basic = "310100" if who.insutype == "310" else "390100"
    assert rows[basic] == hifp
    assert sum(v for k, v in rows.items() if k not in ("310200",)) == hifp
    balance_after, cums_after = figures(db, who)
    assert balance_after == balance_before - acct
    assert cums_after.get("act_pay_dedc", 0) - cums_before.get("act_pay_dedc", 0) == int(
        want["act_pay_dedc"] * 100
    )
    assert cums_after.get(f"fund:{basic}", 0) - cums_before.get(f"fund:{basic}", 0) == int(
        hifp * 100
    )
    # the retry of the same message is answered with the same response, nothing more
    assert his.send(envelope)["output"] == out
    assert figures(db, who) == (balance_after, cums_after)
    return {
        "mdtrt_id": mdtrt_id,
        "setl_id": info["setl_id"],
        "info": info,
        "detail": out["setldetail"],
        "msgid": envelope["msgid"],
        "before": (balance_before, cums_before),
        "after": (balance_after, cums_after),
        "total": total,
        "start": start,
    }


def run_outpatient(db, world, who: InsuredPerson, scope: str) -> None:  # type: ignore[no-untyped-def]
    """2201 → 2204 → 2206 → 2207 → 2208, the split by hand from the outpatient
    section of the insured place's policy."""
    his: His = world["his"]
    level = world["hospital"].level
    identify(his, who)
    now = datetime.combine(local(utcnow()).date(), datetime.min.time()).replace(hour=0, minute=5)
    reg = {
        "psn_no": who.psn_no,
        "insutype": who.insutype,
        "begntime": f"{now:%Y-%m-%d %H:%M:%S}",
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": who.certno,
        "ipt_otp_no": f"MZ{who.id:06d}",
        "atddr_no": "D002",
        "dr_name": "张医生",
        "dept_code": "A01",
        "dept_name": "普通内科",
    }
    mdtrt_id = ok(his.send(his.envelope("2201", {"data": reg}, **ids(his, who))))["result"][
        "mdtrt_id"
    ]
    visit = {
        "mdtrt_id": mdtrt_id,
        "psn_no": who.psn_no,
        "med_type": "11",
        "begntime": reg["begntime"],
    }
    dise = [
        {
            "diag_type": "1",
            "maindiag_flag": "1",
            "diag_code": "J06.900",
            "diag_name": "急性上呼吸道感染",
        }
    ]
    ok(his.send(his.envelope("2203", {"mdtrtinfo": visit, "diseinfo": dise}, **ids(his, who))))
    body, expected = fee_lines(db, level, mdtrt_id, who.psn_no, now, chrg_bchno="B1")
    ok(his.send(his.envelope("2204", {"feedetail": body}, **ids(his, who))))
    region = who.insuplc_admdvs[:4] + "00"
    policy = policy_body(db, region, who.insutype)
    deductible, ratio = basic_terms(policy, level, scope, outpatient=True)
    inscp = expected["inscp_scp_amt"]
    hifp = yuan(max(Decimal(0), inscp - deductible) * ratio)
    hifp = min(hifp, Decimal(policy["outpatient"]["annual_cap"]))
    balance_before, cums_before = figures(db, who)
    psn_part = expected["medfee_sumamt"] - hifp
    acct = min(balance_before, psn_part)
    want = {
        **expected,
        "act_pay_dedc": min(deductible, inscp),
        "hifp_pay": hifp,
        "fund_pay_sumamt": hifp,
        "psn_part_amt": psn_part,
        "acct_pay": acct,
        "psn_cash_pay": psn_part - acct,
        "balc": balance_before - acct,
    }
    data = settle_input(who, mdtrt_id, expected["medfee_sumamt"], med_type="11", chrg_bchno="B1")
    pre = ok(his.send(his.envelope("2206", data, **ids(his, who))))["setlinfo"]
    for key, value in want.items():
        assert Decimal(str(pre[key])) == value, (key, pre[key], value)
    out = ok(his.send(his.envelope("2207", data, **ids(his, who))))
    info = out["setlinfo"]
    for key, value in want.items():
        assert Decimal(str(info[key])) == value, (key, info[key], value)
    check_identities(info)
    assert info["clr_type"] == "11" and info["out_setl_flag"] == ("0" if scope == "local" else "1")
    balance_after, cums_after = figures(db, who)
    assert balance_after == balance_before - acct
    assert cums_after.get("otp_cnt", 0) - cums_before.get("otp_cnt", 0) == 100
    # 5206 shows the figures the settlement posted
    year = f"{local(utcnow()):%Y%m}"
    cum = ok(
        his.send(
            his.envelope("5206", {"data": {"psn_no": who.psn_no, "cum_ym": year}}, **ids(his, who))
        )
    )
    shown = {r["cum_type_code"]: Decimal(str(r["cum"])) for r in cum["cuminfo"]}
    assert shown["fund_pay_sumamt"] == hifp and shown["acct_pay"] == acct
    # 2208 restores everything
    ref = {"data": {"psn_no": who.psn_no, "mdtrt_id": mdtrt_id, "setl_id": info["setl_id"]}}
    back = ok(his.send(his.envelope("2208", ref, **ids(his, who))))["setlinfo"]
    assert back["setl_type"] == "2" and Decimal(str(back["hifp_pay"])) == -hifp
    assert figures(db, who) == (balance_before, cums_before)
