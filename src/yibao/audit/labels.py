"""The audit log in words a bureau reads: Chinese names for actions, objects and the
fields of the before / after snapshots, values turned into their labels, long lists
cut short."""

from __future__ import annotations

from typing import Any

from yibao.accounts.roles import Role
from yibao.engines.settlement.states import ACTION_LABELS, STATE_LABELS
from yibao.exchange.visits import KINDS as VISIT_KINDS
from yibao.exchange.visits import STATES as VISIT_STATES
from yibao.regions.models import HOSPITAL_LEVELS
from yibao.settlement.review.states import NOTE_LABELS
from yibao.supervision.findings.states import ACTION_LABELS as FINDING_ACTION_LABELS
from yibao.supervision.findings.states import STATE_LABELS as FINDING_STATE_LABELS

#: the gateway's steps of a visit (exchange.<kind>.<step>)
_VISIT_STEPS = {
    "open": "登记",
    "visit": "就诊信息上传",
    "change": "信息变更",
    "cancel": "撤销登记",
    "fees": "费用明细上传",
    "fees_cancel": "费用明细撤销",
    "discharge": "出院办理",
    "discharge_cancel": "撤销出院",
    "settle": "结算",
    "reverse": "撤销结算",
}
#: the versioned knowledge base and rule base (supervision.<what>.<verb>)
_SUPERVISION_WHAT = {"knowledge": "知识库", "rules": "规则库"}
_SUPERVISION_VERBS = {
    "create": "新建{}版本",
    "import": "导入{}",
    "publish": "发布{}",
    "retire": "停用{}",
    "close": "{}截止（新版本生效）",
    "delete": "删除{}草稿",
    "relation.add": "{}新增关系",
    "relation.edit": "{}修改关系",
    "relation.delete": "{}删除关系",
    "restriction.put": "{}保存限定支付",
    "restriction.delete": "{}删除限定支付",
    "rule.put": "{}保存规则",
    "rule.delete": "{}删除规则",
}

ACTIONS: dict[str, str] = {
    "auth.login": "登录",
    "auth.login_failed": "登录失败",
    "user.create": "新建用户",
    "user.disable": "停用用户",
    "user.enable": "启用用户",
    "user.password_change": "修改本人密码",
    "user.password_reset": "重置用户密码",
    "user.role_change": "修改用户角色",
    "api_token.create": "发放接口令牌",
    "api_token.revoke": "吊销接口令牌",
    "hospital.create": "登记医疗机构",
    "hospital.update": "修改医疗机构",
    "benefits.policy.import": "导入待遇政策（草稿）",
    "benefits.policy.publish": "发布待遇政策",
    "benefits.policy.close": "待遇政策截止（新版本生效）",
    "benefits.policy.delete": "删除待遇政策草稿",
    "catalogue.version.create": "新建医保目录版本",
    "catalogue.entries.import": "导入医保目录条目",
    "catalogue.version.publish": "发布医保目录",
    "catalogue.version.close": "医保目录截止（新版本生效）",
    "catalogue.version.delete": "删除医保目录草稿",
    "insured.settlement.post": "结算计入参保人累计",
    "insured.settlement.reverse": "撤销结算的参保人累计",
    "demo.seed": "生成演示数据",
    "demo.seed.insured": "生成演示参保人员",
    "demo.seed.settlement": "生成演示结算数据",
    "demo.reset": "清除演示数据",
    "grouping.intake": "新病例分组",
    "grouping.regroup": "重新分组",
    "job.submit": "提交后台任务",
    "measurement.run.create": "新建测算",
    "measurement.simulation.create": "运行模拟",
    "measurement.weight_plan.create": "新建权重方案",
    "measurement.weight_plan.update": "修改权重方案",
    "measurement.weight_plan.approve": "审定权重方案",
    "measurement.weight_plan.publish": "发布权重方案",
    "measurement.weight_plan.retire": "停用权重方案",
    "measurement.rate_plan.create": "新建费率方案",
    "measurement.rate_plan.set_rates": "修改费率",
    "measurement.rate_plan.apply_simulation": "采用模拟求得的费率",
    "measurement.standards.publish": "发布支付标准",
    "measurement.standards.request": "提交支付标准待复核",
    "measurement.standards.approve": "复核通过支付标准",
    "measurement.standards.close": "支付标准截止（新标准生效）",
    "settlement.intake": "接收结算清单",
    "settlement.bulk_approve": "批量审核通过",
    "settlement.confirm": "确认月度结算",
    "settlement.confirm.start": "开始月度结算确认",
    "settlement.confirm.resume": "继续月度结算确认",
    "settlement.confirm.finish": "完成月度结算确认",
    "settlement.period.close": "关闭结算期间",
    "settlement.clearing.save": "保存年度清算",
    "analysis.refresh": "刷新决策分析汇总",
    "analysis.budget": "设定基金年度预算",
    "dip.catalogue.create": "新建 DIP 病种目录",
    "dip.catalogue.import": "导入 DIP 病种目录",
    "dip.catalogue.publish": "发布 DIP 病种目录",
    "dip.scheme.create": "新建 DIP 付费方案",
    "dip.scheme.publish": "发布 DIP 付费方案",
    "dip.scheme.close": "DIP 付费方案截止（新方案生效）",
    "dip.simulation.create": "运行 DIP 模拟",
    "exchange.sign_in": "接口签到",
    "exchange.sign_out": "接口签退",
    "exchange.reversal": "冲正交易",
    "exchange.key.issue": "发放接口密钥",
    "exchange.key.rotate": "更换接口密钥",
    "exchange.key.revoke": "吊销接口密钥",
    "finding.post_audit": "事后审核",
    "supervision.audit.feedback": "事前事中审核医生反馈",
    "grouping.region_plan": "设置地区付费方案",
    "grouping.local_plan_import": "导入地方分组方案",
    "grouping.local_plan_trial": "试运行地方分组方案",
    "grouping.local_plan_publish": "发布地方分组方案",
    "grouping.local_plan_delete": "删除地方分组方案",
    "measurement.weight_plan.reopen": "权重方案退回草稿",
    "maps.upload": "上传地图",
    "messages.notice": "发布通知",
    "messages.thread": "发起会话",
    "monitoring.threshold.add": "新增监控阈值",
    "monitoring.threshold.delete": "删除监控阈值",
    "monitoring.components": "启停监控组件",
    "monitoring.webhook_url": "设置告警推送地址",
    "monitoring.screen_intervals": "设置大屏刷新间隔",
} | {f"settlement.{a.value}": label for a, label in ACTION_LABELS.items()}
ACTIONS |= {f"settlement.{a}": label for a, label in NOTE_LABELS.items()}
ACTIONS |= {f"finding.{a}": f"疑点{label}" for a, label in FINDING_ACTION_LABELS.items()}
ACTIONS |= {
    f"exchange.{kind}.{step}": f"{kind_label}{step_label}"
    for kind, kind_label in VISIT_KINDS.items()
    for step, step_label in _VISIT_STEPS.items()
}
ACTIONS |= {
    f"supervision.{what}.{verb}": text.format(what_label)
    for what, what_label in _SUPERVISION_WHAT.items()
    for verb, text in _SUPERVISION_VERBS.items()
}

OBJECTS: dict[str, str] = {
    "user": "用户",
    "api_token": "接口令牌",
    "hospital": "医疗机构",
    "region": "区划",
    "benefit_policy": "待遇政策",
    "catalogue_version": "医保目录版本",
    "insured_person": "参保人员",
    "case_groupings": "分组结果",
    "job": "后台任务",
    "measurement_run": "测算",
    "simulation": "模拟",
    "weight_plan": "权重方案",
    "rate_plan": "费率方案",
    "payment_standard_set": "支付标准",
    "settlement_list": "结算清单",
    "settlement_list_batch": "一批结算清单",
    "settlement_confirm_batch": "月度结算确认",
    "settlement_period": "结算期间",
    "settlement_clearing": "年度清算",
    "supervision_finding": "事后审核疑点",
    "audit_finding": "事前事中审核提示",
    "knowledge_version": "知识库版本",
    "rule_set_version": "规则库版本",
    "dip_catalogue": "DIP 病种目录",
    "dip_scheme": "DIP 付费方案",
    "dip_simulation": "DIP 模拟",
    "exchange_key": "接口密钥",
    "exchange_message": "交易报文",
    "exchange_settlement": "实时结算",
    "exchange_sign_in": "接口签到",
    "exchange_visit": "就诊",
    "fund_budget": "基金预算",
    "local_plan": "地方分组方案",
    "region_plan": "地区付费方案",
    "region_map": "地图",
    "message_thread": "消息会话",
    "monitor_setting": "监控设置",
    "monitor_threshold": "监控阈值",
}

FIELDS: dict[str, str] = {
    "username": "用户名",
    "display_name": "姓名",
    "role": "角色",
    "region_code": "区划",
    "region": "区划",
    "hospital_id": "医疗机构",
    "is_active": "启用",
    "reason": "原因",
    "sessions_ended": "结束的会话",
    "state": "状态",
    "states": "状态",
    "setl_id": "结算ID",
    "setl_ids": "结算ID",
    "steps": "步骤",
    "bulk": "批量操作",
    "requested": "申请数",
    "approved": "通过数",
    "refused": "未通过",
    "lists": "清单数",
    "accepted": "接收",
    "held": "质控挂起",
    "source": "来源",
    "period": "期间",
    "amount_paid": "支付金额",
    "fund_amount": "基金支付",
    "list_ids": "清单",
    "kind": "类型",
    "original_payment": "原支付",
    "adjusted_payment": "调整后支付",
    "original_fund": "原基金支付",
    "adjusted_fund": "调整后基金支付",
    "status": "状态",
    "name": "名称",
    "code": "编码",
    "level": "等级",
    "key": "版本",
    "insutype": "险种",
    "valid_from": "生效日期",
    "valid_to": "失效日期",
    "annual_cap": "年度封顶线",
    "levels": "各级医院待遇",
    "cross_region": "异地就医",
    "plan_id": "分组方案",
    "items": "条目数",
    "checksum": "校验和",
    "prefix": "令牌前缀",
    "user": "用户",
    "closed_by_version": "由新版本截止",
    "total": "病例数",
    "grouped": "已分组",
    "plans": "分组方案",
    "carried": "结转",
    "closed_out": "关闭",
    "standard_set_id": "支付标准",
    "months": "月份",
    "confirmed": "已确认",
    "pending": "待处理",
    "period_status": "期间状态",
    "chunk_size": "每批份数",
    "adjustment_id": "调整编号",
    "by_status": "分组状态",
    "filter": "条件",
    "version": "版本",
    "cases": "病例数",
    "no_plan": "无分组方案",
    "year": "年度",
    "hospital": "医疗机构",
    "case_ids": "病例",
    "weight_plan_id": "权重方案",
    "rate_plan_id": "费率方案",
    "base_rate": "费率",
    "base_rates": "费率",
    "budget": "预算",
    "budget_gap": "与预算差额",
    "method": "方式",
    "new_payment": "新支付",
    "new_fund": "新基金支付",
    "fund_explanation": "基金支付计算",
    "quota": "名额",
    "sessions": "会话",
    "batch_id": "批次",
    "list_id": "清单",
    "special_case_id": "特例单议申请",
    "application_id": "申请编号",
    "entries": "条目数",
    "ref": "结算编号",
    "deltas": "累计增量",
    "balc_after": "个人账户余额",
    "cause": "撤销依据",
    "persons": "人数",
    "accounts": "个人账户数",
    "identities": "特殊身份",
    "openings": "期初累计",
    "amount": "金额",
    "jr_id": "疑点编号",
    "deadline": "答复期限",
    "attachments": "附件",
    "psn_no": "人员编号",
    "mdtrt_id": "就诊ID",
    "msgid": "报文ID",
    "sign_no": "签到编号",
    "opter_no": "经办人编号",
    "expires_at": "有效期至",
    "scope": "就医地类型",
    "policy": "待遇政策",
    "lines": "明细条数",
    "decided": "裁定金额",
    "covered_by": "已由其他疑点扣减",
    "medfee_sumamt": "医疗费总额",
    "fund_pay_sumamt": "基金支付总额",
    "acct_pay": "个人账户支出",
    "psn_cash_pay": "个人现金支出",
    "reversal_setl_id": "撤销结算ID",
    "task_id": "审核任务",
    "opter": "经办人",
    "dspo_way": "处理方式",
    "notes": "说明",
    "special_id": "特例单议申请",
    "method_label": "结算方式",
    "simulation_id": "模拟",
    "based_on": "基于版本",
    "plan": "分组方案",
    "params": "参数",
    "seed": "随机种子",
    "years": "年度",
    "places": "地区",
    "mode": "方式",
    "scale": "调整系数",
    "rounding": "取整",
    "totals": "合计",
    "total_before": "调整前合计",
    "total_after": "调整后合计",
    "expected_weight": "预计权重",
    "level_weights": "各级权重",
    "level_rates": "各级费率",
    "level_budgets": "各级预算",
    "payment_rules": "支付规则",
    "found": "发现疑点",
    "new": "新增",
    "kept": "保留",
    "dropped": "撤销",
    "expired": "逾期",
    "refreshed": "更新",
    "rule_findings": "规则疑点",
    "detector_findings": "模型疑点",
    "unknown_hospital": "未知机构",
    "case_months": "病例月汇总",
    "audit_months": "审核月汇总",
    "fund_months": "基金月汇总",
    "drg_years": "DRG 年汇总",
    "dip_years": "DIP 年汇总",
    "item_years": "项目年汇总",
}
VALUES: dict[str, dict[Any, str]] = {
    "role": {r.value: r.label for r in Role},
    "is_active": {True: "是", False: "否"},
    "bulk": {True: "是", False: "否"},
    # settlement lists, post-audit findings and gateway visits name their states apart
    "state": VISIT_STATES
    | {str(s): label for s, label in FINDING_STATE_LABELS.items()}
    | {s.value: label for s, label in STATE_LABELS.items()},
    "level": HOSPITAL_LEVELS,
    "status": {"draft": "草稿", "published": "已发布", "retired": "已停用", "pending": "待复核"},
    "kind": {
        "deduct": "扣减",
        "increase": "调增",
        "opening": "期初结转",
        "settle": "结算",
        "reverse": "撤销结算",
    },
    "steps": {a.value: label for a, label in ACTION_LABELS.items()},
    "scope": {"local": "本地就医", "in_province": "省内异地", "out_of_province": "跨省异地"},
}
#: at most this many items of a list are shown
LIST_ITEMS = 10


def action_label(action: str) -> str:
    return ACTIONS.get(action, action)


def object_label(object_type: str | None) -> str:
    return OBJECTS.get(object_type or "", object_type or "")


def _value(key: str, value: Any) -> str:
    words = VALUES.get(key, {})
    if isinstance(value, list):
        shown = [_value(key, v) for v in value[:LIST_ITEMS]]
        more = f" …（共 {len(value)} 项）" if len(value) > LIST_ITEMS else ""
        return "、".join(shown) + more
    if isinstance(value, dict):
        if key in ("states", "state", "by_state"):  # {state: count} (maybe per period)
            states = VALUES["state"]
            return "；".join(
                f"{states.get(k, k)} {_value(key, v)}" for k, v in list(value.items())[:LIST_ITEMS]
            )
        return "；".join(f"{_field(k)} {_value(k, v)}" for k, v in list(value.items())[:LIST_ITEMS])
    if value is None:
        return "—"
    try:
        return words.get(value, str(value))
    except TypeError:  # an unhashable value
        return str(value)


def _field(key: str) -> str:
    return FIELDS.get(key, key)


def describe(snapshot: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(field label, value text) pairs of a before/after snapshot."""
    if not snapshot:
        return []
    if not isinstance(snapshot, dict):
        return [("", str(snapshot))]
    return [(_field(k), _value(k, v)) for k, v in snapshot.items()]
