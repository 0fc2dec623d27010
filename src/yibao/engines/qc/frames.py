"""Settlement lists ↔ the shared case frames (:mod:`yibao.engines.caseframe`).

* :func:`to_case_frames` turns parsed lists into ``(cases, diagnoses, procedures)``
  with exactly the caseframe schemas (money ``Decimal(18, 2)``, Asia/Shanghai
  datetimes).  Unreadable values become nulls (QC reports them); lists without a
  ``setlinfo`` are skipped.
* :func:`from_case_frames` does the reverse, producing 4101A messages (plus
  ``iteminfo`` and the payment fields) with text values, as a HIS would send them:
  demo data and intake benchmarks.
* :func:`raw_frame` gives the raw JSON of each list for storage.

Mapping (4101A → case): fixmedins_code → hospital_code, mdtrtarea_admvs →
region_code, gend → sex, brdy → birth_date, age → age_years (0 when only nwb_age
is given), nwb_age → age_days (kept only when age_years is 0), first value of
nwb_bir_wt / mul_nwb_bir_wt → birth_weight_g, insutype, insuplc →
insured_region_code, adm_time / dscg_time, date of dscg_time → discharge_date,
act_ipt_days → los_days (else computed), adm_caty / dscg_caty, dscg_way,
medfee_sumamt → total_cost, iteminfo.amt per med_chrgitm → fee_* (0 for a
category not listed, an unknown category counts as 其他费; null without any
iteminfo), fund_pay_sumamt (else hifp_pay)
→ fund_payment, acct_pay, psn_cash_pay, fulamt_ownpay_amt, preselfpay_amt.
Diagnoses: western rows (diag_type 1 or empty) with a code, the principal first
(seq 0, is_principal), then the others in message order; procedures likewise
(oprn_oprt_type 1 first), procedure_date = oprn_oprt_date or the date of
oprn_oprt_begntime.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl

from yibao.engines.caseframe import CASES, DIAGNOSES, FEE_CATEGORIES, PROCEDURES
from yibao.engines.grouper import CompiledPlan, Plan
from yibao.engines.qc.intake import ParsedList
from yibao.engines.qc.schema import SetlInfo, SettlementList
from yibao.engines.qc.values import (
    to_date,
    to_datetime,
    to_decimal,
    to_duration,
    to_int,
    to_weights,
)
from yibao.kit.timeutil import BUSINESS_TZ

_FEN = Decimal("0.01")
_FEE_OF_CODE = {code: column for column, code, _ in FEE_CATEGORIES}
_PAYMENTS = (
    ("account_payment", "acct_pay"),
    ("cash_payment", "psn_cash_pay"),
    ("self_pay_full", "fulamt_ownpay_amt"),
    ("self_pay_first", "preselfpay_amt"),
)
#: placeholder receiving institution for synthetic transfers (dscg_way 2 / 3)
DEMO_RECEIVER = ("演示市接收医疗机构", "H99010000000")


_MONEY_LIMIT = Decimal(10) ** 16  # Decimal(18, 2)
_INT16, _INT32 = 2**15, 2**31


def _money(text: str | None) -> Decimal | None:
    """Yuan quantised half-up to the fen; ``None`` when unreadable or too large."""
    value = to_decimal(text)
    if value is None or abs(value) >= _MONEY_LIMIT:
        return None
    return value.quantize(_FEN, rounding=ROUND_HALF_UP)


def _bounded(value: int | None, limit: int) -> int | None:
    """``None`` for a value the integer column cannot hold (QC reports it)."""
    return value if value is not None and -limit <= value < limit else None


def to_case_frames(
    lists: Iterable[ParsedList], *, with_index: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``(cases, diagnoses, procedures)`` of the lists, in the caseframe schemas.

    ``with_index``: each frame gets a last column ``list_index`` (the list's
    ``index``), which tells rows of lists sharing a settlement id apart.
    """
    cases: list[dict[str, Any]] = []
    dx_rows: list[tuple[str | None, int, str, bool]] = []
    px_rows: list[tuple[str | None, int, str, bool, date | None]] = []
    case_at: list[int | None] = []
    dx_at: list[int | None] = []
    px_at: list[int | None] = []
    for p in lists:
        msg = p.message
        if msg is None:
            continue
        cases.append(_case_row(msg))
        dx, px = _dx_rows(msg), _px_rows(msg)
        dx_rows.extend(dx)
        px_rows.extend(px)
        if with_index:
            case_at.append(p.index)
            dx_at.extend([p.index] * len(dx))
            px_at.extend([p.index] * len(px))
    frame = pl.DataFrame(cases, schema={k: v for k, v in CASES.items() if k not in _TIMES})
    frame = frame.with_columns(
        pl.Series(name, [c[name] for c in cases], dtype=pl.Datetime("us")).dt.replace_time_zone(
            "Asia/Shanghai"
        )
        for name in _TIMES
    ).select(list(CASES))
    diagnoses = pl.DataFrame(dx_rows, schema=DIAGNOSES, orient="row")
    procedures = pl.DataFrame(px_rows, schema=PROCEDURES, orient="row")
    if with_index:
        frame, diagnoses, procedures = (
            f.with_columns(pl.Series("list_index", at, dtype=pl.Int64))
            for f, at in ((frame, case_at), (diagnoses, dx_at), (procedures, px_at))
        )
    return frame, diagnoses, procedures


_TIMES = ("admission_time", "discharge_time")


def _case_row(msg: SettlementList) -> dict[str, Any]:
    s = msg.setlinfo
    adm, dscg = to_datetime(s.adm_time), to_datetime(s.dscg_time)
    age = to_decimal(s.age)
    nwb = _bounded(to_int(s.nwb_age), _INT32)
    age_years = _bounded(
        int(age) if age is not None and abs(age) < _INT16 else (0 if nwb is not None else None),
        _INT16,
    )
    weights = to_weights(s.nwb_bir_wt) or to_weights(s.mul_nwb_bir_wt)
    weight = _bounded(int(weights[0].to_integral_value(ROUND_HALF_UP)) if weights else None, _INT32)
    los = _bounded(to_int(s.act_ipt_days), _INT32)
    if los is None and adm is not None and dscg is not None:
        los = max((dscg.date() - adm.date()).days, 1)
    row: dict[str, Any] = {
        "setl_id": s.setl_id,
        "mdtrt_id": s.mdtrt_id,
        "hospital_code": s.fixmedins_code,
        "region_code": s.mdtrtarea_admvs,
        "psn_no": s.psn_no,
        "psn_name": s.psn_name,
        "sex": s.gend,
        "birth_date": to_date(s.brdy),
        "age_years": age_years,
        "age_days": nwb if age_years == 0 else None,
        "birth_weight_g": _bounded(weight, _INT32),
        "insutype": s.insutype,
        "insured_region_code": s.insuplc,
        "admission_time": adm,
        "discharge_time": dscg,
        "discharge_date": None if dscg is None else dscg.date(),
        "los_days": los,
        "admission_dept": s.adm_caty,
        "discharge_dept": s.dscg_caty,
        "discharge_way": s.dscg_way,
        "icu_hours": _icu_hours(msg),
        "total_cost": _money(s.medfee_sumamt),
        "fund_payment": _money(s.fund_pay_sumamt or s.hifp_pay),
    }
    row.update(_fees(msg))
    for column, name in _PAYMENTS:
        row[column] = _money(getattr(s, name))
    return row


def _icu_hours(msg: SettlementList) -> int | None:
    """Hours in intensive care: the icuinfo durations (d/h/m) summed, minutes dropped;
    0 with no icuinfo; None when a duration cannot be read."""
    total = 0
    for icu in msg.icuinfo or []:
        parts = to_duration(icu.scs_cutd_sum_dura)
        if parts is None:
            return None
        days, hours, minutes = parts
        total += days * 24 * 60 + hours * 60 + minutes
    return _bounded(total // 60, _INT32)


def _icuinfo(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One ICU stay ending at discharge for a case row's ``icu_hours`` (demo lists)."""
    hours, adm, dscg = row.get("icu_hours"), row["admission_time"], row["discharge_time"]
    if not hours or adm is None or dscg is None:
        return []
    begin = max(adm, dscg - timedelta(hours=int(hours)))
    minutes = int((dscg - begin).total_seconds()) // 60
    return [
        {
            "scs_cutd_ward_type": "1",
            "scs_cutd_inpool_time": _s(begin),
            "scs_cutd_exit_time": _s(dscg),
            "scs_cutd_sum_dura": f"{minutes // 1440}/{minutes % 1440 // 60}/{minutes % 60}",
        }
    ]


def _fees(msg: SettlementList) -> dict[str, Decimal | None]:
    if not msg.iteminfo:
        return dict.fromkeys(_FEE_OF_CODE.values())
    fees: dict[str, Decimal | None] = dict.fromkeys(_FEE_OF_CODE.values(), Decimal("0.00"))
    for item in msg.iteminfo:
        column = _FEE_OF_CODE.get(item.med_chrgitm or "", "fee_other")
        amount, before = _money(item.amt), fees[column]
        fees[column] = None if amount is None or before is None else before + amount
    return fees


def _dx_rows(msg: SettlementList) -> list[tuple[str | None, int, str, bool]]:
    rows = [
        (d.maindiag_flag == "1", d.diag_code)
        for d in msg.diseinfo
        if d.diag_code is not None and d.diag_type in (None, "1")
    ]
    first = next((i for i, (main, _) in enumerate(rows) if main), None)
    order = rows if first is None else [rows[first], *rows[:first], *rows[first + 1 :]]
    setl = msg.setlinfo.setl_id
    return [(setl, i, code, i == 0 and first is not None) for i, (_, code) in enumerate(order)]


def _px_rows(msg: SettlementList) -> list[tuple[str | None, int, str, bool, date | None]]:
    rows = [
        (
            o.oprn_oprt_type == "1",
            o.oprn_oprt_code,
            to_date(o.oprn_oprt_date or o.oprn_oprt_begntime),
        )
        for o in msg.oprninfo
        if o.oprn_oprt_code is not None
    ]
    first = next((i for i, r in enumerate(rows) if r[0]), None)
    order = rows if first is None else [rows[first], *rows[:first], *rows[first + 1 :]]
    setl = msg.setlinfo.setl_id
    return [
        (setl, i, code, i == 0 and first is not None, day) for i, (_, code, day) in enumerate(order)
    ]


def raw_frame(lists: Iterable[ParsedList]) -> pl.DataFrame:
    """``(index, setl_id, raw)``: the input JSON of every list, for storage."""
    rows = [(p.index, p.setl_id, p.raw_json()) for p in lists]
    schema = {"index": pl.Int64, "setl_id": pl.String, "raw": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row")


# --- frames → messages -------------------------------------------------------------


def _s(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# long: one vectorised expression per 4101A field, kept next to each other
def from_case_frames(
    cases: pl.DataFrame,
    diagnoses: pl.DataFrame,
    procedures: pl.DataFrame,
    plan: CompiledPlan | Plan | None = None,
    hospital_names: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """4101A messages (text values) for caseframe batches, one per case row.

    Names of diagnoses and procedures come from ``plan``'s dictionaries (omitted
    without a plan); hospital names from ``hospital_names``.  Administrative fields
    the case model lacks (票据, 医师, 填报人 …) get clearly synthetic values, so a
    generated list passes the default QC rules.
    """
    view = None if plan is None else (plan.plan if isinstance(plan, CompiledPlan) else plan)
    dx_by = _group(diagnoses, ("seq", "code"))
    px_by = _group(procedures, ("seq", "code", "procedure_date"))
    out: list[dict[str, Any]] = []
    for row in cases.iter_rows(named=True):
        setl = row["setl_id"]
        dxs = dx_by.get(setl, [])
        pxs = px_by.get(setl, [])
        setlinfo = _setlinfo(row, len(dxs), len(pxs), hospital_names or {})
        dx_names = {} if view is None else view.dx_names
        dx_map = {} if view is None else view.dx_map
        px_names = {} if view is None else view.proc_names
        px_map = {} if view is None else view.proc_map
        out.append(
            {
                "setlinfo": setlinfo,
                "diseinfo": [
                    _drop_none(
                        {
                            "diag_type": "1",
                            "diag_code": code,
                            "diag_name": dx_names.get(code) or dx_names.get(dx_map.get(code, "")),
                            "adm_cond_type": "1",
                            "maindiag_flag": "1" if seq == 0 else "0",
                        }
                    )
                    for seq, code in dxs
                ],
                "oprninfo": [
                    _drop_none(
                        {
                            "oprn_oprt_type": "1" if seq == 0 else "2",
                            "oprn_oprt_code": code,
                            "oprn_oprt_name": px_names.get(code)
                            or px_names.get(px_map.get(code, "")),
                            "oprn_oprt_date": _s(day),
                            "oper_dr_code": "D" + (row["hospital_code"] or "")[-6:] + "01",
                        }
                    )
                    for seq, code, day in pxs
                ],
                "icuinfo": _icuinfo(row),
                "iteminfo": [
                    {"med_chrgitm": code, "amt": _s(row[column])}
                    for column, code, _ in FEE_CATEGORIES
                    if row[column] is not None and row[column] != 0
                ],
            }
        )
    return out


def _group(frame: pl.DataFrame, columns: Sequence[str]) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    for setl, *rest in frame.sort("setl_id", "seq").select("setl_id", *columns).iter_rows():
        out.setdefault(setl, []).append(tuple(rest))
    return out


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _setlinfo(
    row: Mapping[str, Any], n_dx: int, n_px: int, names: Mapping[str, str]
) -> dict[str, Any]:
    setl, hosp = row["setl_id"], row["hospital_code"] or ""
    age_days = row["age_days"] if row["age_years"] == 0 else None
    info: dict[str, Any] = {
        "setl_id": setl,
        "mdtrt_id": row["mdtrt_id"],
        "fixmedins_code": hosp,
        "fixmedins_name": names.get(hosp, hosp),
        "mdtrtarea_admvs": row["region_code"],
        "hi_no": row["psn_no"],
        "medcasno": row["mdtrt_id"],
        "psn_no": row["psn_no"],
        "psn_name": row["psn_name"],
        "gend": row["sex"],
        "brdy": _s(row["birth_date"]),
        "age": _s(row["age_years"]),
        "nwb_age": _s(age_days),
        "nwb_bir_wt": _s(row["birth_weight_g"]),
        "ntly": "CHN",
        "insutype": row["insutype"],
        "insuplc": row["insured_region_code"],
        "trt_type": "1",
        "adm_time": _s(row["admission_time"]),
        "adm_caty": row["admission_dept"],
        "dscg_time": _s(row["discharge_time"]),
        "dscg_caty": row["discharge_dept"],
        "act_ipt_days": _s(row["los_days"]),
        "diag_code_cnt": str(n_dx),
        "oprn_oprt_code_cnt": str(n_px),
        "dscg_way": row["discharge_way"],
        "bill_code": "DEMO",
        "bill_no": setl,
        "biz_sn": setl,
        "chfpdr_code": "D" + hosp[-6:] + "00",
        "resp_nurs_code": "N" + hosp[-6:] + "00",
        "setl_begn_date": _s(row["admission_time"].date() if row["admission_time"] else None),
        "setl_end_date": _s(row["discharge_date"]),
        "hi_paymtd": "4",
        "medins_fill_dept": "病案统计科",
        "medins_fill_psn": "演示填报员",
        "medfee_sumamt": _s(row["total_cost"]),
        "fund_pay_sumamt": _s(row["fund_payment"]),
        "acct_pay": _s(row["account_payment"]),
        "psn_cash_pay": _s(row["cash_payment"]),
        "fulamt_ownpay_amt": _s(row["self_pay_full"]),
        "preselfpay_amt": _s(row["self_pay_first"]),
    }
    if row["discharge_way"] in ("2", "3"):
        info["acp_medins_name"], info["acp_optins_code"] = DEMO_RECEIVER
    return _drop_none(info)


__all__ = ["DEMO_RECEIVER", "SetlInfo", "from_case_frames", "raw_frame", "to_case_frames"]
