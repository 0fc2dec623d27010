"""Case list filters (as used by the 结算清单 page and the API)."""

from __future__ import annotations

from datetime import date

from tests import builders as b
from yibao.cases.models import CaseDiagnosis
from yibao.cases.repository import CaseFilter, list_cases
from yibao.db.scoping import SYSTEM_SCOPE, set_scope


def _case(db, hospital, principal: str, **kw):  # type: ignore[no-untyped-def]
    c = b.case(db, hospital, **kw)
    c.diagnoses[0].code = principal
    db.flush()
    return c


def test_filters(db):  # type: ignore[no-untyped-def]
    h3 = b.hospital(db, "990102", level="3")
    h1 = b.hospital(db, "990103", level="1")
    a = _case(db, h3, "I21.000", discharge_date=date(2024, 2, 1), insutype="310")
    c = _case(db, h3, "I25.100", discharge_date=date(2025, 2, 1), insutype="390")
    d = _case(db, h1, "K35.800", discharge_date=date(2025, 6, 1), insutype="390")
    # a secondary I21 diagnosis must not match the principal-diagnosis filter
    d.diagnoses.append(CaseDiagnosis(seq=2, code="I21.900", is_principal=False))
    db.commit()
    set_scope(db, SYSTEM_SCOPE)

    def ids(**kw):  # type: ignore[no-untyped-def]
        return {x.setl_id for x in list_cases(db, CaseFilter(**kw), 1, 50).items}

    assert ids(principal_dx="I21") == {a.setl_id}
    assert ids(principal_dx="I2") == {a.setl_id, c.setl_id}
    assert ids(principal_dx="I21.000") == {a.setl_id}
    assert ids(principal_dx="Z") == set()
    assert ids(year=2025) == {c.setl_id, d.setl_id}
    assert ids(insutype="310") == {a.setl_id}
    assert ids(level="1") == {d.setl_id}
    assert ids(district="990102") == {a.setl_id, c.setl_id}
    assert ids(date_from=date(2025, 3, 1)) == {d.setl_id}
    assert ids(q=a.setl_id) == {a.setl_id}
    page = list_cases(db, CaseFilter(), 2, 2)
    assert page.total == 3 and len(page.items) == 1 and page.pages == 2
