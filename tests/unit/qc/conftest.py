"""Fixtures for the settlement-list QC tests: the plan, the rule set, hand-made lists."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import yibao
from yibao.engines.grouper import CompiledPlan, PlanRegistry
from yibao.engines.qc import RuleSet, default_ruleset
from yibao.engines.synth import CaseBatch, generate_cases, make_region

PLAN_DIR = Path(yibao.__file__).parent / "plans" / "chs-drg-1.1"
Message = dict[str, Any]

_GOOD: Message = {
    "setlinfo": {
        "setl_id": "S2024000000001",
        "mdtrt_id": "M2024000000001",
        "fixmedins_code": "H99010230001",
        "fixmedins_name": "演示市第一人民医院",
        "mdtrtarea_admvs": "990102",
        "hi_no": "P99010219600520101",
        "medcasno": "BA0001",
        "psn_no": "P99010219600520101",
        "psn_name": "测试赵1",
        "gend": "1",
        "brdy": "1960-05-20",
        "age": "63",
        "ntly": "CHN",
        "poscode": "990102",
        "insutype": "310",
        "insuplc": "990102",
        "trt_type": "1",
        "adm_way": "2",
        "adm_time": "2024-03-01 08:30:00",
        "adm_caty": "03.02",
        "dscg_time": "2024-03-08 10:00:00",
        "dscg_caty": "03.02",
        "act_ipt_days": "7",
        "diag_code_cnt": "3",
        "oprn_oprt_code_cnt": "1",
        "vent_used_dura": "0/20/15",
        "dscg_way": "1",
        "bill_code": "DEMO",
        "bill_no": "0001",
        "biz_sn": "B0001",
        "chfpdr_code": "D0001",
        "resp_nurs_code": "N0001",
        "setl_begn_date": "2024-03-01",
        "setl_end_date": "2024-03-08",
        "hi_paymtd": "4",
        "medins_fill_dept": "病案统计科",
        "medins_fill_psn": "演示填报员",
        "medfee_sumamt": "10000.00",
        "fund_pay_sumamt": "7000.00",
        "acct_pay": "1000.00",
        "psn_cash_pay": "2000.00",
        "fulamt_ownpay_amt": "500.00",
        "preselfpay_amt": "300.00",
    },
    "diseinfo": [
        {
            "diag_type": "1",
            "diag_code": "J18.900",
            "diag_name": "肺炎",
            "adm_cond_type": "1",
            "maindiag_flag": "1",
        },
        {
            "diag_type": "1",
            "diag_code": "I10.x00",
            "diag_name": "特发性（原发性）高血压",
            "adm_cond_type": "1",
            "maindiag_flag": "0",
        },
        {
            "diag_type": "1",
            "diag_code": "E11.900",
            "diag_name": "2型糖尿病",
            "adm_cond_type": "4",
            "maindiag_flag": "0",
        },
    ],
    "oprninfo": [
        {
            "oprn_oprt_type": "1",
            "oprn_oprt_code": "99.0400",
            "oprn_oprt_name": "血细胞压积输入",
            "oprn_oprt_date": "2024-03-03",
            "anst_way": "03",
            "oper_dr_code": "D0002",
            "anst_dr_code": "D0003",
            "oprn_oprt_begntime": "2024-03-03 09:10:00",
            "oprn_oprt_endtime": "2024-03-03 09:50:00",
            "anst_begntime": "2024-03-03 09:00:00",
            "anst_endtime": "2024-03-03 10:00:00",
        }
    ],
    "icuinfo": [
        {
            "scs_cutd_ward_type": "6",
            "scs_cutd_inpool_time": "2024-03-02 10:00:00",
            "scs_cutd_exit_time": "2024-03-04 12:30:00",
            "scs_cutd_sum_dura": "2/2/30",
        }
    ],
    "bldinfo": [{"bld_cat": "1", "bld_amt": "2", "bld_unt": "1"}],
    "iteminfo": [
        {
            "med_chrgitm": "01",
            "amt": "700.00",
            "claa_sumfee": "700.00",
            "clab_amt": "0",
            "fulamt_ownpay_amt": "0",
            "oth_amt": "0",
        },
        {"med_chrgitm": "04", "amt": "1800.00"},
        {"med_chrgitm": "05", "amt": "2500.00"},
        {"med_chrgitm": "09", "amt": "5000.00"},
    ],
}

_NEWBORN_SETL = {
    "gend": "2",
    "brdy": "2024-02-20",
    "age": "0",
    "nwb_age": "10",
    "nwb_bir_wt": "3200",
    "nwb_adm_wt": "3100",
    "nwb_adm_type": "3",
    "insutype": "390",
    "adm_caty": "07",
    "dscg_caty": "07",
}


@pytest.fixture
def good() -> Message:
    """A valid adult list (fresh copy): no finding under the default rule set."""
    return copy.deepcopy(_GOOD)


@pytest.fixture
def newborn() -> Message:
    """A valid newborn list (10 days, 3200 g, principal P07.300, no procedure)."""
    m = copy.deepcopy(_GOOD)
    m["setlinfo"].update(_NEWBORN_SETL)
    m["setlinfo"].pop("vent_used_dura")
    m["setlinfo"]["diag_code_cnt"] = "1"
    m["setlinfo"]["oprn_oprt_code_cnt"] = "0"
    m["diseinfo"] = [
        {
            "diag_type": "1",
            "diag_code": "P07.300",
            "diag_name": "早产婴儿，其他的",
            "adm_cond_type": "1",
            "maindiag_flag": "1",
        }
    ]
    m["oprninfo"] = []
    return m


@pytest.fixture(scope="session")
def plan() -> CompiledPlan:
    """CHS-DRG 1.1 from the package plans (compiled once per session)."""
    return PlanRegistry().get("chs-drg-1.1")


@pytest.fixture(scope="session")
def ruleset() -> RuleSet:
    return default_ruleset()


@pytest.fixture(scope="session")
def synth_batch() -> CaseBatch:
    """600 synthetic cases of 2024 (one chunk)."""
    region = make_region(3)
    return next(iter(generate_cases(region, [2024], 600, seed=7, plan_dir=PLAN_DIR)))


Mutate = Callable[[Message], None]
