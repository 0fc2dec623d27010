"""The transactions the gateway answers (issue 12, domain.md §4.3): infno → name,
input model and handler."""

from __future__ import annotations

from functools import partial

from yibao.accounts.roles import Permission
from yibao.engines.audit.messages import AuditIn, FeedbackIn
from yibao.engines.exchange.messages import ListUploadIn, SignInIn, SignOutIn
from yibao.engines.exchange.settling import (
    CumulativeIn,
    DetailStatementIn,
    ReversalIn,
    SettleIn,
    SettlementRefIn,
    StatementIn,
)
from yibao.engines.exchange.visits import (
    AdmissionChangeIn,
    AdmissionIn,
    DischargeIn,
    FeeCancelIn,
    FeeIn,
    OutpatientVisitIn,
    PersonIn,
    RegistrationIn,
    VisitRefIn,
)
from yibao.exchange.fees import cancel_fees, upload_fees
from yibao.exchange.lists import upload_list
from yibao.exchange.reconcile import detail_statement, total_statement
from yibao.exchange.registry import Registry, Transaction
from yibao.exchange.reversal import reverse_message
from yibao.exchange.settle import presettle, reverse_settlement, settle
from yibao.exchange.signin import sign_in, sign_out
from yibao.exchange.visits import (
    admit,
    cancel_discharge,
    cancel_visit,
    change_admission,
    discharge,
    identify,
    outpatient_visit,
    person_cumulative,
    register,
)
from yibao.supervision.realtime.transactions import audit, feedback

TRANSACTIONS = Registry(
    [
        Transaction("9001", "签到", SignInIn, sign_in, needs_sign_no=False),
        Transaction("9002", "签退", SignOutIn, sign_out, needs_sign_no=False),
        Transaction("1101", "人员信息获取", PersonIn, identify),
        Transaction("5206", "人员累计信息查询", CumulativeIn, person_cumulative, writes=False),
        Transaction("2401", "入院办理", AdmissionIn, admit),
        Transaction("2402", "出院办理", DischargeIn, discharge),
        Transaction("2403", "入院信息变更", AdmissionChangeIn, change_admission),
        Transaction("2404", "入院办理撤销", VisitRefIn, partial(cancel_visit, kind="ipt")),
        Transaction("2405", "出院办理撤销", VisitRefIn, cancel_discharge),
        Transaction("2301", "住院费用明细上传", FeeIn, partial(upload_fees, kind="ipt")),
        Transaction("2302", "住院费用明细撤销", FeeCancelIn, partial(cancel_fees, kind="ipt")),
        Transaction("2303", "住院预结算", SettleIn, partial(presettle, kind="ipt"), writes=False),
        Transaction("2304", "住院结算", SettleIn, partial(settle, kind="ipt")),
        Transaction(
            "2305", "住院结算撤销", SettlementRefIn, partial(reverse_settlement, kind="ipt")
        ),
        Transaction("2201", "门诊挂号", RegistrationIn, register),
        Transaction("2202", "门诊挂号撤销", VisitRefIn, partial(cancel_visit, kind="otp")),
        Transaction("2203", "门诊就诊信息上传", OutpatientVisitIn, outpatient_visit),
        Transaction("2204", "门诊费用明细上传", FeeIn, partial(upload_fees, kind="otp")),
        Transaction("2205", "门诊费用明细撤销", FeeCancelIn, partial(cancel_fees, kind="otp")),
        Transaction("2206", "门诊预结算", SettleIn, partial(presettle, kind="otp"), writes=False),
        Transaction("2207", "门诊结算", SettleIn, partial(settle, kind="otp")),
        Transaction(
            "2208", "门诊结算撤销", SettlementRefIn, partial(reverse_settlement, kind="otp")
        ),
        Transaction("2601", "冲正交易", ReversalIn, reverse_message),
        Transaction("3101", "明细审核事前分析", AuditIn, partial(audit, infno="3101")),
        Transaction("3102", "明细审核事中分析", AuditIn, partial(audit, infno="3102")),
        Transaction("3103", "事前事中服务反馈", FeedbackIn, feedback),
        Transaction("3201", "医药机构费用结算对总账", StatementIn, total_statement),
        Transaction("3202", "医药机构费用结算对明细账", DetailStatementIn, detail_statement),
        Transaction(
            "4101A",
            "医疗保障基金结算清单信息上传",
            ListUploadIn,
            upload_list,
            permission=Permission.SUBMIT_LISTS,
        ),
    ]
)
