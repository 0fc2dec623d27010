"""`yibao group`, `yibao plans`, `yibao bench` as a user runs them."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from tests.conftest import SHARED
from yibao.cli.main import app

runner = CliRunner()
PUBLIC = SHARED / "data" / "chs-drg-1.1" / "cases-public.csv"
needs_shared = pytest.mark.skipif(
    not PUBLIC.exists(), reason=f"共享数据不存在（{PUBLIC}）/ ../shared not beside the repo"
)


@pytest.fixture()
def sample(tmp_path: Path) -> Path:
    if not PUBLIC.exists():
        pytest.skip(f"共享数据不存在（{PUBLIC}）")
    path = tmp_path / "sample.csv"
    pl.read_csv(PUBLIC, infer_schema=False).head(300).write_csv(path)
    return path


@needs_shared
@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_group_file_matches_expected(sample: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"out{suffix}"
    result = runner.invoke(app, ["group", str(sample), "--plan", "chs-drg-1.1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    if suffix == ".csv":
        frame = pl.read_csv(out, infer_schema=False)
    elif suffix == ".parquet":
        frame = pl.read_parquet(out)
    else:
        frame = pl.read_excel(out, engine="openpyxl", infer_schema_length=0)
    assert frame.height == 300
    for col in ("status", "mdc", "adrg", "drg"):
        assert frame[col].to_list() == frame[f"{col}_input"].to_list(), col
    bad = frame.filter(pl.col("status") != "ok")
    assert bad.height > 0 and bad["message"].str.len_chars().min() > 4
    assert frame.filter(pl.col("status") == "ok")["drg_name"].null_count() == 0


@needs_shared
def test_group_to_stdout_with_trace(sample: Path) -> None:
    result = runner.invoke(app, ["group", str(sample), "--trace"])
    assert result.exit_code == 0
    assert "MDC_ENTRY" in result.output and "RESULT" in result.output


@needs_shared
def test_group_picks_plan_by_discharge_date(tmp_path: Path) -> None:
    frame = pl.read_csv(PUBLIC, infer_schema=False).head(4)
    frame = frame.with_columns(
        pl.Series("discharge_date", ["2021-06-30", "2023-01-05", "", "2025-12-31"])
    )
    path = tmp_path / "dated.csv"
    frame.write_csv(path)
    out = tmp_path / "o.csv"
    assert runner.invoke(app, ["group", str(path), "-o", str(out)]).exit_code == 0
    plans = pl.read_csv(out, infer_schema=False)["plan_id"].to_list()
    assert plans == ["chs-drg-1.0", "chs-drg-1.1", "chs-drg-1.1", "chs-drg-1.1"]


def test_group_wrong_input_gets_clear_errors(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["group", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "不存在" in missing.output
    bad = tmp_path / "bad.csv"
    bad.write_text("case_id,sex\n1,1\n", encoding="utf-8")
    cols = runner.invoke(app, ["group", str(bad)])
    assert cols.exit_code == 2 and "age_years" in cols.output and "缺少必需列" in cols.output
    plan = runner.invoke(app, ["group", str(bad), "--plan", "chs-drg-9"])
    assert plan.exit_code == 2
    out = runner.invoke(app, ["group", str(bad), "-o", str(tmp_path / "x.json")])
    assert out.exit_code == 2 and "输出文件类型" in out.output
    # a header and no case: said, not a traceback (it was a ColumnNotFoundError with -o)
    empty = tmp_path / "empty.csv"
    empty.write_text(
        "case_id,sex,age_years,age_days,birth_weight_g,diagnoses,procedures\n", encoding="utf-8"
    )
    none = runner.invoke(app, ["group", str(empty), "-o", str(tmp_path / "o.csv")])
    assert none.exit_code == 2 and "没有病例" in none.output, none.output


def test_plans_list_show_diff() -> None:
    listed = runner.invoke(app, ["plans", "list"])
    assert (
        listed.exit_code == 0 and "chs-drg-1.1" in listed.output and "chs-drg-1.0" in listed.output
    )
    shown = runner.invoke(app, ["plans", "show", "chs-drg-1.1"])
    assert shown.exit_code == 0 and "DRG 628" in shown.output
    diff = runner.invoke(app, ["plans", "diff", "chs-drg-1.0", "chs-drg-1.1"])
    assert diff.exit_code == 0
    assert "新增 DRG" in diff.output and "AH11" in diff.output and "删除 DRG" in diff.output
    same = runner.invoke(app, ["plans", "diff", "chs-drg-1.1", "chs-drg-1.1"])
    assert "无差异" in same.output
    unknown = runner.invoke(app, ["plans", "show", "nope"])
    assert unknown.exit_code == 2 and "找不到分组方案" in unknown.output


@needs_shared
def test_bench_group_last_line(sample: Path) -> None:
    result = runner.invoke(app, ["bench", "group", "--cases", str(sample), "--repeat", "2"])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    keys = [kv.split("=")[0] for kv in last.split()]
    assert keys == ["group_cases", "batch_cases_per_s", "single_median_us", "single_p99_us"]
    assert last.startswith("group_cases=600 ")


@needs_shared
def test_bench_group_all_plans_side_by_side(tmp_path: Path) -> None:
    for plan in ("chs-drg-1.1", "beijing-2022"):  # each plan on (a part of) its own cases
        (tmp_path / plan).mkdir()
        source = SHARED / "data" / plan / "cases-public.csv"
        pl.read_csv(source, infer_schema=False).head(200).write_csv(tmp_path / plan / source.name)
    args = ["bench", "group", "--all-plans", "--data-dir", str(tmp_path), "--repeat", "2"]
    args += ["--rounds", "2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "beijing-2022" in result.output and "100%" in result.output  # 1.1 against itself
    last = result.output.strip().splitlines()[-1]
    assert [kv.split("=")[0] for kv in last.split()] == [
        "plans",
        "min_cases_per_s",
        "max_single_median_us",
    ]
    assert last.startswith("plans=2 ")
    empty = runner.invoke(app, ["bench", "group", "--all-plans", "--data-dir", str(tmp_path / "x")])
    assert empty.exit_code != 0 and "cases-public.csv" in empty.output


def test_bench_generate_last_line(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["bench", "generate", "--cases", "2000", "--out", str(tmp_path / "g")]
    )
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("generate_cases=2000 generate_s=")
    assert pl.read_parquet(tmp_path / "g" / "cases.parquet").height == 2000


def test_bench_post_audit_last_line() -> None:
    result = runner.invoke(app, ["bench", "post-audit", "--lines", "5000", "--rules", "40"])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    keys = [kv.split("=")[0] for kv in last.split()]
    assert keys == ["postaudit_lines", "postaudit_s"] and last.startswith("postaudit_lines=5000 ")
    assert float(last.split("postaudit_s=")[1]) > 0


@needs_shared
def test_local_plan_folder_needs_no_code_change(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A city's plan in YIBAO_PLANS_DIR is listed and chosen by discharge date."""
    import json
    import shutil

    from yibao.config import get_settings
    from yibao.plans import plan_dir

    local = tmp_path / "plans" / "city-drg-2025"
    shutil.copytree(plan_dir("chs-drg-1.1"), local)
    plan_json = local / "plan.json"
    text = plan_json.read_text(encoding="utf-8")
    plan_json.write_text(text.replace('"id": "chs-drg-1.1"', '"id": "city-drg-2025"', 1), "utf-8")
    meta = {
        "id": "city-drg-2025",
        "version": "2025.1",
        "title": "演示市本地细分组 2025",
        "valid_from": "2025-01-01",
        "status": "published",
    }
    (local / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
    monkeypatch.setenv("YIBAO_PLANS_DIR", str(tmp_path / "plans"))
    get_settings.cache_clear()
    try:
        listed = runner.invoke(app, ["plans", "list"])
        assert listed.exit_code == 0 and "city-drg-2025" in listed.output
        frame = (
            pl.read_csv(PUBLIC, infer_schema=False)
            .head(2)
            .with_columns(pl.Series("discharge_date", ["2024-12-31", "2025-01-01"]))
        )
        frame.write_csv(tmp_path / "c.csv")
        out = tmp_path / "o.csv"
        result = runner.invoke(app, ["group", str(tmp_path / "c.csv"), "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert pl.read_csv(out)["plan_id"].to_list() == ["chs-drg-1.1", "city-drg-2025"]
    finally:
        get_settings.cache_clear()


def test_bench_intake_last_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    result = runner.invoke(
        app, ["bench", "intake", "--lists", "300", "--chunk", "100", "--database-url", url]
    )
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("intake_lists=300 intake_lists_per_s=")
    assert "'priced':" in result.output and "300}" in result.output
