"""Shared set-up of the supervision tests: a published catalogue with restrictions,
users, and sample claims in the engine's JSON shape."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from tests import builders as b
from yibao.accounts.roles import Role
from yibao.audit.service import SYSTEM
from yibao.catalogue.schemas import VersionIn
from yibao.catalogue.service import do_create_version, do_publish_version, do_replace_entries
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.engines.catalogue import CatalogueItem, parse_restrictions

D = Decimal
PSA = "250305001"  # 前列腺特异抗原 (men only)
CSEC = "331101001"  # 剖宫产 (women only)
ANAES = "330100001"  # 全身麻醉
SURG = "331001001"  # 阑尾切除术
DRUG = "XA01AAA001"  # a drug


def _item(
    code: str, name: str, kind: str = "service", rules: Any = None, **kw: Any
) -> CatalogueItem:
    return CatalogueItem(
        code=code,
        name=name,
        kind=kind,
        fee_type="04" if kind == "service" else "09",
        chrgitm_lv="01",
        selfpay_prop=D(0),
        caps={},
        unit=kw.get("unit", "次"),
        restrictions=parse_restrictions(rules),
    )


def seed(db: Session) -> None:
    """Users (ruleadmin and admin of 990100, an analyst, a rule admin of 990200) and a
    published catalogue of 990100 from 2025-01-01."""
    set_scope(db, SYSTEM_SCOPE)
    b.region(db, "990100")
    b.region(db, "990200")
    b.user(db, Role.RULE_ADMIN, region_code="990100", username="ruleadmin")
    b.user(db, Role.BUREAU_ANALYST, region_code="990100", username="analyst")
    b.user(db, Role.RULE_ADMIN, region_code="990200", username="other_ruleadmin")
    items = [
        _item(PSA, "前列腺特异抗原测定", rules=[{"kind": "sex", "sex": "1"}]),
        _item(CSEC, "子宫下段剖宫产术", rules=[{"kind": "sex", "sex": "2"}]),
        _item(ANAES, "全身麻醉"),
        _item(SURG, "阑尾切除术"),
        _item(DRUG, "演示片", kind="western", rules=[{"kind": "quantity", "per_day": "3"}]),
    ]
    v = do_create_version(
        db,
        VersionIn(region_code="990100", name="测试目录", valid_from="2025-01-01"),  # type: ignore[arg-type]
        actor=SYSTEM,
    )
    do_replace_entries(db, v.id, items, actor=SYSTEM, source="测试")
    do_publish_version(db, v.id, actor=SYSTEM)
    db.commit()


def claim(sex: str = "2", codes: tuple[str, ...] = (PSA,), mdtrt_id: str = "M1") -> dict[str, Any]:
    """One outpatient claim on 2025-03-01 with a line per code."""
    return {
        "patient": {"psn_no": "P1", "sex": sex, "birth_date": "1980-05-01"},
        "encounter": {
            "mdtrt_id": mdtrt_id,
            "care_mode": "otp",
            "hospital_level": "3",
            "begin_date": "2025-03-01",
            "insutype": "310",
            "diagnoses": ["K35.800"],
        },
        "lines": [
            {
                "rx_id": f"R{i}",
                "item_code": code,
                "quantity": "1",
                "price": "30",
                "amount": "30.00",
                "day": "2025-03-01",
            }
            for i, code in enumerate(codes)
        ],
    }


SEX_RULE = {
    "rule_id": "SEX01",
    "name": "限性别项目",
    "family": "sex",
    "stages": ["pre", "mid", "post"],
    "result_type": "definite",
    "sev_deg": 3,
}
LINK_RULE = {
    "rule_id": "LNK01",
    "name": "麻醉须有手术",
    "family": "linkage",
    "stages": ["mid", "post"],
}
DRAFT = {"region_code": "990100", "name": "规则库", "valid_from": "2025-01-01"}
