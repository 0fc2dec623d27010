"""Group a batch of cases with Polars and NumPy (no Python loop over rows).

1. Split the code fields and explode them (one row per code), map the codes to
   indices of the compiled input tables with one ``replace_strict`` per column.
2. Gather per-code term bitsets (``uint64`` words) for the principal diagnosis and
   the principal procedure and ``&`` them: the candidate terms of every case (the
   literals on the principal codes only are folded into these tables).
3. The "any code / secondary code in a set" literals put back or clear terms by
   per-code term bitsets OR-ed over the case's codes (:mod:`batchlits`); the few
   remaining literals (sex, ages, weight, trauma sites) are evaluated as boolean
   vectors and clear the terms whose literals fail.
4. The lowest set bit is the winning term; its rule's outcome for the case's CC
   state (valid MCC / CC, computed on the exploded secondary diagnoses) is the
   result.  Failed input checks overwrite it, first check in plan order winning.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.engines.grouper.batchenv import (
    Bools,
    Codes,
    Env,
    Ints,
    Tables,
    Words,
    facts_query,
)
from yibao.engines.grouper.batchlits import (
    apply_gates,
    build_gates,
    fold_principal,
    open_words,
    primary_masks,
    split_terms,
)
from yibao.engines.grouper.compiler import (
    DYNAMIC,
    NEXT_ADRG,
    OUT_CHECK_FAILED,
    OUT_DX_NOT_MAPPED,
    OUT_PROC_NOT_MAPPED,
    OUT_UNGROUPABLE,
    CompiledPlan,
    read_fields,
)
from yibao.engines.grouper.errors import CaseFileError

RESULT_COLUMNS = ("status", "mdc", "adrg", "drg", "drg_name")
REQUIRED_COLUMNS = ("sex", "age_years", "diagnoses")


def _words(values: list[int], width: int) -> Words:
    size = width * 8
    raw = b"".join(v.to_bytes(size, "little") for v in values)
    return np.frombuffer(raw, dtype="<u8").reshape(len(values), width).astype(np.uint64)


def _tables(c: CompiledPlan) -> Tables:
    cached = c.batch_cache.get("tables")
    if isinstance(cached, Tables):
        return cached
    width = max(1, (len(c.terms) + 63) // 64)
    dx_items = list(c.dx_info.items())
    px_items = list(c.px_info.items())
    gated, static, rest = split_terms(c)
    dx_codes = [r[0] for _, r in dx_items]
    px_codes = [r[0] for _, r in px_items]
    dx_bits_t = np.ascontiguousarray(_words([r[1] for _, r in dx_items] + [0], width).T)
    px_bits_t = np.ascontiguousarray(
        _words([r[1] for _, r in px_items] + [c.no_px_bits, 0], width).T
    )
    fold_principal(c, static, (dx_bits_t, px_bits_t), (dx_codes, px_codes))
    gates = build_gates(c, gated, dx_codes, px_codes, width)
    primary = primary_masks(gates, width)
    groups: dict[tuple[int, ...], int] = {}
    for term in c.terms:
        if rest[term.index]:
            groups[rest[term.index]] = groups.get(rest[term.index], 0) | (1 << term.index)
    rule_last = [0] * len(c.rules)
    for term in c.terms:
        rule_last[term.rule] = term.index
    frame = pl.DataFrame(
        {col: [getattr(o, col) for o in c.outcomes] for col in RESULT_COLUMNS},
        schema=dict.fromkeys(RESULT_COLUMNS, pl.String),
    )
    tables = Tables(
        dx_keys=pl.Series([k for k, _ in dx_items], dtype=pl.String),
        px_keys=pl.Series([k for k, _ in px_items], dtype=pl.String),
        dx_index={k: i for i, (k, _) in enumerate(dx_items)},
        px_index={k: i for i, (k, _) in enumerate(px_items)},
        dx_codes=dx_codes,
        px_codes=px_codes,
        dx_bits_t=dx_bits_t,
        px_bits_t=px_bits_t,
        dx_open_t=dx_bits_t & ~primary[:, None],
        dx_open_words=open_words(dx_bits_t, primary),
        dx_level=np.array([r[2] for _, r in dx_items] + [0], dtype=np.int8),
        dx_cc_table=np.array([r[3] for _, r in dx_items] + [-1], dtype=np.int32),
        dx_exclusion=np.array([r[4] for _, r in dx_items] + [-1], dtype=np.int32),
        term_outcomes=np.array([list(o) for o in c.term_outcomes], dtype=np.int32).reshape(-1, 4),
        term_rule=np.array([term.rule for term in c.terms], dtype=np.int64),
        rule_last=np.array(rule_last, dtype=np.int64),
        needs_resolve=any(min(r.outcomes) < 0 for r in c.rules),
        fields=_fields(c),
        other_groups=[
            (k, [(w, np.uint64(m)) for w, m in enumerate(_words([v], width)[0]) if m])
            for k, v in groups.items()
        ],
        gates=gates,
        outcome_frame=frame,
    )
    c.batch_cache["tables"] = tables
    return tables


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


def _codes(frame: pl.DataFrame, n: int, keys: pl.Series, index: dict[str, int]) -> Codes:
    case = frame.get_column("case").to_numpy()
    idx = _code_index(frame.get_column("code"), keys, index)
    count = np.bincount(case, minlength=n)
    starts = np.cumsum(count) - count
    bad = np.zeros(n, dtype=bool)
    bad[case[idx < 0]] = True
    return Codes(case, starts, idx, count, bad)


#: a word with every term bit set
ALL_TERMS = np.uint64(0xFFFF_FFFF_FFFF_FFFF)

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


def _fields(c: CompiledPlan) -> frozenset[str]:
    """The optional input fields (ICU hours, length of stay, …) the plan's tests read."""
    return read_fields(c)


def batch_env(compiled: CompiledPlan, df: pl.DataFrame) -> tuple[Env, pl.DataFrame]:
    """The case facts of ``df`` and its exploded procedure codes (``case``, ``code``)."""
    t, n = _tables(compiled), df.height
    queries = [
        _codes_query(compiled, df, "diagnoses", empty_is_none=False),
        facts_query(df, compiled, t.fields),
    ]
    if "procedures" in df.columns:
        queries.append(_codes_query(compiled, df, "procedures", empty_is_none=True))
    frames = pl.collect_all(queries)
    dx = _codes(frames[0], n, t.dx_keys, t.dx_index)
    px_frame = (
        frames[2] if len(frames) > 2 else pl.DataFrame(schema={"case": pl.Int64, "code": pl.String})
    )
    px = _codes(px_frame, n, t.px_keys, t.px_index)
    return Env(compiled, t, n, dx, px, frames[1]), px_frame


def _outcomes(compiled: CompiledPlan, t: Tables, df: pl.DataFrame, *, retry: bool = True) -> Ints:
    """Outcome index (row of ``t.outcome_frame``) per case."""
    plan = compiled.plan
    env, px_frame = batch_env(compiled, df)
    dx, px = env.dx, env.px

    # candidate terms, one uint64 row per word of the term bitset: shape (W, n)
    bits = t.dx_open_t[:, env.pdx] & t.px_bits_t[:, env.ppx]

    def base(words: Ints, cases: Ints) -> Words:
        found: Words = t.dx_bits_t[words, env.pdx[cases]] & t.px_bits_t[words, env.ppx[cases]]
        return found

    if t.gates:
        apply_gates(t.gates, dx, px, bits, base, t.dx_open_words[env.pdx])
    for literals, words in t.other_groups:
        sat = env.literal(literals[0]).copy()
        for lit in literals[1:]:
            sat &= env.literal(lit)
        for w, mask in words:
            bits[w] &= np.where(sat, ALL_TERMS, ~mask)
    found, term = _lowest_set_bit(bits)
    outcome: Ints = np.where(found, t.term_outcomes[term, env.cc_state()], OUT_UNGROUPABLE)
    if t.needs_resolve:
        _resolve(compiled, t, env, bits, term, outcome)
    if retry and plan.retry_single_procedures:
        _retry(compiled, t, df, px_frame, env, outcome)
    _apply_failures(compiled, env, outcome)
    return outcome


def _resolve(c: CompiledPlan, t: Tables, env: Env, bits: Words, term: Ints, outcome: Ints) -> None:
    """Evaluate condition splits (DYNAMIC) and walk on past ADRGs without a DRG (NEXT_ADRG)."""
    state = env.cc_state()
    while True:
        dyn = np.flatnonzero(outcome == DYNAMIC)
        if dyn.size:
            rules = t.term_rule[term[dyn]]
            for rule in np.unique(rules):
                rows = dyn[rules == rule]
                outcome[rows] = env.split(c.rules[int(rule)], rows)
        redo = np.flatnonzero(outcome == NEXT_ADRG)
        if not redo.size:
            return
        sub = bits[:, redo]
        last = t.rule_last[t.term_rule[term[redo]]]  # clear the terms up to the rule's last
        for w in range(sub.shape[0]):
            keep = np.clip(last - w * 64 + 1, 0, 64).astype(np.uint64)  # low bits to clear
            mask = np.where(
                keep >= 64, np.uint64(0), ~((np.uint64(1) << (keep % np.uint64(64))) - np.uint64(1))
            )
            sub[w] &= mask
        bits[:, redo] = sub
        found, new = _lowest_set_bit(sub)
        term[redo] = new
        outcome[redo] = np.where(found, t.term_outcomes[new, state[redo]], OUT_UNGROUPABLE)


def _retry(
    c: CompiledPlan, t: Tables, df: pl.DataFrame, px_frame: pl.DataFrame, env: Env, outcome: Ints
) -> None:
    """``no_group_retry``: regroup no-group cases with each other procedure alone (§7)."""
    px = env.px
    cases = (outcome == OUT_UNGROUPABLE) & (px.count > 1) & ~px.bad & ~env.dx.bad
    if not cases.any():
        return
    rows = np.flatnonzero(cases[px.case] & px.secondary())  # exploded order: case, then position
    owner = px.case[rows]
    sub = df.select(pl.all().gather(pl.Series(owner))).with_columns(
        px_frame.get_column("code").gather(pl.Series(rows)).alias("procedures")
    )
    got = _outcomes(c, t, sub, retry=False)
    ok = got != OUT_UNGROUPABLE
    first_case, first = np.unique(owner[ok], return_index=True)
    outcome[first_case] = got[ok][first]


def _lowest_set_bit(bits: Words) -> tuple[Bools, Ints]:
    """Per column of ``bits`` (W, n): any bit set, and the index of the lowest one (else 0)."""
    nonzero = bits != 0
    found: Bools = nonzero.any(axis=0)
    word = nonzero.argmax(axis=0)
    x = bits[word, np.arange(bits.shape[1])]
    low = x & (~x + np.uint64(1))
    term = word.astype(np.int64) * 64 + np.bitwise_count(low - np.uint64(1)).astype(np.int64)
    return found, np.where(found, term, 0)


def _apply_failures(c: CompiledPlan, env: Env, outcome: Ints) -> None:
    """Overwrite ``outcome`` for failed input checks; the first check in plan order wins
    (the plan's own, then the integer inputs it needs: ``CompiledPlan.check_order``)."""
    checks, needs, newborn_days = c.check_order, c.needs_ints, c.plan.newborn_max_age_days
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
        **{f"{f}_present": (~env.ints[f][1], OUT_CHECK_FAILED) for f in needs},
    }
    for check in reversed(checks):
        mask, out = failures[check]
        outcome[mask] = out
