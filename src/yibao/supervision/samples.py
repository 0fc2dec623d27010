"""A synthetic sample claim for testing rules (the rule base page's 测试 form): built from
the knowledge in force for a region on a day, so that the rules of the usual families
have something to find — an item restricted to the other sex, an item billed above its
daily quantity, both items of an exclusive pair.  Nothing here is real data."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from yibao.engines.audit import Exclusive, Knowledge
from yibao.engines.catalogue import CatalogueItem
from yibao.engines.catalogue.restrictions import QuantityRule, SexRule
from yibao.kit.errors import NotFound
from yibao.supervision.repository import knowledge_in_force

_PRICE = Decimal("30")


def example_claim(session: Session, admdvs: str, on: date) -> dict[str, Any] | None:
    """One outpatient claim on ``on`` in the shape of the test form (``TestIn``'s claim),
    or None when the region has no catalogue in force on that day."""
    try:
        knowledge = knowledge_in_force(session, admdvs, on)
    except NotFound:
        return None
    return claim_from(knowledge, on)


def claim_from(knowledge: Knowledge, on: date) -> dict[str, Any] | None:
    """The sample claim for ``knowledge`` (None when it has no items)."""
    items = [knowledge.items[c] for c in sorted(knowledge.items)]
    if not items:
        return None
    picked: list[tuple[CatalogueItem, Decimal]] = []
    sex = "1"
    gendered = next((i for i in items if _rule(i, SexRule)), None)
    if gendered is not None:
        wanted = _rule(gendered, SexRule)
        sex = "1" if wanted is not None and wanted.sex == "2" else "2"
        picked.append((gendered, Decimal(1)))
    counted = next((i for i in items if _per_day(i) is not None), None)
    if counted is not None:
        picked.append((counted, (_per_day(counted) or Decimal(1)) + 1))
    pair = next((r for r in knowledge.relations if isinstance(r, Exclusive)), None)
    if pair is not None:
        for code in pair.codes:
            if code in knowledge.items:
                picked.append((knowledge.items[code], Decimal(1)))
    if not picked:
        picked.append((items[0], Decimal(1)))
    lines = [
        {
            "rx_id": f"R{n}",
            "item_code": item.code,
            "name": item.name,
            "quantity": f"{qty.normalize():f}",
            "price": f"{_PRICE:f}",
            "amount": f"{(qty * _PRICE).quantize(Decimal('0.01')):f}",
            "day": on.isoformat(),
            "days": 1,
            "frequency": "",
            "dept_code": "",
        }
        for n, (item, qty) in enumerate(picked[:10], start=1)
    ]
    return {
        "patient": {"psn_no": "DEMO0001", "sex": sex, "birth_date": "1980-05-01"},
        "encounter": {
            "mdtrt_id": "DEMO-MDTRT-1",
            "care_mode": "otp",
            "hospital_level": "3",
            "begin_date": on.isoformat(),
            "end_date": None,
            "dept_code": "A03",
            "insutype": "310",
            "diagnoses": ["K35.800"],
            "operations": [],
        },
        "lines": lines,
    }


def _rule(item: CatalogueItem, kind: type[SexRule]) -> SexRule | None:
    return next((r for r in item.restrictions if isinstance(r, kind)), None)


def _per_day(item: CatalogueItem) -> Decimal | None:
    rule = next((r for r in item.restrictions if isinstance(r, QuantityRule)), None)
    return rule.per_day if rule is not None else None
