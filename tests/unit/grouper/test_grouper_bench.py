"""read_cases (CSV / Parquet / XLSX) and the benchmark function on a small file."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from yibao.engines.caseframe import GROUPER_INPUT
from yibao.engines.grouper import CaseFileError, read_cases
from yibao.engines.grouper.bench import run_benchmark

PLAN_DIR = Path(__file__).resolve().parents[3] / "src" / "yibao" / "plans" / "chs-drg-1.1"

TEXT = {
    "case_id": ["a", "b", "c"],
    "sex": ["1", "2", ""],
    "age_years": ["50", "0", "12.0"],
    "age_days": ["", "10", ""],
    "birth_weight_g": ["", "3200", ""],
    "dept": ["03.02", "07", ""],
    "los_days": ["5", "3", ""],
    "discharge_type": ["1", "1", ""],
    "diagnoses": ["K22.301|K11.901", "P07.100", "K22.301"],
    "procedures": ["", "", "01.1000x001"],
}


def _check(frame: pl.DataFrame) -> None:
    assert frame.schema == pl.Schema(GROUPER_INPUT)
    assert frame.get_column("age_years").to_list() == [50, 0, 12]
    assert frame.get_column("sex").to_list() == ["1", "2", None]
    assert frame.get_column("procedures").to_list() == [None, None, "01.1000x001"]
    assert frame.get_column("dept").to_list() == ["03.02", "07", None]


def test_read_csv(tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    pl.DataFrame(TEXT).write_csv(path)
    _check(read_cases(path))


def test_read_parquet_and_xlsx(tmp_path: Path) -> None:
    pl.DataFrame(TEXT).write_parquet(tmp_path / "cases.parquet")
    _check(read_cases(tmp_path / "cases.parquet"))
    pl.DataFrame(TEXT).write_excel(tmp_path / "cases.xlsx")
    _check(read_cases(tmp_path / "cases.xlsx"))


def test_missing_column_and_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    pl.DataFrame({k: v for k, v in TEXT.items() if k != "diagnoses"}).write_csv(path)
    with pytest.raises(CaseFileError, match='缺少必需列 "diagnoses"（诊断编码）'):
        read_cases(path)
    with pytest.raises(CaseFileError, match="不存在"):
        read_cases(tmp_path / "nope.csv")
    (tmp_path / "cases.json").write_text("{}", encoding="utf-8")
    with pytest.raises(CaseFileError, match="不支持的病例文件格式"):
        read_cases(tmp_path / "cases.json")


def test_run_benchmark_small(tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    pl.DataFrame(TEXT).write_csv(path)
    stages: set[str] = set()
    figures = run_benchmark(
        PLAN_DIR, path, None, min_batch_cases=100, progress=lambda s, _d, _t: stages.add(s)
    )
    assert figures["group_cases"] == 102  # 3 rows × 34
    assert figures["load_s"] > 0 and figures["batch_cases_per_s"] > 0
    assert 0 < figures["single_median_us"] <= figures["single_p99_us"]
    assert figures["statuses"] == {"check_failed": 34, "ok": 68}
    assert stages == {"load", "read", "batch", "single"}
