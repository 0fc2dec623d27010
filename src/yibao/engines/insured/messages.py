"""Input and output of 1101 人员信息获取 (field names as in the NHSA interface spec,
domain.md §4.2): who the insured person is, what insurance they hold, and their
special identities (for medical aid)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

#: 就诊凭证类型 (mdtrt_cert_type)
CERT_TYPES: Final[dict[str, str]] = {"01": "医保电子凭证", "02": "居民身份证", "03": "社会保障卡"}
#: 人员证件类型 (psn_cert_type)
PSN_CERT_TYPES: Final[dict[str, str]] = {"01": "居民身份证（户口簿）"}
#: 性别 (gend), GB/T 2261.1
GENDERS: Final[dict[str, str]] = {"1": "男", "2": "女"}
#: 险种类型 (insutype)
INSUTYPES: Final[dict[str, str]] = {"310": "职工基本医疗保险", "390": "城乡居民基本医疗保险"}
#: 人员类别 (psn_type) [M]: codes as local platforms use them, to verify against 1901
PSN_TYPES: Final[dict[str, str]] = {
    "1101": "在职职工",
    "1102": "退休职工",
    "1401": "学龄前儿童",
    "1402": "中小学生",
    "1403": "成年居民",
    "1404": "老年居民",
}
#: 参保状态 (psn_insu_stas)
INSU_STATES: Final[dict[str, str]] = {"1": "正常参保", "2": "暂停参保", "4": "终止参保"}
#: 人员身份类别 (psn_idet_type) [M]: the identities medical aid looks at
IDENTITIES: Final[dict[str, str]] = {
    "2101": "特困供养人员",
    "2102": "最低生活保障对象",
    "2103": "低收入家庭成员",
    "2104": "脱贫人口",
    "2201": "重度残疾人",
}


class _Node(BaseModel):
    model_config = ConfigDict(frozen=True)


class PersonQuery(_Node):
    """1101 input ``data``: a certificate (02 居民身份证 with ``mdtrt_cert_no``) —
    ``certno`` and ``psn_name``, when sent, must agree with the register."""

    mdtrt_cert_type: str = Field(description="就诊凭证类型：01 电子凭证、02 身份证、03 社保卡")
    mdtrt_cert_no: str | None = Field(None, max_length=50, description="就诊凭证编号")
    card_sn: str | None = Field(None, max_length=32, description="卡识别码")
    begntime: date | None = Field(None, description="开始时间（判断参保状态的日期）")
    psn_cert_type: str | None = Field(None, max_length=6, description="人员证件类型")
    certno: str | None = Field(None, max_length=50, description="证件号码")
    psn_name: str | None = Field(None, max_length=50, description="人员姓名")


class BaseInfo(_Node):
    psn_no: str = Field(description="人员编号")
    psn_cert_type: str = Field(description="人员证件类型")
    certno: str = Field(description="证件号码（无权查看完整号码时隐去中间 8 位）")
    psn_name: str = Field(description="人员姓名")
    gend: str = Field(description="性别：1 男，2 女")
    naty: str = Field(description="民族")
    brdy: date = Field(description="出生日期")
    age: Decimal = Field(description="年龄（周岁）")
    exp_content: str = Field("", description="扩展内容")


class InsuInfo(_Node):
    balc: Decimal = Field(description="个人账户余额（居民为 0）")
    insutype: str = Field(description="险种类型：310 职工、390 居民")
    psn_type: str = Field(description="人员类别")
    psn_insu_stas: str = Field(description="参保状态：1 正常、2 暂停、4 终止")
    psn_insu_date: date = Field(description="个人参保日期")
    paus_insu_date: date | None = Field(None, description="暂停参保日期")
    cvlserv_flag: str = Field(description="公务员标志：0 否、1 是")
    insuplc_admdvs: str = Field(description="参保地医保区划")
    emp_name: str = Field(description="单位名称")


class IdetInfo(_Node):
    psn_idet_type: str = Field(description="人员身份类别")
    psn_type_lv: str | None = Field(None, description="人员类别等级")
    memo: str = Field("", description="备注")
    begntime: date = Field(description="开始时间")
    endtime: date | None = Field(None, description="结束时间")


class PersonInfo(_Node):
    """1101 output."""

    baseinfo: BaseInfo
    insuinfo: list[InsuInfo]
    idetinfo: list[IdetInfo]


def age_on(birth: date, day: date) -> int:
    """Completed years on ``day``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
