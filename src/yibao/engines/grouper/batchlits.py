"""Literals of the batch path folded into per-code term bitsets instead of tested one by one.

Regional plans write most surgical ADRGs as ``any_proc_in`` (some procedure of the
case in a list) rather than as a principal-procedure test, so a plan has a few
hundred such literals; testing each one as a boolean vector over the batch costs a
pass over every code row per literal.  Instead:

* a literal "some code (some secondary code) of the case is in set X", or its
  negation, goes into a :class:`Gate`: per code, the bitset of the terms whose set
  holds the code.  OR-ing the gate rows of a case's codes (one ``reduceat`` over the
  few code rows in some set) gives the terms whose literal holds.  A term's first
  required such literal is its *primary* row: its terms are taken out of the
  per-diagnosis candidate table up front and put back only for the cases (and the
  words their principal diagnosis opens) where the set holds, so the cases without
  a hit cost nothing.  Further required literals and negated ones clear terms.
* a literal that depends on the principal codes only (a negated ``principal_dx_in``
  / ``principal_proc_in`` / ``principal_proc_is_or``, ``has_procedure``) is folded
  into the per-code candidate tables once (:func:`fold_principal`).

What remains (sex, ages, weight, trauma sites, fields) stays with
:meth:`batchenv.Env.literal`.  Unknown codes (index -1) read the all-zero last
column, as in ``Env._any``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import numpy.typing as npt

from yibao.engines.grouper.compiler import OR_KEY, CompiledPlan
from yibao.engines.grouper.conditions import Prim

if TYPE_CHECKING:
    from yibao.engines.grouper.batchenv import Codes

Ints = npt.NDArray[np.int64]
Words = npt.NDArray[np.uint64]

#: op of a literal "some code of the case is in a set" → (code kind, only secondary codes,
#: the op means "no code is in the set"): ``no_or_proc`` is ``not any_proc_is_or``
FOLDABLE: Mapping[str, tuple[str, bool, bool]] = {
    "any_dx_in": ("dx", False, False),
    "secondary_dx_in": ("dx", True, False),
    "any_proc_in": ("px", False, False),
    "secondary_proc_in": ("px", True, False),
    "any_proc_is_or": ("px", False, False),
    "no_or_proc": ("px", False, True),
    "proc_tag_present": ("px", False, False),
}
#: (kind, secondary codes only, forbidden, set key): a folded literal
FoldKey: TypeAlias = tuple[str, bool, bool, str]


@dataclass(frozen=True)
class Gate:
    """The folded literals of one code kind (dx / px), all codes or secondary ones only.

    Row ``r`` of ``table`` gates the terms ``mask[r]`` of term word ``words[r]``: per
    code, the gated terms whose set holds the code.  A term folds each of its
    required literals into its own row (a word can have several rows); ``role[r]``
    says how the row acts (``PRIMARY``, ``REQUIRED`` or ``FORBIDDEN``: the terms need
    no code of the case in their sets).
    """

    kind: str
    secondary: bool
    words: Ints
    mask: Words
    role: npt.NDArray[np.int8]  # PRIMARY, REQUIRED or FORBIDDEN
    table: Words  # (rows, n_codes + 1); last column: dummy (all zero)
    member: npt.NDArray[np.bool_]  # per code (and the dummy): in some set of the gate


def fold_key(prim: Prim, positive: bool) -> FoldKey | None:
    """``(kind, secondary, forbidden, set key)`` of a foldable literal, else None."""
    found = FOLDABLE.get(prim.op)
    if found is None:
        return None
    kind, secondary, negated = found
    if prim.op == "proc_tag_present":
        key = f"tag\x00{prim.table}\x00{prim.tag}"
    elif prim.op in ("any_proc_is_or", "no_or_proc"):
        key = OR_KEY
    else:
        key = prim.list_name or ""
    return kind, secondary, negated == positive, key


def _set_codes(c: CompiledPlan, key: str) -> frozenset[str] | set[str]:
    """The grouper codes of a set key (a code list, the OR list or a procedure tag)."""
    if key.startswith("tag\x00"):
        _, table, tag = key.split("\x00")
        return {code for code, t in c.tag_maps[table].items() if t == tag}
    return c.list_sets[key]


def _columns(codes: Sequence[str]) -> dict[str, list[int]]:
    """Grouper code → the columns (input codes) mapped to it."""
    out: dict[str, list[int]] = {}
    for i, code in enumerate(codes):
        out.setdefault(code, []).append(i)
    return out


#: row roles: the first required folded literal of a term (its terms are cleared from the
#: per-code candidate table up front and put back where the set holds), a further
#: required one (the terms are cleared where the set fails), a forbidden one
PRIMARY, REQUIRED, FORBIDDEN = 0, 1, 2
#: (folded literal, role, layer) → bitset of the terms it gates; a term's second further
#: required literal of the same gate goes to layer 1, and so on
Gated: TypeAlias = dict[tuple[FoldKey, int, int], int]


#: literals that depend on the principal diagnosis or procedure only (beyond the positive
#: ones the compiler indexes): folded into the per-code candidate tables
PRINCIPAL_ONLY = frozenset(
    {
        ("principal_dx_in", False),
        ("principal_proc_in", False),
        ("principal_proc_is_or", False),
        ("has_procedure", True),
        ("has_procedure", False),
    }
)


def split_terms(c: CompiledPlan) -> tuple[Gated, dict[int, int], list[tuple[int, ...]]]:
    """The gated literals, the principal-only literals (literal → bitset of its terms) and
    per term its remaining literals."""
    gated: Gated = {}
    static: dict[int, int] = {}
    rest: list[tuple[int, ...]] = []
    for term in c.terms:
        left = []
        layers: dict[tuple[str, bool], int] = {}
        primary = False
        for lit in term.other:
            prim, positive = c.literals[lit]
            key = fold_key(prim, positive)
            if (prim.op, positive) in PRINCIPAL_ONLY:
                static[lit] = static.get(lit, 0) | (1 << term.index)
                continue
            if key is None:
                left.append(lit)
                continue
            if key[2]:  # no code in any forbidden set: one row (the union) is enough
                role, layer = FORBIDDEN, 0
            elif not primary:
                role, layer, primary = PRIMARY, 0, True
            else:
                role, layer = REQUIRED, layers.get(key[:2], 0)
                layers[key[:2]] = layer + 1
            slot = (key, role, layer)
            gated[slot] = gated.get(slot, 0) | (1 << term.index)
        rest.append(tuple(left))
    return gated, static, rest


def fold_principal(
    c: CompiledPlan,
    static: Mapping[int, int],
    tables: tuple[Words, Words],
    codes: tuple[Sequence[str], Sequence[str]],
) -> None:
    """Clear from the candidate tables (dx, px) the terms whose principal-only literal
    fails for the column's code (px columns: codes, "no procedure", dummy)."""
    n_px = len(codes[1])
    for lit, bits in static.items():
        prim, positive = c.literals[lit]
        table = tables[0] if prim.op == "principal_dx_in" else tables[1]
        if prim.op == "has_procedure":  # fails for "no procedure" / for every code
            cols = np.array([n_px]) if positive else np.arange(n_px)
        else:  # a negated "principal code in set": fails for the codes of the set
            name = OR_KEY if prim.op == "principal_proc_is_or" else prim.list_name or ""
            members = c.list_sets[name]
            kind_codes = codes[0] if prim.op == "principal_dx_in" else codes[1]
            cols = np.array([i for i, code in enumerate(kind_codes) if code in members])
        for w in range(table.shape[0]):
            part = (bits >> (64 * w)) & ((1 << 64) - 1)
            if part and cols.size:
                table[w, cols] &= ~np.uint64(part)


def build_gates(
    c: CompiledPlan, gated: Gated, dx_codes: Sequence[str], px_codes: Sequence[str], width: int
) -> list[Gate]:
    """One :class:`Gate` per (kind, secondary, primary rows or not) that gates some term.

    The primary rows and the others go to separate gates: the codes in the sets of the
    few further-required and forbidden literals are fewer, and so are their code rows.
    """
    word_mask = (1 << 64) - 1
    gates = []
    for kind, codes in (("dx", dx_codes), ("px", px_codes)):
        columns = _columns(codes)
        for secondary, restrict in ((False, False), (False, True), (True, False), (True, True)):
            # table row of each (role, layer, word), and the (row, columns, bits) to set
            rows: dict[tuple[int, int, int], int] = {}
            cells: list[tuple[int, npt.NDArray[np.int64], int]] = []
            for ((k, sec, _, name), role, layer), bits in sorted(gated.items()):
                if (k, sec, role != PRIMARY) != (kind, secondary, restrict):
                    continue
                cols = [i for code in _set_codes(c, name) for i in columns.get(code, ())]
                at = np.array(cols, dtype=np.int64)
                for w in range(width):
                    part = (bits >> (64 * w)) & word_mask
                    if part:
                        row = rows.setdefault((role, layer, w), len(rows))
                        cells.append((row, at, part))
            if not rows:
                continue
            order = sorted(rows, key=lambda r: rows[r])
            table = np.zeros((len(rows), len(codes) + 1), dtype=np.uint64)
            masks = [0] * len(rows)
            for row, at, part in cells:
                table[row, at] |= np.uint64(part)
                masks[row] |= part
            gates.append(
                Gate(
                    kind,
                    secondary,
                    np.array([w for _, _, w in order], dtype=np.int64),
                    np.array(masks, dtype=np.uint64),
                    np.array([role for role, _, _ in order], dtype=np.int8),
                    table,
                    np.asarray(table.any(axis=0), dtype=np.bool_),
                )
            )
    return gates


def primary_masks(gates: Sequence[Gate], width: int) -> Words:
    """Per term word: the terms of the primary rows (cleared from the candidate table)."""
    out = np.zeros(width, dtype=np.uint64)
    for gate in gates:
        for r, w in enumerate(gate.words):
            if gate.role[r] == PRIMARY:
                out[w] |= gate.mask[r]
    return out


def open_words(dx_bits_t: Words, primary: Words) -> Words:
    """Per diagnosis column: bit ``w`` set when it makes a primary-row term of word ``w``
    a candidate (words from 64 on always count)."""
    out = np.zeros(dx_bits_t.shape[1], dtype=np.uint64)
    for w in range(dx_bits_t.shape[0]):
        if w >= 64:
            out[:] = ~np.uint64(0)
        elif primary[w]:
            out[(dx_bits_t[w] & primary[w]) != 0] |= np.uint64(1) << np.uint64(w)
    return out


def apply_gates(
    gates: Sequence[Gate],
    dx: Codes,
    px: Codes,
    bits: Words,
    base: Callable[[Ints, Ints], Words],
    open_: Words,
) -> None:
    """Put back (primary rows) or clear the candidate terms by their folded literals.

    ``bits`` (words × cases) are the candidates without the primary-row terms;
    ``base(words, cases)`` gives the candidates with them (pairwise); ``open_`` per
    case: the words whose primary-row terms can be candidates (see :func:`open_words`).
    The other rows (a gate of their own) come after all put-backs, and read only the
    cases that still have one of their terms.
    """
    for gate in gates:
        if gate.role[0] != PRIMARY:
            continue
        cases, hits = gate_hits(gate, dx if gate.kind == "dx" else px)
        if not cases.size:
            continue
        shift = np.minimum(gate.words, 63).astype(np.uint64)  # one row per word
        row, col = np.nonzero((open_[cases][None, :] >> shift[:, None]) & np.uint64(1))
        words, at = gate.words[row], cases[col]
        bits[words, at] |= base(words, at) & hits[row, col]
    for gate in gates:
        if gate.role[0] == PRIMARY:
            continue
        wanted = np.zeros(bits.shape[1], dtype=np.bool_)
        for r, w in enumerate(gate.words):
            wanted |= (bits[w] & gate.mask[r]) != 0
        among = np.flatnonzero(wanted)
        cases, hits = gate_hits(gate, dx if gate.kind == "dx" else px, among)
        for r, w in enumerate(gate.words):
            if gate.role[r] == FORBIDDEN:
                bits[w, cases] &= ~hits[r]
            else:  # REQUIRED: the terms stay where the set holds
                kept = bits[w, cases] & hits[r]
                bits[w, among] &= ~gate.mask[r]
                bits[w, cases] |= kept


def gate_hits(gate: Gate, codes: Codes, among: Ints | None = None) -> tuple[Ints, Words]:
    """The cases (of ``among``, sorted) with a code in some set of ``gate`` and, per row
    of the gate, their hits.

    Only the code rows in some set are read (few for most gates); cases come in
    order, one column of the hits each.
    """
    if among is None:
        rows = np.flatnonzero(gate.member[codes.idx])  # index -1 reads the dummy (False)
        if gate.secondary:  # the principal code does not count
            rows = rows[rows != codes.starts[codes.case[rows]]]
    else:
        count = codes.count[among]
        owner = np.repeat(np.arange(among.size), count)
        offset = np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
        rows = codes.starts[among][owner] + offset
        keep = gate.member[codes.idx[rows]]
        if gate.secondary:
            keep &= offset != 0
        rows = rows[keep]
    case = codes.case[rows]
    if not rows.size:
        return case, np.zeros((gate.words.size, 0), dtype=np.uint64)
    first = np.flatnonzero(np.concatenate(([True], case[1:] != case[:-1])))
    idx = codes.idx[rows]
    hits = np.empty((gate.words.size, first.size), dtype=np.uint64)
    for r in range(gate.words.size):  # row by row: contiguous gathers, 1-d reduceat
        hits[r] = np.bitwise_or.reduceat(gate.table[r].take(idx), first)
    return case[first], hits
