"""Read a case file (CSV / Parquet / XLSX) into the grouper's input columns."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from yibao.engines.caseframe import GROUPER_INPUT
from yibao.engines.grouper.errors import CaseFileError

#: columns without which a case cannot be grouped; the others default to null.
REQUIRED: tuple[str, ...] = ("case_id", "sex", "age_years", "diagnoses")
COLUMN_NAMES_ZH = {
    "case_id": "病例标识",
    "sex": "性别",
    "age_years": "年龄（岁）",
    "age_days": "日龄（天）",
    "birth_weight_g": "出生体重（克）",
    "dept": "出院科室",
    "los_days": "住院天数",
    "discharge_type": "离院方式",
    "diagnoses": "诊断编码",
    "procedures": "手术操作编码",
    "icu_hours": "重症监护时长（小时）",
}
_INT_TEXT = r"^-?[0-9]+(\.0*)?$"


def read_cases(path: Path, *, keep_extra: bool = False) -> pl.DataFrame:
    """Read ``path`` into the ``caseframe.GROUPER_INPUT`` columns.

    Every cell is read as text first, so codes stay strings (``"01.1000x001"``
    keeps its zeros); empty cells are null.  Integer columns accept ``"12"`` and
    ``"12.0"`` (spreadsheets), other text becomes null (and later fails the input
    check).  ``keep_extra`` appends the file's other columns as strings.  Raises
    :class:`CaseFileError` with a Chinese message for an unreadable file or a
    missing required column (``case_id``, ``sex``, ``age_years``, ``diagnoses``).
    """
    if not path.is_file():
        raise CaseFileError(f"病例文件 {path} 不存在 (case file not found)")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            raw = pl.read_csv(path, infer_schema=False, encoding="utf8")
        elif suffix in (".parquet", ".pq"):
            raw = pl.read_parquet(path)
            raw = raw.with_columns(pl.all().cast(pl.String))
        elif suffix in (".xlsx", ".xlsm"):
            raw = pl.read_excel(path, engine="openpyxl", infer_schema_length=0)
        else:
            raise CaseFileError(
                f"不支持的病例文件格式 {suffix}，应为 CSV、Parquet 或 XLSX "
                f"(unsupported case file type {suffix})"
            )
    except CaseFileError:
        raise
    except Exception as exc:  # polars raises many error types for a bad file
        raise CaseFileError(f"无法读取病例文件 {path}：{exc} (cannot read case file)") from exc
    return to_grouper_columns(raw, source=str(path), keep_extra=keep_extra)


def to_grouper_columns(
    raw: pl.DataFrame, *, source: str = "病例数据", keep_extra: bool = False
) -> pl.DataFrame:
    """Select and type the ``GROUPER_INPUT`` columns of an all-text frame."""
    for col in REQUIRED:
        if col not in raw.columns:
            raise CaseFileError(
                f'{source} 缺少必需列 "{col}"（{COLUMN_NAMES_ZH[col]}） '
                f'({source}: missing required column "{col}")'
            )
    exprs = []
    for col, dtype in GROUPER_INPUT.items():
        if col not in raw.columns:
            exprs.append(pl.lit(None, dtype=dtype).alias(col))
            continue
        text = pl.col(col).cast(pl.String)
        text = pl.when(text == "").then(None).otherwise(text)
        if dtype == pl.Int64:
            number = text.str.replace(r"\.0*$", "")
            exprs.append(
                pl.when(text.str.contains(_INT_TEXT))
                .then(number.cast(pl.Int64, strict=False))
                .alias(col)
            )
        elif col in ("sex", "discharge_type"):
            exprs.append(text.str.replace(r"^([0-9]+)\.0*$", "$1").alias(col))
        else:
            exprs.append(text.alias(col))
    if keep_extra:
        exprs.extend(pl.col(c).cast(pl.String) for c in raw.columns if c not in GROUPER_INPUT)
    return raw.select(exprs)
