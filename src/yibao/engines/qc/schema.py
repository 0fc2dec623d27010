"""Pydantic models of the settlement-list upload message (4101 / 4101A, domain.md §3.2).

Every field is optional text (``str | None``): the intake (:mod:`.intake`) turns
JSON/CSV/Excel values into stripped strings first, so a bad value is kept verbatim
and reported by the QC rules instead of failing the whole list.  Each field carries
its Chinese title (used in messages) and a *kind* that says how QC and
:func:`~yibao.engines.qc.frames.to_case_frames` read it:

========  ====================================================================
kind      meaning
========  ====================================================================
text      free text or a dictionary code
code2     two-digit code; a single digit is zero-padded (``1`` → ``01``)
int       whole number (days, counts)
num       decimal number (age, transfusion amount)
money     yuan, at most 2 decimals
weight    grams; several values (multiple births) separated by commas
date      ``YYYY-MM-DD`` (a date-time is accepted, its date is used)
datetime  ``YYYY-MM-DD HH:MM:SS`` (``T``, ``/``, seconds and offsets optional)
dura      duration ``天数/小时数/分钟数`` such as ``1/13/24``
========  ====================================================================

Fields marked *ext* are not in 4101A: ``iteminfo`` (from 4101 表158) and the
payment fields of the 2304 settlement output, which the case model needs, and
``mdtrtarea_admvs`` (就医地医保区划, from the request envelope).
"""

from __future__ import annotations

from typing import Any, Final, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

FieldKind = Literal["text", "code2", "int", "num", "money", "weight", "date", "datetime", "dura"]
KINDS: Final[tuple[str, ...]] = (
    "text",
    "code2",
    "int",
    "num",
    "money",
    "weight",
    "date",
    "datetime",
    "dura",
)


def _f(title: str, kind: FieldKind = "text") -> Any:
    return Field(default=None, title=title, json_schema_extra={"kind": kind})


class Node(BaseModel):
    """Base of the message nodes: optional text fields, unknown keys ignored."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class SetlInfo(Node):
    """结算清单信息 ``setlinfo`` (4101 表154 / 4101A, plus the *ext* fields)."""

    setl_id: str | None = _f("结算ID")
    mdtrt_id: str | None = _f("就诊ID")
    fixmedins_code: str | None = _f("定点医药机构编号")
    fixmedins_name: str | None = _f("定点医药机构名称")
    mdtrtarea_admvs: str | None = _f("就医地医保区划")  # ext (envelope)
    hi_setl_lv: str | None = _f("医保结算等级")
    hi_no: str | None = _f("医保编号")
    medcasno: str | None = _f("病案号")
    dcla_time: str | None = _f("申报时间", "datetime")
    psn_no: str | None = _f("人员编号")
    psn_name: str | None = _f("人员姓名")
    gend: str | None = _f("性别")
    brdy: str | None = _f("出生日期", "date")
    age: str | None = _f("年龄（岁）", "num")
    ntly: str | None = _f("国籍")
    nwb_age: str | None = _f("（年龄不足1周岁）年龄（天）", "int")
    naty: str | None = _f("民族")
    patn_cert_type: str | None = _f("患者证件类别")
    certno: str | None = _f("证件号码")
    prfs: str | None = _f("职业")
    curr_addr: str | None = _f("现住址")
    emp_name: str | None = _f("单位名称")
    emp_addr: str | None = _f("单位地址")
    emp_tel: str | None = _f("单位电话")
    poscode: str | None = _f("邮编")
    coner_name: str | None = _f("联系人姓名")
    patn_rlts: str | None = _f("与患者关系")
    coner_addr: str | None = _f("联系人地址")
    coner_tel: str | None = _f("联系人电话")
    insutype: str | None = _f("险种类型")  # 4101: hi_type
    insuplc: str | None = _f("参保地")
    sp_psn_type: str | None = _f("特殊人员类型")
    nwb_adm_type: str | None = _f("新生儿入院类型")
    nwb_bir_wt: str | None = _f("新生儿出生体重（克）", "weight")
    nwb_adm_wt: str | None = _f("新生儿入院体重（克）", "weight")
    mul_nwb_bir_wt: str | None = _f("多新生儿出生体重（克）", "weight")
    mul_nwb_adm_wt: str | None = _f("多新生儿入院体重（克）", "weight")
    opsp_diag_caty: str | None = _f("门诊慢特病诊断科别")
    opsp_mdtrt_date: str | None = _f("门诊慢特病就诊日期", "date")
    ipt_med_type: str | None = _f("住院医疗类型")
    adm_way: str | None = _f("入院途径")
    trt_type: str | None = _f("治疗类别")
    adm_time: str | None = _f("入院时间", "datetime")
    adm_caty: str | None = _f("入院科别")
    refldept_dept: str | None = _f("转科科别")
    dscg_time: str | None = _f("出院时间", "datetime")
    dscg_caty: str | None = _f("出院科别")
    act_ipt_days: str | None = _f("实际住院天数", "int")
    otp_wm_dise: str | None = _f("门（急）诊西医诊断")
    wm_dise_code: str | None = _f("门（急）诊西医诊断编码")
    otp_tcm_dise: str | None = _f("门（急）诊中医诊断")
    tcm_dise_code: str | None = _f("门（急）诊中医诊断编码")
    diag_code_cnt: str | None = _f("诊断代码计数", "int")
    oprn_oprt_code_cnt: str | None = _f("手术操作代码计数", "int")
    vent_used_dura: str | None = _f("呼吸机使用时长", "dura")
    pwcry_bfadm_coma_dura: str | None = _f("颅脑损伤患者入院前昏迷时长", "dura")
    pwcry_afadm_coma_dura: str | None = _f("颅脑损伤患者入院后昏迷时长", "dura")
    bld_cat: str | None = _f("输血品种")
    bld_amt: str | None = _f("输血量", "num")
    bld_unt: str | None = _f("输血计量单位")
    spga_nurscare_days: str | None = _f("特级护理天数", "int")
    lv1_nurscare_days: str | None = _f("一级护理天数", "int")
    scd_nurscare_days: str | None = _f("二级护理天数", "int")
    lv3_nurscare_days: str | None = _f("三级护理天数", "int")
    dscg_way: str | None = _f("离院方式")
    acp_medins_name: str | None = _f("拟接收机构名称")
    acp_optins_code: str | None = _f("拟接收机构代码")
    bill_code: str | None = _f("票据代码")
    bill_no: str | None = _f("票据号码")
    biz_sn: str | None = _f("业务流水号")
    days_rinp_flag_31: str | None = _f("出院31天内再住院计划标志")
    days_rinp_pup_31: str | None = _f("出院31天内再住院目的")
    chfpdr_name: str | None = _f("主诊医师姓名")
    chfpdr_code: str | None = _f("主诊医师代码")
    resp_nurs_name: str | None = _f("责任护士姓名")
    resp_nurs_code: str | None = _f("责任护士代码")
    setl_begn_date: str | None = _f("结算开始日期", "date")
    setl_end_date: str | None = _f("结算结束日期", "date")
    medfee_sumamt: str | None = _f("医疗费总额", "money")  # ext (2304)
    fund_pay_sumamt: str | None = _f("基金支付总额", "money")  # ext (2304)
    hifp_pay: str | None = _f("统筹基金支出", "money")  # ext (2304)
    acct_pay: str | None = _f("个人账户支出", "money")
    psn_cash_pay: str | None = _f("个人现金支付", "money")  # 4101: psn_cashpay
    fulamt_ownpay_amt: str | None = _f("全自费金额", "money")  # ext (2304)
    preselfpay_amt: str | None = _f("先行自付金额", "money")  # ext (2304)
    psn_selfpay: str | None = _f("个人自付", "money")
    psn_ownpay: str | None = _f("个人自费", "money")
    hi_paymtd: str | None = _f("医保支付方式")
    hsorg: str | None = _f("医保机构")
    hsorg_opter: str | None = _f("医保机构经办人")
    medins_fill_dept: str | None = _f("医疗机构填报部门")
    medins_fill_psn: str | None = _f("医疗机构填报人")
    stas_type: str | None = _f("状态类型")


class DiseInfo(Node):
    """住院诊断信息 ``diseinfo[]`` (表157)."""

    diag_type: str | None = _f("诊断类别")
    diag_code: str | None = _f("诊断编码")
    diag_name: str | None = _f("诊断名称")
    adm_cond_type: str | None = _f("入院病情类型")
    maindiag_flag: str | None = _f("主诊断标志")


class OprnInfo(Node):
    """手术操作信息 ``oprninfo[]`` (表159; begin/end times from 4101A)."""

    oprn_oprt_type: str | None = _f("手术操作类别")
    oprn_oprt_name: str | None = _f("手术操作名称")
    oprn_oprt_code: str | None = _f("手术操作编码")
    oprn_oprt_date: str | None = _f("手术操作日期", "date")
    anst_way: str | None = _f("麻醉方式")
    oper_dr_name: str | None = _f("术者医师姓名")
    oper_dr_code: str | None = _f("术者医师代码")
    anst_dr_name: str | None = _f("麻醉医师姓名")
    anst_dr_code: str | None = _f("麻醉医师代码")
    oprn_oprt_begntime: str | None = _f("手术操作开始时间", "datetime")
    oprn_oprt_endtime: str | None = _f("手术操作结束时间", "datetime")
    anst_begntime: str | None = _f("麻醉开始时间", "datetime")
    anst_endtime: str | None = _f("麻醉结束时间", "datetime")


class IcuInfo(Node):
    """重症监护信息 ``icuinfo[]`` (表160)."""

    scs_cutd_ward_type: str | None = _f("重症监护病房类型")
    scs_cutd_inpool_time: str | None = _f("重症监护进入时间", "datetime")
    scs_cutd_exit_time: str | None = _f("重症监护退出时间", "datetime")
    scs_cutd_sum_dura: str | None = _f("重症监护合计时长", "dura")


class BldInfo(Node):
    """输血信息 ``bldinfo[]`` (4101A 表194)."""

    bld_cat: str | None = _f("输血品种")
    bld_amt: str | None = _f("输血量", "num")
    bld_unt: str | None = _f("输血计量单位")


class ItemInfo(Node):
    """收费项目信息 ``iteminfo[]`` (4101 表158; *ext* for 4101A): one bill category."""

    med_chrgitm: str | None = _f("医疗收费项目类别", "code2")
    amt: str | None = _f("金额", "money")
    claa_sumfee: str | None = _f("甲类费用合计", "money")
    clab_amt: str | None = _f("乙类金额", "money")
    fulamt_ownpay_amt: str | None = _f("全自费金额", "money")
    oth_amt: str | None = _f("其他金额", "money")


class SettlementList(BaseModel):
    """One settlement list (结算清单): 4101A nodes plus ``iteminfo``.

    >>> SettlementList.model_validate({"setlinfo": {"setl_id": "S1"}}).setlinfo.setl_id
    'S1'
    """

    model_config = ConfigDict(extra="ignore")

    setlinfo: SetlInfo
    diseinfo: list[DiseInfo] = Field(default_factory=list)
    oprninfo: list[OprnInfo] = Field(default_factory=list)
    icuinfo: list[IcuInfo] = Field(default_factory=list)
    bldinfo: list[BldInfo] = Field(default_factory=list)
    iteminfo: list[ItemInfo] = Field(default_factory=list)


#: node name → model; ``setlinfo`` is an object, the others are arrays.
NODE_MODELS: Final[dict[str, type[Node]]] = {
    "setlinfo": SetlInfo,
    "diseinfo": DiseInfo,
    "oprninfo": OprnInfo,
    "icuinfo": IcuInfo,
    "bldinfo": BldInfo,
    "iteminfo": ItemInfo,
}
LIST_NODES: Final[tuple[str, ...]] = ("diseinfo", "oprninfo", "icuinfo", "bldinfo", "iteminfo")
NODE_LABELS: Final[dict[str, str]] = {
    "setlinfo": "结算清单信息",
    "diseinfo": "诊断信息",
    "oprninfo": "手术操作信息",
    "icuinfo": "重症监护信息",
    "bldinfo": "输血信息",
    "iteminfo": "收费项目信息",
}

#: Other spellings accepted on intake (4101 names, older interface versions).
ALIASES: Final[dict[str, dict[str, str]]] = {
    "setlinfo": {
        "hi_type": "insutype",
        "insuplc_admdvs": "insuplc",
        "admdvs": "mdtrtarea_admvs",
        "psn_cashpay": "psn_cash_pay",
        "acp_medins_code": "acp_optins_code",
    },
    "oprninfo": {"oprn_begntime": "oprn_oprt_begntime", "oprn_endtime": "oprn_oprt_endtime"},
}


def _kinds(model: type[Node]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, info in model.model_fields.items():
        extra = cast(dict[str, Any], info.json_schema_extra or {})
        out[name] = str(extra.get("kind", "text"))
    return out


#: node → field → kind
FIELD_KINDS: Final[dict[str, dict[str, str]]] = {n: _kinds(m) for n, m in NODE_MODELS.items()}
#: node → field → Chinese title
FIELD_LABELS: Final[dict[str, dict[str, str]]] = {
    n: {name: info.title or name for name, info in m.model_fields.items()}
    for n, m in NODE_MODELS.items()
}


def label(node: str, field: str) -> str:
    """The Chinese title of ``node.field`` (the field name when unknown)."""
    return FIELD_LABELS.get(node, {}).get(field, field)


def parse_ref(ref: str) -> tuple[str, str]:
    """``"setlinfo.gend"`` / ``"diseinfo[].diag_code"`` → ``(node, field)``.

    Raises ``ValueError`` (Chinese) for an unknown node or field, or a list node
    written without ``[]`` (and ``setlinfo`` with it).
    """
    head, dot, field = ref.partition(".")
    node = head.removesuffix("[]")
    if not dot or node not in NODE_MODELS:
        raise ValueError(f"字段引用 '{ref}' 无效：应为 setlinfo.<字段> 或 <节点>[].<字段>")
    if (node in LIST_NODES) != head.endswith("[]"):
        form = f"{node}[].{field}" if node in LIST_NODES else f"{node}.{field}"
        raise ValueError(f"字段引用 '{ref}' 无效：应写作 {form}")
    if field not in FIELD_KINDS[node]:
        raise ValueError(f"字段引用 '{ref}' 无效：{node} 节点没有字段 {field}")
    return node, field


def path_of(node: str, index: int | None, field: str | None = None) -> str:
    """Dotted path of a value: ``setlinfo.gend``, ``diseinfo[2].diag_code``, ``diseinfo[2]``."""
    head = node if index is None else f"{node}[{index}]"
    return head if field is None else f"{head}.{field}"
