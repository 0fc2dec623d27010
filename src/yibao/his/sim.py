"""A simulated HIS (``yibao his-sim``): whole inpatient and outpatient flows through
:class:`~yibao.his.client.HisClient`, in parallel, with figures.

Inpatient: 1101 → 2401 → 2301 → 2402 → 2303 → 2304 (every ``reverse_every``-th flow
then 2305).  Outpatient: 1101 → 2201 → 2204 → 2206 → 2207 (then 2208 likewise).
The HIS knows only certificates and catalogue codes: a *sim kit* gives the persons
(``certno``, ``psn_name``, ``insuplc_admdvs``) and the codes with unit prices
(``yibao demo persons --out kit.json`` writes one from the demo data).  A person
takes part in one flow at a time; a person whose flow failed is not used again (their
stay may still be open).
"""

from __future__ import annotations

import csv
import json
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from yibao.his.client import Exchange, HisClient, HisError
from yibao.his.msgid import business_now
from yibao.his.transactions import FeeItem

FLOWS = ("inpatient", "outpatient")


@dataclass(frozen=True)
class KitPerson:
    certno: str
    psn_name: str
    insuplc_admdvs: str


@dataclass(frozen=True)
class KitCode:
    code: str
    price: Decimal
    name: str = ""


@dataclass
class SimKit:
    """What a simulated HIS needs to know: persons, codes, and (optionally) the
    institution it speaks for."""

    persons: list[KitPerson]
    codes: list[KitCode]
    hospital_code: str | None = None
    hospital_name: str | None = None
    mdtrtarea_admvs: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "hospital_code": self.hospital_code,
            "hospital_name": self.hospital_name,
            "mdtrtarea_admvs": self.mdtrtarea_admvs,
            "persons": [vars(p) for p in self.persons],
            "codes": [{"code": c.code, "price": str(c.price), "name": c.name} for c in self.codes],
        }


def _price(text: Any, where: str) -> Decimal:
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise ValueError(f"{where}：单价应为数字（收到 {text!r}）") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{where}：单价应为正数（收到 {text!r}）")
    return value


def load_kit(path: Path) -> SimKit:
    """A sim kit from its JSON file (as ``yibao demo persons`` writes it)."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    persons = [
        KitPerson(str(p["certno"]), str(p["psn_name"]), str(p["insuplc_admdvs"]))
        for p in doc.get("persons", [])
    ]
    codes = [
        KitCode(str(c["code"]), _price(c["price"], f"{path} codes[{i}]"), str(c.get("name", "")))
        for i, c in enumerate(doc.get("codes", []))
    ]
    return SimKit(
        persons,
        codes,
        doc.get("hospital_code"),
        doc.get("hospital_name"),
        doc.get("mdtrtarea_admvs"),
    )


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return [
            [c.strip() for c in row]
            for row in csv.reader(f)
            if row and row[0].strip() and not row[0].startswith("#")
        ]


def read_persons(path: Path) -> list[KitPerson]:
    """Lines ``certno,name,insuplc_admdvs`` (a header line starting with certno is
    skipped)."""
    out = []
    for n, row in enumerate(_rows(path), 1):
        if row[0].lower() == "certno":
            continue
        if len(row) < 3:
            raise ValueError(f"{path} 第 {n} 行：应为 certno,name,insuplc_admdvs")
        out.append(KitPerson(row[0], row[1], row[2]))
    return out


def read_codes(path: Path) -> list[KitCode]:
    """Lines ``code,price[,name]`` (a header line starting with code is skipped)."""
    out = []
    for n, row in enumerate(_rows(path), 1):
        if row[0].lower() == "code":
            continue
        if len(row) < 2:
            raise ValueError(f"{path} 第 {n} 行：应为 code,price[,name]")
        out.append(KitCode(row[0], _price(row[1], f"{path} 第 {n} 行"), ",".join(row[2:])))
    return out


@dataclass
class SimReport:
    """What a run did."""

    flows: Counter[str] = field(default_factory=Counter)
    settlements: int = 0
    reversals: int = 0
    errors: int = 0
    messages: int = 0
    refused: int = 0
    error_samples: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def observe(self, done: Exchange) -> None:
        with self._lock:
            self.messages += 1
            self.refused += 0 if done.ok else 1
            self.latencies.append(done.seconds)

    def add(self, kind: str, settled: int, reversed_: int, error: str | None) -> None:
        with self._lock:
            self.settlements += settled
            self.reversals += reversed_
            if error is None:
                self.flows[kind] += 1
            else:
                self.errors += 1
                if len(self.error_samples) < 10:
                    self.error_samples.append(f"{kind}: {error}")

    @property
    def flows_done(self) -> int:
        return sum(self.flows.values())

    def percentile(self, q: float) -> float:
        """The ``q``-quantile (0–1) of the message latencies in seconds (0 without)."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def last_line(self) -> str:
        return (
            f"his_sim_flows={self.flows_done} settlements={self.settlements} errors={self.errors}"
        )


def _items(rng: random.Random, codes: list[KitCode]) -> list[FeeItem]:
    chosen = rng.sample(codes, min(len(codes), rng.randint(3, 6)))
    return [FeeItem(c.code, Decimal(rng.randint(1, 3)), c.price) for c in chosen]


def inpatient(his: HisClient, p: KitPerson, codes: list[KitCode], n: int, rev: bool) -> int:
    """One stay: admitted three days ago, billed, discharged, settled (and reversed)."""
    rng = random.Random(n)
    person = his.identify(p.certno, p.psn_name, p.insuplc_admdvs)
    start = (business_now() - timedelta(days=3)).replace(hour=9, minute=0, second=0)
    start = start.replace(tzinfo=None)
    mdtrt_id = his.admit(person, start, ipt_no=f"ZY{n:06d}{rng.randrange(10**4):04d}")
    total, _ = his.upload_fees(person, mdtrt_id, _items(rng, codes), start + timedelta(days=1))
    his.discharge(person, mdtrt_id, start + timedelta(days=2))
    his.presettle(person, mdtrt_id, total)
    done = his.settle(person, mdtrt_id, total)
    if rev:
        his.reverse(person, mdtrt_id, done.setl_id)
    return 1


def outpatient(his: HisClient, p: KitPerson, codes: list[KitCode], n: int, rev: bool) -> int:
    """One outpatient visit: registered, billed, settled (and reversed)."""
    rng = random.Random(n)
    person = his.identify(p.certno, p.psn_name, p.insuplc_admdvs)
    now = business_now().replace(tzinfo=None, microsecond=0)
    mdtrt_id = his.register(person, now, ipt_otp_no=f"MZ{n:06d}{rng.randrange(10**4):04d}")
    total, _ = his.outpatient_fees(person, mdtrt_id, _items(rng, codes), now)
    his.outpatient_presettle(person, mdtrt_id, total)
    done = his.outpatient_settle(person, mdtrt_id, total)
    if rev:
        his.reverse(person, mdtrt_id, done.setl_id, kind="otp")
    return 1


Flow = Callable[[HisClient, KitPerson, list[KitCode], int, bool], int]
RUNNERS: dict[str, Flow] = {"inpatient": inpatient, "outpatient": outpatient}


def run_sim(
    his: HisClient,
    kit: SimKit,
    *,
    flows: str = "both",
    count: int = 10,
    concurrency: int = 4,
    reverse_every: int = 5,
) -> SimReport:
    """Run ``count`` flows (``both``: alternately inpatient and outpatient),
    ``concurrency`` at a time, after one sign-in (9001)."""
    kinds = list(FLOWS) if flows == "both" else [flows]
    if not kit.persons or not kit.codes:
        raise ValueError("模拟需要参保人员和目录编码（sim kit 的 persons 和 codes）")
    report = SimReport()
    his.observers.append(report.observe)
    pool: queue.Queue[KitPerson] = queue.Queue()
    for p in kit.persons:
        pool.put(p)
    started = time.perf_counter()
    try:
        his.sign_in()

        def one(n: int) -> None:
            kind = kinds[n % len(kinds)]
            try:
                person = pool.get(timeout=60)
            except queue.Empty:
                report.add(kind, 0, 0, "没有可用的参保人员（其余人员的流程已失败）")
                return
            rev = reverse_every > 0 and (n + 1) % reverse_every == 0
            try:
                settled = RUNNERS[kind](his, person, kit.codes, n, rev)
            except HisError as exc:
                report.add(kind, 0, 0, str(exc))  # the person is not used again
                return
            report.add(kind, settled, 1 if rev else 0, None)
            pool.put(person)

        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as workers:
            list(workers.map(one, range(count)))
    finally:
        his.observers.remove(report.observe)
        report.seconds = time.perf_counter() - started
    return report
