"""Monthly inter-region clearing (异地就医跨统筹区清算, issue 12 item 5; domain.md §4.4).

A cross-region settlement (scope ``in_province`` / ``out_of_province``) is paid by
the treating place's hospital on the insured place's behalf: the insured place owes
the treating place the fund's share and the personal account's payment (the cash
share the hospital collects from the patient and is not cleared).  For a month
``YYYYMM``, one row per pair (insured pooling region → treating pooling region):

* a settlement counts **positive in its** ``clr_month`` (the month it was made);
* a reversal counts **negative in its** ``reversal_month`` — a settlement reversed in
  a later month is cleared in its own month and taken back in the later one, the way
  3201 counts them per period (ADR 0017).

The fund's share is split as the settlement's ``setlinfo`` reports it: basic pooled
fund (``hifp_pay``), large-amount layers (``hifob_pay`` 职工大额 + ``hifmi_pay`` 居民
大病), civil servants' subsidy (``cvlserv_pay``), medical aid (``maf_pay``) and the
rest (``fund_pay_sumamt`` minus these: enterprise supplement, other) — so the parts
add up to the fund total exactly.

Who sees it: bureau users only, the pairs where their region is **either side** (its
hospitals treated, or its insured were treated).  The insured place's bureau has no
row scope on the treating place's settlements, so the query states the sides itself
(``skip_scope``) and returns sums only, never a person.  Never commits.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from yibao.benefits.models import StoredPolicy
from yibao.db.scoping import get_scope
from yibao.engines.settlement.policy import pooling_region
from yibao.exchange.models import Settlement
from yibao.exchange.schemas import ClearingPair, ClearingReport, RegionBalance
from yibao.kit.errors import Forbidden
from yibao.kit.exports import safe_workbook
from yibao.regions.models import Region

ZERO = Decimal("0.00")
CROSS_REGION = ("in_province", "out_of_province")
SCOPE_WORDS = {"in_province": "省内异地", "out_of_province": "跨省异地"}
#: the money of a pair, in column order
AMOUNTS = (
    "medfee_sumamt",
    "fund_pay_sumamt",
    "hifp_pay",
    "large_amount_pay",
    "cvlserv_pay",
    "maf_pay",
    "other_pay",
    "acct_pay",
    "psn_cash_pay",
    "clearing_amount",
)


@dataclass
class _Sums:
    scope: str
    settled: int = 0
    reversed: int = 0
    money: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(AMOUNTS, ZERO))

    def add(self, sign: int, amounts: dict[str, Decimal]) -> None:
        for key, value in amounts.items():
            self.money[key] += sign * value


def _amount(info: dict[str, Any], key: str) -> Decimal:
    value = info.get(key)
    return ZERO if value in (None, "") else Decimal(str(value))


def _amounts(row: Any) -> dict[str, Decimal]:
    """One settlement's cleared figures (positive, as settled)."""
    info = row.setlinfo or {}
    large = _amount(info, "hifob_pay") + _amount(info, "hifmi_pay")
    cvlserv, maf = _amount(info, "cvlserv_pay"), _amount(info, "maf_pay")
    return {
        "medfee_sumamt": row.medfee_sumamt,
        "fund_pay_sumamt": row.fund_pay_sumamt,
        "hifp_pay": row.hifp_pay,
        "large_amount_pay": large,
        "cvlserv_pay": cvlserv,
        "maf_pay": maf,
        "other_pay": row.fund_pay_sumamt - row.hifp_pay - large - cvlserv - maf,
        "acct_pay": row.acct_pay,
        "psn_cash_pay": row.psn_cash_pay,
        "clearing_amount": row.fund_pay_sumamt + row.acct_pay,
    }


def _bureau_prefix(session: Session) -> tuple[str | None, str]:
    """(region prefix, region code) of the bureau user; None prefix: system scope."""
    scope = get_scope(session)
    if scope is None or scope.hospital_id is not None:
        raise Forbidden("跨统筹区清算只供医保局用户查看 / bureau users only")
    if scope.is_global:
        return None, ""
    if not scope.region_code:
        raise Forbidden("无数据范围 / no data scope")
    return scope.region_prefix, scope.region_code


def _names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.execute(select(Region.code, Region.name).where(Region.code.in_(codes)))
    names = {r[0]: r[1] for r in rows}
    missing = codes - set(names)
    if missing:  # an insured place outside the regions table: its policies name it
        policies = session.execute(
            select(StoredPolicy.region_code, StoredPolicy.region_name).where(
                StoredPolicy.region_code.in_(missing), StoredPolicy.region_name != ""
            )
        )
        for code, name in policies:
            names.setdefault(code, name)
    return names


def clearing_report(session: Session, month: str) -> ClearingReport:
    """The month's clearing (``month`` as YYYYMM) seen by the session's bureau."""
    prefix, region = _bureau_prefix(session)
    stmt = select(
        Settlement.insuplc_admdvs,
        Settlement.mdtrtarea_admvs,
        Settlement.scope,
        Settlement.medfee_sumamt,
        Settlement.fund_pay_sumamt,
        Settlement.hifp_pay,
        Settlement.acct_pay,
        Settlement.psn_cash_pay,
        Settlement.setlinfo,
        Settlement.clr_month,
        Settlement.reversal_month,
    ).where(
        Settlement.scope.in_(CROSS_REGION),
        or_(Settlement.clr_month == month, Settlement.reversal_month == month),
    )
    if prefix is not None:
        stmt = stmt.where(
            or_(
                Settlement.region_code.startswith(prefix),
                Settlement.insuplc_admdvs.startswith(prefix),
            )
        )
    sums: dict[tuple[str, str], _Sums] = {}
    rows = session.execute(stmt.execution_options(skip_scope=True))
    for row in rows:
        key = (pooling_region(row.insuplc_admdvs), pooling_region(row.mdtrtarea_admvs))
        pair = sums.setdefault(key, _Sums(row.scope))
        amounts = _amounts(row)
        if row.clr_month == month:
            pair.settled += 1
            pair.add(1, amounts)
        if row.reversal_month == month:
            pair.reversed += 1
            pair.add(-1, amounts)
    names = _names(session, {c for key in sums for c in key})
    pairs = [
        ClearingPair(
            insured_region=ins,
            insured_region_name=names.get(ins, ""),
            treating_region=trt,
            treating_region_name=names.get(trt, ""),
            scope=s.scope,
            settled_count=s.settled,
            reversed_count=s.reversed,
            count=s.settled - s.reversed,
            **s.money,
        )
        for (ins, trt), s in sorted(sums.items())
    ]
    return ClearingReport(
        month=month,
        region=region,
        pairs=pairs,
        totals=_totals(pairs) if pairs else None,
        regions=_balances(pairs, names),
    )


def _totals(pairs: list[ClearingPair]) -> ClearingPair:
    money = {k: sum((getattr(p, k) for p in pairs), ZERO) for k in AMOUNTS}
    return ClearingPair(
        insured_region="",
        insured_region_name="合计",
        treating_region="",
        treating_region_name="",
        scope="",
        settled_count=sum(p.settled_count for p in pairs),
        reversed_count=sum(p.reversed_count for p in pairs),
        count=sum(p.count for p in pairs),
        **money,
    )


def _balances(pairs: list[ClearingPair], names: dict[str, str]) -> list[RegionBalance]:
    payable: dict[str, Decimal] = defaultdict(lambda: ZERO)
    receivable: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for p in pairs:
        payable[p.insured_region] += p.clearing_amount
        receivable[p.treating_region] += p.clearing_amount
    return [
        RegionBalance(
            region=code,
            region_name=names.get(code, ""),
            payable=payable[code],
            receivable=receivable[code],
            net=receivable[code] - payable[code],
        )
        for code in sorted(set(payable) | set(receivable))
    ]


# ------------------------------------------------------------------ Excel

PAIR_COLUMNS: tuple[tuple[str, str], ...] = (
    ("insured_region", "参保地统筹区"),
    ("insured_region_name", "参保地"),
    ("treating_region", "就医地统筹区"),
    ("treating_region_name", "就医地"),
    ("scope", "异地类型"),
    ("settled_count", "结算笔数"),
    ("reversed_count", "撤销笔数"),
    ("count", "净笔数"),
    ("medfee_sumamt", "医疗费总额"),
    ("fund_pay_sumamt", "基金支付总额"),
    ("hifp_pay", "统筹基金"),
    ("large_amount_pay", "大额/大病保险"),
    ("cvlserv_pay", "公务员医疗补助"),
    ("maf_pay", "医疗救助"),
    ("other_pay", "其他基金"),
    ("acct_pay", "个人账户支付"),
    ("psn_cash_pay", "个人现金支付"),
    ("clearing_amount", "清算金额（参保地应付就医地）"),
)
REGION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("region", "统筹区"),
    ("region_name", "名称"),
    ("payable", "应付（本地参保、外地就医）"),
    ("receivable", "应收（外地参保、本地就医）"),
    ("net", "净额（应收 − 应付）"),
)
NOTE = (
    "口径：仅异地（省内、跨省）结算；结算计入结算当月，撤销以负数计入撤销当月；"
    "清算金额 = 基金支付总额 + 个人账户支付，个人现金支付由医院向个人收取，不清算。"
)


def title_of(report: ClearingReport) -> str:
    who = f"（辖区 {report.region}）" if report.region else ""
    return f"{report.month[:4]}年{report.month[4:]}月 异地就医跨统筹区清算表{who}"


def _sheet(
    wb: Any,
    name: str,
    title: str,
    columns: tuple[tuple[str, str], ...],
    rows: list[dict[str, Any]],
    total: dict[str, Any] | None,
) -> None:
    ws = wb.add_worksheet(name)
    bold = wb.add_format({"bold": True, "font_size": 14})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    money = wb.add_format({"num_format": "#,##0.00", "border": 1})
    money_b = wb.add_format({"num_format": "#,##0.00", "border": 1, "bold": True})
    cell = wb.add_format({"border": 1})
    cell_b = wb.add_format({"border": 1, "bold": True})
    ws.merge_range(0, 0, 0, len(columns) - 1, title, bold)
    note = wb.add_format({"font_color": "#666666", "text_wrap": True, "valign": "top"})
    ws.merge_range(1, 0, 1, len(columns) - 1, NOTE, note)
    width = 14 if len(columns) > 8 else 26  # the note wraps in two lines at most
    ws.set_row(1, 36)
    for c, (_key, label) in enumerate(columns):
        ws.write_string(3, c, label, head)
        ws.set_column(c, c, width)
    body = [*rows, total] if total is not None else rows
    for r, values in enumerate(body, start=4):
        strong = total is not None and values is total
        for c, (key, _label) in enumerate(columns):
            value = values.get(key)
            if isinstance(value, Decimal):
                ws.write_number(r, c, float(value), money_b if strong else money)
            elif isinstance(value, int):
                ws.write_number(r, c, value, cell_b if strong else cell)
            else:
                text = SCOPE_WORDS.get(str(value), value) if key == "scope" else value
                ws.write_string(r, c, str(text or ""), cell_b if strong else cell)
    ws.freeze_panes(4, 0)


def clearing_workbook(report: ClearingReport) -> bytes:
    """The report as an Excel workbook: the pairs with a total row, and the
    per-region balances; a title row and the rule above each sheet's headers."""
    buf = io.BytesIO()
    title = title_of(report)
    with safe_workbook(buf) as wb:
        _sheet(
            wb,
            "跨统筹区清算",
            title,
            PAIR_COLUMNS,
            [p.model_dump() for p in report.pairs],
            report.totals.model_dump() if report.totals else None,
        )
        _sheet(
            wb,
            "统筹区应收应付",
            title,
            REGION_COLUMNS,
            [r.model_dump() for r in report.regions],
            None,
        )
    return buf.getvalue()
