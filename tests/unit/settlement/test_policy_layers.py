"""The optional layers of a benefit policy (ADR 0017): loading, Chinese validation
messages naming the field, defaults, and the Excel round trip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from yibao.benefits.sheets import COLUMNS, policies_frame, read_policies
from yibao.engines.settlement import DEMO_POLICY_DIR, SettlementError, load_policies, parse_policy
from yibao.kit.errors import ValidationFailed

from .conftest import flat_policy

ROOT = Path(__file__).resolve().parents[3]
FILES = [*sorted(DEMO_POLICY_DIR.glob("*.json")), ROOT / "src/yibao/demo/policies/980100.json"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_policy_file_loads_with_its_layers(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert "合成演示数据" in doc["note"] and "[M]" in doc["note"]
    for policy in load_policies(path).policies:
        assert policy.large_amount is not None and policy.outpatient is not None
        assert policy.medical_aid is not None
        if policy.insutype == "310":
            assert policy.basic_fund_type == "310100"
            assert policy.large_amount.fund_pay_type == "330100"
            assert policy.civil_servant is not None
        else:
            assert policy.basic_fund_type == "390100"
            assert policy.large_amount.fund_pay_type == "390200"
            assert policy.civil_servant is None


def test_an_old_policy_keeps_its_defaults() -> None:
    p = flat_policy()
    assert (p.fund_pay_type, p.deductible_per, p.large_amount, p.outpatient) == (
        None,
        "year",
        None,
        None,
    )
    assert p.basic_fund_type == "310100"
    other = parse_policy({**json.loads(p.model_dump_json()), "insutype": "320"})
    assert other.basic_fund_type is None


LARGE = {
    "fund_pay_type": "330100",
    "threshold": "20000",
    "bands": [{"upper": "100000", "ratio": "0.8"}, {"ratio": "0.9"}],
    "annual_cap": "300000",
}
LEVELS = {lv: {"deductible": "100", "ratio": "0.5"} for lv in "123"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fund_pay_type": "31"}, "fund_pay_type：基本统筹基金编码须为 6 位数字"),
        ({"deductible_per": "month"}, "deductible_per：起付线计算方式须为 year（按年度累计）"),
        (
            {"large_amount": {**LARGE, "fund_pay_type": "330200"}},
            "large_amount.fund_pay_type：大额（大病）基金编码须为 330100",
        ),
        (
            {"large_amount": {**LARGE, "fund_pay_type": "390200"}},
            "large_amount：险种 310 的大额（大病）基金编码须为 330100",
        ),
        ({"large_amount": {**LARGE, "threshold": "-1"}}, "large_amount.threshold：大额（大病）"),
        ({"large_amount": {**LARGE, "bands": []}}, "bands：大额（大病）支付比例须至少有一段"),
        (
            {"large_amount": {**LARGE, "bands": [{"upper": "5", "ratio": "0.5"}]}},
            "bands：最后一段不能设上限",
        ),
        ({"large_amount": {**LARGE, "annual_cap": "0"}}, "large_amount.annual_cap：年度最高"),
        (
            {"civil_servant": {"ratio": "1.5", "annual_cap": "100"}},
            "civil_servant.ratio：基金支付比例须在 0 到 1 之间",
        ),
        (
            {"civil_servant": {"fund_pay_type": "320200", "ratio": "0.5", "annual_cap": "100"}},
            "civil_servant.fund_pay_type：公务员医疗补助基金编码须为 320100",
        ),
        (
            {"medical_aid": {"identities": {"9999": {"ratio": "0.5", "annual_cap": "1"}}}},
            "medical_aid.identities：救助对象身份须为 2101 特困供养人员",
        ),
        ({"medical_aid": {"identities": {}}}, "medical_aid.identities：医疗救助须至少列出一类"),
        (
            {"outpatient": {"levels": {"1": LEVELS["1"]}, "annual_cap": "100"}},
            "outpatient.levels：缺少 二级、三级 医院的起付线和支付比例",
        ),
        (
            {"outpatient": {"levels": LEVELS, "annual_cap": "0"}},
            "outpatient.annual_cap：门诊统筹年度封顶线须大于 0",
        ),
        (
            {"outpatient": {"levels": LEVELS, "annual_cap": "1", "cross_region": {"x": {}}}},
            "outpatient.cross_region：异地范围须为",
        ),
    ],
)
def test_layer_validation_is_chinese_and_names_the_field(
    change: dict[str, Any], message: str
) -> None:
    data = {**json.loads(flat_policy().model_dump_json()), **change}
    with pytest.raises(SettlementError) as err:
        parse_policy(data)
    assert message in err.value.message, err.value.message


def test_most_favourable_identity() -> None:
    policy = load_policies(DEMO_POLICY_DIR).policies[0]
    aid = policy.medical_aid
    assert aid is not None
    assert aid.best(["2104", "2102"]) == ("2102", aid.identities["2102"])
    # 2103 and 2104 tie on ratio and cap → the smaller code
    assert aid.best(["2104", "2103"]) == ("2103", aid.identities["2103"])
    assert aid.best(["2101", "2201"]) == ("2101", aid.identities["2101"])
    assert aid.best([]) is None


def test_excel_round_trip_keeps_the_layers() -> None:
    policies = [*load_policies(FILES).policies, flat_policy()]
    frame = policies_frame(policies)
    assert COLUMNS["layers"] in frame.columns
    back = read_policies(frame, "p.xlsx")
    assert [p.model_dump(exclude={"status"}) for p in back] == [
        p.model_dump(exclude={"status"}) for p in policies
    ]
    # a policy without layers has an empty cell; a workbook without the column imports
    assert frame[COLUMNS["layers"]].to_list()[-1] == ""
    old = read_policies(frame.drop(COLUMNS["layers"]), "old.xlsx")
    assert [p.large_amount for p in old] == [None] * len(policies)


def _with_layers(cell: str) -> pl.DataFrame:
    frame = policies_frame([flat_policy()])
    return frame.with_columns(pl.lit(cell).alias(COLUMNS["layers"]))


@pytest.mark.parametrize(
    ("cell", "words"),
    [
        ("{oops", "“其他待遇（JSON）”不是有效的 JSON"),
        ("[1]", "“其他待遇（JSON）”须为 JSON 对象"),
        ('{"levels": {}}', "“其他待遇（JSON）”只能含 fund_pay_type"),
        (
            json.dumps({"large_amount": {**LARGE, "threshold": "-1"}}),
            "“其他待遇（JSON）”·大额（大病）保险·起付标准：大额（大病）起付标准不能为负数",
        ),
        (
            json.dumps({"outpatient": {"levels": LEVELS, "annual_cap": "0"}}),
            "“其他待遇（JSON）”·门诊统筹·年度封顶线：门诊统筹年度封顶线须大于 0",
        ),
    ],
)
def test_sheet_errors_name_the_column(cell: str, words: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        read_policies(_with_layers(cell), "p.xlsx")
    assert words in err.value.message, err.value.message
