"""The transactions the gateway answers: infno → handler and input model.

A handler is a plain function ``(call, input) -> output model``.  It writes its
business effect (and audit rows) in ``call.session`` and never commits; to refuse it
raises :class:`~yibao.engines.exchange.Refused` or a
:class:`~yibao.kit.errors.DomainError`, and then nothing it wrote is kept (it runs in a
savepoint).  A new transaction is one more :class:`Transaction` in
:mod:`yibao.exchange.transactions`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.accounts.principals import TokenPrincipal
from yibao.accounts.roles import Permission
from yibao.audit.service import Actor
from yibao.config import Settings
from yibao.engines.exchange import Envelope
from yibao.kit.errors import Forbidden


@dataclass(frozen=True)
class Institution:
    """The institution a token speaks for (its hospital)."""

    id: int
    code: str
    name: str
    region_code: str
    level: str = "3"

    @property
    def admvs(self) -> str:
        """The pooling region (city) of the institution: the receiver's admdvs."""
        return self.region_code[:4] + "00"


def institution_of(user: User) -> Institution:
    """The institution whose HIS client ``user`` is (both bindings); 403 for a user of
    no institution."""
    hospital = user.hospital
    if hospital is None:
        raise Forbidden("交易接口只供定点医药机构的 HIS 接口用户使用 / institutions only")
    return Institution(
        hospital.id, hospital.code, hospital.name, hospital.region_code, hospital.level
    )


def institution_of_principal(p: TokenPrincipal, use: str = "交易接口") -> Institution:
    """:func:`institution_of` for a fast route's token principal (ADR 0026); ``use``
    names the service in the refusal."""
    if p.hospital_id is None or p.hospital_code is None or p.home_region is None:
        raise Forbidden(f"{use}只供定点医药机构的 HIS 接口用户使用 / institutions only")
    return Institution(
        p.hospital_id,
        p.hospital_code,
        p.hospital_name or "",
        p.home_region,
        p.hospital_level or "3",
    )


@dataclass(frozen=True)
class Call:
    """What a handler gets besides its input."""

    session: Session
    institution: Institution
    actor: Actor
    settings: Settings
    envelope: Envelope
    message_id: int
    received_at: datetime
    #: what the handler read leniently or decided, for the response's warn_msg
    warnings: list[str] = field(default_factory=list)


Handler = Callable[[Call, Any], BaseModel]


@dataclass(frozen=True)
class Transaction:
    """One transaction: its code, name, input model and handler; whether it needs a
    valid sign_no of the institution, a permission beyond using the gateway, and
    whether it writes."""

    infno: str
    name: str
    input_model: type[BaseModel]
    handler: Handler
    needs_sign_no: bool = True
    permission: Permission | None = None
    #: False: the handler only reads, so it needs no savepoint to undo a refusal
    writes: bool = True


class Registry:
    """Transactions by infno (looked up without regard to letter case)."""

    def __init__(self, transactions: Iterable[Transaction]) -> None:
        self._by_code: dict[str, Transaction] = {}
        for t in transactions:
            key = t.infno.upper()
            if key in self._by_code:
                raise ValueError(f"transaction {t.infno} registered twice")
            self._by_code[key] = t

    def find(self, infno: str) -> Transaction | None:
        return self._by_code.get(infno.strip().upper())

    def __iter__(self) -> Any:
        return iter(self._by_code.values())

    @property
    def codes(self) -> list[str]:
        return sorted(t.infno for t in self._by_code.values())
