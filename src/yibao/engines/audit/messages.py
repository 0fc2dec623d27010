"""The real-time audit messages (issue 13 item 4, ADR 0023): inputs and outputs of 3101
明细审核事前分析, 3102 事中分析 and 3103 事前事中服务反馈, with the field names of the NHSA
interface (domain.md §4.2).  Reading them into claims and the 事前 reminder are in
:mod:`yibao.engines.audit.realtime`.

Inputs are read leniently by :func:`yibao.engines.exchange.lenient.read` (the gateway's
reader), so the same message gives the same answer or the same refusal through the
envelope and through the plain JSON route.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Final

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from yibao.engines.exchange.visits import InNode, check_flag

#: infno → audit stage (3101 事前, 3102 事中)
STAGE_OF: Final[dict[str, str]] = {"3101": "pre", "3102": "mid"}
STAGE_NAMES: Final[dict[str, str]] = {"pre": "事前", "mid": "事中"}
#: 触发场景 (trig_scen) [S] S25 TrigScen.java: 1–5 事前, 6–10 事中
TRIG_SCENES: Final[dict[int, str]] = {
    1: "事前-门诊挂号",
    2: "事前-门诊收费登记",
    3: "事前-住院登记",
    4: "事前-住院收费登记",
    5: "事前-住院执行医嘱",
    6: "事中-门诊结算",
    7: "事中-门诊预结算",
    8: "事中-住院结算",
    9: "事中-住院预结算",
    10: "事中-购药划卡",
}
#: 就诊类型 (med_mdtrt_type): 2 住院 → ipt, the others outpatient-like [M]
MDTRT_TYPES: Final[dict[str, str]] = {"1": "门诊", "2": "住院", "3": "购药", "4": "其他"}
#: 3103 反馈类型 (warn_type) and 处理方式 (dspo_way) [S] (HIS vendor code)
WARN_TYPES: Final[dict[str, str]] = {"1": "pre", "2": "mid"}
DSPO_WAYS: Final[dict[str, str]] = {"1": "继续执行（说明理由）", "2": "返回修改（采纳）"}

Text50 = Annotated[str, Field(max_length=50)]
Id50 = Annotated[str, Field(min_length=1, max_length=50)]
Code30 = Annotated[str, Field(min_length=1, max_length=30)]
Amount = Annotated[Decimal, Field(max_digits=16, decimal_places=2, allow_inf_nan=False)]
Qty = Annotated[Decimal, Field(max_digits=16, decimal_places=4, allow_inf_nan=False)]
Price = Annotated[Decimal, Field(max_digits=16, decimal_places=6, allow_inf_nan=False)]
_YEARS = (1900, 2100)
#: how far an order line's sumamt may be from cnt × pric: rounding to the fen (half a fen)
SUM_TOLERANCE: Final = Decimal("0.005")


def _in_years(value: Any) -> Any:
    if isinstance(value, date) and not _YEARS[0] <= value.year <= _YEARS[1]:
        raise ValueError(f"日期须在 {_YEARS[0]}–{_YEARS[1]} 年之间（收到 {value:%Y-%m-%d}）")
    return value


# ----------------------------------------------------------------------------- input


class DiagnoseDto(InNode):
    """``fsi_diagnose_dtos``: 诊断信息."""

    dise_id: Text50 | None = Field(None, description="诊断标识")
    inout_dise_type: str | None = Field(None, max_length=3, description="出入诊断类别")
    maindise_flag: str | None = Field(None, description="主诊断标志：1 是 0 否")
    dias_srt_no: str | None = Field(None, max_length=10, description="诊断排序号")
    dise_codg: Code30 = Field(description="诊断（疾病）编码")
    dise_name: str | None = Field(None, max_length=200, description="诊断（疾病）名称")
    dise_date: datetime | None = Field(None, description="诊断日期")

    _f = field_validator("maindise_flag")(check_flag)


class OrderDto(InNode):
    """``fsi_order_dtos``: 处方（医嘱）信息.  ``prd_days`` (用药周期天数, as in 2204) and
    ``used_frqu_dscr`` are read as the days of supply and frequency of the line [M]."""

    rx_id: Id50 = Field(description="处方（医嘱）标识")
    rxno: str | None = Field(None, max_length=30, description="处方号")
    grpno: str | None = Field(None, max_length=30, description="组编号")
    long_drord_flag: str | None = Field(None, description="长期医嘱标识：1 是 0 否")
    hilist_type: str | None = Field(None, max_length=3, description="目录类别")
    chrg_type: str | None = Field(None, max_length=3, description="收费类别")
    drord_bhvr: str | None = Field(None, max_length=3, description="医嘱行为")
    hilist_code: Id50 = Field(description="医保目录代码")
    hilist_name: str | None = Field(None, max_length=200, description="医保目录名称")
    hilist_dosform: str | None = Field(None, max_length=50, description="医保目录剂型")
    hilist_lv: str | None = Field(None, max_length=3, description="医保目录等级")
    hilist_pric: Price | None = Field(None, description="医保目录价格")
    hosplist_code: str | None = Field(None, max_length=50, description="医院目录代码")
    hosplist_name: str | None = Field(None, max_length=200, description="医院目录名称")
    cnt: Qty = Field(gt=0, description="数量")
    pric: Price = Field(ge=0, description="单价")
    sumamt: Amount = Field(description="总费用（须等于数量 × 单价）")
    ownpay_amt: Amount | None = Field(None, description="自费金额")
    selfpay_amt: Amount | None = Field(None, description="自付金额")
    spec: str | None = Field(None, max_length=100, description="规格")
    spec_unt: str | None = Field(None, max_length=20, description="数量单位")
    drord_begn_date: datetime | None = Field(None, description="医嘱开始日期（空：入院日期）")
    drord_stop_date: datetime | None = Field(None, description="医嘱停止日期")
    drord_dept_codg: str | None = Field(None, max_length=30, description="下达医嘱的科室标识")
    drord_dept_name: str | None = Field(None, max_length=100, description="下达医嘱科室名称")
    drord_dr_codg: str | None = Field(None, max_length=30, description="开处方（医嘱）医生标识")
    drord_dr_name: str | None = Field(None, max_length=50, description="开处方（医嘱）医生姓名")
    drord_dr_profttl: str | None = Field(None, max_length=3, description="医生职称")
    curr_drord_flag: str | None = Field(
        None, description="是否当前处方（医嘱）：1 是 0 否（0：已开过，只作历史参考）"
    )
    prd_days: Decimal | None = Field(
        None, ge=0, le=366, max_digits=6, decimal_places=2, description="用药周期天数（扩展）"
    )
    used_frqu_dscr: str | None = Field(None, max_length=200, description="使用频次描述（扩展）")

    _f = field_validator("long_drord_flag", "curr_drord_flag")(check_flag)
    _d = field_validator("drord_begn_date", "drord_stop_date")(_in_years)

    @field_validator("sumamt")
    @classmethod
    def _sum_is_cnt_times_pric(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        """A line whose total is not its quantity × price cannot be audited: which of
        them the amounts of a finding should follow is not known (the gateway's fee
        lines are held to the same, to the fen: ``exchange.fees``)."""
        cnt, pric = info.data.get("cnt"), info.data.get("pric")
        if cnt is not None and pric is not None and abs(cnt * pric - value) > SUM_TOLERANCE:
            raise ValueError(f"{value} 与数量 {cnt} × 单价 {pric} 不符")
        return value


class OperationDto(InNode):
    """``fsi_operation_dtos``: 手术操作信息."""

    setl_list_oprn_id: str | None = Field(None, max_length=30, description="手术操作ID")
    oprn_code: Code30 = Field(description="手术操作代码")
    oprn_name: str | None = Field(None, max_length=500, description="手术操作名称")
    main_oprn_flag: str | None = Field(None, description="主手术操作标志")
    oprn_date: datetime | None = Field(None, description="手术操作日期")
    anst_way: str | None = Field(None, max_length=30, description="麻醉方式")
    oper_dr_name: str | None = Field(None, max_length=50, description="术者医师姓名")
    oper_dr_code: str | None = Field(None, max_length=30, description="术者医师代码")
    anst_dr_name: str | None = Field(None, max_length=50, description="麻醉医师姓名")
    anst_dr_code: str | None = Field(None, max_length=30, description="麻醉医师代码")


class EncounterDto(InNode):
    """``fsi_encounter_dtos``: 就诊信息 with its diagnoses, orders and operations."""

    mdtrt_id: Id50 = Field(description="就诊标识")
    medins_id: str | None = Field(None, max_length=50, description="医疗服务机构标识")
    medins_name: str | None = Field(None, max_length=200, description="医疗机构名称")
    medins_admdvs: str | None = Field(None, max_length=6, description="医疗机构行政区划")
    medins_type: str | None = Field(None, max_length=3, description="医疗服务机构类型")
    medins_lv: str | None = Field(None, max_length=3, description="医疗机构等级（不采用）")
    wardarea_codg: str | None = Field(None, max_length=20, description="病区标识")
    wardno: str | None = Field(None, max_length=20, description="病房号")
    bedno: str | None = Field(None, max_length=20, description="病床号")
    adm_date: datetime = Field(description="入院（就诊）日期")
    dscg_date: datetime | None = Field(None, description="出院日期")
    dscg_main_dise_codg: str | None = Field(None, max_length=30, description="主诊断编码")
    dscg_main_dise_name: str | None = Field(None, max_length=200, description="主诊断名称")
    dr_codg: str | None = Field(None, max_length=30, description="医师标识")
    adm_dept_codg: str | None = Field(None, max_length=30, description="入院科室标识")
    adm_dept_name: str | None = Field(None, max_length=100, description="入院科室名称")
    dscg_dept_codg: str | None = Field(None, max_length=30, description="出院科室标识")
    dscg_dept_name: str | None = Field(None, max_length=100, description="出院科室名称")
    med_mdtrt_type: str = Field(description="就诊类型：1 门诊、2 住院、3 购药、4 其他")
    med_type: str | None = Field(None, max_length=6, description="医疗类别")
    matn_stas: str | None = Field(None, max_length=3, description="生育状态")
    medfee_sumamt: Amount | None = Field(None, description="总费用")
    ownpay_amt: Amount | None = Field(None, description="自费金额")
    selfpay_amt: Amount | None = Field(None, description="自付金额")
    acct_payamt: Amount | None = Field(None, description="个人账户支付金额")
    ma_amt: Amount | None = Field(None, description="救助金支付金额")
    hifp_payamt: Amount | None = Field(None, description="统筹金支付金额")
    setl_totlnum: int | None = Field(None, ge=0, le=9999, description="结算总次数")
    insutype: str | None = Field(None, max_length=6, description="险种")
    reim_flag: str | None = Field(None, max_length=3, description="报销标志")
    out_setl_flag: str | None = Field(None, max_length=3, description="异地结算标志")
    fsi_diagnose_dtos: list[DiagnoseDto] = Field(default_factory=list, max_length=50)
    fsi_order_dtos: list[OrderDto] = Field(default_factory=list, max_length=500)
    fsi_operation_dtos: list[OperationDto] = Field(default_factory=list, max_length=50)

    _d = field_validator("adm_date", "dscg_date")(_in_years)

    @field_validator("med_mdtrt_type")
    @classmethod
    def _type(cls, value: str) -> str:
        if value not in MDTRT_TYPES:
            kinds = "、".join(f"{k} {v}" for k, v in MDTRT_TYPES.items())
            raise ValueError(f"应为 {kinds} 之一（收到“{value[:10]}”）")
        return value


class PatientDto(InNode):
    """``patient_dtos``: 参保人信息."""

    patn_id: Id50 = Field(description="参保人标识（人员编号）")
    patn_name: str | None = Field(None, max_length=50, description="姓名")
    gend: str = Field(max_length=3, description="性别：1 男、2 女、0 未知、9 未说明")
    brdy: date = Field(description="出生日期")
    poolarea: str | None = Field(None, max_length=10, description="统筹区编码")
    curr_mdtrt_id: str | None = Field(None, max_length=50, description="当前就诊标识")
    fsi_encounter_dtos: list[EncounterDto] = Field(min_length=1, max_length=20)

    _d = field_validator("brdy")(_in_years)


def _rule_ids(value: Any) -> Any:
    """``rule_ids`` as a list, or one text of ids separated by commas (vendors do both)."""
    if isinstance(value, str):
        return [p for p in re.split(r"[,，;；\s]+", value) if p]
    return value


class AuditData(InNode):
    """``data`` of 3101 / 3102: one patient, and ``trig_scen`` or ``rule_ids``."""

    patient_dtos: list[PatientDto] = Field(
        min_length=1, max_length=1, description="参保人信息（每次审核一名参保人）"
    )
    rule_ids: list[Annotated[str, Field(min_length=1, max_length=40)]] | None = Field(
        None, max_length=500, description="规则标识集合（与 trig_scen 指定其一）"
    )
    trig_scen: str | None = Field(None, max_length=3, description="触发场景 1–10（优先）")
    syscode: str | None = Field(None, max_length=20, description="调用方系统编码")
    task_id: str | None = Field(None, max_length=50, description="调用方的请求标识（只保存）")

    _r = field_validator("rule_ids", mode="before")(_rule_ids)

    @field_validator("trig_scen")
    @classmethod
    def _scene(cls, value: str | None) -> str | None:
        if value is not None and (not value.isdigit() or int(value) not in TRIG_SCENES):
            raise ValueError(f"应为 1–10（1–5 事前、6–10 事中）（收到“{value[:10]}”）")
        return value


class AuditIn(InNode):
    """3101 / 3102 input."""

    data: AuditData


class WarnDto(InNode):
    """``warns`` of 3103: the doctor's handling of one finding."""

    warn_rslt_id: Id50 = Field(description="违规标识（取自 3101/3102 的 jr_id）")
    dspo_way: str = Field(description="处理方式：1 继续执行（须说明理由）、2 返回修改（采纳）")
    dspo_way_rea: str | None = Field(None, max_length=500, description="处理原因")
    task_id: str | None = Field(None, max_length=50, description="任务ID（空：最近一次审核）")

    @field_validator("dspo_way")
    @classmethod
    def _way(cls, value: str) -> str:
        if value not in DSPO_WAYS:
            raise ValueError(f"应为 1 继续执行 或 2 返回修改（收到“{value[:10]}”）")
        return value


class FeedbackData(InNode):
    warn_type: str = Field(description="反馈类型：1 事前、2 事中")
    task_id: str | None = Field(None, max_length=50, description="任务ID（各条 warns 的默认值）")
    warns: list[WarnDto] = Field(min_length=1, max_length=200, description="处理数据集合")

    @field_validator("warn_type")
    @classmethod
    def _type(cls, value: str) -> str:
        if value not in WARN_TYPES:
            raise ValueError(f"应为 1 事前 或 2 事中（收到“{value[:10]}”）")
        return value


class FeedbackIn(InNode):
    """3103 input."""

    data: FeedbackData


# ---------------------------------------------------------------------------- output


class DetailOut(BaseModel):
    """``judge_result_detail_dtos``: a line of a finding."""

    jrd_id: str = Field(description="违规明细标识（jr_id-序号）")
    patn_id: str = Field(description="参保人标识")
    mdtrt_id: str = Field(description="就诊标识")
    rx_id: str = Field(description="处方（医嘱）标识")
    vola_item_type: str = Field(description="违规明细类型：1 违规项、2 涉及项")
    vola_amt: Decimal = Field(description="违规金额")


class ResultOut(BaseModel):
    """``result[]``: one finding."""

    jr_id: str = Field(description="违规标识（同一结果每次相同）")
    rule_id: str = Field(description="规则ID")
    rule_name: str = Field(description="规则名称")
    rule_version: int = Field(description="规则版本")
    vola_cont: str = Field(description="违规内容")
    patn_id: str = Field(description="参保人ID")
    mdtrt_id: str = Field(description="就诊ID")
    judge_result_detail_dtos: list[DetailOut]
    vola_amt: Decimal = Field(description="违规金额")
    vola_amt_stas: str = Field(description="违规金额计算状态：1 已计算")
    sev_deg: str = Field(description="严重程度：1 提示、2 警告、3 严重")
    vola_evid: str = Field(description="违规依据")
    vola_bhvr_type: str = Field(description="违规行为分类（规则族）")
    result_type: str = Field(description="suspicious 可疑 / definite 明确")
    task_id: str = Field(description="任务ID（本次审核的存储标识，3103 反馈时引用）")


class HistVisitOut(BaseModel):
    """``hist_dtos``: one earlier visit of the person in the region (事前提醒)."""

    mdtrt_date: date = Field(description="就诊（入院）日期")
    end_date: date | None = Field(description="出院（结束）日期")
    fixmedins_code: str = Field(description="定点医药机构编号")
    fixmedins_name: str = Field(description="定点医药机构名称")
    med_mdtrt_type: str = Field(description="就诊类型：1 门诊、2 住院")
    med_mdtrt_type_name: str
    dise_codg: str = Field(description="主诊断编码")
    dise_name: str = Field(description="主诊断名称")
    medfee_sumamt: Decimal = Field(description="总费用（已结算：结算金额；未结算：已上传明细）")
    setl_flag: str = Field(description="是否已结算：1 是、0 否")


class DrugRemainingOut(BaseModel):
    """``drug_remaining_dtos``: a drug of an earlier settled visit still on hand."""

    hilist_code: str = Field(description="医保目录代码")
    hilist_name: str = Field(description="名称")
    fixmedins_name: str = Field(description="开药机构")
    mdtrt_date: date = Field(description="开药（费用发生）日期")
    cnt: Decimal = Field(description="数量")
    prd_days: int = Field(description="供药天数")
    days_basis: str = Field(description="供药天数依据：prd_days 医院上传、per_day 按日最大用量推算")
    rema_days: int = Field(description="就诊日尚余天数")
    end_date: date = Field(description="药品用至（含）")


class AuditOut(BaseModel):
    """3102 output (and the common part of 3101)."""

    result: list[ResultOut]


class PreAuditOut(AuditOut):
    """3101 output: the findings and the reminder (事前提醒)."""

    hist_dtos: list[HistVisitOut] = Field(description="近期就诊记录（本统筹区各机构）")
    drug_remaining_dtos: list[DrugRemainingOut] = Field(description="尚在用药周期内的药品")


class FeedbackResultOut(BaseModel):
    warn_rslt_id: str
    task_id: str
    dspo_way: str
    dspo_way_name: str


class FeedbackOut(BaseModel):
    """3103 output."""

    result: list[FeedbackResultOut]
