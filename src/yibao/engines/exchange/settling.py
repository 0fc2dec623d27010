"""Inputs and outputs of the settlement transactions (field names of the NHSA
interface spec, domain.md §3.4 / §4.2): 2303/2304 · 2206/2207 (预)结算, 2305/2208
撤销, 2601 冲正, 5206 人员累计信息, 3201 对总账, 3202 对明细账.

Outputs carry the identities every HIS relies on (``medfee_sumamt`` = its four parts =
funds + person + hospital; ``psn_part_amt`` = account + cash).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field, field_validator

from yibao.engines.exchange.visits import Code, InNode, Money, check_flag, check_med_type
from yibao.engines.insured.messages import INSUTYPES

# ------------------------------------------------ 2303/2304 · 2206/2207 (预)结算


class SettleNode(InNode):
    psn_no: Code = Field(description="人员编号")
    mdtrt_cert_type: str | None = Field(None, max_length=3, description="就诊凭证类型")
    mdtrt_cert_no: str | None = Field(None, max_length=50, description="就诊凭证编号")
    med_type: str | None = Field(None, description="医疗类别")
    medfee_sumamt: Money = Field(description="医疗费总额（须等于已上传明细之和）")
    psn_setlway: str = Field(
        "01", max_length=6, description="个人结算方式：01 按项目结算、02 按定额结算"
    )
    mdtrt_id: Code = Field(description="就诊ID")
    chrg_bchno: str | None = Field(None, max_length=30, description="收费批次号（门诊）")
    insutype: str | None = Field(None, max_length=6, description="险种类型")
    acct_used_flag: str = Field("0", description="个人账户使用标志：0 否、1 是")
    invono: str | None = Field(None, max_length=20, description="发票号")
    mid_setl_flag: str | None = Field(None, description="中途结算标志：0 否、1 是")
    fulamt_ownpay_amt: Money | None = Field(None, description="全自费金额")
    overlmt_selfpay: Money | None = Field(None, description="超限价自费费用")
    preselfpay_amt: Money | None = Field(None, description="先行自付金额")
    inscp_scp_amt: Money | None = Field(None, description="符合政策范围金额")
    dscg_time: datetime | None = Field(None, description="出院时间")

    _m = field_validator("med_type")(check_med_type)
    _f = field_validator("acct_used_flag", "mid_setl_flag")(check_flag)

    @field_validator("psn_setlway")
    @classmethod
    def _by_items(cls, value: str) -> str:
        """Only 01 按项目结算 is settled here: a settlement by quota (02) pays a fixed
        sum this gateway has no table of; any other code is no way of settling.  One
        digit is read as its two-digit code (as 收费项目类别)."""
        value = value.strip()
        if len(value) == 1 and value.isdigit():
            value = f"0{value}"
        if value == "02":
            raise ValueError("暂不办理 02 按定额结算，请以 01 按项目结算")
        if value != "01":
            raise ValueError(f"应为 01 按项目结算（收到“{value[:6]}”）")
        return value


class SettleIn(InNode):
    """2303 / 2304 / 2206 / 2207 input."""

    data: SettleNode


class SetlInfo(BaseModel):
    """``setlinfo`` of a (pre-)settlement or its reversal (domain.md §3.4)."""

    setl_id: str = Field(description="结算ID（预结算为空）")
    mdtrt_id: str = Field(description="就诊ID")
    psn_no: str = Field(description="人员编号")
    psn_name: str = Field(description="人员姓名")
    psn_cert_type: str = Field(description="人员证件类型")
    certno: str = Field(description="证件号码")
    gend: str = Field(description="性别")
    naty: str = Field(description="民族")
    brdy: date = Field(description="出生日期")
    age: Decimal = Field(description="年龄")
    insutype: str = Field(description="险种类型")
    psn_type: str = Field(description="人员类别")
    cvlserv_flag: str = Field(description="公务员标志")
    setl_time: str = Field(description="结算时间 yyyy-MM-dd HH:mm:ss")
    mdtrt_cert_type: str = Field(description="就诊凭证类型")
    med_type: str = Field(description="医疗类别")
    setl_type: str = Field(description="结算类别：1 结算、2 撤销（金额取负）")
    medfee_sumamt: Decimal = Field(description="医疗费总额")
    fulamt_ownpay_amt: Decimal = Field(description="全自费金额")
    overlmt_selfpay: Decimal = Field(description="超限价自费费用")
    preselfpay_amt: Decimal = Field(description="先行自付金额")
    inscp_scp_amt: Decimal = Field(description="符合政策范围金额")
    act_pay_dedc: Decimal = Field(description="实际支付起付线")
    hifp_pay: Decimal = Field(description="基本医疗保险统筹基金支出")
    pool_prop_selfpay: Decimal = Field(description="基本医疗保险统筹基金支付比例")
    cvlserv_pay: Decimal = Field(description="公务员医疗补助资金支出")
    hifes_pay: Decimal = Field(description="企业补充医疗保险基金支出")
    hifmi_pay: Decimal = Field(description="居民大病保险资金支出")
    hifob_pay: Decimal = Field(description="职工大额医疗费用补助基金支出")
    maf_pay: Decimal = Field(description="医疗救助基金支出")
    hosp_part_amt: Decimal = Field(description="医院负担金额")
    oth_pay: Decimal = Field(description="其他支出")
    fund_pay_sumamt: Decimal = Field(description="基金支付总额")
    psn_part_amt: Decimal = Field(description="个人负担总金额")
    acct_pay: Decimal = Field(description="个人账户支出")
    psn_cash_pay: Decimal = Field(description="个人现金支出")
    acct_mulaid_pay: Decimal = Field(description="个人账户共济支付金额")
    balc: Decimal = Field(description="余额（个人账户，结算后）")
    medins_setl_id: str = Field(description="医药机构结算ID（= 发送方报文ID）")
    clr_optins: str = Field(description="清算经办机构（参保地医保区划）")
    clr_way: str = Field(description="清算方式")
    clr_type: str = Field(description="清算类别")
    insuplc_admdvs: str = Field(description="参保地医保区划")
    mdtrtarea_admvs: str = Field(description="就医地医保区划")
    out_setl_flag: str = Field(description="异地结算标志：0 本地、1 异地")


class SetlDetail(BaseModel):
    fund_pay_type: str = Field(description="基金支付类型")
    fund_pay_type_name: str = Field(description="基金支付类型名称")
    inscp_scp_amt: Decimal = Field(description="符合政策范围金额（本基金的计算基数）")
    crt_payb_lmt_amt: Decimal = Field(description="本次可支付限额金额")
    fund_payamt: Decimal = Field(description="基金支付金额")
    setl_proc_info: str = Field(description="结算过程信息")


class SettleOut(BaseModel):
    """2303 / 2304 / 2305 / 2206 / 2207 / 2208 output."""

    setlinfo: SetlInfo
    setldetail: list[SetlDetail]


class SettlementRef(InNode):
    psn_no: Code = Field(description="人员编号")
    mdtrt_id: Code = Field(description="就诊ID")
    setl_id: Code = Field(description="结算ID")


class SettlementRefIn(InNode):
    """2305 / 2208 input."""

    data: SettlementRef


# --------------------------------------------------------------------- 2601 冲正


class ReversalNode(InNode):
    psn_no: str | None = Field(None, max_length=30, description="人员编号")
    #: as long as an envelope's msgid may be (1–50, ADR 0015): a message the gateway
    #: accepted can always be named for its reversal
    omsgid: str = Field(min_length=1, max_length=50, description="原发送方报文ID")
    oinfno: str = Field(min_length=4, max_length=10, description="原交易编号")


class ReversalIn(InNode):
    """2601 input."""

    data: ReversalNode


class ReversalOut(BaseModel):
    result: dict[str, str] = Field(description="冲正结果")
    #: 2601 of a settlement (2304 / 2207): the reversal's figures, as 2305 / 2208 answer
    #: them (the settlement's negated, setl_type 2, the balance after the refund)
    setlinfo: SetlInfo | None = Field(default=None, description="撤销结算信息（冲正结算时）")
    setldetail: list[SetlDetail] | None = Field(
        default=None, description="撤销基金分项（冲正结算时）"
    )


# ----------------------------------------------------------- 5206 人员累计信息查询


class CumulativeQuery(InNode):
    psn_no: Code = Field(description="人员编号")
    cum_ym: str | None = Field(None, max_length=6, description="累计年月 yyyyMM（取其年度）")


class CumulativeIn(InNode):
    """5206 input."""

    data: CumulativeQuery


class CumInfo(BaseModel):
    insuplc_admdvs: str = Field(description="参保地医保区划")
    cum_type_code: str = Field(description="累计类别代码")
    cum_type_name: str = Field(description="累计类别名称")
    cum_year: int = Field(description="累计年度")
    cum: Decimal = Field(description="累计值")


class CumulativeOut(BaseModel):
    cuminfo: list[CumInfo]


# ------------------------------------------------------------- 3201 / 3202 对账


class StatementNode(InNode):
    insutype: str = Field(min_length=3, max_length=6, description="险种")
    clr_type: str = Field(min_length=1, max_length=30, description="清算类别：11 门诊、21 住院")
    setl_optins: str = Field(min_length=6, max_length=6, description="结算经办机构（参保地区划）")
    stmt_begndate: date = Field(description="对账开始日期")
    stmt_enddate: date = Field(description="对账结束日期")
    medfee_sumamt: Money = Field(description="医疗费总额")
    fund_pay_sumamt: Money = Field(description="基金支付总额")
    acct_pay: Money = Field(description="个人账户支付金额")
    #: a reversal counts −1 in its own period (ADR 0018): a period that only reverses
    #: an earlier one's settlement has a negative count
    fixmedins_setl_cnt: int = Field(description="定点医药机构结算笔数（撤销计 −1）")

    @field_validator("setl_optins")
    @classmethod
    def _region(cls, value: str) -> str:
        if not (value.isascii() and value.isdigit()):
            raise ValueError(f"应为 6 位数字的医保区划（收到“{value[:10]}”）")
        return value

    @field_validator("insutype")
    @classmethod
    def _insutype(cls, value: str) -> str:
        if value not in INSUTYPES:
            known = "、".join(f"{k} {v}" for k, v in INSUTYPES.items())
            raise ValueError(f"应为 {known} 之一（收到“{value[:10]}”）")
        return value


class StatementIn(InNode):
    """3201 input."""

    data: StatementNode


class StatementResult(BaseModel):
    setl_optins: str = Field(description="结算经办机构")
    stmt_rslt: str = Field(description="对账结果：0 平、1 不平")
    stmt_rslt_dscr: str = Field(description="对账结果说明")
    medfee_sumamt: Decimal = Field(description="中心医疗费总额")
    fund_pay_sumamt: Decimal = Field(description="中心基金支付总额")
    acct_pay: Decimal = Field(description="中心个人账户支付金额")
    fixmedins_setl_cnt: int = Field(description="中心结算笔数（已扣除撤销）")


class StatementOut(BaseModel):
    stmtinfo: StatementResult


class DetailStatementNode(InNode):
    setl_optins: str = Field(min_length=6, max_length=6, description="结算经办机构")
    stmt_begndate: date = Field(description="对账开始日期")
    stmt_enddate: date = Field(description="对账结束日期")
    clr_type: str | None = Field(None, max_length=30, description="清算类别")
    file_content: str = Field(
        min_length=1,
        max_length=2_000_000,
        description="明细文件：每行 setl_id,mdtrt_id,psn_no,medfee_sumamt,fund_pay_sumamt,"
        "acct_pay,refd_setl_flag（UTF-8 文本，逗号或竖线分隔，可带表头）",
    )


class DetailStatementIn(InNode):
    """3202 input (the detail file inline)."""

    data: DetailStatementNode


class DetailStatementOut(BaseModel):
    fileinfo: dict[str, str | int] = Field(description="对账结果汇总")
    file_content: str = Field(description="不平明细文件（CSV 文本）")
