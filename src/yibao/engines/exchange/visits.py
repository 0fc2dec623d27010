"""Inputs and outputs of the visit transactions (field names of the NHSA interface
spec, domain.md §4.2 / §3.4): 1101 人员信息获取, 2401–2405 入出院, 2301/2302 · 2204/2205 费用
明细, 2201–2203 门诊挂号与就诊.  The settlement messages are in :mod:`.settling`.

Inputs take what HIS systems send (the lenient reader loosens first).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Final

from pydantic import BaseModel, Field, field_validator

from yibao.engines.catalogue.model import FEE_TYPES
from yibao.engines.insured.messages import PersonInfo, PersonQuery

#: 医疗类别 (med_type) [M]: the common codes; a visit's kind decides which are allowed
MED_TYPES: Final[dict[str, str]] = {
    "11": "普通门诊",
    "12": "门诊挂号",
    "13": "急诊",
    "14": "门诊慢特病",
    "21": "普通住院",
    "22": "外伤住院",
    "24": "转外诊治住院",
    "52": "生育住院",
}
IPT_MED_TYPES: Final = frozenset({"21", "22", "24", "52"})
OTP_MED_TYPES: Final = frozenset({"11", "12", "13", "14"})
#: 离院方式 (dscg_way)
DSCG_WAYS: Final[dict[str, str]] = {
    "1": "医嘱离院",
    "2": "医嘱转院",
    "3": "医嘱转社区卫生服务机构/乡镇卫生院",
    "4": "非医嘱离院",
    "5": "死亡",
    "9": "其他",
}

Money = Annotated[Decimal, Field(max_digits=16, decimal_places=2)]
Count = Annotated[Decimal, Field(max_digits=16, decimal_places=4)]
Price = Annotated[Decimal, Field(max_digits=16, decimal_places=6)]
Code = Annotated[str, Field(min_length=1, max_length=30)]
Text = Annotated[str, Field(max_length=200)]


def check_flag(value: str | None) -> str | None:
    if value is not None and value not in ("0", "1"):
        raise ValueError(f"应为 0 或 1（收到“{value[:10]}”）")
    return value


def check_med_type(value: str | None) -> str | None:
    if value is not None and value not in MED_TYPES:
        kinds = "、".join(f"{k} {v}" for k, v in MED_TYPES.items())
        raise ValueError(f"医疗类别应为 {kinds} 之一（收到“{value[:10]}”）")
    return value


def check_fee_type(value: str | None) -> str | None:
    """医疗收费项目类别: one of the bill's 14 categories; one digit is read as its
    two-digit code ("9" → "09")."""
    if value is None:
        return None
    code = value.zfill(2) if value.isascii() and value.isdigit() and len(value) == 1 else value
    if code not in FEE_TYPES:
        raise ValueError(f"医疗收费项目类别应为 01–14 之一（收到“{value[:10]}”）")
    return code


class InNode(BaseModel):
    """An input node: unknown keys are dropped by the lenient reader."""


# ------------------------------------------------------------------ 1101 人员信息获取


class PersonIn(InNode):
    """1101 input."""

    data: PersonQuery


PersonOut = PersonInfo


# ------------------------------------------------------------------------ diagnoses


class DiseNode(InNode):
    diag_type: str | None = Field(None, max_length=3, description="诊断类别：1 西医 …")
    maindiag_flag: str | None = Field(None, description="主诊断标志：1 是 0 否")
    diag_srt_no: int | None = Field(None, ge=0, le=999, description="诊断排序号")
    diag_code: Code = Field(description="诊断代码")
    diag_name: Text = Field(description="诊断名称")
    adm_cond: str | None = Field(None, max_length=100, description="入院病情")
    diag_dept: str | None = Field(None, max_length=50, description="诊断科室")
    dise_dor_no: str | None = Field(None, max_length=30, description="诊断医生编码")
    dise_dor_name: str | None = Field(None, max_length=50, description="诊断医生姓名")
    diag_time: datetime | None = Field(None, description="诊断时间")

    _f = field_validator("maindiag_flag")(check_flag)


# ------------------------------------------------------------------- 2401 入院办理


class AdmissionNode(InNode):
    psn_no: Code = Field(description="人员编号")
    insutype: str = Field(min_length=3, max_length=6, description="险种类型")
    begntime: datetime = Field(description="开始时间（入院时间）")
    mdtrt_cert_type: str = Field(max_length=3, description="就诊凭证类型")
    mdtrt_cert_no: str | None = Field(None, max_length=50, description="就诊凭证编号")
    med_type: str = Field(description="医疗类别")
    ipt_no: Code = Field(description="住院号")
    medrcdno: str | None = Field(None, max_length=30, description="病历号")
    atddr_no: Code = Field(description="主治医生编码")
    chfpdr_name: str = Field(min_length=1, max_length=50, description="主诊医师姓名")
    adm_diag_dscr: str = Field(min_length=1, max_length=200, description="入院诊断描述")
    adm_dept_codg: Code = Field(description="入院科室编码")
    adm_dept_name: str = Field(min_length=1, max_length=100, description="入院科室名称")
    adm_bed: str | None = Field(None, max_length=30, description="入院床位")
    dscg_maindiag_code: Code = Field(description="住院主诊断代码")
    dscg_maindiag_name: str = Field(min_length=1, max_length=200, description="住院主诊断名称")
    main_cond_dscr: str | None = Field(None, max_length=500, description="主要病情描述")
    dise_codg: str | None = Field(None, max_length=30, description="病种编码")
    dise_name: str | None = Field(None, max_length=200, description="病种名称")
    oprn_oprt_code: str | None = Field(None, max_length=30, description="手术操作代码")
    oprn_oprt_name: str | None = Field(None, max_length=200, description="手术操作名称")

    _m = field_validator("med_type")(check_med_type)


class AdmissionIn(InNode):
    """2401 input."""

    mdtrtinfo: AdmissionNode
    diseinfo: list[DiseNode] = Field(default_factory=list, max_length=50)


class VisitResult(BaseModel):
    mdtrt_id: str = Field(description="就诊ID")
    psn_no: str = Field(description="人员编号")
    ipt_otp_no: str = Field(description="住院/门诊号")


class VisitOut(BaseModel):
    """2401 / 2201 output."""

    result: VisitResult


# ------------------------------------------------------------------- 2402 出院办理


class DischargeNode(InNode):
    mdtrt_id: Code = Field(description="就诊ID")
    psn_no: Code = Field(description="人员编号")
    insutype: str | None = Field(None, max_length=6, description="险种类型")
    endtime: datetime = Field(description="结束时间（出院时间）")
    dise_codg: str | None = Field(None, max_length=30, description="病种编码")
    dise_name: str | None = Field(None, max_length=200, description="病种名称")
    oprn_oprt_code: str | None = Field(None, max_length=30, description="手术操作代码")
    oprn_oprt_name: str | None = Field(None, max_length=200, description="手术操作名称")
    dscg_dept_codg: str | None = Field(None, max_length=30, description="出院科室编码")
    dscg_dept_name: str | None = Field(None, max_length=100, description="出院科室名称")
    dscg_way: str = Field(description="离院方式")
    die_date: date | None = Field(None, description="死亡日期")

    @field_validator("dscg_way")
    @classmethod
    def _way(cls, v: str) -> str:
        if v not in DSCG_WAYS:
            ways = "、".join(f"{k} {n}" for k, n in DSCG_WAYS.items())
            raise ValueError(f"离院方式应为 {ways} 之一（收到“{v[:10]}”）")
        return v


class DischargeIn(InNode):
    """2402 input."""

    dscginfo: DischargeNode
    diseinfo: list[DiseNode] = Field(default_factory=list, max_length=50)


# ---------------------------------------------------------------- 2403 入院信息变更


class AdmissionChangeNode(InNode):
    mdtrt_id: Code = Field(description="就诊ID")
    psn_no: Code = Field(description="人员编号")
    begntime: datetime | None = Field(None, description="开始时间（入院时间）")
    med_type: str | None = Field(None, description="医疗类别")
    ipt_no: str | None = Field(None, max_length=30, description="住院号")
    atddr_no: str | None = Field(None, max_length=30, description="主治医生编码")
    chfpdr_name: str | None = Field(None, max_length=50, description="主诊医师姓名")
    adm_diag_dscr: str | None = Field(None, max_length=200, description="入院诊断描述")
    adm_dept_codg: str | None = Field(None, max_length=30, description="入院科室编码")
    adm_dept_name: str | None = Field(None, max_length=100, description="入院科室名称")
    adm_bed: str | None = Field(None, max_length=30, description="入院床位")
    dscg_maindiag_code: str | None = Field(None, max_length=30, description="住院主诊断代码")
    dscg_maindiag_name: str | None = Field(None, max_length=200, description="住院主诊断名称")

    _m = field_validator("med_type")(check_med_type)


class AdmissionChangeIn(InNode):
    """2403 input."""

    adminfo: AdmissionChangeNode
    diseinfo: list[DiseNode] = Field(default_factory=list, max_length=50)


# --------------------------------------------- 2404 / 2405 / 2202 撤销 (visit by id)


class VisitRef(InNode):
    mdtrt_id: Code = Field(description="就诊ID")
    psn_no: Code = Field(description="人员编号")
    ipt_otp_no: str | None = Field(None, max_length=30, description="住院/门诊号")


class VisitRefIn(InNode):
    """2404 / 2405 / 2202 input."""

    data: VisitRef


class Done(BaseModel):
    """Output of a transaction that only changes a state."""

    result: dict[str, str] = Field(default_factory=dict, description="处理结果")


# ---------------------------------------------------- 2301 / 2204 费用明细上传


class FeeNode(InNode):
    feedetl_sn: Code = Field(description="费用明细流水号（就诊内唯一）")
    init_feedetl_sn: str | None = Field(None, max_length=30, description="原费用流水号（退费时）")
    mdtrt_id: Code = Field(description="就诊ID")
    drord_no: str | None = Field(None, max_length=30, description="医嘱号")
    psn_no: Code = Field(description="人员编号")
    med_type: str | None = Field(None, description="医疗类别")
    fee_ocur_time: datetime = Field(description="费用发生时间")
    med_list_codg: Code = Field(description="医疗目录编码（医保编码）")
    medins_list_codg: str | None = Field(None, max_length=150, description="医药机构目录编码")
    det_item_fee_sumamt: Money = Field(description="明细项目费用总额")
    cnt: Count = Field(description="数量")
    pric: Price = Field(description="单价")
    bilg_dept_codg: str | None = Field(None, max_length=30, description="开单科室编码")
    bilg_dept_name: str | None = Field(None, max_length=100, description="开单科室名称")
    bilg_dr_codg: str | None = Field(None, max_length=30, description="开单医生编码")
    bilg_dr_name: str | None = Field(None, max_length=50, description="开单医师姓名")
    chrg_bchno: str | None = Field(None, max_length=30, description="收费批次号（门诊）")
    med_chrgitm_type: str | None = Field(None, max_length=6, description="医疗收费项目类别")
    prd_days: Decimal | None = Field(
        None, ge=0, max_digits=6, decimal_places=2, description="用药周期天数（药品：供药天数）"
    )

    _m = field_validator("med_type")(check_med_type)
    _t = field_validator("med_chrgitm_type")(check_fee_type)


class FeeIn(InNode):
    """2301 / 2204 input: up to 500 lines of one visit per message."""

    feedetail: list[FeeNode] = Field(min_length=1, max_length=500)


class FeeResult(BaseModel):
    feedetl_sn: str = Field(description="费用明细流水号")
    det_item_fee_sumamt: Decimal = Field(description="明细项目费用总额")
    cnt: Decimal = Field(description="数量")
    pric: Decimal = Field(description="单价")
    pric_uplmt_amt: Decimal | None = Field(None, description="定价上限金额")
    selfpay_prop: Decimal = Field(description="自付比例")
    fulamt_ownpay_amt: Decimal = Field(description="全自费金额")
    overlmt_amt: Decimal = Field(description="超限价金额")
    preselfpay_amt: Decimal = Field(description="先行自付金额")
    inscp_scp_amt: Decimal = Field(description="符合政策范围金额")
    chrgitm_lv: str = Field(description="收费项目等级：01 甲类、02 乙类、03 丙类（自费）")
    med_chrgitm_type: str = Field(description="医疗收费项目类别")
    memo: str = Field("", description="说明（不在目录内等）")


class FeeOut(BaseModel):
    """2301 / 2204 output."""

    result: list[FeeResult]


class FeeCancel(InNode):
    feedetl_sn: str | None = Field(
        None, max_length=30, description="费用明细流水号（0000 或空：本次就诊全部未结算明细）"
    )
    chrg_bchno: str | None = Field(None, max_length=30, description="收费批次号（门诊）")
    mdtrt_id: Code = Field(description="就诊ID")
    psn_no: Code = Field(description="人员编号")


class FeeCancelIn(InNode):
    """2302 / 2205 input."""

    data: FeeCancel


class FeeCancelOut(BaseModel):
    result: dict[str, str | int]


# ------------------------------------------------------------------ 2201 / 2203 门诊


class RegistrationNode(InNode):
    psn_no: Code = Field(description="人员编号")
    insutype: str = Field(min_length=3, max_length=6, description="险种类型")
    begntime: datetime = Field(description="挂号时间")
    mdtrt_cert_type: str = Field(max_length=3, description="就诊凭证类型")
    mdtrt_cert_no: str | None = Field(None, max_length=50, description="就诊凭证编号")
    ipt_otp_no: Code = Field(description="门诊号")
    atddr_no: Code = Field(description="医师编码")
    dr_name: str = Field(min_length=1, max_length=50, description="医师姓名")
    dept_code: Code = Field(description="科室编码")
    dept_name: str = Field(min_length=1, max_length=100, description="科室名称")
    caty: str | None = Field(None, max_length=10, description="科别")


class RegistrationIn(InNode):
    """2201 input."""

    data: RegistrationNode


class OutpatientVisitNode(InNode):
    mdtrt_id: Code = Field(description="就诊ID")
    psn_no: Code = Field(description="人员编号")
    med_type: str = Field(description="医疗类别")
    begntime: datetime = Field(description="开始时间")
    main_cond_dscr: str | None = Field(None, max_length=1000, description="主要病情描述")
    dise_codg: str | None = Field(None, max_length=30, description="病种编码")
    dise_name: str | None = Field(None, max_length=200, description="病种名称")

    _m = field_validator("med_type")(check_med_type)


class OutpatientVisitIn(InNode):
    """2203 input."""

    mdtrtinfo: OutpatientVisitNode
    diseinfo: list[DiseNode] = Field(default_factory=list, max_length=50)
