"""The register as the API and the pages show it: ID numbers masked for roles that
need not see them (ADR 0016: only bureau admins and HIS clients see them in full)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, has_permission
from yibao.engines.insured import IDENTITIES, mask_certno
from yibao.insured.models import InsuredPerson
from yibao.insured.repository import (
    account_balance,
    cumulative,
    identities_of,
    postings_of,
)
from yibao.insured.schemas import (
    CumulativeRow,
    IdentityOut,
    PersonDetail,
    PersonOut,
    PostingOut,
)


def reveals_ids(user: User) -> bool:
    """Whether ``user`` sees ID numbers in full."""
    return has_permission(user.role, Permission.VIEW_ID_NUMBERS)


def person_out(session: Session, person: InsuredPerson, *, reveal: bool) -> PersonOut:
    return PersonOut(
        psn_no=person.psn_no,
        certno=person.certno if reveal else mask_certno(person.certno),
        certno_masked=not reveal,
        psn_name=person.psn_name,
        gend=person.gend,
        brdy=person.brdy,
        insutype=person.insutype,
        psn_type=person.psn_type,
        psn_insu_stas=person.psn_insu_stas,
        insuplc_admdvs=person.insuplc_admdvs,
        emp_name=person.emp_name,
        cvlserv_flag=person.cvlserv_flag,
        balc=account_balance(session, person.id),
    )


def person_detail(
    session: Session, person: InsuredPerson, year: int, *, reveal: bool
) -> PersonDetail:
    base = person_out(session, person, reveal=reveal)
    cum = cumulative(session, person.id, year)
    return PersonDetail(
        **base.model_dump(),
        year=year,
        cumulative=[
            CumulativeRow(
                cum_type_code=str(r["cum_type_code"]),
                cum_type_name=str(r["cum_type_name"]),
                cum=r["cum"],  # type: ignore[arg-type]
            )
            for r in cum.rows()
        ],
        identities=[
            IdentityOut(
                psn_idet_type=i.psn_idet_type,
                psn_idet_name=IDENTITIES.get(i.psn_idet_type, i.psn_idet_type),
                begntime=i.begntime,
                endtime=i.endtime,
            )
            for i in identities_of(session, person.id)
        ],
        postings=[
            PostingOut(
                year=p.year,
                kind=p.kind,
                ref=p.ref,
                deltas=dict(p.deltas),
                acct_pay=p.acct_pay,
                balc_after=p.balc_after,
                created_by=p.created_by,
                created_at=p.created_at,
            )
            for p in postings_of(session, person.id)
        ],
    )
