"""Insured persons for tests: a valid synthetic ID number, an account when asked."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from yibao.engines.insured import make_certno
from yibao.insured.models import InsuredAccount, InsuredIdentity, InsuredPerson

_seq = itertools.count(1)


def person(
    session: Session,
    admdvs: str = "990102",
    *,
    insutype: str = "310",
    balance: str | None = "1000.00",
    brdy: date = date(1980, 5, 17),
    gend: str = "1",
    name: str | None = None,
    identity: str | None = None,
) -> InsuredPerson:
    """A person insured in ``admdvs``; employees get an account of ``balance``."""
    n = next(_seq)
    sequence = 2 * n - 1 if gend == "1" else 2 * n
    row = InsuredPerson(
        psn_no=f"T{admdvs}{n:013d}",
        certno=make_certno(admdvs, brdy, sequence % 999 or 1),
        psn_name=name or f"测试人员{n}",
        gend=gend,
        brdy=brdy,
        insutype=insutype,
        psn_type="1101" if insutype == "310" else "1403",
        psn_insu_date=date(2010, 1, 1),
        insuplc_admdvs=admdvs,
        emp_name="演示单位" if insutype == "310" else "",
    )
    session.add(row)
    session.flush()
    if insutype == "310" and balance is not None:
        session.add(InsuredAccount(person_id=row.id, balc_e2=int(Decimal(balance) * 100)))
    if identity:
        session.add(
            InsuredIdentity(person_id=row.id, psn_idet_type=identity, begntime=date(2020, 1, 1))
        )
    session.flush()
    return row
