"""Request and response models of the gateway's JSON API (documentation and answers)."""

from __future__ import annotations

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
