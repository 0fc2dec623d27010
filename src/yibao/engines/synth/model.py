"""The compiled generation model: templates as arrays, the DRG mix and per-DRG costs.

Built once per (plan, seed).  Everything the per-case hot path needs is a NumPy array
indexed by template or by DRG position, so a whole chunk of cases is drawn with a few
vectorised look-ups.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.engines.synth import pools as pl_
from yibao.engines.synth.plan import PlanData, load_plan
from yibao.engines.synth.templates import (
    AGE_INFANT,
    PROFILE_OBSTETRIC,
    Template,
    build_templates,
)

F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]
B = npt.NDArray[np.bool_]

#: Severity requirement of a target DRG (how its secondaries are drawn).
REQ_ANY, REQ_MCC, REQ_CC_ONLY, REQ_NO_MCC, REQ_CC_OR_MCC, REQ_NONE = range(6)

#: Share of inpatient episodes per MDC letter [M]: plausible proportions for a Chinese
#: prefecture city (circulatory, respiratory, digestive first; pre-MDC rare).
MDC_SHARE: dict[str, float] = {
    "A": 0.004, "P": 0.015, "Y": 0.0008, "Z": 0.004, "M": 0.012, "N": 0.04,
    "B": 0.09, "C": 0.025, "D": 0.035, "E": 0.13, "F": 0.15, "G": 0.11,
    "H": 0.04, "I": 0.08, "J": 0.03, "K": 0.035, "L": 0.04, "O": 0.06,
    "Q": 0.01, "R": 0.04, "S": 0.012, "T": 0.01, "U": 0.003, "V": 0.02,
    "W": 0.003, "X": 0.02,
}  # fmt: skip
#: Within-ADRG severity shares by split pattern, in DRG order.
_SEVERITY_SHARE: dict[tuple[str, ...], tuple[float, ...]] = {
    ("always",): (1.0,),
    ("mcc", "cc_or_mcc", "always"): (0.12, 0.28, 0.60),
    ("mcc", "always"): (0.2, 0.8),
    ("cc_or_mcc", "always"): (0.35, 0.65),
}
#: Median true RW and log-sd by ADRG type (domain.md §6).
_RW_BY_TYPE = {"surgical": (2.0, 0.45), "non_or": (1.0, 0.3), "medical": (0.75, 0.35)}
_SUFFIX_FACTOR = {"1": 1.8, "3": 1.3, "5": 1.0, "9": 1.15}
#: Log-normal CV of case cost around the group mean, by ADRG type.
_CV_BY_TYPE = {"surgical": 0.35, "non_or": 0.5, "medical": 0.45}
_TYPE_FREQ = {"surgical": 1.0, "non_or": 0.9, "medical": 3.0}
_TYPE_CODE = {"surgical": 0, "non_or": 1, "medical": 2}


@dataclass(frozen=True)
class TemplateArrays:
    """Templates compiled to arrays (one row per template)."""

    adrg: tuple[str, ...]
    mdc: I8  # position in plan.mdc_order
    dx: I32  # (T, 3): principal then fixed extras, -1 padded, code-book positions
    px: I32  # (T, 4): procedures, -1 padded
    sex_mask: I8  # bit 0 male, bit 1 female
    group: I8  # preferred AGE_* group
    infant_ok: B  # an infant (29–364 days) also reaches the ADRG
    profile: I8
    bw_lo: I32
    bw_hi: I32
    excl: I32  # exclusion table of the principal, -1 if none
    fixed_mcc: B
    fixed_cc: B
    has_or: B


@dataclass(frozen=True)
class Model:
    """Everything drawn per (plan, seed) before any case is made."""

    plan: PlanData
    dx: pl_.CodeBook
    px: pl_.CodeBook
    pools: pl_.Pools
    tpl: TemplateArrays
    drgs: tuple[str, ...]  # reachable DRGs, plan order
    drg_adrg_type: I8  # 0 surgical, 1 non-OR, 2 medical
    drg_mdc: I8
    drg_suffix: I8  # last digit of the code (1, 3, 5, 9)
    drg_req: I8  # REQ_*
    drg_prob: F64
    drg_cum: F64  # cumulative drg_prob (last exactly 1)
    true_rw: F64  # mean cost of the DRG ÷ regional mean (before hospital level/noise)
    cost_sigma: F64  # log-sd of the case-cost noise
    los_base: F64  # median LOS in days
    level_prob: F64  # (D, 3): P(hospital level 1, 2, 3 | DRG)
    seg_cum: F64  # per-DRG template segments: drg position + cumulative weight
    seg_tpl: I32  # template of each segment entry
    fallback_mcc: I32  # (T, 4 domains): a valid MCC for the template's principal, or -1
    fallback_cc: I32  # (T, 4 domains): a valid CC, or -1
    excluded_code: I32  # (T, 4 domains): a CC/MCC the principal's table excludes, or -1


def _compile(plan: PlanData, tpls: tuple[Template, ...], book: pl_.CodeBook) -> TemplateArrays:
    n = len(tpls)
    dx = np.full((n, 3), -1, dtype=np.int32)
    px = np.full((n, 4), -1, dtype=np.int32)
    pbook = {c: i for i, c in enumerate(sorted(plan.px_usable))}
    mdc_pos = {m: i for i, m in enumerate(plan.mdc_order)}
    for i, t in enumerate(tpls):
        dx[i, : len(t.dx)] = [book.index[c] for c in t.dx[:3]]
        px[i, : len(t.px)] = [pbook[c] for c in t.px[:4]]
    bands = [t.bw_band or (0, 0) for t in tpls]
    return TemplateArrays(
        adrg=tuple(t.adrg for t in tpls),
        mdc=np.array([mdc_pos[plan.adrg_mdc[t.adrg]] for t in tpls], dtype=np.int8),
        dx=dx,
        px=px,
        sex_mask=np.array([sum(1 << (s - 1) for s in t.sexes) for t in tpls], dtype=np.int8),
        group=np.array([t.age_groups[0] for t in tpls], dtype=np.int8),
        infant_ok=np.array([AGE_INFANT in t.age_groups[1:] for t in tpls], dtype=np.bool_),
        profile=np.array([t.profile for t in tpls], dtype=np.int8),
        bw_lo=np.array([b[0] for b in bands], dtype=np.int32),
        bw_hi=np.array([b[1] for b in bands], dtype=np.int32),
        excl=book.excl_table[dx[:, 0]],
        fixed_mcc=np.array([t.fixed_mcc for t in tpls], dtype=np.bool_),
        fixed_cc=np.array([t.fixed_cc for t in tpls], dtype=np.bool_),
        has_or=np.array([bool(t.px) and t.px[0] in plan.or_codes for t in tpls], dtype=np.bool_),
    )


def _first_code(seg: pl_.Segments, book: pl_.CodeBook, excl: I32, same: bool) -> I32:
    """(T, domains): the first pool code whose exclusion table equals (``same``) or
    differs from the template's ``excl``; -1 when there is none."""
    out = np.full((len(excl), len(seg.length)), -1, dtype=np.int32)
    for d in range(len(seg.length)):
        codes = seg.values[seg.offset[d] : seg.offset[d] + seg.length[d]]
        tables = book.cc_table[codes]
        for e in np.unique(excl):
            hit = np.flatnonzero(tables == e) if same else np.flatnonzero(tables != e)
            if same and e < 0:
                continue
            if len(hit):
                out[excl == e, d] = codes[hit[0]]
    return out


def _requirement(splits: tuple[str, ...], position: int) -> int:
    if splits == ("always",):
        return REQ_ANY
    split = splits[position]
    if split == "mcc":
        return REQ_MCC
    if split == "cc_or_mcc":
        return REQ_CC_ONLY if position > 0 else REQ_CC_OR_MCC
    return REQ_NONE if "cc_or_mcc" in splits else REQ_NO_MCC


def template_domains(tpl: TemplateArrays, mdc_order: tuple[str, ...]) -> B:
    """(T, 4): the secondary-diagnosis domains a template's cases can use."""
    out = np.zeros((len(tpl.group), 4), dtype=np.bool_)
    newborn = tpl.mdc == mdc_order.index("P") if "P" in mdc_order else tpl.profile < 0
    obstetric = (tpl.profile == PROFILE_OBSTETRIC) & ~newborn
    other = ~newborn & ~obstetric
    out[:, pl_.DOMAIN_NEWBORN] = newborn
    out[:, pl_.DOMAIN_OBSTETRIC] = obstetric
    out[:, pl_.DOMAIN_MALE] = other & ((tpl.sex_mask & 1) > 0)
    out[:, pl_.DOMAIN_FEMALE] = other & ((tpl.sex_mask & 2) > 0)
    return out


def _compatible(req: int, tpl: TemplateArrays, domains: B, mcc_ok: B, cc_ok: B) -> B:
    """Templates that can serve a DRG with severity requirement ``req``."""
    can_mcc: B = np.all(mcc_ok | ~domains, axis=1)
    can_cc: B = np.all(cc_ok | ~domains, axis=1)
    fixed_mcc, fixed_cc = tpl.fixed_mcc, tpl.fixed_cc
    ok: B = np.ones(len(tpl.group), dtype=np.bool_)
    if req == REQ_MCC:
        ok = can_mcc | fixed_mcc
    elif req == REQ_CC_ONLY:
        ok = (can_cc | fixed_cc) & ~fixed_mcc
    elif req == REQ_NO_MCC:
        ok = ~fixed_mcc
    elif req == REQ_CC_OR_MCC:
        ok = can_cc | can_mcc | fixed_cc | fixed_mcc
    elif req == REQ_NONE:
        ok = ~fixed_mcc & ~fixed_cc
    return ok


@functools.lru_cache(maxsize=8)
def build_model(plan_dir: Path, seed: int) -> Model:
    """Compile the plan at ``plan_dir`` and draw the DRG mix and costs for ``seed``."""
    plan = load_plan(Path(plan_dir))
    book = pl_.dx_book(plan)
    pbook = pl_.px_book(plan)
    pools = pl_.build_pools(plan, book, pbook)
    tpl = _compile(plan, build_templates(plan), book)
    fallback = (
        _first_code(pools.mcc, book, tpl.excl, same=False),
        _first_code(pools.cc, book, tpl.excl, same=False),
        np.maximum(
            _first_code(pools.cc, book, tpl.excl, same=True),
            _first_code(pools.mcc, book, tpl.excl, same=True),
        ),
    )
    mcc_ok = fallback[0] >= 0
    cc_ok = fallback[1] >= 0
    rng = np.random.default_rng([seed, 7001])
    by_adrg: dict[str, list[int]] = {}
    for i, a in enumerate(tpl.adrg):
        by_adrg.setdefault(a, []).append(i)
    domains = template_domains(tpl, plan.mdc_order)
    compat = {r: _compatible(r, tpl, domains, mcc_ok, cc_ok) for r in range(6)}
    rows: list[tuple[str, int, int, int, float, list[int]]] = []
    for m_pos, mdc in enumerate(plan.mdc_order):
        adrgs = [a for a in plan.mdc_adrgs[mdc] if a in by_adrg]
        kinds = [plan.adrg_type(a) for a in adrgs]
        weight = np.array([_TYPE_FREQ[k] for k in kinds]) * rng.lognormal(0.0, 0.9, len(adrgs))
        for j, a in enumerate(adrgs):
            if "移植" in plan.drg_name[plan.adrg_drgs[a][0]]:  # transplants are rare
                weight[j] *= 0.1
        weight = weight / weight.sum() * MDC_SHARE.get(mdc, 0.01)
        for a, k, w in zip(adrgs, kinds, weight, strict=True):
            splits = tuple(plan.drg_split[d] for d in plan.adrg_drgs[a])
            shares = _SEVERITY_SHARE.get(splits, (1.0 / len(splits),) * len(splits))
            for pos, drg in enumerate(plan.adrg_drgs[a]):
                req = _requirement(splits, pos)
                members = [i for i in by_adrg[a] if compat[req][i]]
                if members:
                    rows.append((drg, _TYPE_CODE[k], m_pos, req, w * shares[pos], members))
    return _finish(plan, book, pbook, pools, tpl, fallback, rows, rng)


# long: the final cost adjustments of the synthetic model applied in one vectorised pass
def _finish(
    plan: PlanData,
    book: pl_.CodeBook,
    pbook: pl_.CodeBook,
    pools: pl_.Pools,
    tpl: TemplateArrays,
    fallback: tuple[I32, I32, I32],
    rows: list[tuple[str, int, int, int, float, list[int]]],
    rng: np.random.Generator,
) -> Model:
    n = len(rows)
    prob = np.array([r[4] for r in rows])
    prob = prob / prob.sum()
    prob = np.maximum(prob, 1.0 / (40.0 * n))  # every reachable DRG shows up in large runs
    prob /= prob.sum()
    cum = np.cumsum(prob)
    cum[-1] = 1.0
    kind = np.array([r[1] for r in rows], dtype=np.int8)
    mdc = np.array([r[2] for r in rows], dtype=np.int8)
    suffix = np.array([int(r[0][-1]) for r in rows], dtype=np.int8)
    names = ("surgical", "non_or", "medical")
    median = np.array([_RW_BY_TYPE[names[k]][0] for k in kind])
    sd = np.array([_RW_BY_TYPE[names[k]][1] for k in kind])
    rw = median * rng.lognormal(0.0, 1.0, n) ** sd
    rw *= np.array([_SUFFIX_FACTOR[str(s)] for s in suffix])
    pre = mdc == plan.mdc_order.index("A") if "A" in plan.mdc_order else np.zeros(n, np.bool_)
    transplant = np.array(["移植" in plan.drg_name[r[0]] for r in rows])
    rw = np.where(pre, rw * np.where(transplant, 12.0, 5.0), rw)
    rw = rw / float(np.sum(prob * rw))  # relative to the regional mean
    cv = np.array([_CV_BY_TYPE[names[k]] for k in kind]) * rng.uniform(0.8, 1.25, n)
    sigma = np.sqrt(np.log1p(cv**2))
    los = 7.5 * rw**0.45
    letters = np.array(plan.mdc_order)[mdc]
    los *= np.select(
        [letters == "O", letters == "T", letters == "U", letters == "P"], [0.6, 3.0, 2.0, 1.3], 1.0
    )
    base = np.array([0.15, 0.35, 0.5])
    tilt = np.array([-0.6, 0.0, 0.35])
    level = base[None, :] * np.power(rw[:, None], tilt[None, :])
    level[kind == 0, 0] *= 0.3  # little surgery in 一级 hospitals
    level[pre, :2] = 0.0  # pre-MDC (transplants, ECMO) only in 三级
    level /= level.sum(axis=1, keepdims=True)
    seg_cum: list[float] = []
    seg_tpl: list[int] = []
    for pos, r in enumerate(rows):
        members = r[5]
        w = 1.0 / np.power(np.arange(1, len(members) + 1), 0.7)
        c = np.cumsum(w / w.sum())
        c[-1] = 1.0
        seg_cum.extend((pos + c).tolist())
        seg_tpl.extend(members)
    return Model(
        plan=plan,
        dx=book,
        px=pbook,
        pools=pools,
        tpl=tpl,
        drgs=tuple(r[0] for r in rows),
        drg_adrg_type=kind,
        drg_mdc=mdc,
        drg_suffix=suffix,
        drg_req=np.array([r[3] for r in rows], dtype=np.int8),
        drg_prob=prob,
        drg_cum=cum,
        true_rw=rw,
        cost_sigma=sigma,
        los_base=los,
        level_prob=level,
        seg_cum=np.array(seg_cum),
        seg_tpl=np.array(seg_tpl, dtype=np.int32),
        fallback_mcc=fallback[0],
        fallback_cc=fallback[1],
        excluded_code=fallback[2],
    )


def drg_mix(plan_dir: Path | str, seed: int) -> pl.DataFrame:
    """The DRG mix behind :func:`~yibao.engines.synth.generate_cases` for ``seed``.

    Columns: drg, adrg, share (expected fraction of cases), true_rw (expected cost of
    the DRG ÷ regional mean before hospital level, outliers and growth), los_median,
    templates (number of distinct verified templates the DRG draws from).
    """
    model = build_model(Path(plan_dir), seed)
    per_drg = np.diff(np.searchsorted(model.seg_cum, np.arange(len(model.drgs) + 1), "left"))
    return pl.DataFrame(
        {
            "drg": model.drgs,
            "adrg": [d[:3] for d in model.drgs],
            "share": model.drg_prob,
            "true_rw": model.true_rw,
            "los_median": model.los_base,
            "templates": per_drg.astype(np.int32),
        }
    )
