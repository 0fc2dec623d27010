"""OpenAPI documentation helpers for answers that are files as well as JSON."""

from __future__ import annotations

from typing import Any

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"
PARQUET = "application/vnd.apache.parquet"
JSON = "application/json"
_FILE_SCHEMA = {"type": "string", "format": "binary"}


def file_answers(
    *media_types: str, json: bool = True, description: str = "JSON 或文件（按 format）"
) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for an operation whose 200 is JSON (when ``json``) or one of the
    files ``media_types`` (Excel, CSV, PDF …), chosen by its ``format`` parameter."""
    content: dict[str, Any] = {JSON: {}} if json else {}
    content.update({m: {"schema": _FILE_SCHEMA} for m in media_types})
    return {200: {"description": description, "content": content}}
