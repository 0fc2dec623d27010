"""The audit log in words a bureau reads: Chinese names for actions, objects and the
fields of the before / after snapshots, values turned into their labels, long lists
cut short."""

from __future__ import annotations

from typing import Any

from yibao.accounts.roles import Role
from yibao.engines.settlement.states import ACTION_LABELS, STATE_LABELS
from yibao.regions.models import HOSPITAL_LEVELS

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
} | {f"settlement.{a.value}": label for a, label in ACTION_LABELS.items()}

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
}
VALUES: dict[str, dict[Any, str]] = {
    "role": {r.value: r.label for r in Role},
    "is_active": {True: "是", False: "否"},
    "bulk": {True: "是", False: "否"},
    "state": {s.value: label for s, label in STATE_LABELS.items()},
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
