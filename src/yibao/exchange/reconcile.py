"""3201 对总账 and 3202 对明细账: the institution's figures against the centre's.

The centre's side of a period [stmt_begndate, stmt_enddate] (business dates), for one
insurance type, clearing type (11 门诊 / 21 住院) and clearing agency (the insured
place's pooling region, ``setl_optins``): every settlement made in the period counts
positive, every reversal made in the period counts negative — a settlement reversed
in the same period cancels out, one reversed later counts in each period as it
happened [M] (ADR 0018).  The count is net in the same way.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from yibao.engines.exchange import Refused
from yibao.engines.exchange.settling import (
    DetailStatementIn,
    DetailStatementOut,
    StatementIn,
    StatementOut,
    StatementResult,
)
from yibao.engines.settlement.policy import pooling_region
from yibao.exchange.models import Settlement
from yibao.exchange.registry import Call
from yibao.kit.timeutil import BUSINESS_TZ, local

ZERO = Decimal("0.00")
MAX_DAYS = 366
MAX_ROWS = 50_000


@dataclass
class Totals:
    medfee_sumamt: Decimal = ZERO
    fund_pay_sumamt: Decimal = ZERO
    acct_pay: Decimal = ZERO
    count: int = 0


def _window(begin: date, end: date, today: date) -> tuple[datetime, datetime]:
    if begin > today:
        raise Refused(
            "stmt_begndate",
            f"对账开始日期（stmt_begndate）：{begin} 晚于今天（{today}），尚无结算可对",
        )
    if end < begin:
        raise Refused("stmt_enddate", "对账结束日期（stmt_enddate）：早于开始日期")
    if (end - begin).days >= MAX_DAYS:
        raise Refused(
            "stmt_enddate", f"对账期间（stmt_begndate–stmt_enddate）：不能超过 {MAX_DAYS} 天"
        )
    start = datetime.combine(begin, time(0), BUSINESS_TZ)
    return start, datetime.combine(end + timedelta(days=1), time(0), BUSINESS_TZ)


def _kind(clr_type: str | None) -> str | None:
    if clr_type is None:
        return None
    kinds = {"11": "otp", "21": "ipt"}
    if clr_type not in kinds:
        raise Refused(
            "clr_type", f"清算类别（clr_type）：应为 11（门诊）或 21（住院）（收到“{clr_type}”）"
        )
    return kinds[clr_type]


def _rows(
    session: Session,
    hospital_id: int,
    optins: str,
    start: datetime,
    end: datetime,
    *,
    insutype: str | None,
    kind: str | None,
) -> list[Settlement]:
    """Settlements of the institution settled or reversed in the window."""
    stmt = select(Settlement).where(
        Settlement.hospital_id == hospital_id,
        Settlement.insuplc_admdvs.like(optins[:4] + "%"),
        or_(
            and_(Settlement.setl_time >= start, Settlement.setl_time < end),
            and_(Settlement.reversed_at >= start, Settlement.reversed_at < end),
        ),
    )
    if insutype:
        stmt = stmt.where(Settlement.insutype == insutype)
    if kind:
        stmt = stmt.where(Settlement.kind == kind)
    return list(session.scalars(stmt.order_by(Settlement.id).limit(MAX_ROWS + 1)))


def _signed(row: Settlement, start: datetime, end: datetime) -> int:
    """+1 / −1 / 0: how the row counts in the window (settled in it, reversed in it)."""
    sign = 1 if start <= row.setl_time < end else 0
    if row.reversed_at is not None and start <= row.reversed_at < end:
        sign -= 1
    return sign


def centre_totals(rows: list[Settlement], start: datetime, end: datetime) -> Totals:
    out = Totals()
    for row in rows:
        sign = _signed(row, start, end)
        out.medfee_sumamt += sign * row.medfee_sumamt
        out.fund_pay_sumamt += sign * row.fund_pay_sumamt
        out.acct_pay += sign * row.acct_pay
        out.count += sign
    return out


def total_statement(call: Call, data: StatementIn) -> StatementOut:
    """3201 对总账."""
    node = data.data
    start, end = _window(node.stmt_begndate, node.stmt_enddate, local(call.received_at).date())
    optins = pooling_region(node.setl_optins)
    rows = _rows(
        call.session,
        call.institution.id,
        optins,
        start,
        end,
        insutype=node.insutype,
        kind=_kind(node.clr_type),
    )
    if len(rows) > MAX_ROWS:
        raise Refused("stmt_enddate", f"对账期间的结算超过 {MAX_ROWS} 笔，请缩短对账期间")
    centre = centre_totals(rows, start, end)
    diffs = []
    for name, mine, theirs in (
        ("医疗费总额", centre.medfee_sumamt, node.medfee_sumamt),
        ("基金支付总额", centre.fund_pay_sumamt, node.fund_pay_sumamt),
        ("个人账户支付金额", centre.acct_pay, node.acct_pay),
    ):
        if mine != theirs:
            diffs.append(f"{name}：机构 {theirs}，中心 {mine}")
    if centre.count != node.fixmedins_setl_cnt:
        diffs.append(f"结算笔数：机构 {node.fixmedins_setl_cnt}，中心 {centre.count}")
    return StatementOut(
        stmtinfo=StatementResult(
            setl_optins=optins,
            stmt_rslt="0" if not diffs else "1",
            stmt_rslt_dscr="对账平" if not diffs else "对账不平：" + "；".join(diffs),
            medfee_sumamt=centre.medfee_sumamt,
            fund_pay_sumamt=centre.fund_pay_sumamt,
            acct_pay=centre.acct_pay,
            fixmedins_setl_cnt=centre.count,
        )
    )


@dataclass(frozen=True)
class FileRow:
    setl_id: str
    mdtrt_id: str
    psn_no: str
    medfee_sumamt: Decimal
    fund_pay_sumamt: Decimal
    acct_pay: Decimal
    refd_setl_flag: str
    #: the line's number in the file (the header counts)
    line: int = 0


COLUMNS = (
    "setl_id",
    "mdtrt_id",
    "psn_no",
    "medfee_sumamt",
    "fund_pay_sumamt",
    "acct_pay",
    "refd_setl_flag",
)


def read_detail_file(text: str) -> list[FileRow]:
    """The institution's detail file: one settlement per line (comma or ``|``), an
    optional header; refused with the line number of the first bad line."""
    lines = [ln for ln in text.replace("\r\n", "\n").split("\n") if ln.strip()]
    if len(lines) > MAX_ROWS + 1:
        raise Refused("file_content", f"明细文件（file_content）：超过 {MAX_ROWS} 行")
    out: list[FileRow] = []
    for number, line in enumerate(lines, 1):
        sep = "|" if "|" in line and "," not in line else ","
        cells = [c.strip() for c in next(csv.reader([line], delimiter=sep))]
        if number == 1 and cells and cells[0].lower() == "setl_id":
            continue
        if len(cells) != len(COLUMNS):
            raise Refused(
                "file_content",
                f"明细文件（file_content）第 {number} 行：应有 {len(COLUMNS)} 列"
                f"（{','.join(COLUMNS)}），收到 {len(cells)} 列",
            )
        try:
            money = [Decimal(c) for c in cells[3:6]]
        except InvalidOperation:
            raise Refused(
                "file_content", f"明细文件（file_content）第 {number} 行：金额应为数字"
            ) from None
        if cells[6] not in ("0", "1"):
            raise Refused(
                "file_content", f"明细文件（file_content）第 {number} 行：退费结算标志应为 0 或 1"
            )
        out.append(
            FileRow(cells[0], cells[1], cells[2], money[0], money[1], money[2], cells[6], number)
        )
    return out


#: the detail file's compared fields: name, Chinese label
COMPARED = (
    ("mdtrt_id", "就诊ID"),
    ("psn_no", "人员编号"),
    ("medfee_sumamt", "医疗费总额"),
    ("fund_pay_sumamt", "基金支付总额"),
    ("acct_pay", "个人账户支付金额"),
    ("refd_setl_flag", "退费结算标志"),
)


def _centre_line(row: Settlement, sign: int) -> dict[str, object]:
    """The centre's line of settlement ``row`` (``sign`` −1: its reversal)."""
    return {
        "mdtrt_id": str((row.setlinfo or {}).get("mdtrt_id") or ""),
        "psn_no": row.psn_no,
        "medfee_sumamt": sign * row.medfee_sumamt,
        "fund_pay_sumamt": sign * row.fund_pay_sumamt,
        "acct_pay": sign * row.acct_pay,
        "refd_setl_flag": "1" if sign < 0 else "0",
    }


def _differences(theirs: FileRow, centre: dict[str, object]) -> list[str]:
    """Each field of the institution's line that is not the centre's, named with both
    values."""
    return [
        f"{label}（{name}）：机构 {getattr(theirs, name)}，中心 {centre[name]}"
        for name, label in COMPARED
        if getattr(theirs, name) != centre[name]
    ]


# long: one pass over the institution's lines, one over the centre's, writing the differences
def detail_statement(call: Call, data: DetailStatementIn) -> DetailStatementOut:
    """3202 对明细账: each settlement of the file against the centre's, line by line;
    the output file lists what does not agree (only at the institution, only at the
    centre, a line twice in the file, and each field that differs — named, with the
    institution's and the centre's value).  A reversal is a line of its own
    (refd_setl_flag 1, amounts negative, ``setl_id`` the reversal's id)."""
    node = data.data
    start, end = _window(node.stmt_begndate, node.stmt_enddate, local(call.received_at).date())
    optins = pooling_region(node.setl_optins)
    theirs = read_detail_file(node.file_content)
    rows = _rows(
        call.session,
        call.institution.id,
        optins,
        start,
        end,
        insutype=None,
        kind=_kind(node.clr_type),
    )
    if len(rows) > MAX_ROWS:  # the centre's side would be cut short: every line "missing"
        raise Refused("stmt_enddate", f"对账期间的结算超过 {MAX_ROWS} 笔，请缩短对账期间")
    centre: dict[str, dict[str, object]] = {}
    for row in rows:
        if start <= row.setl_time < end:
            centre[row.setl_id] = _centre_line(row, 1)
        if row.reversal_setl_id and row.reversed_at is not None and start <= row.reversed_at < end:
            centre[row.reversal_setl_id] = _centre_line(row, -1)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "setl_id",
            "mdtrt_id",
            "psn_no",
            "stmt_rslt",
            "dscr",
            "fixmedins_medfee_sumamt",
            "centre_medfee_sumamt",
        ]
    )
    problems = 0
    seen: dict[str, int] = {}
    for r in theirs:
        match = centre.get(r.setl_id)
        if r.setl_id in seen:
            dscr = f"明细文件中重复出现（第 {r.line} 行与第 {seen[r.setl_id]} 行）"
        elif match is None:
            dscr = "中心无此结算"
        else:
            dscr = "；".join(_differences(r, match))
        seen.setdefault(r.setl_id, r.line)
        if dscr:
            centre_fee = "" if match is None else match["medfee_sumamt"]
            writer.writerow(
                [r.setl_id, r.mdtrt_id, r.psn_no, "1", dscr, r.medfee_sumamt, centre_fee]
            )
            problems += 1
    for setl_id, line in sorted(centre.items()):
        if setl_id not in seen:
            row_out = [setl_id, line["mdtrt_id"], line["psn_no"], "1", "机构无此结算", ""]
            writer.writerow([*row_out, line["medfee_sumamt"]])
            problems += 1
    return DetailStatementOut(
        fileinfo={
            "setl_optins": optins,
            "stmt_rslt": "0" if problems == 0 else "1",
            "fixmedins_cnt": len(theirs),
            "centre_cnt": len(centre),
            "diff_cnt": problems,
        },
        file_content=out.getvalue(),
    )
