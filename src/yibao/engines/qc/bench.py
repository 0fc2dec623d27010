"""Synthetic settlement lists with injected errors, and the intake (parse + QC) benchmark.

>>> from yibao.engines.qc.bench import run_benchmark
>>> run_benchmark(10_000)["lists_per_s"]                      # doctest: +SKIP
"""

from __future__ import annotations

import copy
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from yibao.engines.grouper import CompiledPlan, PlanRegistry
from yibao.engines.qc.engine import check_batch
from yibao.engines.qc.frames import from_case_frames
from yibao.engines.qc.ruleset import RuleSet, default_ruleset
from yibao.engines.synth import Region, generate_cases, make_region

Message = dict[str, Any]


def synthetic_lists(
    n: int, plan: CompiledPlan, seed: int = 1, year: int = 2024, *, region: Region | None = None
) -> list[Message]:
    """``n`` clean 4101A messages of synthetic cases (演示市) for ``plan``, discharged in
    ``year`` (dates spread over the whole year).

    ``region`` is the synthetic region whose hospitals treat the cases (default
    ``make_region(seed)``, 30 hospitals); pass the demo's region to match its hospitals.
    """
    region = region or make_region(seed)
    names = dict(zip(region.hospitals["code"], region.hospitals["name"], strict=True))
    batches = generate_cases(region, [year], n, seed=seed, plan_dir=plan.plan.path, chunk_size=n)
    out: list[Message] = []
    for batch in batches:
        out.extend(from_case_frames(batch.cases, batch.diagnoses, batch.procedures, plan, names))
    return out


def _bad_dx(m: Message) -> str:
    m["diseinfo"][-1]["diag_code"] = "X99.999"
    return "QC008"


def _bad_sex(m: Message) -> str:
    m["setlinfo"]["gend"] = "3"
    return "QC003"


def _swapped_times(m: Message) -> str:
    s = m["setlinfo"]
    s["adm_time"], s["dscg_time"] = s["dscg_time"], s["adm_time"]
    return "QC013"


def _fee_off(m: Message) -> str:
    item = m["iteminfo"][0]
    item["amt"] = f"{float(item['amt']) + 1:.2f}"
    return "QC021"


def _no_principal(m: Message) -> str:
    for d in m["diseinfo"]:
        d["maindiag_flag"] = "0"
    return "QC015"


def _bad_duration(m: Message) -> str:
    m["setlinfo"]["vent_used_dura"] = "1/25/00"
    return "QC014"


def _bad_money(m: Message) -> str:
    m["setlinfo"]["acct_pay"] = "12.345"
    return "QC005"


#: error injectors: each changes a message and returns the rule that must catch it
INJECTORS: Final[tuple[Callable[[Message], str], ...]] = (
    _bad_dx,
    _bad_sex,
    _swapped_times,
    _fee_off,
    _no_principal,
    _bad_duration,
    _bad_money,
)


def inject_errors(
    messages: list[Message], share: float = 0.1, seed: int = 1
) -> tuple[list[Message], dict[int, str]]:
    """Copies of ``messages`` with one error in about ``share`` of them.

    Returns the messages and {index: rule id expected to catch the error}.
    """
    rng = random.Random(seed)
    out: list[Message] = []
    expected: dict[int, str] = {}
    for i, message in enumerate(messages):
        if rng.random() < share:
            changed = copy.deepcopy(message)
            expected[i] = rng.choice(INJECTORS)(changed)
            out.append(changed)
        else:
            out.append(message)
    return out, expected


def run_benchmark(
    n: int = 10_000,
    seed: int = 1,
    error_share: float = 0.1,
    plan: CompiledPlan | None = None,
    ruleset: RuleSet | None = None,
    plans_dir: Path | None = None,
) -> dict[str, Any]:
    """Generate ``n`` lists, inject errors, then time :func:`check_batch` (parse + QC).

    Returns ``lists``, ``seconds``, ``lists_per_s``, ``held``, ``caught`` (injected
    errors found by the expected rule), ``injected`` and ``findings_by_rule``.
    """
    compiled = plan or PlanRegistry([plans_dir] if plans_dir else []).get("chs-drg-1.1")
    rules = ruleset or default_ruleset()
    messages, expected = inject_errors(synthetic_lists(n, compiled, seed), error_share, seed)
    check_batch(messages[:50], rules, compiled)  # warm-up: compile the rule set
    start = time.perf_counter()
    batch = check_batch(messages, rules, compiled)
    seconds = time.perf_counter() - start
    caught = sum(any(f.rule_id == rule for f in batch.findings[i]) for i, rule in expected.items())
    by_rule = Counter(f.rule_id for fs in batch.findings for f in fs)
    return {
        "lists": len(messages),
        "seconds": round(seconds, 3),
        "lists_per_s": round(len(messages) / seconds) if seconds > 0 else None,
        "held": batch.held_count,
        "injected": len(expected),
        "caught": caught,
        "findings_by_rule": dict(sorted(by_rule.items())),
    }
