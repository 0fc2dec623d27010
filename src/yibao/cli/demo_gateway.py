"""``yibao demo seed``'s traffic through the transaction gateway, and the post-audit
that follows (演示, synthetic): what a bureau sees on 实时结算, 交易日志, 对账结果,
异地就医清算 and 审核疑点 right after the seed.  (The command line's, as the server's
packages do not import the HIS client.)

Nothing here writes a figure itself.  The demo's HIS client (``his01``) drives whole
inpatient and outpatient flows (:func:`yibao.his.sim.run_sim`: 1101 → 2401 → 2301 →
2402 → 2303 → 2304, 1101 → 2201 → 2204 → 2206 → 2207, some reversed) through the real
gateway of an in-process app (the HTTP stack, token, journal, benefits, accumulators),
for local patients and patients insured in another city or province, then reconciles
the month (3201).  Then :func:`yibao.demo.findings.seed_findings` runs the post-audit
and publishes findings.

It runs after the seed's own transaction has committed (the in-process app opens its
own connections, and SQLite lets one writer in at a time).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from yibao.config import Settings
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.db.session import unit_of_work
from yibao.demo.simkit import demo_sim_kit
from yibao.his.client import HisClient
from yibao.his.sim import KitCode, KitPerson, SimKit, run_sim
from yibao.kit.timeutil import local, utcnow

#: whole flows the demo HIS runs (inpatient and outpatient alternately); every
#: REVERSE_EVERY-th settlement is reversed
FLOWS = 40
REVERSE_EVERY = 7


@dataclass
class GatewaySeedResult:
    """What the demo HIS left behind through the gateway."""

    flows: int = 0
    settlements: int = 0
    reversals: int = 0
    errors: list[str] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)

    def summary(self) -> str:
        failed = f"，失败 {len(self.errors)}（{self.errors[0]}）" if self.errors else ""
        return (
            f"实时结算演示（经交易接口）：流程 {self.flows}，结算 {self.settlements}，"
            f"撤销 {self.reversals}{failed}；对总账 {len(self.statements)} 次"
            f"（平 {self.statements.count('平')}）"
        )


def _kit(today: date) -> tuple[SimKit, str]:
    """The demo HIS's sim kit (persons: three quarters local, the rest insured
    elsewhere) and its institution's name."""
    with unit_of_work() as session:
        set_scope(session, SYSTEM_SCOPE)
        raw = demo_sim_kit(session, persons=40, codes=40, on=today)
    kit = SimKit(
        persons=[KitPerson(**p) for p in raw["persons"]],
        codes=[KitCode(c["code"], Decimal(c["price"]), c["name"]) for c in raw["codes"]],
        hospital_code=raw["hospital_code"],
        hospital_name=raw["hospital_name"],
        mdtrtarea_admvs=raw["mdtrtarea_admvs"],
    )
    return kit, raw["his_user"]


def drive_gateway(settings: Settings, token: str, result: GatewaySeedResult) -> None:
    """The demo HIS's flows and the month's 3201 through an in-process app."""
    with warnings.catch_warnings():  # Starlette's note on its test client's HTTP library
        warnings.filterwarnings("ignore", message="Using `httpx` with")
        from fastapi.testclient import TestClient
    from yibao.api.app import create_app

    today = local(utcnow()).date()
    kit, _ = _kit(today)
    assert kit.hospital_code and kit.hospital_name and kit.mdtrtarea_admvs
    with (
        TestClient(  # the demo HIS "connects" from this machine (the audit log's IP)
            create_app(settings), base_url="http://demo.invalid", client=("127.0.0.1", 50000)
        ) as http,
        HisClient(
            "http://demo.invalid",
            token,
            kit.hospital_code,
            kit.hospital_name,
            kit.mdtrtarea_admvs,
            transport=http,
        ) as his,
    ):
        settled: list[tuple[str, dict[str, Any]]] = []
        his.observers.append(lambda done: _keep_settlements(done, settled))
        report = run_sim(
            his, kit, flows="both", count=FLOWS, concurrency=1, reverse_every=REVERSE_EVERY
        )
        result.flows = report.flows_done
        result.settlements, result.reversals = report.settlements, report.reversals
        result.errors = list(report.error_samples)
        result.statements = _reconcile(his, kit.mdtrtarea_admvs, today, settled)


#: clearing type (clr_type) of each settlement and reversal transaction
CLR_TYPES = {"2304": "21", "2305": "21", "2207": "11", "2208": "11"}


def _keep_settlements(done: Any, settled: list[tuple[str, dict[str, Any]]]) -> None:
    """The clearing type and setlinfo of every settlement and reversal answered."""
    clr_type = CLR_TYPES.get(str(done.request.get("infno")))
    info = done.output.get("setlinfo") if done.ok and clr_type else None
    if clr_type and isinstance(info, dict):
        settled.append((clr_type, info))


def _reconcile(
    his: HisClient, admvs: str, today: date, settled: list[tuple[str, dict[str, Any]]]
) -> list[str]:
    """3201 of this month for the local patients, per insurance and clearing type, as
    the HIS sums its own settlements: the centre's verdicts (平 / 不平)."""
    local_ones = [(c, i) for c, i in settled if str(i.get("insuplc_admdvs", ""))[:4] == admvs[:4]]
    verdicts = []
    for insutype, clr_type in sorted({(str(i.get("insutype")), c) for c, i in local_ones}):
        answer = his.statement(
            insutype=insutype,
            clr_type=clr_type,
            setl_optins=admvs,
            begin=today.replace(day=1),
            end=today,
            settlements=[
                i for c, i in local_ones if (str(i.get("insutype")), c) == (insutype, clr_type)
            ],
        )
        verdicts.append("平" if answer.get("stmt_rslt") == "0" else "不平")
    return verdicts
