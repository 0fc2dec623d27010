"""Inputs and outputs of the transactions of the first slice (field names as in the
NHSA interface spec): 9001 签到, 9002 签退, 4101A 结算清单上传."""

from __future__ import annotations

import ipaddress
from typing import Any

from pydantic import BaseModel, Field, field_validator

# ------------------------------------------------------------------ 9001 签到 / 9002 签退


class SignInNode(BaseModel):
    opter_no: str = Field(min_length=1, max_length=20, description="操作员编号")
    mac: str = Field(min_length=1, max_length=20, description="签到 MAC 地址")
    ip: str = Field(min_length=1, max_length=45, description="签到 IP 地址（IPv4 或 IPv6）")

    @field_validator("ip")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"应为 IPv4 或 IPv6 地址（收到“{value[:45]}”）") from None
        return value


class SignInIn(BaseModel):
    """9001 签到 input."""

    signIn: SignInNode  # the spec names it so


class SignInOutNode(BaseModel):
    sign_time: str = Field(description="签到时间 yyyy-MM-dd HH:mm:ss")
    sign_no: str = Field(description="签到编号：其后各交易的 sign_no")


class SignInOut(BaseModel):
    signinoutb: SignInOutNode


class SignOutNode(BaseModel):
    sign_no: str | None = Field(
        None, max_length=30, description="要签退的签到编号（空则用报文的 sign_no）"
    )
    opter_no: str = Field(min_length=1, max_length=20, description="操作员编号")


class SignOutIn(BaseModel):
    """9002 签退 input."""

    signOut: SignOutNode  # the spec names it so


class SignOutOutNode(BaseModel):
    sign_time: str = Field(description="签退时间 yyyy-MM-dd HH:mm:ss")


class SignOutOut(BaseModel):
    signoutoutb: SignOutOutNode


# ---------------------------------------------------------------- 4101A 结算清单上传


class ListUploadIn(BaseModel):
    """4101A input: one settlement list.  Its nodes are checked by settlement-list
    intake (QC), not here: a list with problems is stored and held with its findings."""

    setlinfo: dict[str, Any] = Field(description="结算清单信息")
    payinfo: list[dict[str, Any]] | None = Field(None, description="基金支付信息")
    opspdiseinfo: list[dict[str, Any]] | None = Field(None, description="门诊慢特病诊断信息")
    diseinfo: list[dict[str, Any]] | None = Field(None, description="诊断信息")
    iteminfo: list[dict[str, Any]] | None = Field(None, description="收费项目信息")
    oprninfo: list[dict[str, Any]] | None = Field(None, description="手术操作信息")
    icuinfo: list[dict[str, Any]] | None = Field(None, description="重症监护信息")
    bldinfo: list[dict[str, Any]] | None = Field(None, description="输血信息")


class ListFinding(BaseModel):
    rule_id: str = Field(description="质控规则编号")
    severity: str = Field(description="blocking 阻断（清单挂起）/ warning 提示")
    field: str | None = Field(None, description="出问题的字段")
    message: str = Field(description="中文说明")


class ListUploadOut(BaseModel):
    setl_list_id: str = Field(description="清单流水号（Yibao 的结算清单编号）")
    setl_id: str | None = Field(None, description="结算ID")
    state: str = Field(description="清单状态：priced 已计价、grouped 已分组、qc_failed 挂起 …")
    state_name: str = Field(description="清单状态（中文）")
    version: int | None = Field(None, description="版本（同一结算ID重传时加 1）")
    drg: str | None = Field(None, description="DRG 分组")
    findings: list[ListFinding] = Field(default_factory=list, description="质控问题（最多 20 条）")
