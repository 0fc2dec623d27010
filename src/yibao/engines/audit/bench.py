"""Timings of the two paths on synthetic data (a command-line bench calls these).

>>> single_claim_us(300)          # median µs per 10-line claim            # doctest: +SKIP
>>> batch_lines_s(1_000_000)      # seconds for a month of 1M lines        # doctest: +SKIP
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Final

import numpy as np
import polars as pl

from yibao.engines.audit.claims import Claim, Encounter, Line, Patient
from yibao.engines.audit.compiler import RuleSet, compile_rules
from yibao.engines.audit.knowledge import Knowledge
from yibao.engines.audit.rules import FAMILIES

N_ITEMS: Final = 2_000
RELATIONS: Final = ("duplicate", "linkage", "unbundling")
MONTH: Final = date(2024, 3, 1)


def _restrictions(rng: random.Random) -> list[dict[str, Any]]:
    pool: list[dict[str, Any]] = [
        {"kind": "sex", "sex": rng.choice("12")},
        {"kind": "age", "max_years": 14},
        {"kind": "indication", "diagnoses": ["C50", "C56", "E11"]},
        {"kind": "setting", "setting": "inpatient"},
        {"kind": "hospital_level", "min_level": "2"},
        {"kind": "insutype", "insutypes": ["510"]},
        {"kind": "department", "departments": ["A03", "A04"]},
        {"kind": "quantity", "per_day": "3", "per_stay": "30"},
        {"kind": "frequency", "max_times": 2, "per": "day"},
        {"kind": "course", "per": "visit", "max_sessions": 10},
    ]
    return rng.sample(pool, 1) if rng.random() < 0.15 else []


def _unit(i: int) -> str:
    return {8: "小时", 9: "床日"}.get(i % 10, "次")


def synthetic_knowledge(seed: int = 1) -> Knowledge:
    """2,000 items (15 % with a restriction, 20 % with caps, a fifth billed by the hour
    or the day) and 200 relations."""
    rng = random.Random(seed)
    codes = [f"I{i:05d}" for i in range(N_ITEMS)]
    items = [
        {
            "code": c,
            "name": f"项目{c}",
            "kind": "service",
            "fee_type": "05",
            "chrgitm_lv": "01",
            "unit": _unit(i),
            "caps": {"1": "45.00", "2": "48.00", "3": "50.00"} if rng.random() < 0.2 else {},
            "restrictions": _restrictions(rng),
        }
        for i, c in enumerate(codes)
    ]
    relations: list[dict[str, Any]] = []
    for _ in range(50):
        a, b, c, d = rng.sample(codes, 4)
        relations += [
            {"kind": "exclusive", "codes": [a, b]},
            {"kind": "inclusive", "whole": b, "part": c},
            {"kind": "requires", "item": c, "any_of": [d]},
            {"kind": "package", "package": d, "components": rng.sample(codes, 4)},
        ]
    return Knowledge.from_data(items, relations)


def synthetic_rules(n_rules: int = 300, seed: int = 1) -> list[dict[str, Any]]:
    """``n_rules`` rules: one per relation family and phantom window (they point at the
    whole knowledge base), the rest spread over the item families — per family the
    first points at the knowledge base, the others are narrowed to 100 codes each."""
    rng = random.Random(seed)
    fixed = [("phantom", "day"), ("phantom", "visit")]
    fixed += [(f, "visit") for f in ("duplicate", "linkage", "unbundling")]
    item_families = [f for f in sorted(FAMILIES) if f not in {"phantom", *RELATIONS}]
    out = []
    for i in range(n_rules):
        params: dict[str, Any] = {}
        if i < len(fixed):
            family, window = fixed[i]
        else:
            j = i - len(fixed)
            family = item_families[j % len(item_families)]
            window = rng.choice(FAMILIES[family].windows)
            if j >= len(item_families):
                codes = {f"I{rng.randrange(N_ITEMS):05d}" for _ in range(100)}
                params["codes"] = sorted(codes)
        out.append(
            {
                "rule_id": f"B{i:04d}",
                "version": 1,
                "name": f"规则{i}",
                "family": family,
                "params": params,
                "stages": ["pre", "mid", "post"],
                "window": window,
            }
        )
    return out


def _claim(rng: random.Random, n: int, lines: int, clean: list[int]) -> Claim:
    """An outpatient claim; nine lines in ten use an item without restrictions (most
    prescriptions are compliant), hourly and daily items are billed once."""
    begin = MONTH + timedelta(rng.randrange(28))
    patient = Patient(f"P{n}", rng.choice("12"), date(rng.randrange(1940, 2020), 1, 1))
    enc = Encounter(f"M{n}", "otp", rng.choice("123"), begin, begin, "A03", "310", ("J18.9", "I10"))
    rows = []
    for j in range(lines):
        i = rng.choice(clean) if rng.random() < 0.9 else rng.randrange(N_ITEMS)
        qty = Decimal(rng.randrange(1, 6) if _unit(i) == "次" else 1)
        price = Decimal(rng.randrange(100, 5000)).scaleb(-2)
        code = f"I{i:05d}"
        rows.append(Line(f"R{j}", code, qty, price, qty * price, begin, days=rng.choice([1, 3])))
    return Claim(patient, enc, tuple(rows))


def single_claim_us(n_rules: int = 300, claims: int = 2_000, seed: int = 1) -> float:
    """Median microseconds of :meth:`RuleSet.audit` (事中, trig_scen 6) for a 10-line
    outpatient claim with ``n_rules`` rules (compiled once, index warmed up)."""
    knowledge = synthetic_knowledge(seed)
    rs = compile_rules(synthetic_rules(n_rules, seed), knowledge, on=MONTH)
    rng = random.Random(seed)
    clean = [i for i, item in enumerate(knowledge.items.values()) if not item.restrictions]
    pool = [_claim(rng, n, 10, clean) for n in range(claims)]
    for c in pool[:50]:
        rs.audit(c, stage="mid", trig_scen=6)
    times = []
    clock = time.perf_counter_ns
    for c in pool:
        start = clock()
        rs.audit(c, stage="mid", trig_scen=6)
        times.append(clock() - start)
    return statistics.median(times) / 1_000


# long: one column list per frame, generated in one place so the frames stay consistent
def synthetic_frames(
    lines: int, knowledge: Knowledge, seed: int = 1
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """A month of claims as frames: ``lines`` lines, 10 per encounter, 3 encounters
    per person on average, nine lines in ten on items without restrictions, hourly and
    daily items billed once (generated with NumPy, not timed)."""
    rng = np.random.default_rng(seed)
    n_enc = max(lines // 10, 1)
    n_psn = max(n_enc // 3, 1)
    enc_psn = rng.integers(0, n_psn, n_enc)
    begin = rng.integers(0, 28, n_enc)
    ipt = rng.random(n_enc) < 0.2
    patients = pl.DataFrame(
        {
            "psn_no": [f"P{i}" for i in range(n_psn)],
            "sex": rng.choice(["1", "2"], n_psn),
            "birth_date": pl.Series(rng.integers(-20_000, 18_000, n_psn)).cast(pl.Date),
        }
    )
    encounters = pl.DataFrame(
        {
            "mdtrt_id": [f"M{i}" for i in range(n_enc)],
            "psn_no": [f"P{i}" for i in enc_psn],
            "care_mode": np.where(ipt, "ipt", "otp"),
            "hospital_level": rng.choice(["1", "2", "3"], n_enc),
            "dept_code": rng.choice(["A03", "A04", "B01"], n_enc),
            "insutype": rng.choice(["310", "390", "510"], n_enc),
            "offset": begin,
            "stay": np.where(ipt, rng.integers(1, 10, n_enc), 0),
        }
    ).with_columns(
        (pl.lit(MONTH) + pl.duration(days=pl.col("offset"))).alias("begin_date"),
        (pl.lit(MONTH) + pl.duration(days=pl.col("offset") + pl.col("stay"))).alias("end_date"),
    )
    diagnoses = pl.DataFrame(
        {
            "mdtrt_id": [f"M{i}" for i in range(n_enc)] * 2,
            "dx_seq": [1] * n_enc + [2] * n_enc,
            "dx_code": list(rng.choice(["J18.9", "C50.9", "E11.9", "I10"], 2 * n_enc)),
        }
    )
    enc_of = rng.integers(0, n_enc, lines)
    clean = np.array([i for i, it in enumerate(knowledge.items.values()) if not it.restrictions])
    item = np.where(
        rng.random(lines) < 0.9,
        clean[rng.integers(0, len(clean), lines)],
        rng.integers(0, N_ITEMS, lines),
    )
    qty = np.where(item % 10 >= 8, 1, rng.integers(1, 6, lines))
    price_fen = rng.integers(100, 5_000, lines)
    frame = pl.DataFrame(
        {
            "mdtrt_id": [f"M{i}" for i in enc_of],
            "rx_id": [f"R{i}" for i in range(lines)],
            "item_code": [f"I{i:05d}" for i in item],
            "quantity": qty,
            "pf": price_fen,
            "offset": begin[enc_of] + rng.integers(0, 3, lines),
            "days": rng.choice([1, 3], lines),
            "dept_code": rng.choice(["", "A03", "B01"], lines),
        }
    ).with_columns(
        (pl.col("pf").cast(pl.Decimal(38, 0)) * pl.lit(Decimal("0.01"))).alias("price"),
        (pl.col("pf") * pl.col("quantity")).cast(pl.Decimal(38, 0)).alias("afen"),
        (pl.lit(MONTH) + pl.duration(days=pl.col("offset"))).alias("day"),
    )
    frame = frame.with_columns((pl.col("afen") * pl.lit(Decimal("0.01"))).alias("amount"))
    return patients, encounters, diagnoses, frame


def batch_lines_s(lines: int = 1_000_000, n_rules: int = 300, seed: int = 1) -> float:
    """Seconds of :meth:`RuleSet.audit_frames` (事后) on ``lines`` synthetic lines with
    ``n_rules`` rules (frame generation and compilation not timed)."""
    knowledge = synthetic_knowledge(seed)
    rs: RuleSet = compile_rules(synthetic_rules(n_rules, seed), knowledge, on=MONTH)
    frames = synthetic_frames(lines, knowledge, seed)
    start = time.perf_counter()
    rs.audit_frames(*frames)
    return time.perf_counter() - start
