"""Error messages in the words a user sees: internal names out, Chinese field names in.

Services and engines name the field a problem is about (``drg_payment：…``,
``TrimParams.sd_k：…``) so that tests and logs can tell; people should read
``DRG 支付金额：…``.  :func:`humanize` rewrites a message just before it is answered
(JSON ``message``, page alerts): a field path at the start of a clause becomes its
Chinese name; a path right after the Chinese name it repeats (``年度预算（元） budget：``)
is dropped; an engine parameter class prefix (``TrimParams.``) is never shown.  The
machine name stays in the answer's ``field`` for programs.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: field or parameter name → the Chinese a bureau or hospital user reads
LABELS: dict[str, str] = {
    # settlement lists, review and statements
    "setl_id": "结算ID",
    "list_id": "结算清单",
    "lists": "结算清单",
    "ids": "编号",
    "drg": "DRG",
    "drg_payment": "DRG 支付金额",
    "adjusted_payment": "调整后支付金额",
    "reason": "原因",
    "decision": "决定",
    "period": "结算期间",
    "filter": "筛选条件",
    "state": "状态",
    "status": "状态",
    "kind": "类型",
    "adjustments": "调整",
    "advances": "已预付金额",
    "deposit_rate": "质量保证金比例",
    "prepay_share": "预拨比例",
    "assessment_scores": "年度考核得分",
    "scores_file": "考核得分表",
    "confirm": "确认",
    "confirm_budget_gap": "确认预算差额",
    "chunk_size": "每批份数",
    "hospital_code": "医疗机构编码",
    "hospital_level": "医院等级",
    "hospital": "医疗机构",
    "insured_region_code": "参保地区划",
    "insutype": "险种类型",
    "discharge_date": "出院日期",
    "policies": "待遇政策",
    "policy": "待遇政策",
    "format": "格式",
    "files": "文件",
    "file": "文件",
    "body": "请求内容",
    "cases": "病例",
    # accounts and regions
    "username": "用户名",
    "password": "密码",
    "current": "当前密码",
    "new": "新密码",
    "display_name": "姓名",
    "role": "角色",
    "region": "区划",
    "region_code": "区划",
    "name": "名称",
    "code": "编码",
    "level": "等级",
    # measurement
    "plan": "分组方案",
    "plan_id": "分组方案",
    "years": "历史年度",
    "year": "年度",
    "action": "操作",
    "run_id": "测算运行",
    "simulation": "模拟",
    "weight_plan_id": "权重方案",
    "rate_plan_id": "费率方案",
    "volume_year": "测算年度（病例量）",
    "volume": "病例量",
    "valid_from": "生效日期",
    "valid_to": "失效日期",
    "version": "版本",
    "standards": "支付标准",
    "relative_weight": "相对权重",
    "los_min_days": "住院天数下限",
    "los_max_days": "住院天数上限",
    "cost_floor": "费用下限",
    "method": "方法",
    "iqr_lower_k": "IQR 下限倍数",
    "iqr_upper_k": "IQR 上限倍数",
    "sd_k": "标准差倍数",
    "log_sd_k": "对数标准差倍数",
    "lower_percentile": "下百分位",
    "upper_percentile": "上百分位",
    "TrimParams.min_cases": "裁剪最少病例数",
    "WeightParams.min_cases": "权重最少病例数",
    "min_cases": "最少病例数",
    "weights": "权重",
    "year_weights": "年度权重",
    "year_cases": "年度病例",
    "fallback": "病例不足时",
    "manual": "人工权重",
    "tilts": "倾斜",
    "tilt_factor": "倾斜系数",
    "factor": "倾斜系数",
    "mdcs": "倾斜 MDC",
    "budget": "预算",
    "budget_neutral": "预算中性",
    "growth": "增长率",
    "growth_pct": "增长率",
    "mode": "费率方式",
    "coefficients": "等级系数",
    "add_ons": "医院加成系数",
    "level_budgets": "分级预算",
    "level_rates": "各级费率",
    "high_multipliers": "高倍率阈值",
    "low_multiplier": "低倍率阈值",
    "high_payment": "高倍率病例支付",
    "fund_share": "基金支付比例",
    "fixed_fund_share": "固定基金支付比例",
    "qy_fraction": "歧义组按项目支付比例",
    "annual_cap": "年度封顶线",
    "deductible": "起付线",
    "ratio": "支付比例",
    "bands": "分段比例",
    # ids, paging, filters
    "id": "编号",
    "case_id": "病例",
    "case_ids": "病例",
    "adjustment_id": "调整编号",
    "appeal_id": "申诉编号",
    "special_id": "特例单议申请",
    "policy_id": "待遇政策",
    "set_id": "支付标准",
    "sim_id": "模拟",
    "job_id": "后台任务",
    "user_id": "用户",
    "token_id": "令牌",
    "token": "令牌",
    "page": "页码",
    "size": "每页条数",
    "q": "搜索",
    "by": "分组方式",
    "district": "区县",
    "date_from": "起始日期",
    "date_to": "截止日期",
    "flagged": "仅看标记",
    "has_warnings": "仅看有提示",
    "done": "已处理",
    "key": "编码",
    "prefix": "前缀",
    "how": "处理方式",
    "amount": "金额",
    "percent": "百分比",
    "params": "参数",
    "trim": "裁剪",
    "exclusions": "排除规则",
    "solve_budget": "按预算求解",
    "new_tech": "新技术",
    "source": "来源",
    "mdc": "MDC",
    "items": "条目",
    "total": "合计",
    # a case (settlement list fields)
    "psn_no": "人员编号",
    "psn_name": "姓名",
    "mdtrt_id": "就诊ID",
    "sex": "性别",
    "age_years": "年龄（岁）",
    "age_days": "年龄（天）",
    "birth_date": "出生日期",
    "birth_weight_g": "新生儿出生体重",
    "admission_time": "入院时间",
    "discharge_time": "出院时间",
    "admission_dept": "入院科别",
    "discharge_dept": "出院科别",
    "discharge_way": "离院方式",
    "los_days": "住院天数",
    "principal_dx": "主要诊断",
    "diagnoses": "诊断",
    "procedures": "手术操作",
    "fees": "费用明细",
    "total_cost": "医疗总费用",
    "fund_payment": "基金支付",
    "account_payment": "个人账户支付",
    "cash_payment": "个人现金支付",
    "self_pay_full": "全自费金额",
    "self_pay_first": "先行自付金额",
    "payment_class": "支付类别",
    # messages, monitoring
    "subject": "标题",
    "deadline": "截止日期",
    "limit": "阈值",
    "webhook_url": "告警通知地址",
}
_PATH = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*"
#: a path that opens a clause: the message's start or after ；/ 。/ a newline
_OPENING = re.compile(rf"(^|[；。\n]\s*)({_PATH})(?=\s*：| / )")
#: a path right after Chinese text (its label) and a space
_REPEATED = re.compile(rf"(?<=[\u4e00-\u9fff）)]) ({_PATH})(?=\s*：|\s+[\u4e00-\u9fff])")
#: a path in brackets after its label: 标准差倍数（TrimParams.sd_k）, 年龄（岁） [age_years]
_BRACKETED = re.compile(rf"（({_PATH})）| ?\[({_PATH})\]")
#: a value shown as Python writes it: （收到 'abc'）
_RECEIVED = re.compile(r"（收到 '([^'（）]*)'）")
#: a clause whose rule starts with the field's own name again
_ECHO = re.compile(r"(^|[；。\n]\s*)([\u4e00-\u9fff][^：；\s]{0,15})：(?=\2)")
#: an engine parameter class prefix anywhere (TrimParams.sd_k → sd_k)
_CLASS = re.compile(r"\b[A-Z][A-Za-z]*(?:Params|Rules|Policy)\.(?=[a-z_])")


@lru_cache(maxsize=2048)
def label(path: str) -> str | None:
    """The Chinese name of a field path (the longest known part), None if unknown."""
    parts = path.split(".")
    for width in range(len(parts), 0, -1):
        for start in range(len(parts) - width, -1, -1):
            found = LABELS.get(".".join(parts[start : start + width]))
            if found:
                return found
    return None


def humanize(message: str) -> str:
    """``message`` with field paths turned into their Chinese names (module docstring)."""
    if not message:
        return message

    def opening(m: re.Match[str]) -> str:
        words = label(m.group(2))
        return m.group(1) + (words or _CLASS.sub("", m.group(2)))

    def repeated(m: re.Match[str]) -> str:
        words = label(m.group(1))
        before = m.string[max(0, m.start() - 12) : m.start()]
        if words and (words in before or words[:2] in before):
            return ""  # the label is already there: 年度预算（元） budget：
        colon = m.string[m.end() :].lstrip().startswith("：")
        if words and colon:
            return " " + words
        if words and "_" in m.group(1):  # a known machine name between its Chinese name
            return ""  # and the rule: 调整后支付金额 drg_payment 应为… (a plain word may be data)
        # an unknown machine name right before the colon, after its Chinese
        # description (score_H990…：): drop it; elsewhere it may be data (a username)
        return "" if colon and ("_" in m.group(1) or "." in m.group(1)) else m.group(0)

    def bracketed(m: re.Match[str]) -> str:
        path = m.group(1) or m.group(2)
        return "" if label(path) or "_" in path or "." in path else m.group(0)

    text = _BRACKETED.sub(bracketed, message)
    text = _RECEIVED.sub(r"（收到“\1”）", text)  # a Python repr's quotes: （收到 'abc'）
    text = _REPEATED.sub(repeated, text)
    text = _OPENING.sub(opening, text)
    # a label that the rule itself repeats: 已预付金额：已预付金额须为… → 已预付金额须为…
    text = _ECHO.sub(r"\1", text)
    return _CLASS.sub("", text)
