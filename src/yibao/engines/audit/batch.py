"""A month of claims as Polars frames: the batch path (事后).

Input frames (extra columns are ignored; money and quantities as Decimal, string or
integer — not float — with the places of :mod:`yibao.engines.audit.claims`):

* ``patients``: ``psn_no``, ``sex``, ``birth_date``;
* ``encounters``: ``mdtrt_id``, ``psn_no``, ``care_mode``, ``hospital_level``,
  ``begin_date``, ``end_date`` (null: in hospital), ``dept_code``, ``insutype``;
* ``diagnoses``: ``mdtrt_id``, ``dx_seq`` (1 = principal), ``dx_code``;
* ``lines``: ``mdtrt_id``, ``rx_id``, ``item_code``, ``quantity``, ``price``, ``amount``,
  ``day``, ``days`` (null: 1), ``dept_code`` (null or empty: the encounter's).

Each family is a join of the lines with a table of its checks (rule, item code,
bound) and a vectorised condition; windows are ``over`` groups.  Only the findings
(typically a small share of the lines) go through Python, to get the same words, ids and
half-up amounts as the single path (:func:`yibao.engines.audit.findings.to_finding`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import polars as pl

from yibao.engines.audit import batch_groups
from yibao.engines.audit.claims import Claim
from yibao.engines.audit.errors import AuditError
from yibao.engines.audit.findings import VIOLATING, Finding, Hit, one_course_amount, to_finding
from yibao.engines.audit.plans import LINE_FAMILIES, ItemPlan, Plan, principal_only
from yibao.engines.audit.single import dept_prefixes, fen, line_facts, upper_prefixes

Q: Final = 4  # quantity places
P: Final = 6  # price places
MONEY: Final = pl.Decimal(18, 2)
FINDING_SCHEMA: Final[dict[str, pl.DataType | type[pl.DataType]]] = {
    "jr_id": pl.String,
    "rule_id": pl.String,
    "rule_version": pl.Int64,
    "rule_name": pl.String,
    "family": pl.String,
    "psn_no": pl.String,
    "mdtrt_id": pl.String,
    "vola_cont": pl.String,
    "vola_amt": MONEY,
    "sev_deg": pl.Int64,
    "vola_evid": pl.String,
    "vola_bhvr_type": pl.String,
    "result_type": pl.String,
    "lines": pl.List(
        pl.Struct({"rx_id": pl.String, "vola_item_type": pl.Int64, "vola_amt": MONEY})
    ),
}


def _scaled(name: str, places: int) -> pl.Expr:
    expr: pl.Expr = (pl.col(name).cast(pl.Decimal(38, places)) * 10**places).cast(pl.Int64)
    return expr


def prepare(patients: pl.DataFrame, encounters: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """One row per audited line (quantity > 0) with its encounter and patient: ``q``
    (1/10,000 units), ``p`` (1/1,000,000 yuan), ``a`` (fen), ``dept`` (effective), ``age``
    (completed years at the encounter's begin), ``day_key``, ``month_key``."""
    enc = encounters.select(
        pl.col("mdtrt_id").cast(pl.String),
        pl.col("psn_no").cast(pl.String),
        pl.col("care_mode").cast(pl.String),
        pl.col("hospital_level").cast(pl.String),
        pl.col("begin_date").cast(pl.Date),
        pl.col("end_date").cast(pl.Date),
        pl.col("dept_code").cast(pl.String).fill_null("").alias("enc_dept"),
        pl.col("insutype").cast(pl.String).fill_null(""),
    )
    pat = patients.select(
        pl.col("psn_no").cast(pl.String),
        pl.col("sex").cast(pl.String),
        pl.col("birth_date").cast(pl.Date),
    )
    x = lines.select(
        pl.col("mdtrt_id").cast(pl.String),
        pl.col("rx_id").cast(pl.String),
        pl.col("item_code").cast(pl.String),
        _scaled("quantity", Q).alias("q"),
        _scaled("price", P).alias("p"),
        _scaled("amount", 2).alias("a"),
        pl.col("day").cast(pl.Date),
        pl.col("days").cast(pl.Int64),
        pl.col("dept_code").cast(pl.String).fill_null(""),
    ).filter(pl.col("q") > 0)
    missing = x.join(enc, on="mdtrt_id", how="anti")
    if missing.height:
        raise AuditError(
            f"lines：就诊 {missing['mdtrt_id'][0]} 不在 encounters 中", field="lines.mdtrt_id"
        )
    x = x.join(enc, on="mdtrt_id", how="left").join(pat, on="psn_no", how="left")
    if x["sex"].null_count():
        raise AuditError("encounters：有参保人不在 patients 中", field="encounters.psn_no")
    b, d = pl.col("begin_date"), pl.col("birth_date")
    before = (b.dt.month() < d.dt.month()) | (
        (b.dt.month() == d.dt.month()) & (b.dt.day() < d.dt.day())
    )
    return x.with_columns(
        pl.when(pl.col("dept_code") == "")
        .then(pl.col("enc_dept"))
        .otherwise(pl.col("dept_code"))
        .alias("dept"),
        (b.dt.year().cast(pl.Int64) - d.dt.year().cast(pl.Int64) - before.cast(pl.Int64)).alias(
            "age"
        ),
        pl.col("day").dt.strftime("%Y-%m-%d").alias("day_key"),
        pl.col("day").dt.strftime("%Y-%m").alias("month_key"),
    )


def _dx_lists(diagnoses: pl.DataFrame) -> pl.DataFrame:
    return (
        diagnoses.select(
            pl.col("mdtrt_id").cast(pl.String),
            pl.col("dx_seq").cast(pl.Int64),
            pl.col("dx_code").cast(pl.String),
        )
        .sort("mdtrt_id", "dx_seq")
        .group_by("mdtrt_id", maintain_order=True)
        .agg(pl.col("dx_code").alias("dx"))
    )


def _checks(plans: Sequence[ItemPlan], family: str) -> pl.DataFrame:
    """The check table of a line family: (rule_idx, item_code, bound columns)."""
    rows: list[dict[str, Any]] = []
    for plan in plans:
        idx, principal = plan.rule.index, principal_only(plan.rule)
        for code, v in plan.values.items():
            base = {"rule_idx": idx, "item_code": code}
            if family == "indication":  # compared as single.dx_key does
                rows += [base | {"prefix": x, "principal": principal} for x in upper_prefixes(v)]
            elif family == "specialty":  # compared as single.dept_prefixes does
                rows += [base | {"prefix": x, "principal": principal} for x in dept_prefixes(v)]
            elif family == "age":
                rows.append(base | {"vmin": v[0], "vmax": v[1]})
            elif family == "insutype":
                rows.append(base | {"need": "," + ",".join(sorted(v)) + ","})
            elif family == "price":
                rows += [base | {"level": lv, "cap": int(cap.scaleb(P))} for lv, cap in v.items()]
            else:
                rows.append(base | {"need": v})
    schema: dict[str, Any] = {"rule_idx": pl.Int64, "item_code": pl.String}
    extra: dict[str, dict[str, Any]] = {
        "indication": {"prefix": pl.String, "principal": pl.Boolean},
        "specialty": {"prefix": pl.String, "principal": pl.Boolean},
        "age": {"vmin": pl.Int64, "vmax": pl.Int64},
        "price": {"level": pl.String, "cap": pl.Int64},
    }
    schema |= extra.get(family, {"need": pl.String})
    return pl.DataFrame(rows, schema=schema, orient="row")


# long: one vectorised condition per line family, side by side
def _violations(x: pl.DataFrame, dx: pl.DataFrame, family: str, c: pl.DataFrame) -> pl.DataFrame:
    """Rows (rule_idx + line columns) of lines breaking a line family's check."""
    if family == "indication":
        pairs = x.select("mdtrt_id", "item_code").unique().join(c, on="item_code")
        exploded = dx.with_columns(pl.int_ranges(1, pl.col("dx").list.len() + 1).alias("seq"))
        exploded = exploded.explode("dx", "seq")
        matched = (
            pairs.join(exploded, on="mdtrt_id", how="left")
            .with_columns(
                (
                    pl.col("dx").is_not_null()
                    & pl.col("dx")
                    .str.to_uppercase()
                    .str.replace_all(".", "", literal=True)
                    .str.starts_with(pl.col("prefix"))
                    & (~pl.col("principal") | (pl.col("seq") == 1))
                ).alias("ok")
            )
            .group_by("rule_idx", "mdtrt_id", "item_code")
            .agg(pl.col("ok").any())
            .filter(~pl.col("ok"))
            .drop("ok")
        )
        return x.join(matched, on=["mdtrt_id", "item_code"])
    if family == "specialty":
        j = x.with_row_index("row").join(c, on="item_code").filter(pl.col("dept") != "")
        bad = (
            j.with_columns(
                pl.col("dept").str.to_uppercase().str.starts_with(pl.col("prefix")).alias("ok")
            )
            .group_by("rule_idx", "row")
            .agg(pl.col("ok").any())
            .filter(~pl.col("ok"))
            .drop("ok")
        )
        return x.with_row_index("row").join(bad, on="row").drop("row")
    if family == "price":
        j = x.join(c, left_on=["item_code", "hospital_level"], right_on=["item_code", "level"])
        return j.filter(pl.col("p") > pl.col("cap"))
    j = x.join(c, on="item_code")
    if family == "sex":
        cond = pl.col("sex").is_in(["1", "2"]) & (pl.col("sex") != pl.col("need"))
    elif family == "age":
        cond = (pl.col("vmin").is_not_null() & (pl.col("age") < pl.col("vmin"))) | (
            pl.col("vmax").is_not_null() & (pl.col("age") > pl.col("vmax"))
        )
    elif family == "care_mode":
        cond = pl.col("care_mode") != pl.col("need")
    elif family == "institution":
        cond = pl.col("hospital_level") < pl.col("need")
    else:  # insutype
        cond = (pl.col("insutype") != "") & ~pl.col("need").str.contains(
            pl.concat_str(pl.lit(","), pl.col("insutype"), pl.lit(",")), literal=True
        )
    return j.filter(cond)


def line_family_hits(
    plans: Sequence[ItemPlan], x: pl.DataFrame, dx: pl.DataFrame, family: str
) -> list[Hit]:
    """Findings of one line family: per (rule, encounter, item) its breaking lines."""
    by_idx = {p.rule.index: p for p in plans}
    v = _violations(x, dx, family, _checks(plans, family))
    if v.is_empty():
        return []
    groups = (
        v.group_by("rule_idx", "mdtrt_id", "item_code")
        .agg(
            pl.col("rx_id"),
            pl.col("a"),
            pl.col("p"),
            pl.col("q"),
            pl.col("dept").unique().sort().alias("depts"),
            pl.col("psn_no", "sex", "age", "birth_date", "begin_date").first(),
            pl.col("care_mode", "hospital_level", "insutype").first(),
        )
        .join(dx, on="mdtrt_id", how="left")
    )
    hits = []
    for r in groups.iter_rows(named=True):
        plan, code = by_idx[r["rule_idx"]], r["item_code"]
        value = plan.values[code]
        facts: dict[str, Any] = {"code": code, "n": len(r["rx_id"])}
        if family == "price":
            cap = value[r["hospital_level"]]
            out = [
                (rx, VIOLATING, min(fen((Decimal(p).scaleb(-P) - cap) * Decimal(q).scaleb(-Q)), a))
                for rx, p, q, a in zip(r["rx_id"], r["p"], r["q"], r["a"], strict=True)
            ]
            facts |= {
                "level": r["hospital_level"],
                "cap": cap,
                "price": Decimal(max(r["p"])).scaleb(-P),
                "qty": Decimal(sum(r["q"])).scaleb(-Q),
            }
        else:
            out = [(rx, VIOLATING, a) for rx, a in zip(r["rx_id"], r["a"], strict=True)]
            enc = {
                "sex": r["sex"],
                "age": r["age"],
                "birth": r["birth_date"],
                "begin": r["begin_date"],
                "dx": tuple(r["dx"] or ()),
                "mode": r["care_mode"],
                "level": r["hospital_level"],
                "insutype": r["insutype"],
            }
            facts |= line_facts(family, value, principal_only(plan.rule), enc, tuple(r["depts"]))
        hits.append(Hit(plan.rule, r["psn_no"], r["mdtrt_id"], f"{code}|", facts, out))
    return hits


def audit_frames(
    plans: Sequence[Plan],
    names: Mapping[str, str],
    patients: pl.DataFrame,
    encounters: pl.DataFrame,
    diagnoses: pl.DataFrame,
    lines: pl.DataFrame,
) -> pl.DataFrame:
    """Findings of ``plans`` on the frames (module docstring), as :data:`FINDING_SCHEMA`."""
    x = prepare(patients, encounters, lines)
    dx = _dx_lists(diagnoses)
    hits: list[Hit] = []
    item_plans = [p for p in plans if isinstance(p, ItemPlan)]
    for family in LINE_FAMILIES:
        mine = [p for p in item_plans if p.rule.family == family and p.values]
        if mine:
            hits += line_family_hits(mine, x, dx, family)
    hits += batch_groups.count_family_hits(item_plans, x, encounters)
    hits += batch_groups.relation_family_hits(plans, x)
    # Polars groups come in no fixed order: sort by what identifies a finding, jr_id last
    found = [(h, to_finding(h, names)) for h in one_course_amount(hits)]
    found.sort(key=lambda p: (p[0].rule.index, p[0].mdtrt_id, p[0].detail, p[1].jr_id))
    return findings_frame(f for _, f in found)


def findings_frame(findings: Iterable[Finding]) -> pl.DataFrame:
    """Findings as a frame (:data:`FINDING_SCHEMA`; ``lines`` a list of structs)."""
    rows = [
        (
            f.jr_id,
            f.rule_id,
            f.rule_version,
            f.rule_name,
            f.family,
            f.psn_no,
            f.mdtrt_id,
            f.vola_cont,
            f.vola_amt,
            f.sev_deg,
            f.vola_evid,
            f.vola_bhvr_type,
            f.result_type,
            [
                {"rx_id": x.rx_id, "vola_item_type": x.vola_item_type, "vola_amt": x.vola_amt}
                for x in f.lines
            ],
        )
        for f in findings
    ]
    return pl.DataFrame(rows, schema=FINDING_SCHEMA, orient="row")


def claims_to_frames(
    claims: Iterable[Claim],
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(patients, encounters, diagnoses, lines) frames of claims (a patient listed once)."""
    pats: dict[str, tuple[Any, ...]] = {}
    encs, dxs, lines = [], [], []
    for cl in claims:
        p, e = cl.patient, cl.encounter
        pats.setdefault(p.psn_no, (p.psn_no, p.sex, p.birth_date))
        encs.append(
            (
                *(e.mdtrt_id, p.psn_no, e.care_mode, e.hospital_level),
                *(e.begin_date, e.end_date, e.dept_code, e.insutype),
            )
        )
        dxs += [(e.mdtrt_id, i + 1, code) for i, code in enumerate(e.diagnoses)]
        lines += [
            (
                *(e.mdtrt_id, ln.rx_id, ln.item_code, str(ln.quantity), str(ln.price)),
                *(str(ln.amount), ln.day, ln.days, ln.dept_code),
            )
            for ln in cl.lines
        ]
    s, d, i = pl.String, pl.Date, pl.Int64
    return (
        pl.DataFrame(
            list(pats.values()), schema={"psn_no": s, "sex": s, "birth_date": d}, orient="row"
        ),
        pl.DataFrame(
            encs,
            schema={"mdtrt_id": s, "psn_no": s, "care_mode": s, "hospital_level": s}
            | {"begin_date": d, "end_date": d, "dept_code": s, "insutype": s},
            orient="row",
        ),
        pl.DataFrame(dxs, schema={"mdtrt_id": s, "dx_seq": i, "dx_code": s}, orient="row"),
        pl.DataFrame(
            lines,
            schema={"mdtrt_id": s, "rx_id": s, "item_code": s, "quantity": s, "price": s}
            | {"amount": s, "day": d, "days": i, "dept_code": s},
            orient="row",
        ),
    )
