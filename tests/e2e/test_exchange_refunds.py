"""A refund line (init_feedetl_sn) mirrors its charge, also across a catalogue change
(ADR 0045): a stay spanning the change refunds to zero; a refund naming a charge the
visit does not have is refused with the field named."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from tests.builders import TEST_ACTOR
from tests.builders.exchange import His, ok, token_of
from tests.builders.insured import person
from tests.builders.settlement import demo_world
from yibao.catalogue.models import CatalogueVersion
from yibao.catalogue.repository import entries_of, to_item
from yibao.catalogue.schemas import VersionIn
from yibao.catalogue.service import do_create_version, do_publish_version, do_replace_entries
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.engines.catalogue import CatalogueItem
from yibao.kit.timeutil import local, utcnow


def test_a_refund_after_a_catalogue_change_mirrors_its_charge(client, db) -> None:  # type: ignore[no-untyped-def]
    """Item X is 甲类 (no cap) in the version in force when it was charged (3 days
    ago), and 乙类 with 先自付 20 % in the version published from yesterday.
    Charge 1 × 100.00 three days ago: 范围内 100.00.  A refund today (init_feedetl_sn =
    the charge) −1 × 100.00 classified by today's version would be 先自付 −20.00,
    范围内 −80.00: net of X 先自付 −20.00 and 范围内 +20.00 — the funds would pay on
    20.00 never spent, and the stay's 先自付 total would be negative, so its
    settlement is refused.  ADR 0016: a refund line "mirrors its charge exactly"."""
    codes = demo_world(db)
    set_scope(db, SYSTEM_SCOPE)
    today = local(utcnow()).date()
    old = db.scalar(
        select(CatalogueVersion).where(
            CatalogueVersion.status == "published", CatalogueVersion.region_code == "990100"
        )
    )
    assert old is not None and old.valid_from < today - timedelta(days=5)
    items = [to_item(e) for e in entries_of(db, old.id)]
    x = next(i for i in items if i.chrgitm_lv == "01" and not i.caps)
    changed = CatalogueItem(
        code=x.code,
        name=x.name,
        kind=x.kind,
        fee_type=x.fee_type,
        chrgitm_lv="02",
        selfpay_prop=Decimal("0.20"),
    )
    new = do_create_version(
        db,
        VersionIn(region_code="990100", name="调整后目录", valid_from=today - timedelta(days=1)),
        actor=TEST_ACTOR,
    )
    do_replace_entries(
        db,
        new.id,
        [changed if i.code == x.code else i for i in items],
        actor=TEST_ACTOR,
        source="test",
    )
    do_publish_version(db, new.id, actor=TEST_ACTOR)
    who = person(db, "990102", balance="300.00")
    db.commit()

    his = His(client, token_of(db, "his01"), codes["hosp01"])
    his.sign_in()
    place = {"insuplc_admdvs": who.insuplc_admdvs}
    cert = {"mdtrt_cert_type": "02", "mdtrt_cert_no": who.certno}
    ok(his.send(his.envelope("1101", {"data": {**cert, "psn_name": who.psn_name}}, **place)))
    start = datetime.now().replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=4)
    info = {
        "psn_no": who.psn_no,
        "insutype": who.insutype,
        "begntime": f"{start:%Y-%m-%d %H:%M:%S}",
        **cert,
        "med_type": "21",
        "ipt_no": "ZY-REVIEW-D",
        "atddr_no": "D001",
        "chfpdr_name": "王医生",
        "adm_diag_dscr": "胸痛",
        "adm_dept_codg": "A03",
        "adm_dept_name": "心血管内科",
        "adm_bed": "12",
        "dscg_maindiag_code": "I21.000",
        "dscg_maindiag_name": "急性心肌梗死",
    }
    mdtrt_id = str(
        ok(his.send(his.envelope("2401", {"mdtrtinfo": info}, **place)))["result"]["mdtrt_id"]
    )

    def line(sn: str, when: datetime, sign: int, **kw: str) -> dict[str, str]:
        return {
            "feedetl_sn": sn,
            "mdtrt_id": mdtrt_id,
            "psn_no": who.psn_no,
            "fee_ocur_time": f"{when:%Y-%m-%d %H:%M:%S}",
            "med_list_codg": x.code,
            "det_item_fee_sumamt": str(sign * Decimal("100.00")),
            "cnt": str(sign),
            "pric": "100.00",
            **kw,
        }

    charge = line("C1", start + timedelta(days=1), 1)
    refund = line("R1", datetime.now().replace(microsecond=0), -1, init_feedetl_sn="C1")
    result = ok(his.send(his.envelope("2301", {"feedetail": [charge, refund]}, **place)))["result"]
    c, r = result
    net = {
        k: Decimal(str(c[k])) + Decimal(str(r[k]))
        for k in (
            "det_item_fee_sumamt",
            "fulamt_ownpay_amt",
            "overlmt_amt",
            "preselfpay_amt",
            "inscp_scp_amt",
        )
    }
    assert net == dict.fromkeys(net, Decimal("0.00")), (c, r)
    # a charge stored earlier, refunded in two later messages: mirrored from the row
    ok(
        his.send(
            his.envelope("2301", {"feedetail": [line("C2", start + timedelta(days=1), 1)]}, **place)
        )
    )
    parts = []
    for sn in ("R2", "R3"):
        half = {
            **line(sn, datetime.now().replace(microsecond=0), -1, init_feedetl_sn="C2"),
            "det_item_fee_sumamt": "-50.00",
            "cnt": "-0.5",
        }
        answer = ok(his.send(his.envelope("2301", {"feedetail": [half]}, **place)))
        parts.append(answer["result"][0])
    assert all(Decimal(str(p["preselfpay_amt"])) == 0 for p in parts), parts
    assert sum(Decimal(str(p["inscp_scp_amt"])) for p in parts) == Decimal("-100.00")
    # nothing left to refund, and a charge the visit does not have
    again = line("R4", datetime.now().replace(microsecond=0), -1, init_feedetl_sn="C2")
    refused = his.send(his.envelope("2301", {"feedetail": [again]}, **place))
    assert refused["infcode"] == -1 and "尚未退费的 0.00" in refused["err_msg"], refused
    unknown = line("R5", datetime.now().replace(microsecond=0), -1, init_feedetl_sn="NOPE")
    refused = his.send(his.envelope("2301", {"feedetail": [unknown]}, **place))
    assert refused["infcode"] == -1 and "init_feedetl_sn" in refused["err_msg"], refused
    assert "没有流水号为 NOPE 的费用明细" in refused["err_msg"]
    # the charge C2 cannot be cancelled while its refunds R2/R3 stay; with them it can
    data = {"psn_no": who.psn_no, "mdtrt_id": mdtrt_id}
    refused = his.send(his.envelope("2302", {"data": {**data, "feedetl_sn": "C2"}}, **place))
    assert refused["infcode"] == -1 and "有未撤销的退费明细 R" in refused["err_msg"], refused
    for sn in ("R2", "R3", "C2"):
        ok(his.send(his.envelope("2302", {"data": {**data, "feedetl_sn": sn}}, **place)))
    # all open lines at once (a charge and its refund together) may go
    ok(his.send(his.envelope("2302", {"data": {**data, "feedetl_sn": "0000"}}, **place)))
