"""What the settlement period API answers: periods, a period's confirmation batches
and totals, the confirmation job, closing, and the confirmation records.

Field order is the order of the keys in the JSON."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class PeriodOut(BaseModel):
    """A settlement period (结算期间) of a region."""

    id: int
    region: str = Field(description="区划")
    period: str = Field(description="结算期间 YYYY-MM")
    start_date: str = Field(description="开始日期（YYYY-MM-DD）")
    end_date: str = Field(description="结束日期（YYYY-MM-DD）")
    status: str = Field(description="open 未结算 / closed 已结算")
    status_label: str = Field(description="状态（中文，含待处理份数）")


class PeriodListOut(BaseModel):
    """The region's periods, newest first (at most 240)."""

    items: list[PeriodOut]


class PeriodClosedOut(BaseModel):
    """How a closed period was closed."""

    at: str | None = Field(description="关闭时间（ISO 8601）")
    by: str | None = Field(description="关闭人")
    reason: str | None = Field(description="原因")
    carried: int = Field(description="结转到下一期间的清单数")
    closed_out: int = Field(description="关闭（不予结算）的清单数")


class ConfirmBatchOut(BaseModel):
    """A confirmation batch (确认批次) of a period."""

    batch_id: int
    region: str = Field(description="区划")
    period: str = Field(description="结算期间 YYYY-MM")
    status: str = Field(description="批次状态，如 running、done")
    status_label: str = Field(description="状态（中文）")
    period_status: str | None = Field(description="期间状态")
    runs: int = Field(description="运行次数（中断后续跑加 1）")
    chunk_size: int | None = Field(description="每个事务确认的清单数")
    confirmed: int = Field(description="已确认清单数")
    amount_paid: str = Field(description="确认支付合计（元）")
    fund_amount: str = Field(description="统筹基金支付合计（元）")
    job_id: int | None = Field(description="作业编号")
    started_by: str | None = Field(description="发起人")
    started_at: str | None = Field(description="开始时间（ISO 8601）")
    finished_at: str | None = Field(description="完成时间（ISO 8601）")
    pending: dict[str, Any] | None = Field(
        description="完成时未结清的清单：total、by_state（各状态份数）、lists（清单）"
    )


class PeriodSummaryOut(BaseModel):
    """A period: status, closing, confirmation batches and totals, lists to confirm."""

    region: str = Field(description="区划")
    period: str = Field(description="结算期间 YYYY-MM")
    status: str = Field(description="open 未结算 / closed 已结算")
    status_label: str = Field(description="状态（中文）")
    closed: PeriodClosedOut | None = Field(description="关闭情况（未关闭为空）")
    confirmed: int = Field(description="已确认清单数")
    amount_paid: str = Field(description="确认支付合计（元）")
    fund_amount: str = Field(description="统筹基金支付合计（元）")
    batches: list[ConfirmBatchOut]
    to_confirm: int = Field(description="待确认清单数")


class ConfirmJobOut(BaseModel):
    """The confirmation job just queued (202): follow it at ``status_url``."""

    job_id: int = Field(description="作业编号")
    batch_id: int = Field(description="确认批次")
    status: str = Field(description="作业状态，如 queued")
    status_url: str = Field(description="查询作业状态的地址")
    resumed: bool = Field(description="是否续跑中断的批次")


class PeriodCloseOut(BaseModel):
    """A closed period and what became of its open lists."""

    region: str = Field(description="区划")
    period: str = Field(description="结算期间 YYYY-MM")
    status: str = Field(description="closed")
    status_label: str = Field(description="状态（中文）")
    how: str = Field(description="carry 结转 / close_out 关闭")
    how_label: str = Field(description="处理方式（中文）")
    carried: int = Field(description="结转到下一期间的清单数")
    closed_out: int = Field(description="关闭（不予结算）的清单数")
    to_period: str | None = Field(description="结转到的期间 YYYY-MM")
    reason: str | None = Field(description="原因")


class ConfirmationOut(BaseModel):
    """One confirmation record (确认结算记录)."""

    list_id: int = Field(description="清单编号")
    case_id: int | None = Field(description="病例编号")
    setl_id: str = Field(description="结算ID")
    hospital_code: str = Field(description="医疗机构编码")
    period: str = Field(description="结算期间 YYYY-MM")
    batch_id: int = Field(description="确认批次")
    drg: str | None = None
    payment_class: str | None = Field(description="支付类别")
    drg_payment: str = Field(description="DRG / DIP 支付（元）")
    adjusted: bool = Field(description="是否按调整后金额支付")
    amount_paid: str = Field(description="确认支付金额（元）")
    fund_amount: str = Field(description="统筹基金支付（元）")
    confirmed_at: str = Field(description="确认时间（ISO 8601）")


class ConfirmationPage(BaseModel):
    """One page of a period's confirmation records, with the totals of all."""

    total: int
    amount_paid: str = Field(description="确认支付合计（元，全部记录）")
    fund_amount: str = Field(description="统筹基金支付合计（元，全部记录）")
    page: int
    size: int
    items: list[ConfirmationOut]
