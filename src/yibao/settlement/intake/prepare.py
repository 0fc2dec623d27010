"""Intake's CPU half: parse and QC the 4101A messages, build the case frames.

No database here: :func:`prepare_lists` turns a batch of settlement-list messages into
a :class:`PreparedBatch` (per list its settlement id, institution, discharge month,
findings and raw text; the case frames of the lists that may be grouped), so that it
can run in a worker process while the previous batch is written
(:mod:`yibao.settlement.intake.bulk`).  Screening and storing are in
:mod:`~yibao.settlement.intake.screen` and :mod:`~yibao.settlement.intake.store`.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal
from typing import Any, Final

import polars as pl

from yibao.engines.qc import (
    Finding,
    check_batch,
    default_ruleset,
    identity_problems,
    mangled_ids,
    to_case_frames,
)
from yibao.engines.qc.intake import gc_paused
from yibao.engines.qc.schema import label
from yibao.engines.qc.values import to_date


@dataclass
class PreparedBatch:
    """Parsed, checked lists and the case frames of those that may be grouped.

    The CPU-only half of intake (no database): :func:`prepare_lists` can run in
    another process while the previous batch is written (see ``settlement.intake.bulk``).
    Per list, by position: settlement id, institution code, discharge month, findings and the
    message as received (JSON text); plain lists, cheap to pass between processes.
    The frames hold the lists without blocking findings, the last occurrence of
    each (institution, settlement id) only; ``list_index`` is the list's position.
    """

    setl_ids: list[str | None]
    hospital_codes: list[str | None]
    months: list[str | None]  # YYYY-MM of dscg_time as sent (None when not a date)
    findings: list[list[Finding]]
    raws: list[str]
    cases: pl.DataFrame
    diagnoses: pl.DataFrame
    procedures: pl.DataFrame
    #: the 就医地 (mdtrtarea_admvs) each list says it was treated in, as sent
    places: list[str | None] = dataclass_field(default_factory=list)


def prepare_lists(messages: list[Any], plan: Any) -> PreparedBatch:
    """Parse + QC (rules checked against ``plan``) + case frames; never raises on bad data."""
    with gc_paused():
        batch = check_batch(messages, default_ruleset(), plan)
        setl_ids: list[str | None] = []
        codes: list[str | None] = []
        months: list[str | None] = []
        places: list[str | None] = []
        last: dict[tuple[str, str], int] = {}
        for i, parsed in enumerate(batch.lists):
            setl_id = parsed.setl_id
            code = (parsed.message.setlinfo.fixmedins_code if parsed.message else None) or None
            bad = identity_problems(parsed)
            if bad:  # an unusable key (too long, control characters): refused, not stored
                batch.findings[i][:0] = bad
                setl_id = code = None
            else:  # a person or visit number a spreadsheet shortened: held
                batch.findings[i] += mangled_ids(parsed)
            setl_ids.append(setl_id)
            codes.append(code)
            months.append(_month(parsed.message.setlinfo.dscg_time if parsed.message else None))
            places.append(parsed.message.setlinfo.mdtrtarea_admvs if parsed.message else None)
            if setl_id and code:
                last[(code, setl_id)] = i
        raws = [parsed.raw_json() for parsed in batch.lists]
        clean = [
            batch.lists[i]
            for i in sorted(last.values())
            if not any(f.severity == "blocking" for f in batch.findings[i])
        ]
        cases, diagnoses, procedures = _storable(
            *to_case_frames(clean, with_index=True), batch.findings
        )
    return PreparedBatch(
        setl_ids, codes, months, batch.findings, raws, cases, diagnoses, procedures, places
    )


#: payment columns a list need not give (a bare 4101A has none, ADR 0005)
MONEY_DEFAULTS: Final = (
    "fund_payment",
    "account_payment",
    "cash_payment",
    "self_pay_full",
    "self_pay_first",
)
#: case columns a list must give to be stored and priced (the case field → the list's
#: field, for the finding), whatever the rule set in force requires
STORED: Final = {
    "setl_id": "setlinfo.setl_id",
    "mdtrt_id": "setlinfo.mdtrt_id",
    "psn_no": "setlinfo.psn_no",
    "sex": "setlinfo.gend",
    "insutype": "setlinfo.insutype",
    "admission_time": "setlinfo.adm_time",
    "discharge_time": "setlinfo.dscg_time",
    "discharge_way": "setlinfo.dscg_way",
    "total_cost": "setlinfo.medfee_sumamt",
}


def _storable(
    cases: pl.DataFrame,
    diagnoses: pl.DataFrame,
    procedures: pl.DataFrame,
    findings: list[list[Finding]],
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The case frames as they can be stored: amounts a list need not give (fee
    categories, payments) are 0 and a missing name is empty (each already a QC
    warning where the rules ask for it); a list without a value the case cannot do
    without is held with a blocking finding naming the field, instead of failing the
    batch's insert."""
    money = [c for c in cases.columns if c.startswith("fee_")] + [
        c for c in MONEY_DEFAULTS if c in cases.columns
    ]
    cases = cases.with_columns(
        *(pl.col(c).fill_null(pl.lit(Decimal(0)).cast(cases.schema[c])) for c in money),
        pl.col("psn_name").fill_null(""),
    )
    held: set[int] = set()
    for column, field in STORED.items():
        for i in cases.filter(pl.col(column).is_null())["list_index"].to_list():
            held.add(int(i))
            findings[int(i)].append(
                Finding(
                    rule_id="QC001",
                    severity="blocking",
                    field=field,
                    value=None,
                    message=f"{label(*field.split('.'))}（{field}）：缺少，无法入库、分组和计价，"
                    "请补充后重新上传",
                    kind="completeness",
                )
            )
    if not held:
        return cases, diagnoses, procedures
    keep = ~pl.col("list_index").is_in(sorted(held))
    return cases.filter(keep), diagnoses.filter(keep), procedures.filter(keep)


def _month(value: Any) -> str | None:
    """``YYYY-MM`` of a discharge time as sent (business time), when readable."""
    day = to_date(value) if isinstance(value, str) else None
    return None if day is None else f"{day.year:04d}-{day.month:02d}"
