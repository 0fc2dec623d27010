"""What the benchmark knows of its world: institutions, patients, stays."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

#: NHSA's path, the one HIS vendors hard-code
PATH = "/fsi/api/rsfComIfsService/callService"
#: shares of the settlements followed by a reversal, a retry (same msgid) and a second
#: settlement with a new msgid (refused)
REVERSE_SHARE, RETRY_SHARE, AGAIN_SHARE = 0.05, 0.02, 0.01
#: stays prepared per second of the run and client (more than the target rate needs)
STAYS_PER_SECOND = 700
USERNAME = "bench-his-{code}"
TOKEN_NAME = "bench exchange"
FEN = Decimal("0.01")


@dataclass
class Institution:
    index: int
    code: str
    name: str
    admvs: str
    token: str
    sign_no: str = ""


@dataclass
class Patient:
    institution: int
    psn_no: str
    certno: str
    name: str
    insutype: str
    insuplc: str
    #: when the person's first stay in the database began (business time, naive): a
    #: run's stays go before it, one after the other (the gateway refuses overlaps)
    first_stay: datetime | None = None


@dataclass
class Stay:
    """A discharged stay waiting for its settlement."""

    institution: int
    mdtrt_id: str
    psn_no: str
    certno: str
    insutype: str
    insuplc: str
    total: Decimal


@dataclass
class World:
    institutions: list[Institution]
    patients: list[Patient]
    #: catalogue codes with a unit price each
    items: list[tuple[str, Decimal]]
    waiting: list[Stay]
    hospital_ids: dict[int, int] = field(default_factory=dict)
