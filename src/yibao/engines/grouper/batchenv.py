"""Case facts of a batch and the vectorised evaluation of literals, conditions and splits.

Used by :mod:`yibao.engines.grouper.batch`; every test here has the same meaning as
its closure in :mod:`yibao.engines.grouper.prims` (the parity tests keep them in step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.engines.grouper.batchlits import Gate
from yibao.engines.grouper.compiler import (
    NEEDED_INTS,
    OPTIONAL_TEXTS,
    OR_KEY,
    CompiledPlan,
    Rule,
)
from yibao.engines.grouper.conditions import AllOf, AnyOf, Condition, Not, Prim
from yibao.engines.grouper.inputs import INT_PATTERN
from yibao.engines.grouper.prims import HAS_CC, HAS_MCC

Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
Words = npt.NDArray[np.uint64]

#: integer facts every plan reads, and the optional ones of the regional additions
BASE_INTS = ("age_years", "age_days", "birth_weight_g")
EXTRA_INTS = NEEDED_INTS
EXTRA_TEXTS = OPTIONAL_TEXTS


@dataclass
class Tables:
    """Per-plan arrays for the batch path (built once, cached on the compiled plan)."""

    dx_keys: pl.Series
    px_keys: pl.Series
    dx_index: dict[str, int]  # code → position in dx_keys (small batches look up here)
    px_index: dict[str, int]
    dx_codes: list[str]
    px_codes: list[str]
    dx_bits_t: Words  # (W, n_dx + 1); last column: dummy (all zero)
    px_bits_t: Words  # (W, n_px + 2); column n_px: "no procedure", last column: dummy
    dx_open_t: Words  # dx_bits_t without the terms a primary gate row puts back
    dx_open_words: Words  # per dx column: the words with such terms (``open_words``)
    dx_level: npt.NDArray[np.int8]  # HAS_CC / HAS_MCC bits of the code
    dx_cc_table: npt.NDArray[np.int32]
    dx_exclusion: npt.NDArray[np.int32]
    term_outcomes: npt.NDArray[np.int32]  # (n_terms, 4); NEXT_ADRG / DYNAMIC are negative
    term_rule: Ints  # rule index per term
    rule_last: Ints  # last term index per rule
    #: some rule can give NEXT_ADRG or DYNAMIC (regional additions §1, §4)
    needs_resolve: bool
    #: optional input fields the plan reads (``los_days``, ``icu_hours``, ``dept`` …)
    fields: frozenset[str]
    #: literal ids → [(word, mask)] of the terms that need exactly these literals (besides
    #: those folded into the candidate tables and the gates, see ``batchlits``)
    other_groups: list[tuple[tuple[int, ...], list[tuple[int, np.uint64]]]]
    #: "some code in a set" literals folded into per-code term bitsets (``batchlits``)
    gates: list[Gate]
    outcome_frame: pl.DataFrame
    member_cache: dict[tuple[str, str], Bools] = field(default_factory=dict)


@dataclass
class Codes:
    """Exploded code rows of one column: owning case and table index (-1: not in the map)."""

    case: Ints  # per row
    starts: Ints  # per case: first row
    idx: npt.NDArray[np.int32]  # per row
    count: Ints  # per case: number of codes
    bad: Bools  # some code of the case is not in the map

    _secondary: Bools | None = None

    def secondary(self) -> Bools:
        """Per row: not the first code of its case (D[1:] / P[1:])."""
        if self._secondary is None:
            self._secondary = np.arange(self.case.size) != self.starts[self.case]
        return self._secondary


def int_expr(df: pl.DataFrame, name: str) -> pl.Expr:
    """Integer values, null unless given as an integer (same rules as ``inputs.as_int``)."""
    if name not in df.columns:
        return pl.lit(None, dtype=pl.Int64).alias(name)
    col, dtype = pl.col(name), df.schema[name]
    if dtype.is_integer():
        return col.cast(pl.Int64, strict=False)
    if dtype.is_float():
        whole = col.is_finite() & (col == col.floor())
        return pl.when(whole).then(col.cast(pl.Int64, strict=False)).alias(name)
    if dtype == pl.String:
        return pl.when(col.str.contains(INT_PATTERN)).then(col.cast(pl.Int64, strict=False))
    return pl.lit(None, dtype=pl.Int64).alias(name)


def text_expr(df: pl.DataFrame, name: str) -> pl.Expr:
    """Text values for ``field_in`` (same rules as ``inputs.as_text``: missing → "")."""
    if name not in df.columns:
        return pl.lit("", dtype=pl.String).alias(name)
    return pl.col(name).cast(pl.String).fill_null("").alias(name)


def sex_expr(df: pl.DataFrame, valid: tuple[int, ...], accepted: tuple[str, ...] | None) -> pl.Expr:
    """Sex code per case, 0 when missing or invalid (same rules as ``inputs.plan_sex``)."""
    texts = [str(v) for v in valid] if accepted is None else list(accepted)
    if isinstance(df.schema["sex"], pl.String | pl.Categorical | pl.Enum):
        number = (
            pl.col("sex")
            .cast(pl.String)
            .replace_strict(texts, [int(x) for x in texts], default=0, return_dtype=pl.Int64)
        )
    elif accepted is not None:  # the text-only check: numbers never pass
        return pl.lit(0, dtype=pl.Int64).alias("sex")
    else:
        number = int_expr(df, "sex")
    return pl.when(number.is_in(list(valid))).then(number).otherwise(0).alias("sex")


def facts_query(df: pl.DataFrame, c: CompiledPlan, fields: frozenset[str]) -> pl.LazyFrame:
    """Sex, ages, weight and the optional fields the plan reads, one row per case."""
    plan = c.plan
    ints = [*BASE_INTS, *(f for f in EXTRA_INTS if f in fields)]
    return df.lazy().select(
        sex_expr(df, plan.sex_values, plan.sex_accepted),
        *(int_expr(df, col).alias(col) for col in ints),
        *(text_expr(df, col) for col in EXTRA_TEXTS if col in fields),
    )


class Env:
    """Per-batch case facts and the vectorised evaluation of "other" literals."""

    def __init__(
        self, c: CompiledPlan, t: Tables, n: int, dx: Codes, px: Codes, facts: pl.DataFrame
    ) -> None:
        self.c, self.t, self.n, self.dx, self.px = c, t, n, dx, px
        dx_starts = np.minimum(dx.starts, max(dx.idx.size - 1, 0))
        first = dx.idx[dx_starts] if dx.idx.size else np.full(n, -1, dtype=np.int64)
        self.pdx = np.where((dx.count > 0) & ~dx.bad, first, t.dx_bits_t.shape[1] - 1)
        px_starts = np.minimum(px.starts, max(px.idx.size - 1, 0))
        pfirst = px.idx[px_starts] if px.idx.size else np.full(n, -1, dtype=np.int64)
        no_px, dummy_px = t.px_bits_t.shape[1] - 2, t.px_bits_t.shape[1] - 1
        self.ppx = np.where(px.count == 0, no_px, np.where(px.bad, dummy_px, pfirst))
        self.sex: Ints = facts.get_column("sex").to_numpy().astype(np.int64)
        self.ints = {
            name: self._ints(facts, name)
            for name in (*BASE_INTS, *EXTRA_INTS)
            if name in facts.columns
        }
        self.age = self.ints["age_years"]
        self.days = self.ints["age_days"]
        self.weight = self.ints["birth_weight_g"]
        self.facts = facts
        self._cache: dict[int, Bools] = {}
        self._prims: dict[Prim, Bools] = {}
        self._state: Ints | None = None

    @staticmethod
    def _ints(facts: pl.DataFrame, name: str) -> tuple[Ints, Bools]:
        col = facts.get_column(name)
        return col.fill_null(0).to_numpy().astype(np.int64), col.is_not_null().to_numpy()

    def cc_state(self) -> Ints:
        """``HAS_CC | HAS_MCC`` bits per case (valid CC / valid MCC among D[1:])."""
        if self._state is not None:
            return self._state
        dx, t = self.dx, self.t
        level = t.dx_level[dx.idx]  # unknown codes (-1) read the dummy level 0
        rows = np.flatnonzero(level)
        rows = rows[rows != dx.starts[dx.case[rows]]]  # secondary diagnoses only
        case = dx.case[rows]
        valid = t.dx_cc_table[dx.idx[rows]] != t.dx_exclusion[self.pdx[case]]
        level = level[rows]
        state = np.zeros(self.n, dtype=np.int64)
        state[case[valid & ((level & HAS_CC) != 0)]] = HAS_CC
        state[case[valid & ((level & HAS_MCC) != 0)]] |= HAS_MCC
        self._state = state
        return state

    def literal(self, lit: int) -> Bools:
        vec = self._cache.get(lit)
        if vec is None:
            prim, positive = self.c.literals[lit]
            vec = self.prim(prim)
            if not positive:
                vec = ~vec
            self._cache[lit] = vec
        return vec

    def cond(self, cond: Condition, rows: Ints) -> Bools:
        """A whole condition tree for the cases ``rows`` (DRG splits given as conditions)."""
        if isinstance(cond, Prim):
            return self.prim_at(cond, rows)
        if isinstance(cond, Not):
            inner: Bools = ~self.cond(cond.arg, rows)
            return inner
        out = self.cond(cond.args[0], rows)
        for arg in cond.args[1:]:
            if isinstance(cond, AllOf):
                out &= self.cond(arg, rows)
            else:
                assert isinstance(cond, AnyOf)
                out |= self.cond(arg, rows)
        return out

    def split(self, rule: Rule, rows: Ints) -> Ints:
        """Outcome per case of ``rows`` of a rule whose DRG splits are conditions."""
        state = self.cc_state()[rows]
        res = np.full(rows.size, rule.fallback, dtype=np.int64)
        open_ = np.ones(rows.size, dtype=bool)
        for step in rule.splits:
            if step.condition is None:
                hit: Bools = ((np.int64(step.states or 0) >> state) & 1).astype(bool)
            else:
                hit = self.cond(step.condition, rows)
            hit = hit & open_
            res[hit] = step.outcome
            open_ &= ~hit
            if not open_.any():
                break
        return res

    def prim(self, p: Prim) -> Bools:
        vec = self._prims.get(p)
        if vec is None:
            vec = self._prim(p)
            self._prims[p] = vec
        return vec

    def _member(self, kind: str, name: str) -> Bools:
        key = (kind, name)
        found = self.t.member_cache.get(key)
        if found is None:
            codes = self.t.dx_codes if kind == "dx" else self.t.px_codes
            if kind == "tag":
                table, tag = name.split("\x00")
                tags = self.c.tag_maps[table]
                hits = [tags.get(code) == tag for code in codes]
            else:
                members = self.c.list_sets[name]
                hits = [code in members for code in codes]
            found = np.array([*hits, False, False], dtype=bool)
            self.t.member_cache[key] = found
        return found

    def _any(
        self, codes: Codes, member: Bools, secondary: bool = False, rows: Ints | None = None
    ) -> Bools:
        """Some code (some secondary code) of each case (of ``rows``) is in ``member``."""
        # unknown codes have idx -1, which reads the dummy (False) last element
        if rows is None:
            out = np.zeros(self.n, dtype=bool)
            hit = member[codes.idx]
            if secondary:
                hit &= codes.secondary()
            out[codes.case[hit]] = True
            return out
        count = codes.count[rows]
        owner = np.repeat(np.arange(rows.size), count)
        offset = np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
        hit = member[codes.idx[codes.starts[rows][owner] + offset]]
        if secondary:
            hit &= offset != 0
        found = np.zeros(rows.size, dtype=bool)
        found[owner[hit]] = True
        return found

    def prim_at(self, p: Prim, rows: Ints) -> Bools:
        """``prim(p)[rows]``, computed for those cases only when they are few."""
        vec = self._prims.get(p)
        if vec is not None:
            return vec[rows]
        if rows.size * 4 >= self.n or p.op == "trauma_site_count_ge":
            return self.prim(p)[rows]
        return self._prim(p, rows)

    # long: one branch per primitive of the plan language, as in prims.prim_fn
    def _prim(self, p: Prim, rows: Ints | None = None) -> Bools:
        """The primitive for every case, or for the cases ``rows`` (not trauma sites)."""
        op, name = p.op, p.list_name or ""

        def at(vec: npt.NDArray[Any]) -> npt.NDArray[Any]:
            return vec if rows is None else vec[rows]

        size = self.n if rows is None else rows.size
        has_px: Bools = at(self.px.count) > 0
        if op in ("true", "false"):
            return np.full(size, op == "true", dtype=bool)
        if op == "has_procedure":
            return has_px
        if op in ("has_mcc", "has_cc"):
            bit = HAS_MCC if op == "has_mcc" else HAS_CC
            has: Bools = (at(self.cc_state()) & bit) != 0
            return has
        if op == "principal_dx_in":
            principal: Bools = self._member("dx", name)[at(self.pdx)]
            return principal
        if op in ("any_dx_in", "secondary_dx_in"):
            return self._any(self.dx, self._member("dx", name), op == "secondary_dx_in", rows)
        if op in ("principal_proc_in", "principal_proc_is_or"):
            member = self._member("px", name if op == "principal_proc_in" else OR_KEY)
            first: Bools = has_px & member[at(self.ppx)]
            return first
        if op in ("any_proc_in", "secondary_proc_in"):
            return self._any(self.px, self._member("px", name), op == "secondary_proc_in", rows)
        if op in ("any_proc_is_or", "no_or_proc"):
            hit = self._any(self.px, self._member("px", OR_KEY), False, rows)
            return hit if op == "any_proc_is_or" else ~hit
        if op == "proc_tag_present":
            tag = self._member("tag", f"{p.table}\x00{p.tag}")
            return self._any(self.px, tag, False, rows)
        if op == "sex_is":
            same: Bools = at(self.sex) == p.value
            return same
        if op == "age_years_eq":
            equal: Bools = at(self.age[1]) & (at(self.age[0]) == p.value)
            return equal
        if op == "age_days_le":
            within: Bools = at(self.days[1]) & (at(self.days[0]) <= (p.value or 0))
            return within
        if op == "birth_weight_range":
            w, given = at(self.weight[0]), at(self.weight[1])
            ok: Bools = given & (w != 0)
            if p.ge is not None:
                ok &= w >= p.ge
            if p.lt is not None:
                ok &= w < p.lt
            return ok
        if op == "field_range":
            v, given = self.ints[p.field or ""]
            return self._range(p, at(v), at(given))
        if op == "field_in":
            col = self.facts.get_column(p.field or "")
            found: Bools = at(col.is_in(list(p.values or ())).to_numpy())
            return found
        assert op == "trauma_site_count_ge"
        return self._trauma(p)

    @staticmethod
    def _range(p: Prim, v: Ints, given: Bools) -> Bools:
        ok = given.copy()
        for bound, test in (
            (p.ge, np.greater_equal),
            (p.gt, np.greater),
            (p.le, np.less_equal),
            (p.lt, np.less),
            (p.eq, np.equal),
        ):
            if bound is not None:
                ok &= test(v, bound)
        return ok

    def _trauma(self, p: Prim) -> Bools:
        key = ("site", p.sites or "")
        site = self.t.member_cache.get(key)
        if site is None:
            sites = self.c.site_maps[p.sites or ""]
            site = np.array([sites.get(code, -1) for code in self.t.dx_codes] + [-1])
            self.t.member_cache[key] = site
        code_site = site[self.dx.idx]  # idx -1 reads the dummy -1 at the end
        hit = code_site >= 0
        case = self.dx.case[hit]
        code_site = code_site[hit].astype(np.int64)
        width = int(site.max()) + 2
        pairs = np.unique(case * width + code_site)
        counts = np.bincount(pairs // width, minlength=self.n)
        result: Bools = counts >= (p.min_count or 0)
        return result
