"""Posting settlements to a person's annual figures and account, and reversing them
(ADR 0016).  For the gateway's settlement (2304 / 2207) and reversal (2305 / 2208 /
2601) transactions, in their own database transaction: never commits.

Order of work, the same for every posting so that parallel settlements of one person
wait for each other instead of deadlocking: the posting row first (it claims the
settlement's ``ref``: a second posting of the same settlement fails on the unique
index), then the account (``balc_e2 = balc_e2 − x`` only where the balance covers
it), then the figures in ``cum_type`` order, one statement
(``INSERT … ON CONFLICT DO UPDATE SET cum_e2 = cum_e2 + excluded.cum_e2``).
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any, Protocol, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record, record_now
from yibao.engines.insured import Delta
from yibao.insured.models import (
    InsuredAccount,
    InsuredCumulative,
    InsuredPerson,
    InsuredPosting,
)
from yibao.insured.repository import account_balance, person_by_psn_no
from yibao.kit.errors import Conflict, NotFound, ValidationFailed
from yibao.kit.timeutil import utcnow

KINDS = {"opening": "期初结转", "settle": "结算", "reverse": "撤销结算"}


def e2(value: Decimal) -> int:
    """Hundredths of a figure (exact: deltas carry at most 2 places)."""
    return int(value * 100)


def _claim(session: Session, posting: InsuredPosting, words: str) -> None:
    try:
        with session.begin_nested():
            session.add(posting)
            session.flush()
    except IntegrityError:
        raise Conflict(words, field="ref") from None


class PersonRef(Protocol):
    """What posting needs of a person: an entity, or the gateway's record of one."""

    @property
    def id(self) -> int: ...
    @property
    def psn_no(self) -> str: ...
    @property
    def insuplc_admdvs(self) -> str: ...


#: "the caller has not read the balance" (:func:`_debit`)
UNREAD: Any = object()


def _debit(
    session: Session, person: PersonRef, acct_pay: Decimal, balance: Any = UNREAD
) -> Decimal | None:
    """Move the account by ``acct_pay`` (a payment when positive, a refund when
    negative); the balance after it, None for a person without an account.
    ``balance``: the balance the caller read under the person's lock, if it did (no
    payment then needs no statement)."""
    if acct_pay == 0:
        return account_balance(session, person.id) if balance is UNREAD else balance
    amount = e2(acct_pay)
    stmt = (
        update(InsuredAccount)
        .where(InsuredAccount.person_id == person.id)
        .values(balc_e2=InsuredAccount.balc_e2 - amount, updated_at=utcnow())
        .returning(InsuredAccount.balc_e2)  # the balance after, in the same statement
        .execution_options(synchronize_session=False)
    )
    if amount > 0:
        stmt = stmt.where(InsuredAccount.balc_e2 >= amount)
    after = session.execute(stmt).scalar()
    if after is not None:
        return (Decimal(after) / 100).quantize(Decimal("0.01"))
    balance = account_balance(session, person.id)
    if balance is None:
        raise Conflict(
            f"参保人 {person.psn_no} 没有个人账户（居民医保不设个人账户），不能由个人账户支付",
            field="acct_pay",
        )
    raise Conflict(
        f"参保人 {person.psn_no} 个人账户余额不足：余额 {balance:.2f} 元，"
        f"本次支付 {acct_pay:.2f} 元",
        field="acct_pay",
    )


def _add(session: Session, person_id: int, year: int, delta: Delta) -> None:
    """Add ``delta`` to the figures: one upsert statement, run for each figure in
    ``cum_type`` order (one round trip; the statement's text is always the same, so
    it is compiled and prepared once)."""
    if not delta.values:
        return
    rows = [
        {"person_id": person_id, "year": year, "cum_type": k, "cum_e2": e2(v)}
        for k, v in sorted(delta.values.items())
    ]
    session.connection().execute(_upsert(session.connection().dialect.name), rows)


_POSTINGS = cast(Table, InsuredPosting.__table__)
_POST = insert(_POSTINGS)


def _row(posting: InsuredPosting) -> dict[str, Any]:
    """A new posting's column values (for :data:`_POST`): those set (the others take
    their defaults or NULL)."""
    values = {c.key: getattr(posting, c.key) for c in _POSTINGS.c if c.key != "id"}
    return {k: v for k, v in values.items() if v is not None}


@functools.cache
def _upsert(dialect: str) -> Any:
    table = cast(Table, InsuredCumulative.__table__)
    ins = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return ins.on_conflict_do_update(
        index_elements=["person_id", "year", "cum_type"],
        set_={"cum_e2": table.c.cum_e2 + ins.excluded.cum_e2},
    )


def _audit(
    session: Session,
    actor: Actor,
    action: str,
    person: PersonRef,
    posting: InsuredPosting,
    *,
    now: bool = False,
) -> None:
    after: dict[str, Any] = {
        "ref": posting.ref,
        "year": posting.year,
        "kind": posting.kind,
        "deltas": posting.deltas,
        "balc_after": posting.balc_after,
    }
    if posting.cause:
        after["cause"] = posting.cause
    (record_now if now else record)(
        session,
        actor,
        action,
        "insured_person",
        person.psn_no,
        after=after,
        region_code=person.insuplc_admdvs,
        hospital_id=posting.hospital_id,
    )


def do_post_settlement(
    session: Session,
    *,
    psn_no: str,
    year: int,
    ref: str,
    delta: Delta,
    actor: Actor,
    hospital_id: int | None = None,
    person: PersonRef | None = None,
    in_savepoint: bool = False,
    balance: Decimal | None = UNREAD,
) -> InsuredPosting:
    """Add a settlement's ``delta`` to the person's figures of ``year`` and pay
    ``delta.acct_pay`` from the account.  ``ref`` (the settlement's id) is posted
    once: a second posting is refused (409), and so is a payment the account does
    not cover — either way nothing changes.  ``person``: the person ``psn_no`` when
    the caller has loaded it already (the gateway, which holds its lock).
    ``in_savepoint``: the caller undoes all of its work when this raises (the
    gateway's savepoint per message), so no savepoint of its own is needed; a second
    posting then fails at the insert (an integrity error, for the caller to undo).
    ``balance``: the account balance read under the person's lock (the gateway)."""
    if not ref or len(ref) > 50:
        raise ValidationFailed("结算编号须为 1–50 个字符", field="ref")
    if any(v < 0 for v in delta.values.values()):
        raise ValidationFailed("结算的累计增量不能为负数（撤销请用撤销结算）", field="deltas")
    if person is None or person.psn_no != psn_no:
        person = person_by_psn_no(session, psn_no)
    posting = InsuredPosting(
        person_id=person.id,
        year=year,
        kind="settle",
        ref=ref,
        hospital_id=hospital_id,
        deltas=delta.as_json(),
        acct_pay=delta.acct_pay,
        created_by=actor.name,
    )
    if in_savepoint:  # written at once, by prebuilt statements (the gateway's hot path)
        posting.balc_after = _debit(session, person, delta.acct_pay, balance)
        session.connection().execute(_POST, _row(posting))
        _add(session, person.id, year, delta)
        _audit(session, actor, "insured.settlement.post", person, posting, now=True)
        return posting
    with session.begin_nested():
        _claim(session, posting, f"结算 {ref} 已计入参保人累计，不能重复计入")
        posting.balc_after = _debit(session, person, delta.acct_pay)
        _add(session, person.id, year, delta)
        session.flush()
    _audit(session, actor, "insured.settlement.post", person, posting)
    return posting


def do_reverse_settlement(
    session: Session, *, ref: str, actor: Actor, cause: str | None = None
) -> InsuredPosting:
    """Undo the posting of settlement ``ref``: its figures (in its own year) and its
    account payment, exactly.  ``cause`` names what asked for it (the reversal's
    msgid).  A settlement is reversed once; an unknown one is 404."""
    original = session.scalar(
        select(InsuredPosting).where(InsuredPosting.kind == "settle", InsuredPosting.ref == ref)
    )
    if original is None:
        raise NotFound(f"没有计入参保人累计的结算 {ref}", field="ref")
    person = session.get(InsuredPerson, original.person_id)
    if person is None:  # a foreign key holds it; only a broken database gets here
        raise NotFound(f"结算 {ref} 的参保人不存在", field="ref")
    delta = Delta.from_json(original.deltas).negated()
    posting = InsuredPosting(
        person_id=person.id,
        year=original.year,
        kind="reverse",
        ref=ref,
        cause=(cause or None) and cause[:50],
        reverses_id=original.id,
        hospital_id=original.hospital_id,
        deltas=delta.as_json(),
        acct_pay=delta.acct_pay,
        created_by=actor.name,
    )
    with session.begin_nested():
        _claim(session, posting, f"结算 {ref} 已撤销，不能重复撤销")
        posting.balc_after = _debit(session, person, delta.acct_pay)
        _add(session, person.id, original.year, delta)
        session.flush()
    _audit(session, actor, "insured.settlement.reverse", person, posting)
    return posting
