"""Whole visits through the transaction gateway over HTTP (issue 12 acceptance; SQLite
and PostgreSQL): inpatient 9001 → 1101 → 2401 → 2301 → 2402 → 2303 → 2304 → 4101A →
3201 and outpatient 2201 → 2204 → 2206 → 2207, for a local patient and for one
insured in another province, each fund split computed by hand here from the policy
figures and the catalogue entries; reversals (2305, 2208, 2601) restore the person's
figures and account exactly; retries and parallel retries settle once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.builders import TEST_ACTOR, user
from tests.builders.exchange import His
from tests.builders.settlement import settlement_list
from tests.builders.visits import (
    admit,
    basic_terms,
    fee_lines,
    figures,
    identify,
    ids,
    make_world,
    ok,
    policy_body,
    run_inpatient,
    run_outpatient,
    settle_input,
)
from yibao.accounts.models import User
from yibao.accounts.tokens import do_create_api_token
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.exchange.models import ExchangeMessage, Fee, Settlement, Visit
from yibao.insured.models import InsuredPosting
from yibao.kit.timeutil import local, utcnow
from yibao.regions.models import Hospital
from yibao.settlement.models import SettlementList


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    return make_world(client, db)


def test_inpatient_local_flow_then_list_and_statement(db, world) -> None:  # type: ignore[no-untyped-def]
    his: His = world["his"]
    who = world["local"]
    done = run_inpatient(db, world, who, "local")
    # 4101A: the settled stay's list goes into DRG settlement intake
    lst = settlement_list(
        his.code,
        discharge=done["start"].date() + timedelta(days=3),
        diagnoses=["I21.000"],
        total_cost=done["total"],
        setl_id=done["setl_id"],
        psn_no=who.psn_no,
    )
    # figures that disagree with the real-time settlement are refused, nothing stored
    answer = his.send(his.envelope("4101A", lst))
    assert answer["infcode"] == -1 and done["setl_id"] in answer["err_msg"], answer
    for key in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay"):
        lst["setlinfo"][key] = str(done["info"][key])
    out = ok(his.send(his.envelope("4101A", lst)))
    assert out["setl_id"] == done["setl_id"] and out["state"] in ("priced", "grouped", "qc_failed")
    # 3201: the institution's totals agree with the centre's
    today = local(utcnow()).date()
    stmt = {
        "insutype": "310",
        "clr_type": "21",
        "setl_optins": "990100",
        "stmt_begndate": str(today - timedelta(days=1)),
        "stmt_enddate": str(today),
        "medfee_sumamt": str(done["info"]["medfee_sumamt"]),
        "fund_pay_sumamt": str(done["info"]["fund_pay_sumamt"]),
        "acct_pay": str(done["info"]["acct_pay"]),
        "fixmedins_setl_cnt": 1,
    }
    res = ok(his.send(his.envelope("3201", {"data": stmt})))["stmtinfo"]
    assert res["stmt_rslt"] == "0", res
    res = ok(his.send(his.envelope("3201", {"data": {**stmt, "fixmedins_setl_cnt": 2}})))[
        "stmtinfo"
    ]
    assert res["stmt_rslt"] == "1" and "结算笔数" in res["stmt_rslt_dscr"]
    # 2305 restores the figures and the account exactly; the statement then nets to zero
    rev = his.envelope(
        "2305",
        {"data": {"psn_no": who.psn_no, "mdtrt_id": done["mdtrt_id"], "setl_id": done["setl_id"]}},
        **ids(his, who),
    )
    back = ok(his.send(rev))
    assert back["setlinfo"]["setl_type"] == "2"
    for key in ("medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "acct_pay", "psn_cash_pay"):
        assert Decimal(str(back["setlinfo"][key])) == -Decimal(str(done["info"][key]))
    assert figures(db, who) == done["before"]
    zero = {
        **stmt,
        "medfee_sumamt": "0",
        "fund_pay_sumamt": "0",
        "acct_pay": "0",
        "fixmedins_setl_cnt": 0,
    }
    assert ok(his.send(his.envelope("3201", {"data": zero})))["stmtinfo"]["stmt_rslt"] == "0"
    # a second reversal is refused and changes nothing
    again = his.send(his.envelope("2305", rev["input"], **ids(his, who)))
    assert again["infcode"] == -1 and "已" in again["err_msg"]
    assert figures(db, who) == done["before"]


def test_inpatient_out_of_province_uses_insured_place_policy(db, world) -> None:  # type: ignore[no-untyped-def]
    who = world["far"]
    done = run_inpatient(db, world, who, "out_of_province")
    set_scope(db, SYSTEM_SCOPE)
    row = db.scalar(select(Settlement).where(Settlement.setl_id == done["setl_id"]))
    assert row.scope == "out_of_province" and row.insuplc_admdvs.startswith("98")
    assert row.policy_key.startswith("980100-310")
    # 2601 冲正 of the settlement by its msgid restores everything, once
    his: His = world["his"]
    rev = his.envelope(
        "2601",
        {"data": {"psn_no": who.psn_no, "omsgid": done["msgid"], "oinfno": "2304"}},
        **ids(his, who),
    )
    out = ok(his.send(rev))
    assert "已冲正" in out["result"]["rslt"]
    assert figures(db, who) == done["before"]
    # answered with the reversal's figures, as 2305 would: negated, setl_type 2
    back, info = out["setlinfo"], done["info"]
    assert back["setl_type"] == "2" and back["setl_id"] != info["setl_id"]
    for key in ("medfee_sumamt", "hifp_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay"):
        assert Decimal(str(back[key])) == -Decimal(str(info[key])), key
    assert Decimal(str(back["balc"])) == done["before"][0]
    assert sum(Decimal(str(d["fund_payamt"])) for d in out["setldetail"]) == -sum(
        Decimal(str(d["fund_payamt"])) for d in done["detail"]
    )
    assert ok(his.send(rev)) == out  # its own retry: the stored answer
    assert figures(db, who) == done["before"]


def test_parallel_retries_settle_once(db, world) -> None:  # type: ignore[no-untyped-def]
    his: His = world["his"]
    who = world["local"]
    level = world["hospital"].level
    identify(his, who)
    start = datetime.combine(
        local(utcnow()).date() - timedelta(days=2), datetime.min.time()
    ).replace(hour=8)
    mdtrt_id = admit(his, who, start)
    body, expected = fee_lines(db, level, mdtrt_id, who.psn_no, start)
    ok(his.send(his.envelope("2301", {"feedetail": body}, **ids(his, who))))
    dscg = {
        "mdtrt_id": mdtrt_id,
        "psn_no": who.psn_no,
        "endtime": f"{start + timedelta(days=1):%Y-%m-%d %H:%M:%S}",
        "dscg_way": "1",
    }
    ok(his.send(his.envelope("2402", {"dscginfo": dscg}, **ids(his, who))))
    envelope = his.envelope(
        "2304", settle_input(who, mdtrt_id, expected["medfee_sumamt"]), **ids(his, who)
    )
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: his.send(envelope), range(4)))
    settled = [a for a in answers if a["infcode"] == 0]
    assert settled and all(a == settled[0] for a in settled)
    # another message (new msgid) for the same stay is refused: it is settled already
    other = his.send(
        his.envelope(
            "2304", settle_input(who, mdtrt_id, expected["medfee_sumamt"]), **ids(his, who)
        )
    )
    assert other["infcode"] == -1 and "已结算" in other["err_msg"]
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    assert (
        db.scalar(
            select(func.count()).select_from(Settlement).where(Settlement.psn_no == who.psn_no)
        )
        == 1
    )


def test_refusals_change_nothing(db, world) -> None:  # type: ignore[no-untyped-def]
    his: His = world["his"]
    who = world["local"]
    stranger = world["far"]
    # not identified by this institution yet
    info = {
        "psn_no": stranger.psn_no,
        "insutype": "310",
        "begntime": "2025-01-02 08:00:00",
        "mdtrt_cert_type": "02",
        "med_type": "21",
        "ipt_no": "Z1",
        "atddr_no": "D1",
        "chfpdr_name": "李",
        "adm_diag_dscr": "x",
        "adm_dept_codg": "A03",
        "adm_dept_name": "内科",
        "dscg_maindiag_code": "I21.000",
        "dscg_maindiag_name": "急性心肌梗死",
    }
    answer = his.send(
        his.envelope("2401", {"mdtrtinfo": info}, insuplc_admdvs=stranger.insuplc_admdvs)
    )
    assert answer["infcode"] == -1 and "1101" in answer["err_msg"]
    # insuplc_admdvs missing while the input names a person
    identify(his, who)
    answer = his.send(his.envelope("2401", {"mdtrtinfo": {**info, "psn_no": who.psn_no}}))
    assert answer["infcode"] == -1 and "insuplc_admdvs" in answer["err_msg"]
    # total that does not match the uploaded lines
    start = datetime.combine(
        local(utcnow()).date() - timedelta(days=2), datetime.min.time()
    ).replace(hour=8)
    mdtrt_id = admit(his, who, start)
    body, expected = fee_lines(db, world["hospital"].level, mdtrt_id, who.psn_no, start)
    ok(his.send(his.envelope("2301", {"feedetail": body}, **ids(his, who))))
    wrong = his.send(
        his.envelope(
            "2303", settle_input(who, mdtrt_id, expected["medfee_sumamt"] + 1), **ids(his, who)
        )
    )
    assert wrong["infcode"] == -1 and "medfee_sumamt" in wrong["err_msg"]
    # settlement before discharge
    early = his.send(
        his.envelope(
            "2304", settle_input(who, mdtrt_id, expected["medfee_sumamt"]), **ids(his, who)
        )
    )
    assert early["infcode"] == -1 and "2402" in early["err_msg"]
    # sloppy numbers as strings and strings as numbers are read, with warnings
    sloppy = settle_input(who, mdtrt_id, expected["medfee_sumamt"])
    sloppy["data"]["medfee_sumamt"] = float(expected["medfee_sumamt"])
    sloppy["data"]["acct_used_flag"] = 1
    answer = his.send(his.envelope("2303", sloppy, **ids(his, who)))
    assert answer["infcode"] == 0 and answer["warn_msg"], answer
    # a line whose amount is not count × price
    bad = [{**body[0], "feedetl_sn": "Z9", "det_item_fee_sumamt": "1.00"}]
    answer = his.send(his.envelope("2301", {"feedetail": bad}, **ids(his, who)))
    assert answer["infcode"] == -1 and "det_item_fee_sumamt" in answer["err_msg"]
    assert figures(db, who)[1] == {}


def test_outpatient_local_flow(db, world) -> None:  # type: ignore[no-untyped-def]
    run_outpatient(db, world, world["local"], "local")


def test_outpatient_out_of_province_flow(db, world) -> None:  # type: ignore[no-untyped-def]
    run_outpatient(db, world, world["far"], "out_of_province")


def test_another_institution_cannot_touch_the_visit(client, db, world) -> None:  # type: ignore[no-untyped-def]
    """hosp02's HIS names hosp01's stay: every message is refused, nothing changes."""
    his: His = world["his"]
    who = world["local"]
    identify(his, who)
    start = datetime.combine(local(utcnow()).date() - timedelta(days=2), datetime.min.time())
    mdtrt_id = admit(his, who, start.replace(hour=8))
    body, expected = fee_lines(db, world["hospital"].level, mdtrt_id, who.psn_no, start)
    ok(his.send(his.envelope("2301", {"feedetail": body}, **ids(his, who))))
    other = _hosp02_his(client, db)
    identify(other, who)  # it may identify the person; the stay is still not its own
    before = counts_of(db)
    ref = {"psn_no": who.psn_no, "mdtrt_id": mdtrt_id}
    dscg = {**ref, "endtime": f"{start + timedelta(days=1):%Y-%m-%d %H:%M:%S}", "dscg_way": "1"}
    messages = {
        "2301": {"feedetail": [{**body[0], "feedetl_sn": "Z1"}]},
        "2302": {"data": {**ref, "feedetl_sn": "0000"}},
        "2402": {"dscginfo": dscg},
        "2303": settle_input(who, mdtrt_id, expected["medfee_sumamt"]),
        "2304": settle_input(who, mdtrt_id, expected["medfee_sumamt"]),
        "2404": {"data": ref},
    }
    for infno, data in messages.items():
        answer = other.send(other.envelope(infno, data, **ids(other, who)))
        assert answer["infcode"] == -1 and "本机构没有就诊" in answer["err_msg"], (infno, answer)
    assert counts_of(db) == before


def _hosp02_his(client, db) -> His:  # type: ignore[no-untyped-def]
    """hosp02's HIS client, signed in."""
    set_scope(db, SYSTEM_SCOPE)
    code = db.scalar(select(User).where(User.username == "hosp02")).hospital.code
    other_user = user(
        db,
        "his_client",
        hospital=db.scalar(select(Hospital).where(Hospital.code == code)),
        username="his_hosp02",
    )
    token = do_create_api_token(db, other_user, "t", actor=TEST_ACTOR)
    db.commit()
    other = His(client, token, code)
    other.sign_in()
    return other


def test_another_institution_cannot_file_the_list_of_a_stay(client, db, world) -> None:  # type: ignore[no-untyped-def]
    """hosp02 uploads a settlement list naming hosp01's settlement (or only its visit):
    refused, so the stay cannot be claimed twice; nothing stored."""
    who = world["local"]
    done = run_inpatient(db, world, who, "local")
    other = _hosp02_his(client, db)
    lst = settlement_list(
        other.code,
        discharge=done["start"].date() + timedelta(days=3),
        diagnoses=["I21.000"],
        total_cost=done["total"],
        setl_id=done["setl_id"],
        psn_no=who.psn_no,
    )
    for key in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay"):
        lst["setlinfo"][key] = str(done["info"][key])
    set_scope(db, SYSTEM_SCOPE)
    before = db.scalar(select(func.count()).select_from(SettlementList))
    answer = other.send(other.envelope("4101A", lst))
    assert answer["infcode"] == -1, answer
    assert done["setl_id"] in answer["err_msg"] and "其他定点医疗机构" in answer["err_msg"]
    lst["setlinfo"] |= {"setl_id": "H2-OWN-0001", "mdtrt_id": done["mdtrt_id"]}
    answer = other.send(other.envelope("4101A", lst))
    assert answer["infcode"] == -1 and done["mdtrt_id"] in answer["err_msg"], answer
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(SettlementList)) == before


def counts_of(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    return {
        "settlements": db.scalar(select(func.count()).select_from(Settlement)),
        "fees_open": db.scalar(select(func.count()).select_from(Fee).where(Fee.state == "open")),
        "visits_open": db.scalar(
            select(func.count()).select_from(Visit).where(Visit.state == "open")
        ),
        "postings": db.scalar(select(func.count()).select_from(InsuredPosting)),
    }


def test_compact_times_are_the_times_the_his_wrote(db, world) -> None:  # type: ignore[no-untyped-def]
    """A HIS that writes times as yyyyMMddHHmmss (common) had its discharge read as
    seconds since 1970 — the year 2611 — and the settlement posted to that year's
    figures under the policy valid then; now the stay ends when the HIS says."""
    his: His = world["his"]
    who = world["local"]
    identify(his, who)
    start = datetime.combine(
        local(utcnow()).date() - timedelta(days=2), datetime.min.time()
    ).replace(hour=8)
    mdtrt_id = admit(his, who, start)
    body, expected = fee_lines(db, world["hospital"].level, mdtrt_id, who.psn_no, start)
    for line in body:
        line["fee_ocur_time"] = f"{start:%Y%m%d%H%M%S}"
    ok(his.send(his.envelope("2301", {"feedetail": body}, **ids(his, who))))
    end = start + timedelta(days=1, hours=2)
    dscg = {
        "mdtrt_id": mdtrt_id,
        "psn_no": who.psn_no,
        "endtime": f"{end:%Y%m%d%H%M%S}",
        "dscg_way": "1",
    }
    answer = his.send(his.envelope("2402", {"dscginfo": dscg}, **ids(his, who)))
    assert answer["infcode"] == 0 and "endtime" in answer["warn_msg"], answer
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    visit = db.scalar(select(Visit).where(Visit.mdtrt_id == mdtrt_id))
    assert local(visit.endtime).replace(tzinfo=None) == end
    total = expected["medfee_sumamt"]
    ok(his.send(his.envelope("2304", settle_input(who, mdtrt_id, total), **ids(his, who))))
    db.expire_all()
    years = set(db.scalars(select(InsuredPosting.year).where(InsuredPosting.kind == "settle")))
    assert years == {end.year}
    # ten digits are no time of any layout: refused, naming the field
    bad = his.send(
        his.envelope("2402", {"dscginfo": {**dscg, "endtime": "1704420000"}}, **ids(his, who))
    )
    assert bad["infcode"] == -1 and "endtime" in bad["err_msg"] and "日期时间" in bad["err_msg"]


def test_reversing_an_admission_after_discharge_is_refused_in_chinese(db, world) -> None:  # type: ignore[no-untyped-def]
    """2601 of a 2401 whose stay has been discharged: refused, the state named in
    Chinese (it was the table's English word: "就诊discharged"), nothing changed."""
    his: His = world["his"]
    who = world["local"]
    identify(his, who)
    start = datetime.combine(
        local(utcnow()).date() - timedelta(days=2), datetime.min.time()
    ).replace(hour=8)
    mdtrt_id = admit(his, who, start)
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    visit = db.scalar(select(Visit).where(Visit.mdtrt_id == mdtrt_id))
    omsgid = db.scalar(select(ExchangeMessage.msgid).where(ExchangeMessage.id == visit.message_id))
    dscg = {
        "mdtrt_id": mdtrt_id,
        "psn_no": who.psn_no,
        "endtime": f"{start + timedelta(days=1):%Y-%m-%d %H:%M:%S}",
        "dscg_way": "1",
    }
    ok(his.send(his.envelope("2402", {"dscginfo": dscg}, **ids(his, who))))
    data = {"data": {"psn_no": who.psn_no, "omsgid": omsgid, "oinfno": "2401"}}
    answer = his.send(his.envelope("2601", data, **ids(his, who)))
    assert answer["infcode"] == -1 and "已出院" in answer["err_msg"], answer
    assert "discharged" not in answer["err_msg"]
    db.expire_all()
    assert db.scalar(select(Visit.state).where(Visit.mdtrt_id == mdtrt_id)) == "discharged"


def test_outpatient_visit_settles_each_charge_batch(db, world) -> None:  # type: ignore[no-untyped-def]
    """门诊分次结算 (ADR 0044): a visit charged twice (B1, then B2 after the first
    payment) is settled once per batch; the second settlement starts from the figures
    the first posted (the deductible is not taken twice); a batch is not settled twice;
    reversing one batch leaves the other settled; reversing both restores the person.
    A refund goes in its charge's batch, and not after that batch was settled."""
    his, who = world["his"], world["local"]
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
    balance_before, cums_before = figures(db, who)
    settled, bodies = [], {}
    for batch in ("B1", "B2"):
        body, expected = fee_lines(db, level, mdtrt_id, who.psn_no, now, chrg_bchno=batch)
        body = [{**line, "feedetl_sn": f"{batch}-{line['feedetl_sn']}"} for line in body]
        bodies[batch] = body
        ok(his.send(his.envelope("2204", {"feedetail": body}, **ids(his, who))))
        data = settle_input(
            who, mdtrt_id, expected["medfee_sumamt"], med_type="11", chrg_bchno=batch
        )
        pre = ok(his.send(his.envelope("2206", data, **ids(his, who))))["setlinfo"]
        info = ok(his.send(his.envelope("2207", data, **ids(his, who))))["setlinfo"]
        assert pre["hifp_pay"] == info["hifp_pay"] and pre["act_pay_dedc"] == info["act_pay_dedc"]
        assert Decimal(str(info["medfee_sumamt"])) == expected["medfee_sumamt"]
        settled.append((data, info))
    first, second = settled[0][1], settled[1][1]
    assert first["setl_id"] != second["setl_id"]
    # the deductible is met once: the second batch's 起付线 is what the first left
    region = who.insuplc_admdvs[:4] + "00"
    deductible, _ = basic_terms(
        policy_body(db, region, who.insutype), level, "local", outpatient=True
    )
    paid_dedc = Decimal(str(first["act_pay_dedc"])) + Decimal(str(second["act_pay_dedc"]))
    assert paid_dedc == min(deductible, 2 * fee_lines(db, level, "x", "y", now)[1]["inscp_scp_amt"])
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    visit = db.scalar(select(Visit).where(Visit.mdtrt_id == mdtrt_id))
    assert visit is not None and visit.state == "settled"
    live = select(func.count()).where(
        Settlement.visit_id == visit.id, Settlement.state == "settled"
    )
    assert db.scalar(live) == 2
    # a refund of a settled charge is refused at upload: its batch could never be
    # settled (negative); the settlement is reversed first
    charge = bodies["B1"][0]

    def refund(batch: str) -> dict[str, object]:
        back = -Decimal(str(charge["pric"])).quantize(Decimal("0.01"))
        sn = {"feedetl_sn": f"{batch}-R1", "init_feedetl_sn": charge["feedetl_sn"]}
        return {**charge, **sn, "cnt": "-1", "det_item_fee_sumamt": str(back), "chrg_bchno": batch}

    answer = his.send(his.envelope("2204", {"feedetail": [refund("B3")]}, **ids(his, who)))
    assert answer["infcode"] == -1 and "init_feedetl_sn" in answer["err_msg"], answer
    assert "已结算，不能单独退费" in answer["err_msg"], answer
    # B1 again, as a new message: nothing left to settle in it
    again = his.send(his.envelope("2207", settled[0][0], **ids(his, who)))
    assert again["infcode"] == -1 and "收费批次号（chrg_bchno）" in again["err_msg"], again
    assert "没有收费批次 B1 的待结算费用明细" in again["err_msg"], again
    # 2205 of a batch the visit does not have names the batch, not the line serial
    gone = {"psn_no": who.psn_no, "mdtrt_id": mdtrt_id, "chrg_bchno": "B9", "feedetl_sn": ""}
    answer = his.send(his.envelope("2205", {"data": gone}, **ids(his, who)))
    assert answer["infcode"] == -1 and "收费批次号（chrg_bchno）" in answer["err_msg"], answer
    # 2208 of B1: B2 stays settled, the visit too; B1's lines are open again
    ref = {"data": {"psn_no": who.psn_no, "mdtrt_id": mdtrt_id, "setl_id": first["setl_id"]}}
    ok(his.send(his.envelope("2208", ref, **ids(his, who))))
    db.expire_all()
    assert db.scalar(live) == 1 and db.get(Visit, visit.id).state == "settled"
    open_b1 = select(func.count()).where(
        Fee.visit_id == visit.id, Fee.chrg_bchno == "B1", Fee.state == "open"
    )
    assert db.scalar(open_b1) == 4
    ref = {"data": {"psn_no": who.psn_no, "mdtrt_id": mdtrt_id, "setl_id": second["setl_id"]}}
    ok(his.send(his.envelope("2208", ref, **ids(his, who))))
    db.expire_all()
    assert db.scalar(live) == 0 and db.get(Visit, visit.id).state == "open"
    assert figures(db, who) == (balance_before, cums_before)
    # B1 open again: its refund goes in B1, not in another batch
    answer = his.send(his.envelope("2204", {"feedetail": [refund("B3")]}, **ids(his, who)))
    assert answer["infcode"] == -1 and "feedetail[0].chrg_bchno" in answer["err_msg"], answer
    assert "同一收费批次（B1）" in answer["err_msg"], answer
    ok(his.send(his.envelope("2204", {"feedetail": [refund("B1")]}, **ids(his, who))))


def test_times_that_have_not_happened_and_fees_outside_the_stay_are_refused(db, world) -> None:  # type: ignore[no-untyped-def]
    """Fees and admissions dated after today, refund lines naming no charge, a zero
    quantity, a discharge before the last fee and an admission moved after the first
    fee are refused naming the field; nothing changes."""
    his: His = world["his"]
    who = world["local"]
    identify(his, who)
    today = local(utcnow()).date()
    tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time()).replace(hour=9)
    # an admission tomorrow
    with pytest.raises(AssertionError, match="晚于今天"):
        admit(his, who, tomorrow)
    start = datetime.combine(today - timedelta(days=3), datetime.min.time()).replace(hour=8)
    mdtrt_id = admit(his, who, start)
    body, _ = fee_lines(db, world["hospital"].level, mdtrt_id, who.psn_no, start)
    before = counts_of(db)
    bad = {
        "fee_ocur_time": (
            {"fee_ocur_time": f"{tomorrow:%Y-%m-%d %H:%M:%S}"},
            "晚于今天",
        ),
        "init_feedetl_sn": (
            {
                "cnt": "-1",
                "det_item_fee_sumamt": f"-{Decimal(body[0]['pric']):.2f}",
                "pric": body[0]["pric"],
            },
            "退费明细",
        ),
        "cnt": ({"cnt": "0", "det_item_fee_sumamt": "0.00"}, "不能为 0"),
        # one fen over cnt × pric is refused (rounding is within half a fen)
        "det_item_fee_sumamt": (
            {"cnt": "1", "pric": "10", "det_item_fee_sumamt": "10.01"},
            "与 数量 1 × 单价 10 不符",
        ),
    }
    for field, (change, words) in bad.items():
        line = {**body[0], "feedetl_sn": "X1", **change}
        answer = his.send(his.envelope("2301", {"feedetail": [line]}, **ids(his, who)))
        assert answer["infcode"] == -1 and words in answer["err_msg"], (field, answer)
        assert f"feedetail[0].{field}" in answer["err_msg"], answer
    assert counts_of(db) == before
    # fees on the day after admission and two days after
    later = {
        **body[0],
        "feedetl_sn": "L9",
        "fee_ocur_time": f"{start + timedelta(days=2):%Y-%m-%d %H:%M:%S}",
    }
    ok(his.send(his.envelope("2301", {"feedetail": [*body, later]}, **ids(his, who))))
    ref = {"psn_no": who.psn_no, "mdtrt_id": mdtrt_id}
    # a discharge before the last fee's day, or tomorrow
    for end, words in (
        (start + timedelta(days=1), "早于已上传费用的发生日期"),
        (tomorrow, "晚于今天"),
    ):
        dscg = {**ref, "endtime": f"{end:%Y-%m-%d %H:%M:%S}", "dscg_way": "1"}
        answer = his.send(his.envelope("2402", {"dscginfo": dscg}, **ids(his, who)))
        assert answer["infcode"] == -1 and words in answer["err_msg"], answer
    # the admission moved after the first fee's day
    moved = {**ref, "begntime": f"{start + timedelta(days=2):%Y-%m-%d %H:%M:%S}"}
    answer = his.send(his.envelope("2403", {"adminfo": moved}, **ids(his, who)))
    assert answer["infcode"] == -1 and "晚于已上传费用的发生日期" in answer["err_msg"], answer
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    visit = db.scalar(select(Visit).where(Visit.mdtrt_id == mdtrt_id))
    assert visit.state == "open" and local(visit.begntime).date() == start.date()


def test_the_certificate_must_be_the_persons(db, world) -> None:  # type: ignore[no-untyped-def]
    """A 居民身份证 number that is not the person's is refused at admission and at
    settlement; a one-digit certificate type is read as its code with a warning; an
    unknown type is refused; a second settlement says it is one."""
    his: His = world["his"]
    who, stranger = world["local"], world["far"]
    place = ids(his, who)
    cert = {"mdtrt_cert_type": 2, "mdtrt_cert_no": who.certno, "psn_name": who.psn_name}
    answer = his.send(his.envelope("1101", {"data": cert}, **place))
    assert answer["infcode"] == 0 and "已将“2”按 02 读取" in (answer["warn_msg"] or ""), answer
    start = datetime.combine(local(utcnow()).date() - timedelta(days=3), datetime.min.time())
    with pytest.raises(AssertionError, match=r"不是人员 .* 的居民身份证号"):
        admit(his, who, start.replace(hour=8), mdtrt_cert_no=stranger.certno)
    with pytest.raises(AssertionError, match="就诊凭证类型（mdtrt_cert_type）：应为 01"):
        admit(his, who, start.replace(hour=8), mdtrt_cert_type="99")
    done = run_inpatient(db, world, who, "local")
    data = settle_input(who, done["mdtrt_id"], done["total"])
    again = his.send(his.envelope("2304", data, **place))
    assert again["infcode"] == -1 and "不能重复结算" in again["err_msg"], again
    wrong = settle_input(who, done["mdtrt_id"], done["total"], mdtrt_cert_no=stranger.certno)
    answer = his.send(his.envelope("2303", wrong, **place))
    assert answer["infcode"] == -1 and "mdtrt_cert_no" in answer["err_msg"], answer


def test_death_med_type_settling_way_and_sign_in_address_are_checked(db, world) -> None:  # type: ignore[no-untyped-def]
    """A 死亡日期 with another 离院方式 or outside the stay, a settlement under another
    医疗类别 than the visit's, 02 按定额结算 or an unknown way, a sign-in from no IP
    address: each refused naming the field, nothing changes; the death within the stay
    with 离院方式 5 is taken and the stay settles (a settlement's own 出院时间 other
    than the discharge's is said, not used)."""
    his: His = world["his"]
    who = world["local"]
    identify(his, who)
    place = ids(his, who)
    bad_ip = {"signIn": {"opter_no": "0001", "mac": "00-16-3E-12-34-56", "ip": "his-server"}}
    answer = his.send(his.envelope("9001", bad_ip, **place))
    assert answer["infcode"] == -1 and "IP 地址（input.signIn.ip）" in answer["err_msg"], answer
    assert "IPv4 或 IPv6" in answer["err_msg"], answer
    today = local(utcnow()).date()
    start = datetime.combine(today - timedelta(days=3), datetime.min.time()).replace(hour=8)
    mdtrt_id = admit(his, who, start)
    body, expected = fee_lines(db, world["hospital"].level, mdtrt_id, who.psn_no, start)
    ok(his.send(his.envelope("2301", {"feedetail": body}, **place)))
    end = start + timedelta(days=2)
    ref = {"psn_no": who.psn_no, "mdtrt_id": mdtrt_id, "endtime": f"{end:%Y-%m-%d %H:%M:%S}"}
    before = counts_of(db)
    for change, words in (
        ({"dscg_way": "1", "die_date": f"{end:%Y-%m-%d}"}, "离院方式（dscg_way）为 5 死亡时才填写"),
        ({"dscg_way": "5", "die_date": f"{start - timedelta(days=1):%Y-%m-%d}"}, "不在住院期间"),
        ({"dscg_way": "5", "die_date": f"{today:%Y-%m-%d}"}, "不在住院期间"),
    ):
        answer = his.send(his.envelope("2402", {"dscginfo": {**ref, **change}}, **place))
        assert answer["infcode"] == -1 and "死亡日期（die_date）" in answer["err_msg"], answer
        assert words in answer["err_msg"], answer
    assert counts_of(db) == before
    died = {**ref, "dscg_way": "5", "die_date": f"{end:%Y-%m-%d}"}
    ok(his.send(his.envelope("2402", {"dscginfo": died}, **place)))
    total = expected["medfee_sumamt"]
    for change, field, words in (
        ({"med_type": "22"}, "med_type", "22 外伤住院 与就诊登记的 21 普通住院 不符"),
        ({"psn_setlway": "02"}, "psn_setlway", "暂不办理 02 按定额结算"),
        ({"psn_setlway": "03"}, "psn_setlway", "应为 01 按项目结算"),
    ):
        for infno in ("2303", "2304"):
            data = settle_input(who, mdtrt_id, total, **change)
            answer = his.send(his.envelope(infno, data, **place))
            assert answer["infcode"] == -1 and field in answer["err_msg"], answer
            assert words in answer["err_msg"], answer
    assert counts_of(db)["settlements"] == before["settlements"]
    # a discharge time other than the 2402's is said and not used; the day alone is
    # what many HIS send and matches
    later = end + timedelta(hours=1)
    data = settle_input(who, mdtrt_id, total, dscg_time=f"{later:%Y-%m-%d %H:%M:%S}")
    warned = his.send(his.envelope("2303", data, **place))
    assert warned["infcode"] == 0 and "出院时间（dscg_time）" in (warned["warn_msg"] or ""), warned
    assert f"{end:%Y-%m-%d %H:%M:%S}" in warned["warn_msg"], warned
    data = settle_input(who, mdtrt_id, total, dscg_time=f"{end:%Y-%m-%d}")
    answer = his.send(his.envelope("2303", data, **place))
    assert answer["infcode"] == 0 and "dscg_time" not in (answer["warn_msg"] or ""), answer
    # the way sent as one digit is its code; the visit's own 医疗类别 settles
    data = settle_input(who, mdtrt_id, total, med_type="21", psn_setlway="1")
    data["data"]["dscg_time"] = f"{end:%Y-%m-%d %H:%M:%S}"
    settled = his.send(his.envelope("2304", data, **place))
    assert "dscg_time" not in (settled["warn_msg"] or ""), settled
    out = ok(settled)["setlinfo"]
    assert Decimal(str(out["medfee_sumamt"])) == total
    assert counts_of(db)["settlements"] == before["settlements"] + 1


def test_a_person_has_one_stay_at_a_time(client, db, world) -> None:  # type: ignore[no-untyped-def]
    """A second stay overlapping a settled one — at the same hospital or another — is
    refused at admission, at discharge and when 2403 moves its start; a transfer
    (admitted elsewhere at the moment of discharge) is taken."""
    his: His = world["his"]
    who = world["local"]
    done = run_inpatient(db, world, who, "local")  # today-4 09:00 → today-1 09:00, settled
    start = datetime.combine(local(utcnow()).date() - timedelta(days=4), datetime.min.time())
    start = start.replace(hour=9)
    before = counts_of(db)
    with pytest.raises(AssertionError, match=r"本院（就诊ID .*与本次住院时间重叠"):
        admit(his, who, start + timedelta(days=1))
    other = _hosp02_his(client, db)
    identify(other, who)
    with pytest.raises(
        AssertionError, match=r"人员在另一定点医疗机构有住院（.* 至 .*），与本次住院时间重叠"
    ):
        admit(other, who, start + timedelta(days=2))
    # admitted elsewhere before the settled stay began (registered late: taken), then
    # discharged inside it: refused; discharged the moment it began: a transfer, taken
    early = admit(other, who, start - timedelta(days=2))
    ref = {"psn_no": who.psn_no, "mdtrt_id": early, "dscg_way": "1"}
    inside = {**ref, "endtime": f"{start + timedelta(days=1):%Y-%m-%d %H:%M:%S}"}
    answer = other.send(other.envelope("2402", {"dscginfo": inside}, **ids(other, who)))
    assert answer["infcode"] == -1 and "结束时间（endtime）" in answer["err_msg"], answer
    assert "与本次住院时间重叠" in answer["err_msg"], answer
    at = {**ref, "endtime": f"{start:%Y-%m-%d %H:%M:%S}"}
    ok(other.send(other.envelope("2402", {"dscginfo": at}, **ids(other, who))))
    # after the settled stay's discharge: a new stay elsewhere is taken; 2403 moving
    # its start into the settled stay is refused
    later = admit(other, who, start + timedelta(days=3))
    moved = {"psn_no": who.psn_no, "mdtrt_id": later}
    moved["begntime"] = f"{start + timedelta(days=2):%Y-%m-%d %H:%M:%S}"
    answer = other.send(other.envelope("2403", {"adminfo": moved}, **ids(other, who)))
    assert answer["infcode"] == -1 and "与本次住院时间重叠" in answer["err_msg"], answer
    assert counts_of(db)["settlements"] == before["settlements"]
    assert done["mdtrt_id"] != later


def test_reversing_a_discharge_undoes_only_that_discharge(db, world) -> None:  # type: ignore[no-untyped-def]
    """2402 (X), 2405, 2402 again (Y): a 2601 of X changes nothing and says why; a
    2601 of Y undoes the discharge Y made."""
    his: His = world["his"]
    who = world["local"]
    identify(his, who)
    start = datetime.combine(local(utcnow()).date() - timedelta(days=3), datetime.min.time())
    mdtrt_id = admit(his, who, start.replace(hour=8))
    ref = {"mdtrt_id": mdtrt_id, "psn_no": who.psn_no}
    first = his.envelope(
        "2402",
        {"dscginfo": {**ref, "endtime": f"{start.replace(hour=20)}", "dscg_way": "1"}},
        **ids(his, who),
    )
    ok(his.send(first))
    ok(his.send(his.envelope("2405", {"data": ref}, **ids(his, who))))
    second_end = start + timedelta(days=1, hours=10)
    second = his.envelope(
        "2402", {"dscginfo": {**ref, "endtime": f"{second_end}", "dscg_way": "4"}}, **ids(his, who)
    )
    ok(his.send(second))

    def reverse(msgid: str) -> dict:  # type: ignore[type-arg]
        data = {"data": {"psn_no": who.psn_no, "omsgid": msgid, "oinfno": "2402"}}
        return his.send(his.envelope("2601", data, **ids(his, who)))

    answer = reverse(first["msgid"])
    assert answer["infcode"] == 0 and "来自另一报文，无需再冲正" in str(answer["output"]), answer
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    visit = db.scalar(select(Visit).where(Visit.mdtrt_id == mdtrt_id))
    assert visit.state == "discharged" and visit.dscg_way == "4"
    assert local(visit.endtime).replace(tzinfo=None) == second_end
    answer = reverse(second["msgid"])
    assert answer["infcode"] == 0 and "已撤销就诊" in str(answer["output"]), answer
    db.expire_all()
    assert db.scalar(select(Visit.state).where(Visit.mdtrt_id == mdtrt_id)) == "open"


def test_voiding_an_unknown_message_names_a_transaction_that_can_be_reversed(db, world) -> None:  # type: ignore[no-untyped-def]
    """2601 of a message never received registers the void only for a transaction a
    2601 can reverse; 9999 or 3101 is refused and nothing is journaled as voided."""
    his: His = world["his"]
    who = world["local"]
    identify(his, who)
    set_scope(db, SYSTEM_SCOPE)
    before = db.scalar(select(func.count()).select_from(ExchangeMessage))
    for oinfno in ("9999", "3101"):
        data = {"data": {"psn_no": who.psn_no, "omsgid": f"{his.code}X{oinfno}", "oinfno": oinfno}}
        answer = his.send(his.envelope("2601", data, **ids(his, who)))
        assert answer["infcode"] == -1 and "不是可冲正的交易" in answer["err_msg"], answer
    db.expire_all()
    # only the two refused 2601 messages themselves are journaled
    assert db.scalar(select(func.count()).select_from(ExchangeMessage)) == before + 2
    data = {"data": {"psn_no": who.psn_no, "omsgid": f"{his.code}X2304", "oinfno": "2304"}}
    answer = his.send(his.envelope("2601", data, **ids(his, who)))
    assert answer["infcode"] == 0 and "已登记冲正" in str(answer["output"]), answer


def test_a_treating_place_of_another_pool_is_said(db, world) -> None:  # type: ignore[no-untyped-def]
    """The envelope's 就医地医保区划 outside the institution's pool is not what the
    gateway settles under (the institution's own place): said in warn_msg."""
    his: His = world["his"]
    who = world["local"]
    cert = {"mdtrt_cert_type": "02", "mdtrt_cert_no": who.certno, "psn_name": who.psn_name}
    env = his.envelope("1101", {"data": cert}, **{**ids(his, who), "mdtrtarea_admvs": "110100"})
    answer = his.send(env)
    assert answer["infcode"] == 0, answer
    assert "就医地医保区划（mdtrtarea_admvs）：110100 不在本机构所在统筹区" in answer["warn_msg"]
