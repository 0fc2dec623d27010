"""The demo's *sim kit* for ``yibao his-sim`` (ADR 0019): what a simulated HIS of the
demo's HIS institution needs to know — some insured persons (certificates, names,
insured places: all synthetic) and catalogue codes with unit prices — read from the
seeded demo region."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from itertools import zip_longest
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.accounts.roles import Role
from yibao.catalogue.models import CatalogueEntry
from yibao.catalogue.repository import version_in_force
from yibao.insured.models import InsuredPerson
from yibao.kit.errors import NotFound

CENT = Decimal("0.01")


def _price(entry: CatalogueEntry, level: str) -> Decimal:
    """A unit price the demo HIS bills: under the entry's cap at the hospital's level,
    else a price derived from the code (5–300 yuan, the same every time)."""
    cap = getattr(entry, f"cap_lv{level}", None)
    if cap:
        return (Decimal(cap) * Decimal("0.9")).quantize(CENT)
    n = int(hashlib.sha256(entry.code.encode()).hexdigest()[:6], 16)
    return (Decimal(500 + n % 29_500) / 100).quantize(CENT)


def _persons(session: Session, count: int) -> list[dict[str, str]]:
    """Insured persons in normal standing: three quarters from the demo city, the
    others insured elsewhere (cross-region settlements), taken in turn from each other
    insured place, so that both in-province and out-of-province pairs are cleared."""
    local_n = max(1, count * 3 // 4)
    normal = InsuredPerson.psn_insu_stas == "1"
    rows: list[InsuredPerson] = list(
        session.scalars(
            select(InsuredPerson)
            .where(InsuredPerson.insuplc_admdvs.startswith("9901"), normal)
            .order_by(InsuredPerson.id)
            .limit(local_n)
        )
    )
    places = sorted(
        session.scalars(
            select(InsuredPerson.insuplc_admdvs)
            .where(~InsuredPerson.insuplc_admdvs.startswith("9901"), normal)
            .distinct()
        )
    )
    others = count - len(rows)
    if places and others > 0:
        per_place = -(-others // len(places))
        by_place = [
            list(
                session.scalars(
                    select(InsuredPerson)
                    .where(InsuredPerson.insuplc_admdvs == place, normal)
                    .order_by(InsuredPerson.id)
                    .limit(per_place)
                )
            )
            for place in places
        ]
        turns = [p for group in zip_longest(*by_place) for p in group if p is not None]
        rows += turns[:others]
    return [
        {"certno": p.certno, "psn_name": p.psn_name, "insuplc_admdvs": p.insuplc_admdvs}
        for p in rows
    ]


def demo_sim_kit(
    session: Session, *, persons: int = 40, codes: int = 40, on: date
) -> dict[str, Any]:
    """The sim kit (JSON-ready) of the demo's HIS client (``his01``) on day ``on``."""
    his = session.scalar(select(User).where(User.role == Role.HIS_CLIENT).order_by(User.id))
    if his is None or his.hospital is None:
        raise NotFound("没有 HIS 接口用户：请先 yibao demo seed / no HIS client, seed first")
    hospital = his.hospital
    admvs = hospital.region_code[:4] + "00"
    version = version_in_force(session, admvs, on)
    if version is None:
        raise NotFound(f"就医地 {admvs} 没有在用的医保目录 / no catalogue in force")
    entries = session.scalars(
        select(CatalogueEntry)
        .where(CatalogueEntry.version_id == version.id)
        .order_by(CatalogueEntry.code)
    ).all()
    step = max(1, len(entries) // max(1, codes))
    chosen = list(entries[::step])[:codes]
    return {
        "hospital_code": hospital.code,
        "hospital_name": hospital.name,
        "mdtrtarea_admvs": admvs,
        "his_user": his.username,
        "persons": _persons(session, persons),
        "codes": [
            {"code": e.code, "price": str(_price(e, hospital.level)), "name": e.name}
            for e in chosen
        ],
    }
