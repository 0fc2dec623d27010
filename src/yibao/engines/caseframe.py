"""The batch (Polars/Arrow) form of the shared case model.

One inpatient settlement list (结算清单) is one row of ``CASES``; its diagnoses and
procedures are rows of ``DIAGNOSES`` and ``PROCEDURES`` keyed by ``setl_id``.  The
database tables in :mod:`yibao.cases.models` have the same column names, so a
Parquet export of the database and a generator's output are interchangeable and
Polars reads either directly.

Money columns are ``Decimal(18, 2)`` (yuan, exact to the fen).  Fees are split into
the 14 bill categories of the inpatient receipt (domain.md §3.3), in
``FEE_CATEGORIES`` order; they add up exactly to ``total_cost``.
"""

from __future__ import annotations

from typing import Final

import polars as pl

MONEY: Final = pl.Decimal(18, 2)

#: (column, code, Chinese name) of the 14 bill categories (医疗收费项目类别 01–14).
FEE_CATEGORIES: Final[tuple[tuple[str, str, str], ...]] = (
    ("fee_bed", "01", "床位费"),
    ("fee_consultation", "02", "诊察费"),
    ("fee_examination", "03", "检查费"),
    ("fee_laboratory", "04", "化验费"),
    ("fee_treatment", "05", "治疗费"),
    ("fee_surgery", "06", "手术费"),
    ("fee_nursing", "07", "护理费"),
    ("fee_materials", "08", "卫生材料费"),
    ("fee_western_medicine", "09", "西药费"),
    ("fee_herbal_pieces", "10", "中药饮片费"),
    ("fee_chinese_patent_medicine", "11", "中成药费"),
    ("fee_general_service", "12", "一般诊疗费"),
    ("fee_registration", "13", "挂号费"),
    ("fee_other", "14", "其他费"),
)
FEE_COLUMNS: Final[tuple[str, ...]] = tuple(c for c, _, _ in FEE_CATEGORIES)

#: Patient-level split of the total cost (domain.md §3.4).  ``fund_payment`` +
#: ``account_payment`` + ``cash_payment`` == ``total_cost``; ``self_pay_full``
#: (全自费) and ``self_pay_first`` (先自付) are parts of what the person paid.
PAYMENT_COLUMNS: Final[tuple[str, ...]] = (
    "fund_payment",  # 统筹基金支付 hifp_pay (+ other funds)
    "account_payment",  # 个人账户支付 acct_pay
    "cash_payment",  # 个人现金支付 psn_cash_pay
    "self_pay_full",  # 全自费 fulamt_ownpay_amt
    "self_pay_first",  # 先行自付 preselfpay_amt
)

CASES: Final[dict[str, pl.DataType | type[pl.DataType]]] = {
    "setl_id": pl.String,  # 结算ID, unique in the region
    "mdtrt_id": pl.String,  # 就诊ID
    "hospital_code": pl.String,  # fixmedins_code, 12 characters
    "region_code": pl.String,  # admdvs of the hospital, 6 digits
    "psn_no": pl.String,  # 人员编号
    "psn_name": pl.String,  # synthetic name
    "sex": pl.String,  # "1" male, "2" female
    "birth_date": pl.Date,
    "age_years": pl.Int16,
    "age_days": pl.Int32,  # null unless age_years < 1 (kept for every newborn/infant)
    "birth_weight_g": pl.Int32,  # newborns only
    "insutype": pl.String,  # "310" 职工, "390" 居民
    "insured_region_code": pl.String,  # insuplc_admdvs 参保地
    "admission_time": pl.Datetime("us", "Asia/Shanghai"),
    "discharge_time": pl.Datetime("us", "Asia/Shanghai"),
    "discharge_date": pl.Date,
    "los_days": pl.Int32,  # act_ipt_days
    "admission_dept": pl.String,  # 诊疗科目 code
    "discharge_dept": pl.String,
    "discharge_way": pl.String,  # 离院方式 1–5, 9
    "icu_hours": pl.Int32,  # hours in intensive care (4101A icuinfo); null when unknown
    "total_cost": MONEY,  # medfee_sumamt
    **dict.fromkeys(FEE_COLUMNS, MONEY),
    **dict.fromkeys(PAYMENT_COLUMNS, MONEY),
}

DIAGNOSES: Final[dict[str, pl.DataType | type[pl.DataType]]] = {
    "setl_id": pl.String,
    "seq": pl.Int16,  # 0 = principal, then secondary in list order
    "code": pl.String,  # ICD-10 医保版 2.0
    "is_principal": pl.Boolean,
}

PROCEDURES: Final[dict[str, pl.DataType | type[pl.DataType]]] = {
    "setl_id": pl.String,
    "seq": pl.Int16,  # 0 = principal (main) procedure
    "code": pl.String,  # ICD-9-CM-3 医保版 2.0
    "is_principal": pl.Boolean,
    "procedure_date": pl.Date,
}

#: Columns of the grouper's case file (../shared/data/chs-drg-1.1/cases-public.csv; the
#: regional plans that read ICU hours add ``icu_hours``, PLAN-FORMAT-ADDITIONS.md §8).
GROUPER_INPUT: Final[dict[str, pl.DataType | type[pl.DataType]]] = {
    "case_id": pl.String,
    "sex": pl.String,
    "age_years": pl.Int64,
    "age_days": pl.Int64,
    "birth_weight_g": pl.Int64,
    "dept": pl.String,
    "los_days": pl.Int64,
    "discharge_type": pl.String,
    "diagnoses": pl.String,  # codes joined by "|", principal first
    "procedures": pl.String,  # codes joined by "|", principal first; "" when none
    "icu_hours": pl.Int64,  # hours in intensive care (regional plans; null when unknown)
}


def _icu_hours(cases: pl.DataFrame | pl.LazyFrame) -> pl.Expr:
    names = cases.collect_schema().names()
    if "icu_hours" in names:
        return pl.col("icu_hours").cast(pl.Int64)
    return pl.lit(None, dtype=pl.Int64).alias("icu_hours")


def to_grouper_input(
    cases: pl.DataFrame | pl.LazyFrame,
    diagnoses: pl.DataFrame | pl.LazyFrame,
    procedures: pl.DataFrame | pl.LazyFrame,
) -> pl.DataFrame:
    """Join a case batch into the grouper's one-row-per-case input columns."""
    dx = (
        diagnoses.lazy()
        .sort("setl_id", "seq")
        .group_by("setl_id", maintain_order=True)
        .agg(pl.col("code").str.join("|").alias("diagnoses"))
    )
    px = (
        procedures.lazy()
        .sort("setl_id", "seq")
        .group_by("setl_id", maintain_order=True)
        .agg(pl.col("code").str.join("|").alias("procedures"))
    )
    return (
        cases.lazy()
        .select(
            pl.col("setl_id").alias("case_id"),
            "sex",
            pl.col("age_years").cast(pl.Int64),
            pl.col("age_days").cast(pl.Int64),
            pl.col("birth_weight_g").cast(pl.Int64),
            pl.col("discharge_dept").alias("dept"),
            pl.col("los_days").cast(pl.Int64),
            pl.col("discharge_way").alias("discharge_type"),
            _icu_hours(cases),
        )
        .join(dx, left_on="case_id", right_on="setl_id", how="left")
        .join(px, left_on="case_id", right_on="setl_id", how="left")
        .with_columns(
            pl.col("diagnoses").fill_null(""),
            pl.col("procedures").fill_null(""),
        )
        .select(list(GROUPER_INPUT))
        .collect()
    )
