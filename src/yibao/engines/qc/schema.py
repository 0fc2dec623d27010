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

Each field also carries its **spec length** (``length``): ``"30"`` for 字符型 30,
``"16,2"`` for 数值型 16,2 (precision, scale), as in the NHSA interface tables
154–160 / 194 (4101 / 4101A) and the 2304 output (domain.md S22).  Dates have no
spec length.  ``m=True`` (with an ``[M]`` comment) marks a length the spec does not
give, chosen by us (the database column it lands in, or the same field of another
table).  :data:`FIELD_LIMITS` turns them into :class:`FieldLimit` objects, which the
length rule and :func:`yibao.engines.qc.limits.identity_problems` check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from yibao.engines.qc.values import WEIGHT_SEPARATORS

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


#: [M] most characters of a date or date-time (the spec gives none): ISO form with
#: microseconds and an offset, ``2024-01-05T08:30:00.000000+08:00``
DATE_CHARS: Final = 32
#: [M] most characters of a field holding several values (transfers joined by ``→``,
#: the weights of a multiple birth joined by commas); each value has the spec length
MULTI_CHARS: Final = 100
_NUMBER_KINDS: Final = frozenset({"int", "num", "money", "weight"})


def _f(
    title: str,
    kind: FieldKind = "text",
    length: str | None = None,
    *,
    m: bool = False,
    sep: str | None = None,
) -> Any:
    """A message field: Chinese title, kind, spec length (``"30"``, ``"16,2"``),
    ``m`` = the length is our choice [M], ``sep`` = several values joined by ``sep``."""
    extra: dict[str, Any] = {"kind": kind}
    if length is not None:
        extra["length"] = length
    if m:
        extra["assumed"] = True
    if sep is not None:
        extra["sep"] = sep
    return Field(default=None, title=title, json_schema_extra=extra)


@dataclass(frozen=True, slots=True)
class FieldLimit:
    """The length limit of one message field (see the module docstring).

    ``chars``: most characters of the whole value.  ``digits``: (precision, scale) of
    each number, 数值型 16,2 = at most 14 integer digits.  ``part_chars``: most
    characters of each value when several are joined by one of ``seps``.  ``spec``:
    the length as the spec writes it (``字符型 30``, ``数值型 16,2``, ``日期时间型``);
    ``from_spec`` is False for our own choices [M] (dates, multi-value totals).
    """

    chars: int
    spec: str
    from_spec: bool = True
    digits: tuple[int, int] | None = None
    part_chars: int | None = None
    seps: tuple[str, ...] = ()


def _limit(name: str, kind: str, extra: dict[str, Any]) -> FieldLimit:
    length = extra.get("length")
    assumed = bool(extra.get("assumed"))
    if kind in ("date", "datetime"):
        if length is not None:
            raise ValueError(f"{name}: 日期字段没有规范长度")
        return FieldLimit(DATE_CHARS, "日期型" if kind == "date" else "日期时间型", False)
    if not isinstance(length, str):
        raise ValueError(f"{name}: 缺少规范长度")
    if kind in _NUMBER_KINDS:
        precision, _, scale = length.partition(",")
        digits = (int(precision), int(scale or 0))
        chars = digits[0] + 2  # the digits, a sign and a decimal point
        spec = f"数值型 {length}"
        if kind == "weight":
            return FieldLimit(MULTI_CHARS, spec, not assumed, digits, chars, WEIGHT_SEPARATORS)
        return FieldLimit(chars, spec, not assumed, digits)
    if "," in length:
        raise ValueError(f"{name}: 字符型字段的长度应为整数（收到 {length}）")
    sep = extra.get("sep")
    if sep is not None:
        return FieldLimit(MULTI_CHARS, f"字符型 {length}", not assumed, None, int(length), (sep,))
    return FieldLimit(int(length), f"字符型 {length}", not assumed)


class Node(BaseModel):
    """Base of the message nodes: optional text fields, unknown keys ignored."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class SetlInfo(Node):
    """结算清单信息 ``setlinfo`` (4101 表154 / 4101A, plus the *ext* fields)."""

    setl_id: str | None = _f("结算ID", length="30")
    mdtrt_id: str | None = _f("就诊ID", length="30")
    fixmedins_code: str | None = _f("定点医药机构编号", length="12")
    fixmedins_name: str | None = _f("定点医药机构名称", length="200")
    mdtrtarea_admvs: str | None = _f(
        "就医地医保区划", length="6", m=True
    )  # ext (envelope); [M] region code
    hi_setl_lv: str | None = _f("医保结算等级", length="3")
    hi_no: str | None = _f("医保编号", length="30")
    medcasno: str | None = _f("病案号", length="40")
    dcla_time: str | None = _f("申报时间", "datetime")
    psn_no: str | None = _f("人员编号", length="30")  # 4101A: no length; 2304 output: 30
    psn_name: str | None = _f("人员姓名", length="50")
    gend: str | None = _f("性别", length="6")
    brdy: str | None = _f("出生日期", "date")
    age: str | None = _f("年龄（岁）", "num", "4,1")
    ntly: str | None = _f("国籍", length="6")
    nwb_age: str | None = _f("（年龄不足1周岁）年龄（天）", "int", "3")
    naty: str | None = _f("民族", length="3")
    patn_cert_type: str | None = _f("患者证件类别", length="3")
    certno: str | None = _f("证件号码", length="50")
    prfs: str | None = _f("职业", length="6")
    curr_addr: str | None = _f("现住址", length="200")
    emp_name: str | None = _f("单位名称", length="200")
    emp_addr: str | None = _f("单位地址", length="200")
    emp_tel: str | None = _f("单位电话", length="50")
    poscode: str | None = _f("邮编", length="6")
    coner_name: str | None = _f("联系人姓名", length="50")
    patn_rlts: str | None = _f("与患者关系", length="6")
    coner_addr: str | None = _f("联系人地址", length="200")
    coner_tel: str | None = _f("联系人电话", length="50")
    insutype: str | None = _f("险种类型", length="3")  # 4101: hi_type
    insuplc: str | None = _f("参保地", length="6")
    sp_psn_type: str | None = _f("特殊人员类型", length="6")
    nwb_adm_type: str | None = _f("新生儿入院类型", length="3")
    nwb_bir_wt: str | None = _f("新生儿出生体重（克）", "weight", "6,2")
    nwb_adm_wt: str | None = _f("新生儿入院体重（克）", "weight", "6,2")
    mul_nwb_bir_wt: str | None = _f(
        "多新生儿出生体重（克）", "weight", "6,2", m=True
    )  # [M] as nwb_bir_wt
    mul_nwb_adm_wt: str | None = _f(
        "多新生儿入院体重（克）", "weight", "6,2", m=True
    )  # [M] as nwb_adm_wt
    opsp_diag_caty: str | None = _f("门诊慢特病诊断科别", length="50")
    opsp_mdtrt_date: str | None = _f("门诊慢特病就诊日期", "date")
    ipt_med_type: str | None = _f("住院医疗类型", length="3")
    adm_way: str | None = _f("入院途径", length="3")
    trt_type: str | None = _f("治疗类别", length="3")
    adm_time: str | None = _f("入院时间", "datetime")
    adm_caty: str | None = _f("入院科别", length="6")
    refldept_dept: str | None = _f("转科科别", length="6", sep="→")
    dscg_time: str | None = _f("出院时间", "datetime")
    dscg_caty: str | None = _f("出院科别", length="6")
    act_ipt_days: str | None = _f("实际住院天数", "int", "3")
    otp_wm_dise: str | None = _f("门（急）诊西医诊断", length="200")
    wm_dise_code: str | None = _f("门（急）诊西医诊断编码", length="20")
    otp_tcm_dise: str | None = _f("门（急）诊中医诊断", length="200")
    tcm_dise_code: str | None = _f("门（急）诊中医诊断编码", length="20")
    diag_code_cnt: str | None = _f("诊断代码计数", "int", "3")
    oprn_oprt_code_cnt: str | None = _f("手术操作代码计数", "int", "3")
    vent_used_dura: str | None = _f("呼吸机使用时长", "dura", "10")
    pwcry_bfadm_coma_dura: str | None = _f("颅脑损伤患者入院前昏迷时长", "dura", "10")
    pwcry_afadm_coma_dura: str | None = _f("颅脑损伤患者入院后昏迷时长", "dura", "10")
    bld_cat: str | None = _f("输血品种", length="3")
    bld_amt: str | None = _f("输血量", "num", "6")
    bld_unt: str | None = _f("输血计量单位", length="3")
    spga_nurscare_days: str | None = _f("特级护理天数", "int", "3")
    lv1_nurscare_days: str | None = _f("一级护理天数", "int", "3")
    scd_nurscare_days: str | None = _f("二级护理天数", "int", "3")
    lv3_nurscare_days: str | None = _f("三级护理天数", "int", "3")
    dscg_way: str | None = _f("离院方式", length="3")
    acp_medins_name: str | None = _f("拟接收机构名称", length="100")
    acp_optins_code: str | None = _f("拟接收机构代码", length="30")
    bill_code: str | None = _f("票据代码", length="50")
    bill_no: str | None = _f("票据号码", length="30")
    biz_sn: str | None = _f("业务流水号", length="50")
    days_rinp_flag_31: str | None = _f("出院31天内再住院计划标志", length="3")
    days_rinp_pup_31: str | None = _f("出院31天内再住院目的", length="200")
    chfpdr_name: str | None = _f("主诊医师姓名", length="50")
    chfpdr_code: str | None = _f("主诊医师代码", length="30")
    resp_nurs_name: str | None = _f("责任护士姓名", length="50", m=True)  # [M] as chfpdr_name
    resp_nurs_code: str | None = _f("责任护士代码", length="30", m=True)  # [M] as chfpdr_code
    setl_begn_date: str | None = _f("结算开始日期", "date")
    setl_end_date: str | None = _f("结算结束日期", "date")
    medfee_sumamt: str | None = _f("医疗费总额", "money", "16,2")  # ext (2304)
    fund_pay_sumamt: str | None = _f("基金支付总额", "money", "16,2")  # ext (2304)
    hifp_pay: str | None = _f("统筹基金支出", "money", "16,2")  # ext (2304)
    acct_pay: str | None = _f("个人账户支出", "money", "16,2")
    hosp_part_amt: str | None = _f("医院负担金额", "money", "16,2")  # ext (2304)
    psn_cash_pay: str | None = _f("个人现金支付", "money", "16,2")  # 4101: psn_cashpay
    fulamt_ownpay_amt: str | None = _f("全自费金额", "money", "16,2")  # ext (2304)
    preselfpay_amt: str | None = _f("先行自付金额", "money", "16,2")  # ext (2304)
    psn_selfpay: str | None = _f("个人自付", "money", "16,2")
    psn_ownpay: str | None = _f("个人自费", "money", "16,2")
    hi_paymtd: str | None = _f("医保支付方式", length="3")
    hsorg: str | None = _f("医保机构", length="100")
    hsorg_opter: str | None = _f("医保机构经办人", length="50")
    medins_fill_dept: str | None = _f("医疗机构填报部门", length="100")
    medins_fill_psn: str | None = _f("医疗机构填报人", length="50")
    stas_type: str | None = _f("状态类型", length="30", m=True)  # [M] generous code default


class DiseInfo(Node):
    """住院诊断信息 ``diseinfo[]`` (表157)."""

    diag_type: str | None = _f("诊断类别", length="3")
    diag_code: str | None = _f("诊断编码", length="20")
    diag_name: str | None = _f("诊断名称", length="100")
    adm_cond_type: str | None = _f("入院病情类型", length="3")
    maindiag_flag: str | None = _f("主诊断标志", length="3")


class OprnInfo(Node):
    """手术操作信息 ``oprninfo[]`` (表159; begin/end times from 4101A)."""

    oprn_oprt_type: str | None = _f("手术操作类别", length="3")
    oprn_oprt_name: str | None = _f("手术操作名称", length="500")
    oprn_oprt_code: str | None = _f("手术操作编码", length="30")
    oprn_oprt_date: str | None = _f("手术操作日期", "date")
    anst_way: str | None = _f("麻醉方式", length="6")
    oper_dr_name: str | None = _f("术者医师姓名", length="50")
    oper_dr_code: str | None = _f("术者医师代码", length="20")
    anst_dr_name: str | None = _f("麻醉医师姓名", length="50")
    anst_dr_code: str | None = _f("麻醉医师代码", length="20")
    oprn_oprt_begntime: str | None = _f("手术操作开始时间", "datetime")
    oprn_oprt_endtime: str | None = _f("手术操作结束时间", "datetime")
    anst_begntime: str | None = _f("麻醉开始时间", "datetime")
    anst_endtime: str | None = _f("麻醉结束时间", "datetime")


class IcuInfo(Node):
    """重症监护信息 ``icuinfo[]`` (表160)."""

    scs_cutd_ward_type: str | None = _f("重症监护病房类型", length="6")
    scs_cutd_inpool_time: str | None = _f("重症监护进入时间", "datetime")
    scs_cutd_exit_time: str | None = _f("重症监护退出时间", "datetime")
    scs_cutd_sum_dura: str | None = _f("重症监护合计时长", "dura", "10")


class BldInfo(Node):
    """输血信息 ``bldinfo[]`` (4101A 表194)."""

    bld_cat: str | None = _f(
        "输血品种", length="3", m=True
    )  # [M] 表194 has no lengths: as setlinfo
    bld_amt: str | None = _f("输血量", "num", "6", m=True)  # [M] as setlinfo
    bld_unt: str | None = _f("输血计量单位", length="3", m=True)  # [M] as setlinfo


class ItemInfo(Node):
    """收费项目信息 ``iteminfo[]`` (4101 表158; *ext* for 4101A): one bill category."""

    med_chrgitm: str | None = _f("医疗收费项目类别", "code2", "6")
    amt: str | None = _f("金额", "money", "16,2")
    claa_sumfee: str | None = _f("甲类费用合计", "money", "16,2")
    clab_amt: str | None = _f("乙类金额", "money", "16,2")
    fulamt_ownpay_amt: str | None = _f("全自费金额", "money", "16,2")
    oth_amt: str | None = _f("其他金额", "money", "16,2")


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


def _limits(model: type[Node]) -> dict[str, FieldLimit]:
    out: dict[str, FieldLimit] = {}
    for name, info in model.model_fields.items():
        extra = cast(dict[str, Any], info.json_schema_extra or {})
        out[name] = _limit(f"{model.__name__}.{name}", str(extra.get("kind", "text")), extra)
    return out


#: node → field → kind
FIELD_KINDS: Final[dict[str, dict[str, str]]] = {n: _kinds(m) for n, m in NODE_MODELS.items()}
#: node → field → length limit (spec 4101 / 4101A, see the module docstring)
FIELD_LIMITS: Final[dict[str, dict[str, FieldLimit]]] = {
    n: _limits(m) for n, m in NODE_MODELS.items()
}
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
