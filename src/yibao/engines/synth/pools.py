"""Code books and the pools secondary diagnoses and extra procedures are drawn from.

Every pool is built from the plan so that adding its codes to a template can never
change the ADRG the plan walk finds:

* secondary diagnoses never come from a list used by ``any_dx_in`` or from a trauma
  body-site list (those are the only conditions that look past the principal
  diagnosis), nor from the sex-, pregnancy-, newborn- or HIV-specific MDC lists unless
  the patient's domain calls for them;
* extra procedures are non-OR codes listed by no ADRG and no tag table, so they never
  satisfy ``principal_proc_in``, ``any_proc_in``, ``proc_tag_present`` or an OR test.

Which of them count as CC or MCC for a given principal diagnosis is decided per case
(exclusion tables) in :mod:`yibao.engines.synth.cases`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.engines.synth.plan import PlanData
from yibao.engines.synth.templates import adrg_list_names, entry_dx, home_mdcs

I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]

DOMAIN_NEWBORN, DOMAIN_MALE, DOMAIN_FEMALE, DOMAIN_OBSTETRIC = range(4)
LEVEL_NONE, LEVEL_CC, LEVEL_MCC = 0, 1, 2


@dataclass(frozen=True)
class CodeBook:
    """Grouper codes by position, with the code to write and the CC data per code."""

    codes: tuple[str, ...]  # grouper codes, sorted
    index: dict[str, int]
    emit: pl.Series  # String: input code written for each position
    cc_level: I8  # LEVEL_*
    cc_table: I32  # exclusion-table id of a CC/MCC code, -1 otherwise
    excl_table: I32  # exclusion table of the code as a principal diagnosis, -1 if none


@dataclass(frozen=True)
class Segments:
    """Several integer pools stored back to back: pool ``k`` is
    ``values[offset[k] : offset[k] + length[k]]``."""

    values: I32
    offset: I32
    length: I32

    @staticmethod
    def of(pools: list[list[int]]) -> Segments:
        """Concatenate ``pools``."""
        length = np.array([len(p) for p in pools], dtype=np.int32)
        offset = np.concatenate([[0], np.cumsum(length)[:-1]]).astype(np.int32)
        values = np.array([c for p in pools for c in p], dtype=np.int32)
        return Segments(values, offset, length)


@dataclass(frozen=True)
class Pools:
    """Secondary-diagnosis pools per domain and extra-procedure pools per MDC."""

    mcc: Segments  # per DOMAIN_*: MCC codes
    cc: Segments  # per DOMAIN_*: CC codes
    plain: Segments  # per DOMAIN_*: codes that are neither CC nor MCC
    extra_px: Segments  # per MDC position in plan.mdc_order: safe extra procedures


def _tables(plan: PlanData) -> dict[str, int]:
    names = sorted({t for _, t in plan.cc.values()} | set(plan.exclusion.values()))
    return {t: i for i, t in enumerate(names)}


def dx_book(plan: PlanData) -> CodeBook:
    """The diagnosis code book of ``plan`` (usable grouper codes only)."""
    codes = tuple(sorted(plan.dx_usable))
    ids = _tables(plan)
    level = np.zeros(len(codes), dtype=np.int8)
    table = np.full(len(codes), -1, dtype=np.int32)
    excl = np.full(len(codes), -1, dtype=np.int32)
    for i, code in enumerate(codes):
        hit = plan.cc.get(code)
        if hit is not None:
            level[i] = LEVEL_MCC if hit[0] == "MCC" else LEVEL_CC
            table[i] = ids[hit[1]]
        own = plan.exclusion.get(code)
        if own is not None:
            excl[i] = ids[own]
    emit = pl.Series("code", [plan.dx_emit[c] for c in codes], dtype=pl.String)
    return CodeBook(codes, {c: i for i, c in enumerate(codes)}, emit, level, table, excl)


def px_book(plan: PlanData) -> CodeBook:
    """The procedure code book of ``plan`` (no CC data)."""
    codes = tuple(sorted(plan.px_usable))
    n = len(codes)
    emit = pl.Series("code", [plan.px_emit[c] for c in codes], dtype=pl.String)
    minus = np.full(n, -1, dtype=np.int32)
    return CodeBook(
        codes, {c: i for i, c in enumerate(codes)}, emit, np.zeros(n, np.int8), minus, minus
    )


def _unsafe_dx(plan: PlanData) -> frozenset[str]:
    out: set[str] = set()
    for owner in plan.trauma_sites.values():
        out |= set(owner)
    for adrg in plan.adrg_mdc:
        cond = plan.adrg_condition[adrg]
        out |= _any_dx_lists(plan, cond)
    for mdc in plan.mdc_order:
        out |= _any_dx_lists(plan, plan.mdc_entry[mdc])
    return frozenset(out)


def _any_dx_lists(plan: PlanData, cond: dict[str, object]) -> set[str]:
    op = cond["op"]
    if op in ("all", "any"):
        args = cond["args"]
        assert isinstance(args, list)
        return {c for a in args for c in _any_dx_lists(plan, a)}
    if op == "any_dx_in":
        return set(plan.lists[str(cond["list"])])
    return set()


def _domains(plan: PlanData) -> list[frozenset[str]]:
    special = {m: entry_dx(plan, m) for m in ("M", "N", "O", "P", "Y")}
    base: set[str] = set()
    for mdc in plan.mdc_order:
        if mdc not in ("A", "P", "Y", "Z", "M", "N", "O"):
            base |= entry_dx(plan, mdc)
    same = frozenset(c for c, e in plan.dx_emit.items() if c == e)  # written as grouped
    usable = same - _unsafe_dx(plan)
    common = frozenset(base) - special["M"] - special["N"] - special["O"] - special["P"]
    common = (common - special["Y"]) & usable
    male = common | ((special["M"] - special["N"] - special["O"] - special["P"]) & usable)
    female = common | ((special["N"] - special["M"] - special["O"] - special["P"]) & usable)
    obstetric = female | ((special["O"] - special["M"] - special["P"]) & usable)
    newborn = (special["P"] - special["M"] - special["N"] - special["O"]) & usable
    return [newborn, male, female, obstetric]


def build_pools(plan: PlanData, book: CodeBook, pbook: CodeBook) -> Pools:
    """Pools of ``plan``; each pool is shuffled once (fixed seed) so that drawing with a
    skew towards the front makes a few codes common and most rare."""
    rng = np.random.default_rng(20240607)
    mcc: list[list[int]] = []
    cc: list[list[int]] = []
    plain: list[list[int]] = []
    for domain in _domains(plan):
        idx = np.array(sorted(book.index[c] for c in domain), dtype=np.int32)
        idx = idx[rng.permutation(len(idx))]
        level = book.cc_level[idx]
        mcc.append(idx[level == LEVEL_MCC].tolist())
        cc.append(idx[level == LEVEL_CC].tolist())
        plain.append(idx[level == LEVEL_NONE].tolist())
    listed: set[str] = set()
    for adrg in plan.adrg_mdc:
        for name in adrg_list_names(plan, adrg):
            if ".proc" in name:
                listed |= plan.lists[name]
    tagged = {c for table in plan.tags.values() for c in table}
    same = {c for c, e in plan.px_emit.items() if c == e}
    safe = sorted(same - plan.or_codes - listed - tagged)
    home = home_mdcs(plan)
    extra: list[list[int]] = []
    for mdc in plan.mdc_order:
        pool = [pbook.index[c] for c in safe if home.get(c[:2], mdc) == mdc]
        extra.append([pool[i] for i in rng.permutation(len(pool))])
    return Pools(Segments.of(mcc), Segments.of(cc), Segments.of(plain), Segments.of(extra))


def draw(
    seg: Segments, pool: npt.NDArray[np.integer], u: npt.NDArray[np.float64], skew: float = 1.0
) -> I32:
    """One code per row from pool ``pool[i]`` of ``seg``; ``u`` uniform in [0, 1).

    ``skew`` > 1 favours the front of each (shuffled) pool.  Rows whose pool is empty
    get -1.
    """
    length = seg.length[pool]
    pos = np.floor(np.power(u, skew) * length).astype(np.int64)
    pos = np.minimum(pos, np.maximum(length - 1, 0))
    out = seg.values[np.minimum(seg.offset[pool] + pos, max(len(seg.values) - 1, 0))]
    return np.where(length > 0, out, -1).astype(np.int32)
