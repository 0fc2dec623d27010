"""Multi-value cells written with 、 ; ， instead of | are read as the codes they list."""

from __future__ import annotations

import polars as pl

from yibao.engines.qc.flat import read_flat
from yibao.engines.qc.separators import read_separators

TEXT = pl.String


def _frame(**cols: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame(cols, schema=dict.fromkeys(cols, TEXT))


def test_codes_and_their_names_split_on_the_separator_the_row_used() -> None:
    frame = _frame(
        setl_id=["S1", "S2", "S3", "S4"],
        诊断编码=["J18.900、I10.x00", "A01.000|B02.000", "C01.000;C02.000;C03.000", "X1、Y2;Z3"],
        诊断名称=["肺炎、高血压", "甲|乙", "甲;乙，丙;丁", "a、b;c"],
    )
    out, notes = read_separators(frame)
    assert out["诊断编码"].to_list() == [
        "J18.900|I10.x00",
        "A01.000|B02.000",  # | already: as sent
        "C01.000|C02.000|C03.000",
        "X1、Y2;Z3",  # two separators in one cell: no one reading, left to QC
    ]
    # a name keeps a ， of its own; split only where its parts match the codes
    assert out["诊断名称"].to_list() == ["肺炎|高血压", "甲|乙", "甲|乙，丙|丁", "a、b;c"]
    assert len(notes) == 2 and "“诊断编码”列有 2 个单元格" in notes[0]
    lists = read_flat(out)
    assert [d["diag_code"] for d in lists[0]["diseinfo"]] == ["J18.900", "I10.x00"]
    assert [d["diag_name"] for d in lists[2]["diseinfo"]] == ["甲", "乙，丙", "丁"]
    assert lists[0]["diseinfo"][0]["maindiag_flag"] == "1"


def test_a_name_that_does_not_match_its_codes_is_left_whole() -> None:
    frame = _frame(诊断编码=["J44.100,J18.900"], 诊断名称=["慢阻肺，急性加重"])
    out, notes = read_separators(frame)
    assert out["诊断编码"].to_list() == ["J44.100|J18.900"]
    assert out["诊断名称"].to_list() == ["慢阻肺，急性加重"] and len(notes) == 1


def test_nothing_to_do_changes_nothing() -> None:
    frame = _frame(setl_id=["S1"], 诊断编码=["J18.900|I10.x00"], 手术操作编码=[None])
    out, notes = read_separators(frame)
    assert out.equals(frame) and notes == []


def test_serial_dates_in_a_separated_cell_are_read_after_the_split() -> None:
    from yibao.engines.qc.serial_dates import read_serial_dates

    frame = _frame(手术操作编码=["01.0100;02.0100"], 手术操作日期=["46340;46343"])
    split, _ = read_separators(frame)
    dated, notes = read_serial_dates(split)
    assert dated["手术操作日期"].to_list() == ["2026-11-14|2026-11-17"] and notes
