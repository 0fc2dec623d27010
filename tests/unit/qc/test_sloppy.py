"""What real hospital uploads look like: date-only times, Excel artefacts, loose headers.

Each test is a defect found on review (a valid list held, or a value misread)."""

from __future__ import annotations

import io
import json
import zipfile
from decimal import Decimal

import polars as pl
import pytest
from openpyxl import Workbook

from yibao.engines.grouper import CompiledPlan
from yibao.engines.qc import (
    FLAT_COLUMNS,
    RuleSet,
    check_list,
    lists_to_flat,
    parse_list,
    to_case_frames,
)
from yibao.kit.errors import ValidationFailed
from yibao.kit.tables import TableLimits
from yibao.settlement.intake.files import read_list_file

from .conftest import Message


def _rules(message: Message, ruleset: RuleSet, plan: CompiledPlan) -> list[tuple[str, str]]:
    return [(f.rule_id, f.field) for f in check_list(message, ruleset, plan)]


def test_discharge_given_as_a_date_covers_the_whole_discharge_day(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    """``dscg_time`` = ``2024-03-08`` (no time, as many HIS export 出院日期) is the whole
    day: an operation on the morning of the discharge day is inside the stay, and a
    same-day admission at 09:00 is not "after the discharge"."""
    good["setlinfo"]["dscg_time"] = "2024-03-08"
    good["oprninfo"][0].update(
        oprn_oprt_date="2024-03-08",
        oprn_oprt_begntime="2024-03-08 09:10:00",
        oprn_oprt_endtime="2024-03-08 09:50:00",
        anst_begntime="2024-03-08 09:00:00",
        anst_endtime="2024-03-08 10:00:00",
    )
    good["icuinfo"][0]["scs_cutd_exit_time"] = "2024-03-08 07:00:00"
    good["icuinfo"][0]["scs_cutd_sum_dura"] = "5/21/0"
    assert _rules(good, ruleset, plan) == []
    # still a finding: the day after the discharge day, and an operation before admission
    good["oprninfo"][0]["anst_endtime"] = "2024-03-09 00:10:00"
    good["oprninfo"][0]["oprn_oprt_begntime"] = "2024-03-01 08:00:00"
    assert _rules(good, ruleset, plan) == [
        ("QC012", "oprninfo[0].oprn_oprt_begntime"),
        ("QC012", "oprninfo[0].anst_endtime"),
    ]


def test_same_day_stay_with_a_date_only_discharge(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    good["setlinfo"].update(
        adm_time="2024-03-08 09:00:00",
        dscg_time="20240308",
        act_ipt_days="1",
        setl_begn_date="2024-03-08",
    )
    good["oprninfo"][0].update(
        oprn_oprt_date="2024-03-08",
        oprn_oprt_begntime="2024-03-08 10:10:00",
        oprn_oprt_endtime="2024-03-08 10:50:00",
        anst_begntime="2024-03-08 10:00:00",
        anst_endtime="2024-03-08 11:00:00",
    )
    good["icuinfo"] = []
    assert _rules(good, ruleset, plan) == []
    good["setlinfo"]["dscg_time"] = "2024-03-07"  # a day before the admission: still wrong
    assert ("QC013", "setlinfo.dscg_time") in _rules(good, ruleset, plan)


def test_item_times_given_as_dates_compare_by_day(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    """An anaesthesia begin written ``2024-03-01`` on the admission day (admitted 08:30)
    is that day, not its midnight before the admission; an end written as a date is
    not "before" a begin at 09:00 of that day."""
    good["oprninfo"][0].update(
        oprn_oprt_date="2024-03-01",
        oprn_oprt_begntime="2024-03-01 09:10:00",
        oprn_oprt_endtime="2024-03-01",
        anst_begntime="2024-03-01",
        anst_endtime="2024-03-01 10:00:00",
    )
    assert _rules(good, ruleset, plan) == []


def _xlsx(rows: list[list[object]], raw_values: dict[str, str]) -> bytes:
    """A workbook whose cells hold ``raw_values`` (shown text → stored text) as Excel
    writes them: the full binary double of a sum, not the rounded figure."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    src, out = zipfile.ZipFile(io.BytesIO(buf.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                for shown, stored in raw_values.items():
                    assert f"<v>{shown}</v>" in text
                    text = text.replace(f"<v>{shown}</v>", f"<v>{stored}</v>")
                data = text.encode()
            dst.writestr(info, data)
    return out.getvalue()


def test_excel_sums_are_read_as_excel_shows_them(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    """A total computed by ``=SUM(...)`` is stored as ``10000.000000000002``; Excel shows
    10000.00 and so must intake (it held the list: "超过 2 位小数", QC021/QC022)."""
    good["setlinfo"]["psn_cash_pay"] = "2000.50"
    flat = lists_to_flat([good])
    columns = flat.columns
    row: list[object] = list(flat.row(0))
    row[columns.index("medfee_sumamt")] = 10000.5
    row[columns.index("fee_western_medicine")] = 5000.5
    content = _xlsx(
        [columns, row],
        {"10000.5": "10000.500000000002", "5000.5": "5000.499999999999"},
    )
    (message,) = read_list_file("lists.xlsx", content, TableLimits()).messages
    assert message["setlinfo"]["medfee_sumamt"] == "10000.5"
    assert {"med_chrgitm": "09", "amt": "5000.5"} in message["iteminfo"]
    assert [f.rule_id for f in check_list(message, ruleset, plan)] == []


def test_hand_typed_headers_and_trailing_blank_rows(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    """A CSV saved from a hospital's own sheet: Chinese titles typed with ASCII
    parentheses (``年龄(岁)``), a space in ``结算 ID``, and the ``,,,,`` rows a
    spreadsheet writes after the data.  Before, the ``年龄(岁)`` column was silently
    ignored (the list held: "年龄 未填写") and every blank row came back as a refused list."""
    flat = lists_to_flat([good])
    titles = {c: FLAT_COLUMNS[c].replace("（", "(").replace("）", ")") for c in flat.columns}
    titles["setl_id"] = "结算 ID"
    assert "年龄(岁)" in titles.values() and "新生儿出生体重(克)" not in titles.values()
    buf = io.StringIO()
    flat.rename(titles).write_csv(buf)
    text = buf.getvalue() + "," * (flat.width - 1) + "\n" + " ," * (flat.width - 1) + "\n\n"
    read = read_list_file("lists.csv", text.encode("gbk"), TableLimits())
    (message,) = read.messages
    assert read.notes == []  # every hand-typed title was recognised
    assert (
        message["setlinfo"]["age"] == "63"
        and message["setlinfo"]["setl_id"] == good["setlinfo"]["setl_id"]
    )
    assert [f.rule_id for f in check_list(message, ruleset, plan)] == []


def test_unknown_columns_are_named_not_silently_dropped(good: Message) -> None:
    """A column that is no flat-form column (a typo, a hospital's own extra column) is
    left out, and the upload says which: a misspelt 主要诊断 would otherwise only show
    up as every list held for a missing diagnosis."""
    flat = lists_to_flat([good]).with_columns(
        pl.lit("x").alias("主诊断编吗"), pl.lit("1").alias("科室内部编号")
    )
    buf = io.StringIO()
    flat.write_csv(buf)
    read = read_list_file("上传.csv", buf.getvalue().encode(), TableLimits())
    assert len(read.messages) == 1
    (note,) = read.notes
    assert "上传.csv" in note and "主诊断编吗、科室内部编号" in note and "模板" in note


def test_a_file_with_only_a_header_names_the_file() -> None:
    for content in (b"setl_id,gend\n", b"setl_id,gend\n,\n,\n"):
        with pytest.raises(ValidationFailed) as exc:
            read_list_file("lists.csv", content, TableLimits())
        assert "lists.csv" in exc.value.message and "只有表头" in exc.value.message


def test_fund_payments_of_a_4101_message_come_from_payinfo(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    """4101 gives the fund payments per fund in ``payinfo`` (表155), not as a total in
    setlinfo: QC022 held such a valid list ("基金支付总额 0 + 个人 3000.00 ≠ 10000.00")
    and the case lost its fund payment."""
    good["setlinfo"].pop("fund_pay_sumamt")
    good["payinfo"] = [
        {"fund_pay_type": "310100", "fund_payamt": "6500.00"},
        {"fund_pay_type": "330100", "fund_payamt": 500},
        {"fund_pay_type": "610100", "fund_payamt": ""},
    ]
    parsed = parse_list(good)
    assert parsed.message is not None
    assert parsed.message.setlinfo.fund_pay_sumamt == "7000.00"
    assert _rules(good, ruleset, plan) == []
    cases, _, _ = to_case_frames([parsed])
    assert cases["fund_payment"].to_list() == [Decimal("7000.00")]
    assert json.loads(parsed.raw_json())["setlinfo"].get("fund_pay_sumamt") is None  # as sent
    # a total given in setlinfo wins; an amount that is no number is named, not summed
    good["setlinfo"]["hifp_pay"] = "7000.00"
    assert parse_list(good).message.setlinfo.fund_pay_sumamt is None  # type: ignore[union-attr]
    del good["setlinfo"]["hifp_pay"]
    good["payinfo"][1]["fund_payamt"] = "五百"
    findings = check_list(good, ruleset, plan)
    assert ("QC000", "payinfo[1].fund_payamt") in [(f.rule_id, f.field) for f in findings]
    assert "五百" in next(f.message for f in findings if f.rule_id == "QC000")


def test_excel_serials_in_date_columns_are_read_as_dates() -> None:
    import polars as pl

    from yibao.engines.qc.serial_dates import from_serial, read_serial_dates

    assert from_serial("45231", "date") == "2023-11-01"
    assert from_serial("45231.5", "datetime") == "2023-11-01 12:00:00"
    assert from_serial("45231.5", "date") == "2023-11-01"
    assert from_serial("45231", "datetime") == "2023-11-01"  # a bare date: the whole day
    for other in ("1234", "1985", "123456", "2023-11-01", "20231101", "9999", "x45231"):
        assert from_serial(other, "date") is None  # 1985: a year typed alone, not a serial
    # birth dates of patients born before October 1954 (serials below 20000)
    assert from_serial("14732", "date") == "1940-05-01"
    assert from_serial("10000", "date") == "1927-05-18"
    assert from_serial("80000", "date") is None
    frame = pl.DataFrame(
        {
            "入院时间": ["45231.25", "2023-11-02 08:00:00", None],
            "oprn_dates": ["45232|45233", "2023-11-03", ""],
            "setl_id": ["45231", "S2", "S3"],  # not a date column: left alone
        }
    )
    out, notes = read_serial_dates(frame)
    assert out["入院时间"].to_list() == ["2023-11-01 06:00:00", "2023-11-02 08:00:00", None]
    assert out["oprn_dates"].to_list() == ["2023-11-02|2023-11-03", "2023-11-03", ""]
    assert out["setl_id"].to_list() == ["45231", "S2", "S3"]
    assert len(notes) == 2 and "“入院时间”列有 1 个 Excel 日期序号" in notes[0]
    assert "“手术操作日期”列有 2 个" in notes[1]
    same, none = read_serial_dates(pl.DataFrame({"adm_time": ["2023-11-01"]}))
    assert none == [] and same["adm_time"].to_list() == ["2023-11-01"]


def test_loose_values_are_read_as_they_read_and_said(
    good: Message, ruleset: RuleSet, plan: CompiledPlan
) -> None:
    """Full-width digits, thousands separators, a currency sign or 元, a lower-case
    ICD-10 letter: read as what they mean with a warning naming the field (they held
    the list as 不是数字 / 不在值域内 / 不在代码表中); prose keeps its full-width forms."""
    total = good["setlinfo"]["medfee_sumamt"]
    grouped = f"{Decimal(total):,.2f}"
    good["setlinfo"].update(
        gend="１",
        medfee_sumamt=grouped,
        psn_cash_pay="¥" + good["setlinfo"]["psn_cash_pay"],
        psn_name="张三１",
    )
    good["diseinfo"][0]["diag_code"] = good["diseinfo"][0]["diag_code"].lower()
    findings = check_list(good, ruleset, plan)
    assert [f for f in findings if f.severity == "blocking"] == []
    notes = {f.field: f.message for f in findings if f.rule_id == "QC000"}
    assert set(notes) == {
        "setlinfo.gend",
        "setlinfo.medfee_sumamt",
        "setlinfo.psn_cash_pay",
        "diseinfo[0].diag_code",
    }, notes
    assert "全角" in notes["setlinfo.gend"] and "千分位" in notes["setlinfo.medfee_sumamt"]
    parsed = parse_list(good)
    assert parsed.message is not None
    assert parsed.message.setlinfo.medfee_sumamt == total.replace(",", "")
    assert parsed.message.setlinfo.psn_name == "张三１"
    # not one reading: left for the rules to refuse
    good["setlinfo"]["medfee_sumamt"] = "1,0000.00"
    assert any(
        f.rule_id != "QC000" and f.field == "setlinfo.medfee_sumamt" and f.severity == "blocking"
        for f in check_list(good, ruleset, plan)
    )
