"""Words of the measurement pages: labels, field names, export headers.

The Chinese shown for codes (weight sources, standard sources), the Chinese field
names that replace parameter paths in error messages (:func:`zh_message`), the form
input an error is about (:func:`error_field`), and the Chinese headers and values of
measurement exports (pages and API Excel files).
"""

from __future__ import annotations

import re
from typing import Any

from yibao.kit.errors import DomainError

SOURCE_LABELS = {
    "drg": "本组",
    "adrg": "ADRG 合并",
    "drg_few": "病例少（待审）",
    "catalogue": "无病例",
    "manual": "人工设定",
}
STANDARD_SOURCES = {"measured": "测算生成", "imported": "导入"}

#: parameter paths → Chinese field names (error messages name the field in Chinese)
FIELD_LABELS = {
    "name": "名称",
    "plan": "分组方案",
    "plan_id": "分组方案",
    "years": "历史年度",
    "year": "模拟年度",
    "code": "方案编码",
    "ids": "模拟编号",
    "file": "文件",
    "action": "操作",
    "run_id": "测算运行",
    "weight_plan_id": "权重方案",
    "rate_plan_id": "费率方案",
    "volume_year": "测算年度（病例量）",
    "valid_from": "生效日期",
    "valid_to": "失效日期",
    "los_min_days": "住院天数下限",
    "los_max_days": "住院天数上限",
    "cost_floor": "费用下限",
    "method": "裁剪方法",
    "iqr_lower_k": "IQR 下限倍数",
    "iqr_upper_k": "IQR 上限倍数",
    "sd_k": "标准差倍数",
    "lower_percentile": "下百分位",
    "upper_percentile": "上百分位",
    "TrimParams.min_cases": "裁剪最少病例数",
    "WeightParams.min_cases": "权重最少病例数",
    "year_weights": "年度权重",
    "fallback": "病例不足时",
    "manual": "人工权重",
    "tilts": "倾斜",
    "factor": "倾斜系数",
    "mdcs": "倾斜 MDC",
    "budget": "预算",
    "growth": "增长率",
    "mode": "费率方式",
    "coefficients": "等级系数",
    "level_budgets": "分级预算",
    "level_rates": "各级费率",
    "high_multipliers": "高倍率阈值",
    "low_multiplier": "低倍率阈值",
    "high_payment": "高倍率病例支付",
    "fund_share": "基金支付比例",
    "fixed_fund_share": "固定基金支付比例",
}
_FIELD_AT = re.compile(r"(^|；)([A-Za-z_][\w.]*)(?=：| / )")


def zh_message(message: str) -> str:
    """Replace each ``path：`` in an error message with its Chinese field name (the
    path itself stays in the error's ``field``)."""

    def sub(match: re.Match[str]) -> str:
        path = match.group(2)
        parts = path.split(".")
        label = None
        for width in range(len(parts), 0, -1):  # the longest known part: TrimParams.min_cases
            for start in range(len(parts) - width + 1):
                label = label or FIELD_LABELS.get(".".join(parts[start : start + width]))
        return f"{match.group(1)}{label}" if label else match.group(0)

    return _FIELD_AT.sub(sub, message)


def _tilt_field(path: list[str], _message: str) -> str:
    if path[0] == "manual":
        return "manual"
    return "tilt_factor" if path[-1] == "factor" else "tilt_mdcs"


def _level(path: list[str], message: str) -> str:
    named = re.search(r"([123]) 级", message)
    return path[1] if len(path) > 1 else (named.group(1) if named else "")


def _rate_field(path: list[str], message: str) -> str:
    if path[0] not in ("coefficients", "level_budgets"):
        return "growth_pct" if path[0] == "growth" else path[0]
    return f"{'coef' if path[0] == 'coefficients' else 'lb'}_{_level(path, message)}"


def _sim_field(path: list[str], message: str) -> str:
    return f"high_{_level(path, message)}" if path[0] == "high_multipliers" else path[0]


#: parameter model → form input name of a field path (and the message)
_FORM_FIELDS: dict[str, Any] = {
    "TrimParams": lambda p, _m: f"trim.{p[0]}",
    "WeightParams": lambda p, _m: f"weights.{p[0]}",
    "ExclusionRules": lambda p, _m: f"exclusions.{p[0]}",
    "Adjustments": _tilt_field,
    "RateParams": _rate_field,
    "SimulationParams": _sim_field,
}


def error_field(exc: DomainError) -> str | None:
    """The form input an error is about (``TrimParams.min_cases`` → ``trim.min_cases``)."""
    head = re.match(r"(\w+)\.([\w.]+)", exc.message)
    if head and head.group(1) in _FORM_FIELDS:
        return str(_FORM_FIELDS[head.group(1)](head.group(2).split("."), exc.message))
    return exc.field


#: Chinese headers of measurement exports (pages and API Excel files); the standards
#: headers are ones the standards import reads back (DRG、医院等级、相对权重、费率、支付标准)
EXPORT_LABELS: dict[str, str] = {
    "hospital_code": "医院编码",
    "hospital_name": "医院名称",
    "hospital_level": "医院等级",
    "discharge_dept": "出院科室",
    "drg": "DRG",
    "drg_name": "DRG 名称",
    "mdc": "MDC",
    "adrg": "ADRG",
    "cases": "病例数",
    "normal": "正常",
    "high": "高倍率",
    "low": "低倍率",
    "qy": "歧义组",
    "ungroupable": "无法入组",
    "no_standard": "无支付标准",
    "total_cost": "医疗总费用（元）",
    "drg_payment": "DRG 支付（元）",
    "balance": "盈亏（元）",
    "payment_ratio": "支付/费用",
    "fund_estimate": "基金支付估算（元）",
    "fund_actual": "基金实际支付（元）",
    "ratio_band": "费用/标准",
    "payment_class": "类别代码",
    "class_name": "类别",
    "reason_code": "原因代码",
    "reason": "排除原因",
    "scenario": "方案",
    "budget": "预算（元）",
    "budget_gap": "支付-预算（元）",
    "year": "年度",
    "rates": "费率",
    "relative_weight": "相对权重",
    "base_rate": "费率",
    "payment_standard": "支付标准",
    "rw_source": "权重来源",
    "needs_review": "需人工复核",
    "volume": "病例量",
    "cases_kept": "保留病例数",
    "cost_mean": "例均费用（元）",
    "cv": "变异系数",
    "lower": "下界（元）",
    "upper": "上界（元）",
    "below": "低于下界",
    "above": "高于上界",
    "kept": "保留",
    "applied": "是否裁剪",
    "q1": "下四分位数（元）",
    "q3": "上四分位数（元）",
    "p_low": "下百分位数（元）",
    "p_high": "上百分位数（元）",
    "mean_log": "对数均值",
    "sd_log": "对数标准差",
    "cmi": "CMI",
    "cost_index": "费用消耗指数",
    "time_index": "时间消耗指数",
    "low_risk_mortality": "低风险死亡率",
}
#: values shown in words in measurement Excel exports
EXPORT_VALUES: dict[str, dict[Any, str]] = {
    "hospital_level": {"1": "一级", "2": "二级", "3": "三级"}
}
