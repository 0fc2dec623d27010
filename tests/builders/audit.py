"""Real-time audit test helpers (3101–3103, ADR 0023): a knowledge version and a rule
set published for the demo region from chosen catalogue items, stays settled through
the gateway with chosen lines, and 3101/3102 inputs."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.builders.exchange import His, ok
from yibao.audit.models import AuditLog
from yibao.audit.service import SYSTEM
from yibao.catalogue.models import CatalogueEntry, CatalogueVersion
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.exchange.models import ExchangeMessage
from yibao.kit.timeutil import local, utcnow
from yibao.supervision.models import (
    KnowledgeRelation,
    KnowledgeRestriction,
    KnowledgeVersion,
    RuleSetVersion,
    StoredRule,
)
from yibao.supervision.realtime.models import AuditFeedback, AuditFinding, AuditRequest
from yibao.supervision.schemas import VersionIn
from yibao.supervision.service import do_create_version, do_publish

_seq = itertools.count(1)


def today() -> date:
    return local(utcnow()).date()


@dataclass
class Items:
    """Demo catalogue codes chosen for the rules (all 甲类 or 乙类, in the catalogue)."""

    male_only: str  # sex restriction 1
    child_drug: str  # age ≤ 14
    dx_drug: str  # indication N40 only
    dup_a: str  # exclusive with dup_b
    dup_b: str
    drug_prd: str  # a drug whose supply the HIS states (prd_days)
    drug_per_day: str  # a drug with at most 3 units a day
    drug_unknown: str  # a drug with neither
    plain: str  # a service nothing restricts
    dept_only: str  # a service only department A10 may bill
    names: dict[str, str]


def items(db: Session) -> Items:
    set_scope(db, SYSTEM_SCOPE)
    version = db.scalar(select(CatalogueVersion).where(CatalogueVersion.status == "published"))
    assert version is not None
    rows = list(
        db.scalars(
            select(CatalogueEntry)
            .where(CatalogueEntry.version_id == version.id, CatalogueEntry.chrgitm_lv != "03")
            .order_by(CatalogueEntry.code)
        )
    )
    svc = [r for r in rows if r.kind == "service"]
    drugs = [r for r in rows if r.kind == "western"]
    return Items(
        male_only=svc[0].code,
        child_drug=drugs[0].code,
        dx_drug=drugs[1].code,
        dup_a=svc[1].code,
        dup_b=svc[2].code,
        drug_prd=drugs[2].code,
        drug_per_day=drugs[3].code,
        drug_unknown=drugs[4].code,
        plain=svc[3].code,
        dept_only=svc[4].code,
        names={r.code: r.name for r in rows},
    )


def rules(it: Items) -> list[dict[str, Any]]:
    base = {"result_type": "definite", "sev_deg": 2, "window": "visit", "params": {}}
    return [
        base
        | {
            "rule_id": "T-SEX",
            "name": "限男性项目",
            "family": "sex",
            "stages": ["pre", "mid"],
            "params": {"codes": [it.male_only]},
            "sev_deg": 3,
        },
        base
        | {
            "rule_id": "T-AGE",
            "name": "儿童用药",
            "family": "age",
            "stages": ["pre", "mid"],
            "params": {"codes": [it.child_drug]},
        },
        base
        | {
            "rule_id": "T-IND",
            "name": "限适应症用药",
            "family": "indication",
            "stages": ["pre", "mid"],
            "params": {"codes": [it.dx_drug]},
            "result_type": "suspicious",
            "sev_deg": 1,
        },
        base
        | {
            "rule_id": "T-DUP",
            "name": "同日互斥项目",
            "family": "duplicate",
            "stages": ["mid"],
            "trig_scen": [8, 9],
            "window": "day",
        },
    ]


def publish_rules(db: Session, it: Items, rule_list: list[dict[str, Any]] | None = None) -> int:
    """Knowledge (restrictions of the chosen items, the exclusive pair) and the rule
    set, published for 990100 from 120 days ago (closing the demo's); the set's id."""
    set_scope(db, SYSTEM_SCOPE)
    start = today() - timedelta(days=120)
    base = VersionIn.model_validate(
        {"region_code": "990100", "name": "实时审核测试", "valid_from": start, "empty": True}
    )
    kv = do_create_version(db, KnowledgeVersion, base, actor=SYSTEM)
    restrictions = {
        it.male_only: [{"kind": "sex", "sex": "1"}],
        it.child_drug: [{"kind": "age", "max_years": 14}],
        it.dx_drug: [{"kind": "indication", "diagnoses": ["N40"]}],
        it.drug_per_day: [{"kind": "quantity", "per_day": "3"}],
        it.dept_only: [{"kind": "department", "departments": ["A10"]}],
        it.drug_prd: [],
        it.drug_unknown: [],
    }
    db.add_all(
        KnowledgeRestriction(version_id=kv.id, code=c, name=it.names[c], restrictions=r)
        for c, r in restrictions.items()
    )
    db.add(
        KnowledgeRelation(
            version_id=kv.id,
            kind="exclusive",
            body={"kind": "exclusive", "codes": [it.dup_a, it.dup_b]},
            note="测试",
        )
    )
    db.flush()
    do_publish(db, KnowledgeVersion, kv.id, actor=SYSTEM)
    rs = do_create_version(db, RuleSetVersion, base, actor=SYSTEM)
    for r in rule_list or rules(it):
        db.add(
            StoredRule(
                set_id=rs.id,
                version=1,
                enabled=True,
                valid_from=r.get("valid_from"),
                valid_to=r.get("valid_to"),
                trig_scen=r.get("trig_scen", []),
                **{k: v for k, v in r.items() if k not in ("trig_scen", "valid_from", "valid_to")},
            )
        )
    db.flush()
    do_publish(db, RuleSetVersion, rs.id, actor=SYSTEM)
    db.commit()
    return rs.id


def stamp(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}"


def stay(
    his: His,
    who: Any,
    lines: list[tuple[str, str, str, str | None]],
    *,
    days_ago: int,
    los: int = 3,
    settle: bool = True,
    diag: tuple[str, str] = ("I21.000", "急性心肌梗死"),
    others: tuple[tuple[str, str], ...] = (),
    bilg_dept: str = "A03",
    refunds: tuple[tuple[str, str], ...] = (),
) -> dict[str, Any]:
    """An inpatient stay of ``who`` at ``his``'s institution: 1101 → 2401 (main
    diagnosis ``diag``; with ``others``, ``diseinfo`` lists it and these secondary
    diagnoses) → 2301 (lines (code, cnt, price, prd_days) on the day after admission,
    billed by department ``bilg_dept``; the stay's department is A03; ``refunds``:
    (charge's feedetl_sn, negative cnt) lines taking units of a charge back) →
    2402 (``los`` days after admission, never after today) → 2304 when ``settle``.
    Returns mdtrt_id, the fee day and the total."""
    place = {"insuplc_admdvs": who.insuplc_admdvs}
    cert = {"mdtrt_cert_type": "02", "mdtrt_cert_no": who.certno}
    ok(his.send(his.envelope("1101", {"data": {**cert, "psn_name": who.psn_name}}, **place)))
    start = datetime.combine(today() - timedelta(days=days_ago), datetime.min.time()).replace(
        hour=9
    )
    n = next(_seq)
    info = {
        "psn_no": who.psn_no,
        "insutype": who.insutype,
        "begntime": stamp(start),
        **cert,
        "med_type": "21",
        "ipt_no": f"ZY{who.id:06d}{n:04d}",
        "atddr_no": "D001",
        "chfpdr_name": "王医生",
        "adm_diag_dscr": diag[1],
        "adm_dept_codg": "A03",
        "adm_dept_name": "心血管内科",
        "dscg_maindiag_code": diag[0],
        "dscg_maindiag_name": diag[1],
    }
    admission: dict[str, Any] = {"mdtrtinfo": info}
    if others:
        admission["diseinfo"] = [
            {"maindiag_flag": "1" if i == 0 else "0", "diag_srt_no": i + 1}
            | {"diag_type": "1", "diag_code": code, "diag_name": name}
            for i, (code, name) in enumerate((diag, *others))
        ]
    mdtrt_id = str(ok(his.send(his.envelope("2401", admission, **place)))["result"]["mdtrt_id"])
    # the day after admission, or the admission day for a stay begun today (the
    # gateway refuses fees and discharges dated after today)
    fee_day = start + (timedelta(days=1) if days_ago else timedelta(hours=1))
    total = Decimal("0.00")
    body = []
    for i, (code, cnt, price, prd) in enumerate(lines):
        amount = (Decimal(cnt) * Decimal(price)).quantize(Decimal("0.01"))
        total += amount
        line = {
            "feedetl_sn": f"L{i + 1}",
            "mdtrt_id": mdtrt_id,
            "psn_no": who.psn_no,
            "fee_ocur_time": stamp(fee_day),
            "med_list_codg": code,
            "det_item_fee_sumamt": str(amount),
            "cnt": cnt,
            "pric": price,
            "bilg_dept_codg": bilg_dept,
        }
        if prd is not None:
            line["prd_days"] = prd
        body.append(line)
    for i, (charge, cnt) in enumerate(refunds):
        line = next(x for x in body if x["feedetl_sn"] == charge)
        amount = (Decimal(cnt) * Decimal(line["pric"])).quantize(Decimal("0.01"))
        total += amount
        sn = {"feedetl_sn": f"R{i + 1}", "init_feedetl_sn": charge}
        body.append(line | sn | {"cnt": cnt, "det_item_fee_sumamt": str(amount)})
    if body:
        ok(his.send(his.envelope("2301", {"feedetail": body}, **place)))
    if settle:
        dscg = {
            "mdtrt_id": mdtrt_id,
            "psn_no": who.psn_no,
            "insutype": who.insutype,
            "endtime": stamp(start + (timedelta(days=min(los, days_ago)) or timedelta(hours=2))),
            "dscg_way": "1",
        }
        ok(his.send(his.envelope("2402", {"dscginfo": dscg}, **place)))
        data = {
            "psn_no": who.psn_no,
            **cert,
            "medfee_sumamt": str(total),
            "psn_setlway": "01",
            "mdtrt_id": mdtrt_id,
            "insutype": who.insutype,
            "acct_used_flag": "1",
        }
        ok(his.send(his.envelope("2304", {"data": data}, **place)))
    return {"mdtrt_id": mdtrt_id, "fee_day": fee_day.date(), "total": total, "start": start}


def order(rx_id: str, code: str, cnt: str, price: str, day: date, **kw: Any) -> dict[str, Any]:
    amount = (Decimal(cnt) * Decimal(price)).quantize(Decimal("0.01"))
    return {
        "rx_id": rx_id,
        "hilist_code": code,
        "cnt": cnt,
        "pric": price,
        "sumamt": str(amount),
        "drord_begn_date": f"{day:%Y-%m-%d} 10:00:00",
        **kw,
    }


def audit_input(
    who: Any,
    orders: list[dict[str, Any]],
    *,
    day: date,
    gend: str | None = None,
    brdy: str | None = None,
    mdtrt_id: str = "HIS-MZ-0001",
    trig_scen: str | None = "2",
    med_mdtrt_type: str = "1",
    dx: str = "I21.000",
    **data: Any,
) -> dict[str, Any]:
    enc = {
        "mdtrt_id": mdtrt_id,
        "medins_lv": "05",
        "adm_date": f"{day:%Y-%m-%d} 09:00:00",
        "dscg_date": "",
        "med_mdtrt_type": med_mdtrt_type,
        "med_type": "11",
        "insutype": who.insutype,
        "adm_dept_codg": "A03",
        "fsi_diagnose_dtos": [
            {"dise_id": "1", "maindise_flag": "1", "dias_srt_no": "1", "dise_codg": dx}
        ],
        "fsi_order_dtos": orders,
        "fsi_operation_dtos": "",
    }
    patient = {
        "patn_id": who.psn_no,
        "patn_name": who.psn_name,
        # as registered unless a test says otherwise (the audit uses the registration)
        "gend": who.gend if gend is None else gend,
        "brdy": f"{who.brdy:%Y-%m-%d}" if brdy is None else brdy,
        "poolarea": who.insuplc_admdvs,
        "curr_mdtrt_id": mdtrt_id,
        "fsi_encounter_dtos": [enc],
    }
    body: dict[str, Any] = {"patient_dtos": [patient], "syscode": "HISTEST"}
    if trig_scen is not None:
        body["trig_scen"] = trig_scen
    return {"data": body | data}


def counts(db: Session) -> dict[str, int]:
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    models = {
        "requests": AuditRequest,
        "findings": AuditFinding,
        "feedback": AuditFeedback,
        "audit": AuditLog,
        "journal": ExchangeMessage,
    }
    return {k: int(db.scalar(select(func.count()).select_from(m)) or 0) for k, m in models.items()}
