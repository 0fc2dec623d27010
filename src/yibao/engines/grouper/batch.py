"""Group a batch of cases with Polars and NumPy (no Python loop over rows).

1. Split the code fields and explode them (one row per code), map the codes to
   indices of the compiled input tables with one ``replace_strict`` per column.
2. Gather per-code term bitsets (``uint64`` words) for the principal diagnosis and
   the principal procedure and ``&`` them: the candidate terms of every case.
3. Evaluate the few "other" literals (sex, ages, weight, any-code, tags, trauma
   sites) as boolean vectors and clear the terms whose literals fail.
4. The lowest set bit is the winning term; its rule's outcome for the case's CC
   state (valid MCC / CC, computed on the exploded secondary diagnoses) is the
   result.  Failed input checks overwrite it, first check in plan order winning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.engines.grouper.compiler import (
    OR_KEY,
    OUT_CHECK_FAILED,
    OUT_DX_NOT_MAPPED,
    OUT_PROC_NOT_MAPPED,
    OUT_UNGROUPABLE,
    CompiledPlan,
)
from yibao.engines.grouper.conditions import Prim
from yibao.engines.grouper.errors import CaseFileError
from yibao.engines.grouper.inputs import INT_PATTERN

RESULT_COLUMNS = ("status", "mdc", "adrg", "drg", "drg_name")
REQUIRED_COLUMNS = ("sex", "age_years", "diagnoses")

Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
Words = npt.NDArray[np.uint64]


@dataclass
class _Tables:
    """Per-plan arrays for the batch path (built once, cached on the compiled plan)."""

    dx_keys: pl.Series
    px_keys: pl.Series
    dx_index: dict[str, int]  # code → position in dx_keys (small batches look up here)
    px_index: dict[str, int]
    dx_codes: list[str]
    px_codes: list[str]
    dx_bits_t: Words  # (W, n_dx + 1); last column: dummy (all zero)
    px_bits_t: Words  # (W, n_px + 2); column n_px: "no procedure", last column: dummy
    dx_level: npt.NDArray[np.int8]
    dx_cc_table: npt.NDArray[np.int32]
    dx_exclusion: npt.NDArray[np.int32]
    term_outcomes: npt.NDArray[np.int32]  # (n_terms, 3)
    #: literal ids → [(word, mask)] of the terms that need exactly these literals
    other_groups: list[tuple[tuple[int, ...], list[tuple[int, np.uint64]]]]
    outcome_frame: pl.DataFrame
    member_cache: dict[tuple[str, str], Bools] = field(default_factory=dict)


def _words(values: list[int], width: int) -> Words:
    size = width * 8
    raw = b"".join(v.to_bytes(size, "little") for v in values)
    return np.frombuffer(raw, dtype="<u8").reshape(len(values), width).astype(np.uint64)


def _tables(c: CompiledPlan) -> _Tables:
    cached = c.batch_cache.get("tables")
    if isinstance(cached, _Tables):
        return cached
    width = max(1, (len(c.terms) + 63) // 64)
    dx_items = list(c.dx_info.items())
    px_items = list(c.px_info.items())
    dx_bits = _words([r[1] for _, r in dx_items] + [0], width)
    px_bits = _words([r[1] for _, r in px_items] + [c.no_px_bits, 0], width)
    groups: dict[tuple[int, ...], int] = {}
    for term in c.terms:
        if term.other:
            groups[term.other] = groups.get(term.other, 0) | (1 << term.index)
    frame = pl.DataFrame(
        {col: [getattr(o, col) for o in c.outcomes] for col in RESULT_COLUMNS},
        schema=dict.fromkeys(RESULT_COLUMNS, pl.String),
    )
    tables = _Tables(
        dx_keys=pl.Series([k for k, _ in dx_items], dtype=pl.String),
        px_keys=pl.Series([k for k, _ in px_items], dtype=pl.String),
        dx_index={k: i for i, (k, _) in enumerate(dx_items)},
        px_index={k: i for i, (k, _) in enumerate(px_items)},
        dx_codes=[r[0] for _, r in dx_items],
        px_codes=[r[0] for _, r in px_items],
        dx_bits_t=np.ascontiguousarray(dx_bits.T),
        px_bits_t=np.ascontiguousarray(px_bits.T),
        dx_level=np.array([r[2] for _, r in dx_items] + [0], dtype=np.int8),
        dx_cc_table=np.array([r[3] for _, r in dx_items] + [-1], dtype=np.int32),
        dx_exclusion=np.array([r[4] for _, r in dx_items] + [-1], dtype=np.int32),
        term_outcomes=np.array([list(o) for o in c.term_outcomes], dtype=np.int32).reshape(-1, 3),
        other_groups=[
            (k, [(w, np.uint64(m)) for w, m in enumerate(_words([v], width)[0]) if m])
            for k, v in groups.items()
        ],
        outcome_frame=frame,
    )
    c.batch_cache["tables"] = tables
    return tables


@dataclass
class _Codes:
    """Exploded code rows of one column: owning case and table index (-1: not in the map)."""

    case: Ints  # per row
    starts: Ints  # per case: first row
    idx: npt.NDArray[np.int32]  # per row
    count: Ints  # per case: number of codes
    bad: Bools  # some code of the case is not in the map


def _codes_query(
    c: CompiledPlan, df: pl.DataFrame, name: str, *, empty_is_none: bool
) -> pl.LazyFrame:
    """One row per code: ``case`` (row number) and the ``code`` text."""
    col = pl.col(name)
    rows = pl.int_range(pl.len(), dtype=pl.Int64).alias("case")
    if isinstance(df.schema[name], pl.List):
        query = df.lazy().select(rows, col.cast(pl.List(pl.String)).alias("code"))
        query = query.filter(pl.col("code").list.len() > 0)
    else:
        text = col.cast(pl.String).fill_null("")
        first = c.separators[0]
        for sep in c.separators[1:]:
            text = text.str.replace_all(sep, first, literal=True)
        query = df.lazy().select(rows, text.alias("code"))
        if empty_is_none:  # an empty procedure field means "no procedures"
            query = query.filter(pl.col("code") != "")
        query = query.with_columns(pl.col("code").str.split(first))
    return query.explode("code")


#: up to this many codes a dict lookup beats hashing the whole dictionary (a few
#: settlement lists at intake); larger batches map them in one vectorised pass
SMALL_LOOKUP = 4096


def _code_index(codes: pl.Series, keys: pl.Series, index: dict[str, int]) -> npt.NDArray[np.int32]:
    """Position of each code in ``keys`` (-1: not in the map, or null)."""
    if codes.len() <= SMALL_LOOKUP:
        found = (index.get(code, -1) if code is not None else -1 for code in codes.to_list())
        return np.fromiter(found, dtype=np.int32, count=codes.len())
    values = pl.Series(np.arange(keys.len(), dtype=np.int32))
    mapped = codes.replace_strict(keys, values, default=-1, return_dtype=pl.Int32).fill_null(-1)
    return mapped.to_numpy()


def _codes(frame: pl.DataFrame, n: int, keys: pl.Series, index: dict[str, int]) -> _Codes:
    case = frame.get_column("case").to_numpy()
    idx = _code_index(frame.get_column("code"), keys, index)
    count = np.bincount(case, minlength=n)
    starts = np.cumsum(count) - count
    bad = np.zeros(n, dtype=bool)
    bad[case[idx < 0]] = True
    return _Codes(case, starts, idx, count, bad)


def _int_expr(df: pl.DataFrame, name: str) -> pl.Expr:
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


def _sex_expr(df: pl.DataFrame, valid: tuple[int, ...]) -> pl.Expr:
    """Sex code per case, 0 when missing or invalid (same rules as ``inputs.as_sex``)."""
    if isinstance(df.schema["sex"], pl.String | pl.Categorical | pl.Enum):
        number = (
            pl.col("sex")
            .cast(pl.String)
            .replace_strict([str(v) for v in valid], list(valid), default=0, return_dtype=pl.Int64)
        )
    else:
        number = _int_expr(df, "sex")
    return pl.when(number.is_in(list(valid))).then(number).otherwise(0).alias("sex")


#: rows grouped at a time; bounds the memory of the per-case bitsets (W × 8 bytes × 2)
CHUNK_ROWS = 500_000


def group_batch(compiled: CompiledPlan, df: pl.DataFrame) -> pl.DataFrame:
    """Group every row of ``df`` (columns as ``caseframe.GROUPER_INPUT``).

    Returns ``df`` with the columns ``status``, ``mdc``, ``adrg``, ``drg`` and
    ``drg_name`` added (replacing columns of those names).  ``sex`` may be int or
    str; code fields are strings with ``|`` or ``,`` separators (or lists).  Bad
    rows never stop the batch: they get their status.  Raises
    :class:`CaseFileError` only when a required column is missing.
    """
    missing = [col for col in REQUIRED_COLUMNS if col not in df.columns]
    if missing:
        raise CaseFileError(
            f'病例数据缺少必需列 "{missing[0]}" (case batch: missing column "{missing[0]}")'
        )
    t = _tables(compiled)
    if df.height == 0:
        return df.with_columns(pl.lit(None, dtype=pl.String).alias(col) for col in RESULT_COLUMNS)
    parts = [
        _outcomes(compiled, t, df.slice(start, CHUNK_ROWS))
        for start in range(0, df.height, CHUNK_ROWS)
    ]
    outcome = parts[0] if len(parts) == 1 else np.concatenate(parts)
    result = t.outcome_frame.select(pl.all().gather(pl.Series(outcome, dtype=pl.Int64)))
    return df.with_columns(result.get_columns())


def _outcomes(compiled: CompiledPlan, t: _Tables, df: pl.DataFrame) -> Ints:
    """Outcome index (row of ``t.outcome_frame``) per case."""
    n, plan = df.height, compiled.plan
    facts = df.lazy().select(
        _sex_expr(df, plan.sex_values),
        *(_int_expr(df, col).alias(col) for col in ("age_years", "age_days", "birth_weight_g")),
    )
    queries = [_codes_query(compiled, df, "diagnoses", empty_is_none=False), facts]
    if "procedures" in df.columns:
        queries.append(_codes_query(compiled, df, "procedures", empty_is_none=True))
    frames = pl.collect_all(queries)
    dx = _codes(frames[0], n, t.dx_keys, t.dx_index)
    no_px = pl.DataFrame(schema={"case": pl.Int64, "code": pl.String})
    px = _codes(frames[2] if len(frames) > 2 else no_px, n, t.px_keys, t.px_index)
    env = _Env(compiled, t, n, dx, px, frames[1])

    # candidate terms, one uint64 row per word of the term bitset: shape (W, n)
    bits = t.dx_bits_t[:, env.pdx] & t.px_bits_t[:, env.ppx]
    for literals, words in t.other_groups:
        sat = env.literal(literals[0]).copy()
        for lit in literals[1:]:
            sat &= env.literal(lit)
        for w, mask in words:
            bits[w] = np.where(sat, bits[w], bits[w] & ~mask)
    found, term = _lowest_set_bit(bits)
    outcome: Ints = np.where(found, t.term_outcomes[term, env.cc_state()], OUT_UNGROUPABLE)
    _apply_failures(plan.input_checks, plan.newborn_max_age_days, env, outcome)
    return outcome


def _lowest_set_bit(bits: Words) -> tuple[Bools, Ints]:
    """Per column of ``bits`` (W, n): any bit set, and the index of the lowest one (else 0)."""
    nonzero = bits != 0
    found: Bools = nonzero.any(axis=0)
    word = nonzero.argmax(axis=0)
    x = bits[word, np.arange(bits.shape[1])]
    low = x & (~x + np.uint64(1))
    term = word.astype(np.int64) * 64 + np.bitwise_count(low - np.uint64(1)).astype(np.int64)
    return found, np.where(found, term, 0)


def _apply_failures(checks: tuple[str, ...], newborn_days: int, env: _Env, outcome: Ints) -> None:
    """Overwrite ``outcome`` for failed input checks; the first check in plan order wins."""
    age, age_ok = env.age
    days, days_ok = env.days
    newborn = age_ok & (age == 0)
    failures = {
        "dx_codes_mapped": (env.dx.bad, OUT_DX_NOT_MAPPED),
        "proc_codes_mapped": (env.px.bad, OUT_PROC_NOT_MAPPED),
        "sex_valid": (env.sex == 0, OUT_CHECK_FAILED),
        "age_years_present": (~age_ok, OUT_CHECK_FAILED),
        "age_days_present_if_age_0": (newborn & ~days_ok, OUT_CHECK_FAILED),
        "birth_weight_present_if_newborn": (
            newborn & days_ok & (days <= newborn_days) & ~env.weight[1],
            OUT_CHECK_FAILED,
        ),
        "dx_list_not_empty": (env.dx.count == 0, OUT_CHECK_FAILED),
    }
    for check in reversed(checks):
        mask, out = failures[check]
        outcome[mask] = out


class _Env:
    """Per-batch case facts and the vectorised evaluation of "other" literals."""

    def __init__(
        self, c: CompiledPlan, t: _Tables, n: int, dx: _Codes, px: _Codes, facts: pl.DataFrame
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
        self.age = self._ints(facts, "age_years")
        self.days = self._ints(facts, "age_days")
        self.weight = self._ints(facts, "birth_weight_g")
        self._cache: dict[int, Bools] = {}

    @staticmethod
    def _ints(facts: pl.DataFrame, name: str) -> tuple[Ints, Bools]:
        col = facts.get_column(name)
        return col.fill_null(0).to_numpy().astype(np.int64), col.is_not_null().to_numpy()

    def cc_state(self) -> Ints:
        """0 / 1 / 2 per case: no valid CC/MCC, valid CC only, valid MCC."""
        dx, t = self.dx, self.t
        level = t.dx_level[dx.idx]  # unknown codes (-1) read the dummy level 0
        rows = np.flatnonzero(level)
        rows = rows[rows != dx.starts[dx.case[rows]]]  # secondary diagnoses only
        case = dx.case[rows]
        valid = t.dx_cc_table[dx.idx[rows]] != t.dx_exclusion[self.pdx[case]]
        level = level[rows]
        state = np.zeros(self.n, dtype=np.int64)
        state[case[valid & (level == 1)]] = 1
        state[case[valid & (level == 2)]] = 2
        return state

    def literal(self, lit: int) -> Bools:
        vec = self._cache.get(lit)
        if vec is None:
            prim, positive = self.c.literals[lit]
            vec = self._prim(prim)
            if not positive:
                vec = ~vec
            self._cache[lit] = vec
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

    def _any(self, codes: _Codes, member: Bools) -> Bools:
        # unknown codes have idx -1, which reads the dummy (False) last element
        out = np.zeros(self.n, dtype=bool)
        out[codes.case[member[codes.idx]]] = True
        return out

    def _prim(self, p: Prim) -> Bools:
        op, name = p.op, p.list_name or ""
        has_px = self.px.count > 0
        if op == "true":
            return np.ones(self.n, dtype=bool)
        if op == "principal_dx_in":
            return self._member("dx", name)[self.pdx]
        if op == "any_dx_in":
            return self._any(self.dx, self._member("dx", name))
        if op in ("principal_proc_in", "principal_proc_is_or"):
            member = self._member("px", name if op == "principal_proc_in" else OR_KEY)
            return has_px & member[self.ppx]
        if op == "any_proc_in":
            return self._any(self.px, self._member("px", name))
        if op in ("any_proc_is_or", "no_or_proc"):
            hit = self._any(self.px, self._member("px", OR_KEY))
            return hit if op == "any_proc_is_or" else ~hit
        if op == "proc_tag_present":
            return self._any(self.px, self._member("tag", f"{p.table}\x00{p.tag}"))
        if op == "sex_is":
            same: Bools = self.sex == p.value
            return same
        if op == "age_years_eq":
            equal: Bools = self.age[1] & (self.age[0] == p.value)
            return equal
        if op == "age_days_le":
            within: Bools = self.days[1] & (self.days[0] <= (p.value or 0))
            return within
        if op == "birth_weight_range":
            w, given = self.weight
            ok: Bools = given & (w != 0)
            if p.ge is not None:
                ok &= w >= p.ge
            if p.lt is not None:
                ok &= w < p.lt
            return ok
        assert op == "trauma_site_count_ge"
        return self._trauma(p)

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
