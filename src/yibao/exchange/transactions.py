"""The transactions of this slice (issue 12): 9001 签到, 9002 签退 and 4101A 结算清单
上传.  The next ones (1101, 2401, 2301, 2303, 2304 …) are added here."""

from __future__ import annotations

from yibao.accounts.roles import Permission
from yibao.engines.exchange.messages import ListUploadIn, SignInIn, SignOutIn
from yibao.exchange.lists import upload_list
from yibao.exchange.registry import Registry, Transaction
from yibao.exchange.signin import sign_in, sign_out

TRANSACTIONS = Registry(
    [
        Transaction("9001", "签到", SignInIn, sign_in, needs_sign_no=False),
        Transaction("9002", "签退", SignOutIn, sign_out, needs_sign_no=False),
        Transaction(
            "4101A",
            "医疗保障基金结算清单信息上传",
            ListUploadIn,
            upload_list,
            permission=Permission.SUBMIT_LISTS,
        ),
    ]
)
