"""Request and response models of the gateway's JSON API (documentation and answers)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from yibao.engines.exchange import Envelope


class EnvelopeIn(Envelope):
    """交易报文：公共报文头与交易输入 input（各交易的输入节点见交易说明）。"""

    input: dict[str, Any] | None = Field(
        None,
        description="交易输入：9001 {signIn: {opter_no, mac, ip}}；9002 {signOut: {sign_no,"
        " opter_no}}；4101A 结算清单节点 {setlinfo, diseinfo, oprninfo, icuinfo, bldinfo …}",
    )


class ExchangeOut(BaseModel):
    """交易应答：业务错误也以 HTTP 200 返回，infcode = -1，err_msg 说明原因。"""

    infcode: int = Field(description="0 成功，-1 失败（err_msg 说明原因，未做任何修改）")
    inf_refmsgid: str = Field(
        description="接收方报文ID：接收方医保区划 6 位 + yyyyMMddHHmmss 14 位 + 顺序号 10 位"
    )
    refmsg_time: str = Field(description="接收报文时间 yyyyMMddHHmmssSSS")
    respond_time: str = Field(description="响应报文时间 yyyyMMddHHmmssSSS")
    err_msg: str | None = Field(None, description="错误信息（中文，指明字段；最多 200 字）")
    warn_msg: str | None = Field(
        None, description="警告信息：报文不完全符合规范但已按可确定的含义读取的地方"
    )
    output: dict[str, Any] | None = Field(
        None,
        description="交易输出：9001 {signinoutb: {sign_time, sign_no}}；9002 {signoutoutb:"
        " {sign_time}}；4101A {setl_list_id, setl_id, state, state_name, version, drg, findings}",
    )


# ------------------------------------------------------------------ read models
# What the journal, settlement, reconciliation and clearing pages and their JSON API
# show (:mod:`yibao.exchange.views`, :mod:`yibao.exchange.clearing`): one shape for both.


class JournalRow(BaseModel):
    """交易日志的一条报文（列表）。"""

    id: int = Field(description="日志序号")
    received_at: datetime = Field(description="接收时间")
    duration_ms: int = Field(description="处理耗时（毫秒）")
    hospital_code: str = Field(description="医药机构编码")
    hospital_name: str = Field(description="医药机构名称")
    infno: str | None = Field(None, description="交易编号")
    infno_name: str = Field(description="交易名称")
    msgid: str | None = Field(None, description="发送方报文ID（空：未读出或不保留）")
    infcode: int = Field(description="交易状态码：0 成功，-1 失败")
    err_msg: str | None = Field(None, description="错误信息")
    warn_msg: str | None = Field(None, description="警告信息")
    inf_refmsgid: str = Field(description="接收方报文ID")


class JournalPage(BaseModel):
    items: list[JournalRow]
    total: int = Field(description="符合条件的报文数")
    page: int
    size: int


class JournalEntry(JournalRow):
    """一条报文的请求与应答（无权查看完整身份证号的角色看到隐去中间位的号码）。"""

    answered_at: datetime = Field(description="应答时间")
    sign_no: str | None = Field(None, description="签到编号")
    request: Any = Field(description="请求报文（按接收时保存）")
    response: dict[str, Any] = Field(description="应答报文")
    ids_masked: bool = Field(description="身份证号是否已隐去中间位")


class SettlementRow(BaseModel):
    """一笔实时结算（列表）。"""

    setl_id: str = Field(description="结算ID")
    setl_time: datetime = Field(description="结算时间")
    hospital_code: str = Field(description="定点医药机构编码")
    hospital_name: str = Field(description="定点医药机构名称")
    psn_no: str = Field(description="人员编号")
    psn_name: str = Field(description="人员姓名")
    kind: str = Field(description="ipt 住院、otp 门诊")
    insutype: str = Field(description="险种类型")
    scope: str = Field(description="local 本地、in_province 省内异地、out_of_province 跨省异地")
    insuplc_admdvs: str = Field(description="参保地医保区划")
    mdtrtarea_admvs: str = Field(description="就医地医保区划")
    clr_month: str = Field(description="清算年月 YYYYMM")
    medfee_sumamt: Decimal = Field(description="医疗费总额")
    fund_pay_sumamt: Decimal = Field(description="基金支付总额")
    hifp_pay: Decimal = Field(description="基本医疗保险统筹基金支出")
    acct_pay: Decimal = Field(description="个人账户支出")
    psn_cash_pay: Decimal = Field(description="个人现金支出")
    policy_key: str = Field(description="所用待遇政策（参保地-险种-版本）")
    state: str = Field(description="settled 已结算、reversed 已撤销")
    reversal_setl_id: str | None = Field(None, description="撤销结算ID")
    reversed_at: datetime | None = Field(None, description="撤销时间")
    reversal_msgid: str | None = Field(None, description="撤销报文ID")
    reversal_infno: str | None = Field(None, description="撤销交易编号（2305 / 2208 / 2601）")
    reversal_month: str | None = Field(None, description="撤销清算年月 YYYYMM")


class SettlementPage(BaseModel):
    items: list[SettlementRow]
    total: int = Field(description="符合条件的结算笔数")
    page: int
    size: int


class FieldValue(BaseModel):
    """一个字段：代码、中文名称与值。"""

    name: str = Field(description="字段代码")
    label: str = Field(description="字段中文名称")
    value: Any = Field(None, description="值")
    text: str | None = Field(None, description="代码值的含义（如 gend 1 → 男）")


class FeeLine(BaseModel):
    """结算的一条费用明细。"""

    feedetl_sn: str = Field(description="费用明细流水号")
    fee_ocur_time: datetime = Field(description="费用发生时间")
    med_list_codg: str = Field(description="医疗目录编码")
    medins_list_codg: str | None = Field(None, description="医药机构目录编码")
    cnt: Decimal = Field(description="数量")
    pric: Decimal = Field(description="单价")
    det_item_fee_sumamt: Decimal = Field(description="明细项目费用总额")
    fulamt_ownpay_amt: Decimal = Field(description="全自费金额")
    overlmt_amt: Decimal = Field(description="超限价金额")
    preselfpay_amt: Decimal = Field(description="先行自付金额")
    inscp_scp_amt: Decimal = Field(description="符合政策范围金额")
    chrgitm_lv: str = Field(description="收费项目等级：01 甲类、02 乙类、03 丙类（自费）")
    state: str = Field(description="open 待结算、settled 已结算、cancelled 已撤销")


class SettlementDetail(SettlementRow):
    """一笔结算：结算信息 setlinfo、基金分项 setldetail、费用明细与撤销。"""

    mdtrt_id: str = Field(description="就诊ID")
    visit_begntime: datetime | None = Field(None, description="入院（就诊）时间")
    visit_endtime: datetime | None = Field(None, description="出院时间")
    dept_name: str = Field("", description="科室")
    diag: str = Field("", description="诊断")
    msgid: str | None = Field(None, description="结算报文ID")
    message_id: int | None = Field(None, description="结算报文的日志序号")
    reversal_message_id: int | None = Field(None, description="撤销报文的日志序号")
    setlinfo: list[FieldValue] = Field(description="结算信息（setlinfo）")
    setldetail: list[list[FieldValue]] = Field(description="基金分项（setldetail）")
    fees: list[FeeLine] = Field(description="费用明细")
    fees_of_visit: bool = Field(
        description="结算已撤销时为 true：费用明细已退回待结算，列出的是该就诊现在的明细"
    )
    ids_masked: bool = Field(description="身份证号是否已隐去中间位")


class ReconciliationRow(BaseModel):
    """一次对账（3201 对总账 / 3202 对明细账）的结果。"""

    id: int = Field(description="日志序号")
    received_at: datetime = Field(description="对账时间")
    hospital_code: str = Field(description="医药机构编码")
    hospital_name: str = Field(description="医药机构名称")
    infno: str = Field(description="3201 或 3202")
    infno_name: str = Field(description="交易名称")
    msgid: str | None = Field(None, description="发送方报文ID")
    infcode: int = Field(description="0 成功，-1 失败")
    err_msg: str | None = Field(None, description="错误信息（失败时）")
    setl_optins: str | None = Field(None, description="结算经办机构")
    stmt_begndate: str | None = Field(None, description="对账开始日期")
    stmt_enddate: str | None = Field(None, description="对账结束日期")
    clr_type: str | None = Field(None, description="清算类别")
    insutype: str | None = Field(None, description="险种类型")
    balanced: bool | None = Field(None, description="true 平、false 不平、空：交易失败")
    description: str = Field(description="对账结果说明")


class ReconciliationPage(BaseModel):
    items: list[ReconciliationRow]
    total: int
    page: int
    size: int


class ClearingPair(BaseModel):
    """一对统筹区（参保地 → 就医地）本月的跨统筹区清算数。"""

    insured_region: str = Field(description="参保地统筹区")
    insured_region_name: str = Field(description="参保地名称")
    treating_region: str = Field(description="就医地统筹区")
    treating_region_name: str = Field(description="就医地名称")
    scope: str = Field(description="in_province 省内异地、out_of_province 跨省异地")
    settled_count: int = Field(description="本月结算笔数")
    reversed_count: int = Field(description="本月撤销笔数")
    count: int = Field(description="净笔数（结算 − 撤销）")
    medfee_sumamt: Decimal = Field(description="医疗费总额")
    fund_pay_sumamt: Decimal = Field(description="基金支付总额")
    hifp_pay: Decimal = Field(description="基本医疗保险统筹基金")
    large_amount_pay: Decimal = Field(description="大额医疗费用补助 / 居民大病保险")
    cvlserv_pay: Decimal = Field(description="公务员医疗补助")
    maf_pay: Decimal = Field(description="医疗救助基金")
    other_pay: Decimal = Field(description="其他基金（企业补充等）")
    acct_pay: Decimal = Field(description="个人账户支付")
    psn_cash_pay: Decimal = Field(description="个人现金支付（由医院向个人收取，不清算）")
    clearing_amount: Decimal = Field(
        description="清算金额 = 基金支付 + 个人账户支付：参保地应付就医地"
    )


class RegionBalance(BaseModel):
    """一个统筹区本月跨统筹区清算的应付、应收与净额。"""

    region: str = Field(description="统筹区")
    region_name: str = Field(description="名称")
    payable: Decimal = Field(description="作为参保地应付（本地参保人员在外地就医）")
    receivable: Decimal = Field(description="作为就医地应收（外地参保人员在本地就医）")
    net: Decimal = Field(description="净额 = 应收 − 应付（负数：净付出）")


class ClearingReport(BaseModel):
    """一个月的跨统筹区清算：结算计入其清算月，撤销以负数计入其撤销月。"""

    month: str = Field(description="清算年月 YYYYMM")
    region: str = Field(description="查看者的辖区")
    pairs: list[ClearingPair]
    totals: ClearingPair | None = Field(None, description="合计（没有清算数时为空）")
    regions: list[RegionBalance]
