"""Clinical parts of a chunk: secondary diagnoses, procedures, departments, 离院方式.

All functions work on whole chunks (arrays with one row per case).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from yibao.engines.synth import model as m
from yibao.engines.synth.pools import (
    DOMAIN_MALE,
    DOMAIN_NEWBORN,
    DOMAIN_OBSTETRIC,
    Segments,
    draw,
)
from yibao.engines.synth.templates import PROFILE_OBSTETRIC

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

MAX_SECONDARY = 10
_REJECT_ROUNDS = 6

#: 诊疗科目 codes (medical, surgical) per MDC letter or ADRG prefix [M]: 03.xx 内科
#: subspecialties, 04.xx 外科, 05.01 妇科, 05.02 产科, 07.01 新生儿, 10 眼科, 11 耳鼻咽喉科,
#: 12 口腔科, 13 皮肤科, 15 精神科, 16 传染科, 19 肿瘤科, 20 急诊医学科, 21 康复医学科,
#: 28 重症医学科.
DEPTS: dict[str, tuple[str, str]] = {
    "A": ("28", "04.01"), "AA": ("04.06", "04.06"), "AB": ("04.01", "04.01"),
    "AC": ("04.04", "04.04"), "AD": ("04.01", "04.01"), "AE": ("04.04", "04.04"),
    "AF": ("04.05", "04.05"), "AG": ("03.05", "03.05"), "AH": ("28", "28"),
    "P": ("07.01", "08"), "Y": ("16", "16"), "Z": ("04.03", "04.03"),
    "M": ("04.04", "04.04"), "N": ("05.01", "05.01"), "B": ("03.03", "04.02"),
    "C": ("10", "10"), "D": ("11", "11"), "E": ("03.01", "04.05"), "F": ("03.04", "04.06"),
    "G": ("03.02", "04.01"), "H": ("03.02", "04.01"), "I": ("03.08", "04.03"),
    "J": ("13", "04.01"), "K": ("03.07", "04.01"), "L": ("03.06", "04.04"),
    "O": ("05.02", "05.02"), "Q": ("03.05", "04.01"), "R": ("19", "19"), "S": ("16", "04.01"),
    "T": ("15", "15"), "U": ("15", "15"), "V": ("20", "04.01"), "W": ("04.07", "04.07"),
    "X": ("21", "04.09"),
}  # fmt: skip
_WAYS = np.array(["1", "2", "3", "4", "5", "9"])
_DEATH_BY_SUFFIX = np.array([0.0, 0.03, 0.0, 0.008, 0.0, 0.002, 0.0, 0.0, 0.0, 0.006])


def case_domains(
    tpl_mdc: npt.NDArray[np.integer], profile: npt.NDArray[np.integer], sex: I64, p_pos: int
) -> I64:
    """Secondary-diagnosis domain per case (newborn, male, female, obstetric)."""
    dom = np.where(sex == 1, DOMAIN_MALE, DOMAIN_MALE + 1)
    dom = np.where(profile == PROFILE_OBSTETRIC, DOMAIN_OBSTETRIC, dom)
    return np.where(tpl_mdc == p_pos, DOMAIN_NEWBORN, dom).astype(np.int64)


def _valid_draw(
    seg_pool: tuple[Segments, I64],
    book_table: I32,
    excl: I32,
    principal: I32,
    fallback: I32,
    rng: np.random.Generator,
) -> I32:
    """Codes from ``seg_pool`` whose exclusion table differs from ``excl`` (rejection,
    then the precomputed fallback)."""
    seg, pool = seg_pool
    codes = draw(seg, pool, rng.random(len(pool)), 1.3)
    bad = (codes < 0) | (book_table[np.maximum(codes, 0)] == excl) | (codes == principal)
    for _ in range(_REJECT_ROUNDS):
        rows = np.flatnonzero(bad)
        if len(rows) == 0:
            break
        again = draw(seg, pool[rows], rng.random(len(rows)), 1.3)
        codes[rows] = again
        bad[rows] = (again < 0) | (book_table[np.maximum(again, 0)] == excl[rows])
        bad[rows] |= again == principal[rows]
    return np.where(bad, fallback, codes).astype(np.int32)


def _dedupe_compact(mat: I32) -> I32:
    """Blank repeats within each row (keeping the first) and move blanks to the end."""
    for j in range(1, mat.shape[1]):
        col = mat[:, j]
        dup = np.zeros(len(col), dtype=np.bool_)
        for k in range(j):
            dup |= mat[:, k] == col
        mat[:, j] = np.where(dup & (col >= 0), -1, col)
    order = np.argsort(mat < 0, axis=1, kind="stable")
    return np.take_along_axis(mat, order, axis=1)


def diagnoses(
    model: m.Model, t: I64, d: I64, domain: I64, age: I64, rng: np.random.Generator
) -> I32:
    """(n, 1 + MAX_SECONDARY) diagnosis matrix: principal, fixed extras, then the
    CC/MCC the target DRG needs, an occasional excluded complication and plain
    comorbidities in random order; -1 padded at the end of each row."""
    n = len(t)
    tpl = model.tpl
    req = model.drg_req[d]
    excl = tpl.excl[t]
    principal = tpl.dx[t, 0]
    fb_mcc = model.fallback_mcc[t, domain]
    fb_cc = model.fallback_cc[t, domain]
    can_mcc, can_cc = fb_mcc >= 0, fb_cc >= 0
    u = rng.random((n, 4))
    want_mcc = (req == m.REQ_MCC) | ((req == m.REQ_CC_OR_MCC) & ((u[:, 0] < 0.3) | ~can_cc))
    want_mcc |= (req == m.REQ_ANY) & (u[:, 0] < 0.12)
    want_mcc &= can_mcc
    extra_cc = (u[:, 1] < 0.35).astype(np.int64)
    n_cc = np.select(
        [req == m.REQ_CC_ONLY, (req == m.REQ_CC_OR_MCC) & ~want_mcc, req == m.REQ_MCC],
        [1 + extra_cc, 1 + extra_cc, (u[:, 1] < 0.3).astype(np.int64)],
        np.where((req == m.REQ_NO_MCC) | ((req == m.REQ_ANY) & ~want_mcc), extra_cc, 0),
    )
    n_cc = np.where(can_cc, n_cc, 0)
    excluded = np.where(u[:, 2] < 0.08, model.excluded_code[t, domain], -1)
    used = (tpl.dx[t, 1:] >= 0).sum(axis=1) + want_mcc + n_cc + (excluded >= 0)
    lam = np.select([age >= 65, age >= 18], [2.5, 1.3], 0.6)
    n_plain = np.minimum(np.minimum(rng.poisson(lam), 6), MAX_SECONDARY - used)
    cols = [tpl.dx[t, 1], tpl.dx[t, 2]]
    mcc = _valid_draw((model.pools.mcc, domain), model.dx.cc_table, excl, principal, fb_mcc, rng)
    cols.append(np.where(want_mcc, mcc, -1))
    for k in range(2):
        cc = _valid_draw((model.pools.cc, domain), model.dx.cc_table, excl, principal, fb_cc, rng)
        cols.append(np.where(n_cc > k, cc, -1))
    cols.append(excluded)
    for k in range(6):
        plain = draw(model.pools.plain, domain, rng.random(n), 2.0)
        cols.append(np.where(n_plain > k, plain, -1))
    extra = np.stack(cols[2:], axis=1).astype(np.int32)
    keys = np.where(extra >= 0, rng.random(extra.shape), 2.0)  # shuffle, blanks last
    extra = np.take_along_axis(extra, np.argsort(keys, axis=1), axis=1)
    mat = np.column_stack([principal, cols[0], cols[1], extra]).astype(np.int32)
    mat = _dedupe_compact(mat)
    return np.ascontiguousarray(mat[:, : 1 + MAX_SECONDARY])


def procedures(model: m.Model, t: I64, d: I64, newborn: B, rng: np.random.Generator) -> I32:
    """(n, 7) procedure matrix: template procedures, then up to 3 safe extra non-OR
    procedures of the MDC (for cases without a template procedure the first extra is the
    principal procedure, which no ADRG looks at); -1 padded."""
    n = len(t)
    base = model.tpl.px[t]
    has_proc = base[:, 0] >= 0
    kind = model.drg_adrg_type[d]
    lam = np.select([kind == 0, kind == 1], [1.0, 0.8], 0.4)
    n_extra = np.minimum(rng.poisson(lam), 3)
    medical_none = ~has_proc & (rng.random(n) < 0.45)
    n_extra = np.where(~has_proc, np.where(medical_none, 0, np.maximum(n_extra, 1)), n_extra)
    n_extra = np.where(newborn & (rng.random(n) < 0.6), 0, n_extra)
    pool = model.tpl.mdc[t].astype(np.int64)
    cols = [base[:, k] for k in range(base.shape[1])]
    for k in range(3):
        code = draw(model.pools.extra_px, pool, rng.random(n), 2.0)
        cols.append(np.where(n_extra > k, code, -1))
    return _dedupe_compact(np.stack(cols, axis=1).astype(np.int32))


def departments(
    model: m.Model, t: I64, surgical: B, age: I64, level: I64, tcm: B, rng: np.random.Generator
) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.str_]]:
    """(admission_dept, discharge_dept) 诊疗科目 codes consistent with the MDC."""
    n = len(t)
    keys = [a[:2] if a[:2] in DEPTS else a[0] for a in model.tpl.adrg]
    medical_of = np.array([DEPTS[k][0] for k in keys])
    surgical_of = np.array([DEPTS[k][1] for k in keys])
    med = medical_of[t]
    sur = surgical_of[t]
    letters = np.array(model.plan.mdc_order)[model.tpl.mdc[t]]
    child = (age < 14) & ~np.isin(letters, ["P", "O", "C", "D"])
    med = np.where(child, "07", med)
    sur = np.where(child & ~np.isin(sur, ["10", "11", "12"]), "08", sur)
    u = rng.random((n, 3))
    general = ~child & ~np.isin(letters, ["O", "P"])
    med = np.where(tcm & (u[:, 0] < 0.45) & general, "50", med)
    med = np.where((level == 1) & (u[:, 1] < 0.5) & general, "03", med)
    discharge = np.where(surgical, sur, med)
    admission = np.where(surgical & (u[:, 2] < 0.08), med, discharge)
    admission = np.where(~surgical & (u[:, 2] > 0.97), "20", admission)
    return admission, discharge


def discharge_way(
    suffix: I64, pre_mdc: B, newborn: B, low: B, level: I64, rng: np.random.Generator
) -> npt.NDArray[np.str_]:
    """离院方式: mostly 1; 2/3/4/9 sometimes; 5 (death) likelier in severe groups."""
    n = len(suffix)
    death = _DEATH_BY_SUFFIX[suffix] * np.where(pre_mdc, 4.0, 1.0) * np.where(newborn, 0.5, 1.0)
    death = death * np.where(low, 3.0, 1.0)
    transfer = np.where(level == 1, 0.05, 0.025) * np.where(low, 3.0, 1.0)
    probs = np.stack(
        [
            np.zeros(n),
            transfer,
            np.full(n, 0.01),
            np.where(low, 0.06, 0.025),
            death,
            np.full(n, 0.01),
        ],
        axis=1,
    )
    probs[:, 0] = 1.0 - probs[:, 1:].sum(axis=1)
    cum = np.cumsum(probs, axis=1)
    pick = (rng.random(n)[:, None] > cum).sum(axis=1)
    ways: npt.NDArray[np.str_] = _WAYS[np.minimum(pick, len(_WAYS) - 1)]
    return ways
