"""load_plan rejects broken plans with an error naming the place (Chinese, then English)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from yibao.engines.grouper import PlanError, load_plan


def _load_error(folder: Path) -> PlanError:
    with pytest.raises(PlanError) as info:
        load_plan(folder)
    return info.value


Broken = Callable[[Callable[[dict[str, Any]], None]], PlanError]


@pytest.fixture
def broken(plan_copy: Path, edit_json: Any) -> Broken:
    """``broken(change)``: the error of the 1.1 copy after ``change`` to its plan.json."""

    def apply(change: Callable[[dict[str, Any]], None]) -> PlanError:
        edit_json(plan_copy / "plan.json", change)
        return _load_error(plan_copy)

    return apply


def test_valid_plan_loads(plan11: Any) -> None:
    assert plan11.id == "chs-drg-1.1"
    assert len(plan11.drgs) == 628 and len(plan11.adrgs) == 376 and len(plan11.mdcs) == 26
    assert plan11.meta.version == "1.1" and plan11.meta.valid_to is None
    # the one value with a leading blank is kept byte-exact
    assert plan11.dx_map["B06.801+J17.1*"] == " B06.801+J17.1*"


def test_missing_code_list_names_the_place(broken: Broken) -> None:
    err = broken(lambda p: p["adrgs"]["YR1"]["condition"].update(list="YR1.dxx"))
    assert issubclass(PlanError, ValueError)
    assert err.where == "adrgs.YR1.condition.list"
    assert str(err) == (
        '方案 chs-drg-1.1: ADRG YR1 的条件引用了不存在的编码表 "YR1.dxx" '
        '(adrgs.YR1.condition.list: unknown code list "YR1.dxx")'
    )


def test_nested_reference_to_missing_tag_table(broken: Broken) -> None:
    def change(p: dict[str, Any]) -> None:
        p["adrgs"]["JA1"]["condition"]["args"][1]["args"][0]["args"][0]["table"] = "JA9"

    err = broken(change)
    assert err.where == "adrgs.JA1.condition.args[1].args[0].args[0].table"
    assert "不存在的手术标签表" in str(err) and "JA9" in str(err)


def test_missing_trauma_site_table(broken: Broken) -> None:
    err = broken(lambda p: p["mdcs"]["Z"]["entry"]["args"][1].update(sites="MDCX"))
    assert err.where == "mdcs.Z.entry.args[1].sites"
    assert str(err).startswith("方案 chs-drg-1.1: MDC Z 的入组条件引用了不存在的创伤部位表")


def test_unknown_primitive(broken: Broken) -> None:
    err = broken(lambda p: p["adrgs"]["YR2"]["condition"].update(op="principal_dx_like"))
    assert err.where == "adrgs.YR2.condition.op"
    assert '未知的条件类型 "principal_dx_like"' in str(err)
    assert "unknown condition op" in str(err)


def test_primitive_without_required_parameter(broken: Broken) -> None:
    err = broken(lambda p: p["adrgs"]["YR2"]["condition"].pop("list"))
    assert err.where == "adrgs.YR2.condition.list"
    assert '缺少参数 "list"' in str(err)


def test_parameter_of_wrong_type(broken: Broken) -> None:
    err = broken(lambda p: p["mdcs"]["M"]["entry"]["args"][1].update(value="1"))
    assert err.where == "mdcs.M.entry.args[1].value"
    assert "应为整数" in str(err)


def test_unknown_adrg_in_mdc(broken: Broken) -> None:
    err = broken(lambda p: p["mdcs"]["B"]["adrgs"].append("BZ9"))
    assert err.where == "mdcs.B.adrgs"
    assert "MDC B 引用了不存在的 ADRG BZ9" in str(err)


def test_unknown_drg_in_adrg(broken: Broken) -> None:
    err = broken(lambda p: p["adrgs"]["YR1"]["drgs"].append("YR19"))
    assert err.where == "adrgs.YR1.drgs"
    assert "ADRG YR1 引用了不存在的 DRG YR19" in str(err)


def test_unknown_split(broken: Broken) -> None:
    # "cc" is a split kind of the regional additions; "cc_only" is not
    err = broken(lambda p: p["drgs"]["YR11"].update(split="cc_only"))
    assert err.where == "drgs.YR11.split"


def test_missing_input_check(broken: Broken) -> None:
    err = broken(lambda p: p["input_checks"].pop())
    assert err.where == "input_checks" and "dx_list_not_empty" in str(err)


def test_wrong_checksum(plan_copy: Path) -> None:
    with (plan_copy / "dx_map.tsv").open("a", encoding="utf-8") as f:
        f.write("X00.000\tX00.000\n")
    err = _load_error(plan_copy)
    assert err.where == "tables.dx_map.sha256"
    assert str(err).startswith("方案 chs-drg-1.1: 表 dx_map（dx_map.tsv）的 SHA-256 校验和不符")


def test_wrong_row_count(broken: Broken) -> None:
    err = broken(lambda p: p["tables"]["cc_mcc"].update(rows=1))
    assert err.where == "tables.cc_mcc.rows"
    assert "应有 1 行，实际 21246 行" in str(err)


def test_missing_table_file(plan_copy: Path) -> None:
    (plan_copy / "or_procedures.tsv").unlink()
    err = _load_error(plan_copy)
    assert err.where == "tables.or_procedures.file"
    assert "不存在" in str(err)


def test_missing_plan_json(tmp_path: Path) -> None:
    err = _load_error(tmp_path)
    assert err.where == "plan.json"


def test_bad_meta_date(plan_copy: Path, edit_json: Any) -> None:
    edit_json(plan_copy / "meta.json", lambda m: m.update(valid_from="2022-13-01"))
    err = _load_error(plan_copy)
    assert err.where == "meta.json.valid_from"


def test_meta_json_is_optional(plan_copy: Path) -> None:
    (plan_copy / "meta.json").unlink()
    meta = load_plan(plan_copy).meta
    assert (meta.id, meta.version, meta.valid_from, meta.valid_to, meta.status) == (
        "chs-drg-1.1",
        "1.1",
        None,
        None,
        "published",
    )
