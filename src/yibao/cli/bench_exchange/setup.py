"""The set-up phase: through the gateway, as a HIS would — sign-in (9001),
identification (1101), admission (2401), fee details (2301) and discharge (2402)."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httptools

from yibao.cli.bench_exchange.model import FEN, PATH, Institution, Patient, Stay, World
from yibao.kit.timeutil import BUSINESS_TZ


class Gateway:
    """One kept-alive HTTP/1.1 connection to the gateway (asyncio streams and uvicorn's
    C parser), as lean as the load generator of ``bench web``."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body, ensure_ascii=False).encode()
        head = (
            f"POST {PATH} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\n"
            f"authorization: Bearer {token}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(data)}\r\n\r\n"
        ).encode("latin-1")
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        self._writer.write(head + data)
        chunks: list[bytes] = []
        done: list[bool] = []

        class Events:
            def on_body(self, chunk: bytes) -> None:
                chunks.append(chunk)

            def on_message_complete(self) -> None:
                done.append(True)

        parser = httptools.HttpResponseParser(Events())
        while not done:
            data = await self._reader.read(65536)
            if not data:
                raise ConnectionError("连接被服务器关闭 / connection closed")
            parser.feed_data(data)
        status = int(parser.get_status_code())
        if not parser.should_keep_alive():
            await self.aclose()
        text = b"".join(chunks)
        return status, (json.loads(text) if text.startswith(b"{") else {"raw": text[:300]})

    async def aclose(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


class Msgids:
    """msgids by the rule: institution code 12 + yyyyMMddHHmmss 14 + sequence 4; at most
    10,000 a second per institution, later seconds taken when one runs out."""

    def __init__(self) -> None:
        self.last: dict[str, tuple[int, int]] = {}

    def next(self, code: str) -> tuple[str, str]:
        now = int(time.time())
        sec, n = self.last.get(code, (0, 0))
        if now > sec:
            sec, n = now, 0
        elif n >= 10_000:
            sec, n = sec + 1, 0
        self.last[code] = (sec, n + 1)
        when = datetime.fromtimestamp(sec, BUSINESS_TZ)  # a HIS in China: business time
        return f"{code}{when:%Y%m%d%H%M%S}{n:04d}", f"{when:%Y-%m-%d %H:%M:%S}"

    @property
    def latest(self) -> int:
        return max((sec for sec, _ in self.last.values()), default=int(time.time()))


def envelope(
    ids: Msgids, inst: Institution, infno: str, data: Any, insuplc: str = ""
) -> dict[str, Any]:
    msgid, stamp = ids.next(inst.code)
    return {
        "infno": infno,
        "msgid": msgid,
        "mdtrtarea_admvs": inst.admvs,
        "insuplc_admdvs": insuplc,
        "recer_sys_code": "YBXT",
        "infver": "V1.0",
        "opter_type": "1",
        "opter": "0001",
        "opter_name": "收费员",
        "inf_time": stamp,
        "fixmedins_code": inst.code,
        "fixmedins_name": inst.name,
        "sign_no": inst.sign_no,
        "input": data,
    }


class SetupFailed(RuntimeError):
    pass


async def _ask(
    gw: Gateway, ids: Msgids, inst: Institution, infno: str, data: Any, insuplc: str = ""
) -> dict[str, Any]:
    status, answer = await gw.post(inst.token, envelope(ids, inst, infno, data, insuplc))
    if status != 200 or answer.get("infcode") != 0:
        raise SetupFailed(f"{infno} → HTTP {status} {str(answer)[:400]}")
    return dict(answer["output"])


def _fee_lines(
    stay_id: str, p: Patient, items: list[tuple[str, Decimal]], when: datetime, n: int, rng: Any
) -> tuple[list[dict[str, Any]], Decimal]:
    lines, total = [], Decimal("0.00")
    for k, (code, price) in enumerate(rng.sample(items, n)):
        cnt = rng.randint(1, 4)
        amount = (price * cnt).quantize(FEN)
        total += amount
        lines.append(
            {
                "feedetl_sn": f"F{k + 1:03d}",
                "mdtrt_id": stay_id,
                "psn_no": p.psn_no,
                "fee_ocur_time": f"{when:%Y-%m-%d %H:%M:%S}",
                "med_list_codg": code,
                "medins_list_codg": f"H-{code}",
                "det_item_fee_sumamt": str(amount),
                "cnt": str(cnt),
                "pric": str(price),
                "bilg_dept_codg": "A03",
                "bilg_dept_name": "心血管内科",
            }
        )
    return lines, total


# long: one stay's three messages, written out as the HIS sends them
async def _stays_of(
    gw: Gateway,
    ids: Msgids,
    inst: Institution,
    p: Patient,
    count: int,
    world: World,
    lines: int,
    rng: random.Random,
    out: list[Stay],
    target: list[int],
) -> None:
    """Admit, charge and discharge ``count`` stays of one patient, one after the other
    (a person is in one hospital bed at a time: the gateway refuses overlapping stays),
    while fewer than ``target[0]`` exist: the k-th stay back from today — or from the
    person's first stay in the database, an earlier run's — begins k + 1 days before
    it (up to ten hours later) and lasts 13 hours."""
    now = datetime.now()
    anchor = min(now, p.first_stay) if p.first_stay is not None else now
    for k in range(count):
        if len(out) >= target[0]:
            return
        start = anchor - timedelta(days=k + 1) + timedelta(minutes=rng.randint(0, 600))
        admission = {
            "mdtrtinfo": {
                "psn_no": p.psn_no,
                "insutype": p.insutype,
                "begntime": f"{start:%Y-%m-%d %H:%M:%S}",
                "mdtrt_cert_type": "02",
                "mdtrt_cert_no": p.certno,
                "med_type": "21",
                "ipt_no": f"ZY{rng.randrange(10**8):08d}",
                "atddr_no": "D001",
                "chfpdr_name": "王医生",
                "adm_diag_dscr": "胸痛",
                "adm_dept_codg": "A03",
                "adm_dept_name": "心血管内科",
                "adm_bed": str(rng.randint(1, 60)),
                "dscg_maindiag_code": "I21.000",
                "dscg_maindiag_name": "急性心肌梗死",
            },
            "diseinfo": [
                {
                    "diag_type": "1",
                    "maindiag_flag": "1",
                    "diag_srt_no": 1,
                    "diag_code": "I21.000",
                    "diag_name": "急性心肌梗死",
                }
            ],
        }
        out_2401 = await _ask(gw, ids, inst, "2401", admission, p.insuplc)
        stay_id = str(out_2401["result"]["mdtrt_id"])
        fees, total = _fee_lines(stay_id, p, world.items, start + timedelta(hours=2), lines, rng)
        await _ask(gw, ids, inst, "2301", {"feedetail": fees}, p.insuplc)
        discharge = {
            "dscginfo": {
                "mdtrt_id": stay_id,
                "psn_no": p.psn_no,
                "insutype": p.insutype,
                "endtime": f"{start + timedelta(hours=13):%Y-%m-%d %H:%M:%S}",
                "dscg_way": "1",
            }
        }
        await _ask(gw, ids, inst, "2402", discharge, p.insuplc)
        out.append(Stay(inst.index, stay_id, p.psn_no, p.certno, p.insutype, p.insuplc, total))


# long: sign-in, identification and the stays, with bounded parallelism, in one place
async def set_up(
    base: str,
    world: World,
    stays: int,
    lines: int,
    parallel: int,
    seed: int,
    say: Any,
    enough: Callable[[float], int] | None = None,
) -> Msgids:
    """Sign every institution in, identify its patients and prepare up to ``stays`` new
    stays (through the gateway, as a HIS would).  ``enough`` turns the rate of the
    first ten seconds (stays a second) into the number of new stays that will last
    the run: the load phase settles at a similar rate, so a slow server is not kept
    waiting for stays it will never settle."""
    host, port = base.split("//")[1].split(":")
    ids = Msgids()
    rng = random.Random(seed)
    pool = [Gateway(host, int(port)) for _ in range(parallel)]
    sign = {"signIn": {"opter_no": "0001", "mac": "00-16-3E-12-34-56", "ip": "127.0.0.1"}}
    for inst in world.institutions:
        out = await _ask(pool[0], ids, inst, "9001", sign)
        inst.sign_no = str(out["signinoutb"]["sign_no"])
    queue: asyncio.Queue[tuple[Patient, int]] = asyncio.Queue()
    patients = world.patients[: max(0, stays)]
    per, extra = divmod(stays, max(1, len(patients)))
    for n, p in enumerate(patients):
        queue.put_nowait((p, per + (1 if n < extra else 0)))
    made: list[Stay] = []
    target = [stays]
    started = time.perf_counter()

    async def work(gw: Gateway) -> None:
        while not queue.empty() and len(made) < target[0]:
            p, count = queue.get_nowait()
            inst = world.institutions[p.institution]
            identity = {
                "data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": p.certno, "psn_name": p.name}
            }
            await _ask(gw, ids, inst, "1101", identity, p.insuplc)
            if count:
                await _stays_of(gw, ids, inst, p, count, world, lines, rng, made, target)

    async def report() -> None:
        while True:
            await asyncio.sleep(10)
            rate = len(made) / (time.perf_counter() - started)
            if enough is not None and target[0] == stays:
                target[0] = min(stays, max(len(made), enough(rate)))
            say(f"  已准备 {len(made):,}/{target[0]:,} 个住院就诊（{rate:,.0f} 个/秒）…")

    reporter = asyncio.create_task(report())
    try:
        await asyncio.gather(*(work(gw) for gw in pool))
    finally:
        reporter.cancel()
        for gw in pool:
            await gw.aclose()
    world.waiting.extend(made)
    return ids
