"""Reading the insured register: a person by number or certificate, the 1101 answer,
account balance, annual figures and postings, and the bureau's person search.

Scope (ADR 0016): identifying a person (1101) is open to every institution — a
patient insured anywhere may walk into any hospital — and answers only what a
settlement needs; the bureau's search shows the persons insured under the user's own
region.  ID numbers are shown in full only to roles with ``VIEW_ID_NUMBERS``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from yibao.engines.insured import (
    CERT_TYPES,
    BaseInfo,
    Cumulative,
    IdetInfo,
    InsuInfo,
    PersonInfo,
    PersonQuery,
    age_on,
    certno_problem,
    mask_certno,
)
from yibao.insured.models import (
    InsuredAccount,
    InsuredCumulative,
    InsuredIdentity,
    InsuredPerson,
    InsuredPosting,
)
from yibao.kit.errors import NotFound, ValidationFailed
from yibao.kit.paging import Page
from yibao.kit.timeutil import local, utcnow
from yibao.regions.models import region_prefix

CENT = Decimal("0.01")
#: a day column's NULL (PostgreSQL types a union's NULLs as text otherwise)
NO_DAY = cast(null(), Date)


def person_by_psn_no(session: Session, psn_no: str) -> InsuredPerson:
    """The person ``psn_no``."""
    row = session.scalar(select(InsuredPerson).where(InsuredPerson.psn_no == psn_no))
    if row is None:
        raise NotFound(f"未找到人员编号为 {psn_no} 的参保人员", field="psn_no")
    return row


def person_by_certno(session: Session, certno: str) -> InsuredPerson:
    row = session.scalar(select(InsuredPerson).where(InsuredPerson.certno == certno))
    if row is None:
        raise NotFound(f"未找到身份证号为 {mask_certno(certno)} 的参保人员", field="mdtrt_cert_no")
    return row


def account_balance(session: Session, person_id: int) -> Decimal | None:
    """The personal account's balance (None: no account, e.g. 居民)."""
    value = session.scalar(
        select(InsuredAccount.balc_e2).where(InsuredAccount.person_id == person_id)
    )
    return None if value is None else (Decimal(value) / 100).quantize(Decimal("0.01"))


def cumulative(session: Session, person_id: int, year: int) -> Cumulative:
    """A person's figures of ``year`` (5206)."""
    rows = session.execute(
        select(InsuredCumulative.cum_type, InsuredCumulative.cum_e2).where(
            InsuredCumulative.person_id == person_id, InsuredCumulative.year == year
        )
    ).all()
    return _figures(year, rows)


def _figures(year: int, rows: Iterable[tuple[str, int | None]]) -> Cumulative:
    values = {}
    for cum_type, cum_e2 in rows:
        if cum_e2:
            value = Decimal(cum_e2) / 100
            values[cum_type] = (
                value.quantize(Decimal(1))
                if cum_type.endswith("_cnt")
                else value.quantize(Decimal("0.01"))
            )
    return Cumulative(year, values)


@dataclass(frozen=True)
class SettlementFacts:
    """What a settlement reads of a person besides the row: the account balance
    (None: no account), the identities valid on the day (by start), the year's
    figures."""

    balance: Decimal | None
    identities: tuple[str, ...]
    ytd: Cumulative


def settlement_facts(session: Session, person_id: int, day: date) -> SettlementFacts:
    """:func:`account_balance`, :func:`identities_on` and :func:`cumulative` of the
    day's year in one statement (a settlement reads them every time)."""
    params = {"person": person_id, "year": day.year, "day": day}
    balance: Decimal | None = None
    rows: list[tuple[str, int | None]] = []
    kinds: list[str] = []
    for kind, number, text, _begins in session.connection().execute(_FACTS, params):
        if kind == "a":
            balance = None if number is None else (Decimal(number) / 100).quantize(CENT)
        elif kind == "c":
            rows.append((text, number))
        else:
            kinds.append(text)
    return SettlementFacts(balance, tuple(kinds), _figures(day.year, rows))


def _facts_statement() -> Any:
    person = bindparam("person", type_=Integer)
    day = bindparam("day", type_=Date)
    account = select(
        literal("a").label("k"), InsuredAccount.balc_e2.label("n"), null(), NO_DAY.label("b")
    ).where(InsuredAccount.person_id == person)
    figures = select(
        literal("c"), InsuredCumulative.cum_e2, InsuredCumulative.cum_type, NO_DAY
    ).where(
        InsuredCumulative.person_id == person,
        InsuredCumulative.year == bindparam("year", type_=Integer),
    )
    identities = select(
        literal("i"), null(), InsuredIdentity.psn_idet_type, InsuredIdentity.begntime
    ).where(
        InsuredIdentity.person_id == person,
        InsuredIdentity.begntime <= day,
        or_(InsuredIdentity.endtime.is_(None), InsuredIdentity.endtime >= day),
    )
    return union_all(account, figures, identities).order_by(
        literal_column("k"), literal_column("b")
    )


#: built once: the statement object keeps its cache key, so a settlement neither
#: builds nor keys it again
_FACTS = _facts_statement()


def postings_of(session: Session, person_id: int, limit: int = 50) -> list[InsuredPosting]:
    return list(
        session.scalars(
            select(InsuredPosting)
            .where(InsuredPosting.person_id == person_id)
            .order_by(InsuredPosting.id.desc())
            .limit(limit)
        )
    )


def identities_of(session: Session, person_id: int) -> list[InsuredIdentity]:
    return list(
        session.scalars(
            select(InsuredIdentity)
            .where(InsuredIdentity.person_id == person_id)
            .order_by(InsuredIdentity.begntime)
        )
    )


def identities_on(session: Session, person_id: int, on: date) -> list[InsuredIdentity]:
    return list(
        session.scalars(
            select(InsuredIdentity)
            .where(
                InsuredIdentity.person_id == person_id,
                InsuredIdentity.begntime <= on,
                or_(InsuredIdentity.endtime.is_(None), InsuredIdentity.endtime >= on),
            )
            .order_by(InsuredIdentity.begntime)
        )
    )


def business_today() -> date:
    return local(utcnow()).date()


def _identify(session: Session, query: PersonQuery) -> InsuredPerson:
    kind = (query.mdtrt_cert_type or "").strip()
    if kind in ("01", "03"):
        raise ValidationFailed(
            f"就诊凭证类型 {kind}（{CERT_TYPES[kind]}）暂不支持：请使用 02 居民身份证",
            field="mdtrt_cert_type",
        )
    if kind != "02":
        raise ValidationFailed(
            f"就诊凭证类型（mdtrt_cert_type）须为 01、02 或 03（收到“{kind[:10]}”）",
            field="mdtrt_cert_type",
        )
    certno = (query.mdtrt_cert_no or query.certno or "").strip().upper()
    if not certno:
        raise ValidationFailed("就诊凭证编号（身份证号）不能为空", field="mdtrt_cert_no")
    problem = certno_problem(certno)
    if problem:
        raise ValidationFailed(f"就诊凭证编号：{problem}", field="mdtrt_cert_no")
    person = person_by_certno(session, certno)
    if query.certno and query.certno.strip().upper() != certno:
        raise ValidationFailed("证件号码（certno）：与就诊凭证编号不一致", field="certno")
    if query.psn_name and query.psn_name.strip() != person.psn_name:
        raise ValidationFailed("人员姓名（psn_name）：与参保登记的姓名不符", field="psn_name")
    return person


def person_info(
    session: Session,
    query: PersonQuery | None = None,
    *,
    psn_no: str | None = None,
    insuplc_admdvs: str | None = None,
    on: date | None = None,
    reveal_ids: bool = True,
) -> PersonInfo:
    """The 1101 answer for a certificate (``query``: 02 居民身份证 + number; the name,
    when given, must agree) or a ``psn_no``.  ``insuplc_admdvs`` (the envelope's), when
    given, must be the person's pooling region.  Identities are those valid on ``on``
    (default ``query.begntime``, else today).  ``reveal_ids`` False masks ``certno``.
    Refusals are :class:`NotFound` / :class:`ValidationFailed` with Chinese messages
    that never show a full ID number."""
    if psn_no:
        person = person_by_psn_no(session, psn_no.strip())
    elif query is not None:
        person = _identify(session, query)
    else:
        raise ValidationFailed("须给出就诊凭证（身份证号）或人员编号", field="mdtrt_cert_no")
    if insuplc_admdvs and insuplc_admdvs[:4] != person.insuplc_admdvs[:4]:
        raise ValidationFailed(
            f"参保地 {insuplc_admdvs} 与该人员的参保地 {person.insuplc_admdvs} 不符",
            field="insuplc_admdvs",
        )
    day = on or (query.begntime if query is not None else None) or business_today()
    return answer_1101(session, person, day, reveal_ids=reveal_ids)


def answer_1101(
    session: Session, person: InsuredPerson, day: date, *, reveal_ids: bool = True
) -> PersonInfo:
    """The 1101 output of a person on ``day`` (age, identities valid that day)."""
    balance = account_balance(session, person.id)
    return PersonInfo(
        baseinfo=BaseInfo(
            psn_no=person.psn_no,
            psn_cert_type=person.psn_cert_type,
            certno=person.certno if reveal_ids else mask_certno(person.certno),
            psn_name=person.psn_name,
            gend=person.gend,
            naty=person.naty,
            brdy=person.brdy,
            age=Decimal(age_on(person.brdy, day)),
            exp_content="",
        ),
        insuinfo=[
            InsuInfo(
                balc=balance if balance is not None else Decimal("0.00"),
                insutype=person.insutype,
                psn_type=person.psn_type,
                psn_insu_stas=person.psn_insu_stas,
                psn_insu_date=person.psn_insu_date,
                paus_insu_date=person.paus_insu_date,
                cvlserv_flag=person.cvlserv_flag,
                insuplc_admdvs=person.insuplc_admdvs,
                emp_name=person.emp_name,
            )
        ],
        idetinfo=[
            IdetInfo(
                psn_idet_type=i.psn_idet_type,
                psn_type_lv=i.psn_type_lv,
                memo=i.memo,
                begntime=i.begntime,
                endtime=i.endtime,
            )
            for i in identities_on(session, person.id, day)
        ],
    )


# ------------------------------------------------------------------ bureau search


@dataclass(frozen=True)
class PersonFilter:
    """Search the register: person number, name or ID number (prefix), insurance
    type, insured place."""

    q: str | None = None
    insutype: str | None = None
    admdvs: str | None = None


def search_persons(
    session: Session, region_code: str | None, flt: PersonFilter, page: int, size: int
) -> Page[InsuredPerson]:
    """Persons insured under ``region_code`` (all for None) matching ``flt``."""
    where = []
    if region_code:
        where.append(InsuredPerson.insuplc_admdvs.startswith(region_prefix(region_code)))
    if flt.q:
        q = flt.q.strip()
        where.append(
            or_(
                InsuredPerson.psn_no.startswith(q),
                InsuredPerson.psn_name.startswith(q),
                InsuredPerson.certno == q.upper(),
            )
        )
    if flt.insutype:
        where.append(InsuredPerson.insutype == flt.insutype)
    if flt.admdvs:
        where.append(InsuredPerson.insuplc_admdvs.startswith(flt.admdvs))
    total = session.scalar(select(func.count()).select_from(InsuredPerson).where(*where)) or 0
    rows = session.scalars(
        select(InsuredPerson)
        .where(*where)
        .order_by(InsuredPerson.psn_no)
        .offset((page - 1) * size)
        .limit(size)
    )
    return Page(items=list(rows), total=int(total), page=page, size=size)


def person_in_region(session: Session, psn_no: str, region_code: str | None) -> InsuredPerson:
    """A person a bureau user may look at (404 outside its region)."""
    person = person_by_psn_no(session, psn_no)
    if region_code and not person.insuplc_admdvs.startswith(region_prefix(region_code)):
        raise NotFound(f"未找到人员编号为 {psn_no} 的参保人员", field="psn_no")
    return person
