"""Pydantic shapes of cases for the JSON API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict


class DiagnosisOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    seq: int
    code: str
    is_principal: bool


class ProcedureOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    seq: int
    code: str
    is_principal: bool
    procedure_date: date | None


class FeeItem(BaseModel):
    code: str
    name: str
    amount: Decimal


class CaseSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    setl_id: str
    hospital_code: str
    region_code: str
    sex: str
    age_years: int | None
    insutype: str
    discharge_date: date
    los_days: int
    total_cost: Decimal


class CaseDetail(CaseSummary):
    mdtrt_id: str
    psn_no: str
    psn_name: str
    birth_date: date | None
    age_days: int | None
    birth_weight_g: int | None
    insured_region_code: str
    admission_time: datetime
    discharge_time: datetime
    admission_dept: str | None
    discharge_dept: str | None
    discharge_way: str
    fund_payment: Decimal
    account_payment: Decimal
    cash_payment: Decimal
    self_pay_full: Decimal
    self_pay_first: Decimal
    diagnoses: list[DiagnosisOut]
    procedures: list[ProcedureOut]
    fees: list[FeeItem]


class CasePage(BaseModel):
    items: list[CaseSummary]
    total: int
    page: int
    size: int
    pages: int
