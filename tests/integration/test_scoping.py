"""Scoping is enforced in the ORM session, below the HTTP layer."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from tests import builders as b
from yibao.cases.models import Case
from yibao.db.scoping import Scope, set_scope
from yibao.kit.errors import Forbidden
from yibao.regions.models import Hospital


def test_queries_are_filtered_by_hospital_scope(db):  # type: ignore[no-untyped-def]
    ha = b.hospital(db, "990102")
    hb = b.hospital(db, "990103")
    ca = b.case(db, ha)
    cb = b.case(db, hb)
    db.commit()
    a_setl, b_setl, b_id, b_name = ca.setl_id, cb.setl_id, cb.id, cb.psn_name
    set_scope(db, Scope(hospital_id=ha.id))
    db.expire_all()
    assert db.scalars(select(Case.setl_id)).all() == [a_setl]
    assert db.scalar(select(func.count()).select_from(Case)) == 1
    assert db.scalar(select(Case).where(Case.id == b_id)) is None
    assert len(db.scalars(select(Hospital.code)).all()) == 1
    # a bulk UPDATE written without any filter still only touches the own rows
    db.execute(update(Case).values(psn_name="改"))
    db.commit()
    set_scope(db, Scope(is_global=True))
    names = dict(db.execute(select(Case.setl_id, Case.psn_name)).all())
    assert names == {a_setl: "改", b_setl: b_name}


def test_writing_another_hospitals_row_is_refused(db):  # type: ignore[no-untyped-def]
    ha = b.hospital(db, "990102")
    hb = b.hospital(db, "990103")
    db.commit()
    set_scope(db, Scope(hospital_id=ha.id))
    with pytest.raises(Forbidden):
        b.case(db, hb)
    db.rollback()
    set_scope(db, Scope(is_global=True))
    assert db.scalar(select(func.count()).select_from(Case)) == 0


def test_region_scope_is_a_subtree(db):  # type: ignore[no-untyped-def]
    h1 = b.hospital(db, "990102")
    h2 = b.hospital(db, "990103")
    h3 = b.hospital(db, "980102")
    for h in (h1, h2, h3):
        b.case(db, h)
    db.commit()
    set_scope(db, Scope(region_code="990100"))
    assert db.scalar(select(func.count()).select_from(Case)) == 2
    set_scope(db, Scope(region_code="990103"))
    assert db.scalars(select(Case.hospital_code)).all() == [h2.code]
    set_scope(db, Scope(region_code="990000"))  # a province sees both cities' "99" part
    assert db.scalar(select(func.count()).select_from(Case)) == 2
