"""Importing a bureau's payment standard table: half-up rounding, ranges, Chinese errors."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from yibao.kit.errors import ValidationFailed
from yibao.measurement.imports import read_standards_file

PLAN: Any = SimpleNamespace(id="chs-drg-test", plan=SimpleNamespace(drgs={"AA11": 1, "BB13": 2}))
HEAD = "DRG编码,医院等级,相对权重,支付标准"


def read(*lines: str, head: str = HEAD) -> list[tuple[Any, ...]]:
    body = "\n".join((head, *lines)) + "\n"
    return read_standards_file(body.encode("utf-8"), "standards.csv", PLAN).rows()


def test_extra_decimals_round_half_up_not_to_even() -> None:
    # 8000.125 → 8000.13 and 1.23445 → 1.2345 (四舍五入); banker's rounding gave
    # 8000.12 and 1.2344.  The rate is standard ÷ weight of the stored figures.
    ((drg, level, rw, rate, std),) = read("AA11,3,1.23445,8000.125")
    assert (drg, level, rw, std) == ("AA11", "3", Decimal("1.2345"), Decimal("8000.13"))
    assert rate == (Decimal("8000.13") / Decimal("1.2345")).quantize(Decimal("1e-10"))
    assert rate == Decimal("6480.4617253949")
    # a given rate is rounded half up to 10 decimals too
    ((*_, rate, _),) = read("BB13,2,2,9000,4500.00000000005", head=HEAD + ",费率")
    assert rate == Decimal("4500.0000000001")


@pytest.mark.parametrize(
    ("line", "head", "message"),
    [
        ("AA11,3,1.2,1e30", HEAD, "支付标准 '1e30' 应为不超过 9999999999999999.99 的正数"),
        (
            "AA11,3,1.2,99999999999999999999",
            HEAD,
            "支付标准 '99999999999999999999' 应为不超过",
        ),
        ("AA11,3,1e25,9000", HEAD, "相对权重 '1e25' 应为不超过"),
        ("AA11,3,0.00001,9000", HEAD, "相对权重 '0.00001' 应为不超过"),
        ("AA11,3,1.2,9000,1e40", HEAD + ",费率", "费率 '1e40' 应为不超过"),
        ("AA11,3,1.2,9000,abc", HEAD + ",费率", "费率 'abc' 应为不超过"),
        ("AA11,3,0.0001,9999999999999999.99", HEAD, "得到的费率超出范围"),
    ],
)
def test_out_of_range_numbers_are_a_chinese_error_naming_the_row(
    line: str, head: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as err:
        read(line, head=head)
    assert err.value.field == "file"
    assert "未导入任何数据：第 2 行：" in str(err.value)
    assert message in str(err.value)


def test_empty_rate_cell_takes_standard_over_weight() -> None:
    ((*_, rate, std),) = read("AA11,一级,0.5,3000,", head=HEAD + ",费率")
    assert (rate, std) == (Decimal("6000.0000000000"), Decimal("3000.00"))
