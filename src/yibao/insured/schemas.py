"""Response models of the insured-register API (ID numbers masked unless the
reader's role may see them in full)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field


class PersonOut(BaseModel):
    psn_no: str = Field(description="人员编号")
    certno: str = Field(description="身份证号（无“查看完整身份证号”权限时隐去中间 8 位）")
    certno_masked: bool = Field(description="身份证号是否已隐去中间部分")
    psn_name: str
    gend: str = Field(description="性别：1 男，2 女")
    brdy: date
    insutype: str = Field(description="险种类型：310 职工，390 居民")
    psn_type: str = Field(description="人员类别")
    psn_insu_stas: str = Field(description="参保状态：1 正常、2 暂停、4 终止")
    insuplc_admdvs: str = Field(description="参保地医保区划")
    emp_name: str
    cvlserv_flag: str = Field(description="公务员标志")
    balc: Decimal | None = Field(description="个人账户余额（居民无个人账户）")


class PersonPage(BaseModel):
    items: list[PersonOut]
    total: int
    page: int
    size: int


class CumulativeRow(BaseModel):
    cum_type_code: str = Field(description="累计类别")
    cum_type_name: str
    cum: Decimal = Field(description="累计值（金额为元，次数为次）")


class IdentityOut(BaseModel):
    psn_idet_type: str
    psn_idet_name: str
    begntime: date
    endtime: date | None


class PostingOut(BaseModel):
    year: int
    kind: str = Field(description="opening 期初结转 / settle 结算 / reverse 撤销结算")
    ref: str = Field(description="结算编号")
    deltas: dict[str, str] = Field(description="各累计类别的增量")
    acct_pay: Decimal = Field(description="个人账户支付（撤销为负）")
    balc_after: Decimal | None
    created_by: str
    created_at: datetime


class PersonDetail(PersonOut):
    year: int = Field(description="累计信息的年度")
    cumulative: list[CumulativeRow]
    identities: list[IdentityOut]
    postings: list[PostingOut] = Field(description="最近 50 次累计变动")
