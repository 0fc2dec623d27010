"""结算 pages under ``/settlement``.

``lists``: 结算清单上传/质控 (upload, list, detail); ``review``: the reviewer's queue and
decisions (审核); ``periods``: period confirmation (结算确认); ``special``: special
cases and appeals (特例单议/申诉); ``statements``: monthly statements and year-end
clearing (结算单、年终清算).  Pages call the same service functions as the JSON API.
"""

from fastapi import APIRouter

from yibao.web.pages.settlement import lists, periods, review, special, statements

router = APIRouter()
for module in (review, periods, special, statements, lists):
    router.include_router(module.router)
