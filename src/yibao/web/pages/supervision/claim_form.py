"""The sample-claim form of the rule test page: one claim typed into fields (patient,
encounter, a table of fee lines) or claims pasted as JSON (the API's shape), read into
:class:`TestIn` with Chinese errors per field.  Nothing is stored."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from yibao.engines.audit.errors import words
from yibao.supervision.schemas import TestIn
from yibao.web.forms import text

PATIENT = ("psn_no", "sex", "birth_date")
ENCOUNTER = (
    "mdtrt_id",
    "care_mode",
    "hospital_level",
    "begin_date",
    "end_date",
    "dept_code",
    "insutype",
)
LINE = ("rx_id", "item_code", "name", "quantity", "price", "amount", "day", "days", "dept_code")
WORDS: dict[str, str] = {
    "psn_no": "人员编号",
    "sex": "性别",
    "birth_date": "出生日期",
    "mdtrt_id": "就诊 ID",
    "care_mode": "就医方式",
    "hospital_level": "医院等级",
    "begin_date": "就诊（入院）日期",
    "end_date": "出院日期",
    "dept_code": "科室代码",
    "insutype": "险种",
    "diagnoses": "诊断",
    "operations": "手术操作",
    "rx_id": "处方/明细号",
    "item_code": "医保编码",
    "name": "项目名称",
    "quantity": "数量",
    "price": "单价",
    "amount": "金额",
    "day": "日期",
    "days": "用药天数",
    "stage": "审核阶段",
    "trig_scen": "触发场景",
    "claims_json": "JSON 单据",
}
MAX_ROWS = 30
_SPLIT = re.compile(r"[、,，;；\s]+")


@dataclass
class PostedClaims:
    """The form's values to show again, the request when it reads, errors by field."""

    values: dict[str, Any]
    data: TestIn | None
    errors: dict[str, str]


def form_values(claim: dict[str, Any] | None) -> dict[str, Any]:
    """A claim in the API's shape as the form's values (blank without one)."""
    claim = claim or {}
    patient, enc = claim.get("patient", {}), claim.get("encounter", {})
    return {
        **{k: str(patient.get(k) or "") for k in PATIENT},
        **{k: str(enc.get(k) or "") for k in ENCOUNTER},
        "diagnoses": "、".join(enc.get("diagnoses") or []),
        "operations": "、".join(enc.get("operations") or []),
        "lines": [
            {k: "" if ln.get(k) is None else str(ln.get(k)) for k in LINE}
            for ln in claim.get("lines", [])
        ],
        "stage": "mid",
        "trig_scen": "",
        "claims_json": "",
    }


def rows(values: dict[str, Any]) -> list[dict[str, str]]:
    """The line rows to show: the lines and a few empty rows to add more."""
    lines: list[dict[str, str]] = list(values.get("lines") or [])
    blank = dict.fromkeys(LINE, "")
    return (lines + [blank] * max(3, 6 - len(lines)))[:MAX_ROWS]


def read_claim_form(form: FormData) -> PostedClaims:
    values: dict[str, Any] = {k: text(form, k) for k in (*PATIENT, *ENCOUNTER)}
    values |= {k: text(form, k) for k in ("diagnoses", "operations", "stage", "trig_scen")}
    values["claims_json"] = text(form, "claims_json")
    errors: dict[str, str] = {}
    lines = []
    for i in range(MAX_ROWS):
        row = {k: text(form, f"l{i}_{k}") for k in LINE}
        if any(row.values()):
            lines.append(row)
    values["lines"] = lines
    options: dict[str, Any] = {"stage": values["stage"] or "mid"}
    if values["trig_scen"]:
        options["trig_scen"] = values["trig_scen"]
    if values["claims_json"]:
        try:
            pasted = json.loads(values["claims_json"])
        except ValueError as exc:
            errors["claims_json"] = f"JSON 单据：不是合法的 JSON（第 {exc.args[0][-20:]}）"
            return PostedClaims(values, None, errors)
        if isinstance(pasted, dict) and "claims" in pasted:
            body = {**options, **pasted}
        else:
            body = {**options, "claims": pasted if isinstance(pasted, list) else [pasted]}
        return _validated(values, body, errors, pasted=True)
    if not lines:
        errors["lines"] = "费用明细：请至少填写一行（医保编码、数量、单价）"
    claim_lines = []
    for i, row in enumerate(lines):
        line: dict[str, Any] = {k: v for k, v in row.items() if v}
        if not row["amount"] and row["quantity"] and row["price"]:
            try:
                amount = Decimal(row["quantity"]) * Decimal(row["price"])
                line["amount"] = f"{amount.quantize(Decimal('0.01')):f}"
            except InvalidOperation:
                pass  # the schema names the field below
        line.setdefault("rx_id", f"R{i + 1}")
        line.setdefault("day", values["begin_date"])
        claim_lines.append(line)
    claim = {
        "patient": {k: values[k] for k in PATIENT},
        "encounter": {
            **{k: values[k] for k in ENCOUNTER if values[k] or k in ("mdtrt_id", "begin_date")},
            "diagnoses": [v for v in _SPLIT.split(values["diagnoses"]) if v],
            "operations": [v for v in _SPLIT.split(values["operations"]) if v],
        },
        "lines": claim_lines,
    }
    if errors:
        return PostedClaims(values, None, errors)
    return _validated(values, {**options, "claims": [claim]}, errors, pasted=False)


def _validated(
    values: dict[str, Any], body: dict[str, Any], errors: dict[str, str], *, pasted: bool
) -> PostedClaims:
    try:
        return PostedClaims(values, TestIn.model_validate(body), errors)
    except ValidationError as exc:
        for err in exc.errors():
            key, label = _where(list(err["loc"]), pasted)
            message = "不能为空" if err["type"] == "missing" else words(err)
            errors.setdefault(key, f"{label}：{message}")
        return PostedClaims(values, None, errors)


def _where(loc: list[Any], pasted: bool) -> tuple[str, str]:
    """The form field and its Chinese name for a schema error's location."""
    names = [str(p) for p in loc if not isinstance(p, int)]
    last = names[-1] if names else "claims"
    if pasted:
        path = ".".join(str(p) for p in loc)
        return "claims_json", f"JSON 单据 {path}"
    if "lines" in loc and len(loc) > 3 and isinstance(loc[3], int):
        return f"l{loc[3]}_{last}", f"第 {loc[3] + 1} 行{WORDS.get(last, last)}"
    if last == "lines":
        return "lines", "费用明细"
    return last, WORDS.get(last, last)
