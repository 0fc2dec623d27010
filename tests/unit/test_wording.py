"""Error messages in the user's words (issue 10.10): no internal names in what a
person reads; the machine name stays in the error's ``field``."""

from __future__ import annotations

import pytest

from yibao.api.wording import humanize


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("drg_payment：须低于原金额", "DRG 支付金额：须低于原金额"),
        ("TrimParams.sd_k：必须是数字", "标准差倍数：必须是数字"),
        ("ExclusionRules.cost_floor：须为非负数", "费用下限：须为非负数"),
        ("标准差倍数（TrimParams.sd_k）：必须是数字", "标准差倍数：必须是数字"),
        ("年度预算（元） budget：须大于 0", "年度预算（元）：须大于 0"),
        ("请求体 drg_payment：应为数字", "请求体 DRG 支付金额：应为数字"),
        (
            "甲医院 的年度考核得分 score_H99010200001：须在 0 到 100 之间",
            "甲医院 的年度考核得分：须在 0 到 100 之间",
        ),
        ("每批处理清单数 chunk_size 须在 1 到 50 之间", "每批处理清单数 须在 1 到 50 之间"),
        (
            "weights.year_weights：之和须为 1；TrimParams.method：取值",
            "年度权重：之和须为 1；方法：取值",
        ),
        ("advances：已预付金额须为 JSON 对象", "已预付金额须为 JSON 对象"),
        ("year：年度须在 2000 到 2100 之间", "年度须在 2000 到 2100 之间"),
        (
            "调整后支付金额 drg_payment 应为数字（元）（收到 'abc'）",
            "调整后支付金额 应为数字（元）（收到“abc”）",
        ),
        ("年龄（岁） [age_years] 必须是整数", "年龄（岁） 必须是整数"),
        ("标题 subject：不能为空", "标题：不能为空"),
        ("deadline：截止日期 2020-01-01 已过", "截止日期 2020-01-01 已过"),
        (
            "webhook_url：须为 http:// 或 https:// 地址",
            "告警通知地址：须为 http:// 或 https:// 地址",
        ),
        # a value list is data, even when its words are field names elsewhere
        ("第 1 条限制的 kind 须为 sex、age 之一", "第 1 条限制的 kind 须为 sex、age 之一"),
        # data is left alone: a username, a settlement id, a file name
        ("用户 hosp_a 不在您的辖区内", "用户 hosp_a 不在您的辖区内"),
        ("结算清单 S_2024_001 已确认", "结算清单 S_2024_001 已确认"),
        ("p.xlsx：第 3 行缺少机构编码", "p.xlsx：第 3 行缺少机构编码"),
    ],
)
def test_humanize(raw: str, shown: str) -> None:
    assert humanize(raw) == shown
