"""The HIS client's helpers for the flows (field names as the gateway's input models,
``yibao.engines.exchange.visits`` and ``.settling``): 9001/9002, 1101, 2401/2402, 2301/2204,
2303/2304 · 2206/2207, 2305/2208, 2601, 2201, 5206, 3201.

Each helper sends one message through :meth:`HisClient.must` and returns what the
next step needs; a refusal raises :class:`~yibao.his.client.HisError` with the
gateway's ``err_msg``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from yibao.his.client import Exchange

FEN = Decimal("0.01")
#: the visit kinds: infno of fee upload, pre-settlement, settlement, reversal
KIND_INFNO = {
    "ipt": {"fees": "2301", "presettle": "2303", "settle": "2304", "reverse": "2305"},
    "otp": {"fees": "2204", "presettle": "2206", "settle": "2207", "reverse": "2208"},
}


def when(moment: datetime) -> str:
    """A HIS time as the spec writes it (yyyy-MM-dd HH:mm:ss)."""
    return f"{moment:%Y-%m-%d %H:%M:%S}"


def money(value: Decimal | str | float) -> str:
    """An amount as text with two decimals (text: no doubt how a number is signed)."""
    return str(Decimal(str(value)).quantize(FEN, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Person:
    """An insured person as 1101 identified them."""

    psn_no: str
    certno: str
    psn_name: str
    insutype: str
    insuplc_admdvs: str
    balc: Decimal
    output: dict[str, Any]


@dataclass(frozen=True)
class FeeItem:
    """One line to bill: a catalogue code, count and unit price."""

    code: str
    cnt: Decimal
    pric: Decimal

    @property
    def amount(self) -> Decimal:
        return (self.cnt * self.pric).quantize(FEN, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Settled:
    """A settlement (or its pre-settlement: ``setl_id`` empty) and its message id."""

    msgid: str
    setl_id: str
    setlinfo: dict[str, Any]
    setldetail: list[dict[str, Any]]


class Transactions:
    """Flow helpers on top of :meth:`must` (mixed into :class:`HisClient`)."""

    sign_no: str | None

    def must(
        self, infno: str, data: dict[str, Any] | None, *, insuplc_admdvs: str | None = None
    ) -> Exchange:
        raise NotImplementedError

    # ----------------------------------------------------------- sign-in, persons

    def sign_in(
        self, opter_no: str = "0001", mac: str = "00-00-00-00-00-00", ip: str = "127.0.0.1"
    ) -> str:
        """9001: sign in; later messages carry the returned sign_no."""
        out = self.must("9001", {"signIn": {"opter_no": opter_no, "mac": mac, "ip": ip}}).output
        self.sign_no = str(out["signinoutb"]["sign_no"])
        return self.sign_no

    def sign_out(self, opter_no: str = "0001") -> None:
        """9002: end this client's sign-in."""
        self.must("9002", {"signOut": {"sign_no": self.sign_no, "opter_no": opter_no}})
        self.sign_no = None

    def identify(
        self, certno: str, name: str | None = None, insuplc_admdvs: str | None = None
    ) -> Person:
        """1101 by ID card (mdtrt_cert_type 02): the person and their insurance."""
        data = {"mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "psn_name": name}
        out = self.must("1101", {"data": data}, insuplc_admdvs=insuplc_admdvs).output
        base, insu = out["baseinfo"], out["insuinfo"][0]
        return Person(
            psn_no=base["psn_no"],
            certno=certno,
            psn_name=base["psn_name"],
            insutype=insu["insutype"],
            insuplc_admdvs=insu["insuplc_admdvs"],
            balc=Decimal(str(insu["balc"])),
            output=out,
        )

    def cumulative(self, person: Person, cum_ym: str | None = None) -> list[dict[str, Any]]:
        """5206: the person's annual figures."""
        data = {"psn_no": person.psn_no, "cum_ym": cum_ym}
        out = self.must("5206", {"data": data}, insuplc_admdvs=person.insuplc_admdvs).output
        return list(out["cuminfo"])

    # --------------------------------------------------------------------- visits

    def admit(
        self,
        person: Person,
        begntime: datetime,
        *,
        ipt_no: str,
        diag: tuple[str, str] = ("I21.000", "急性心肌梗死"),
        dept: tuple[str, str] = ("A03", "心血管内科"),
        doctor: tuple[str, str] = ("D001", "王医生"),
        med_type: str = "21",
    ) -> str:
        """2401 入院办理: the stay's mdtrt_id."""
        info = {
            "psn_no": person.psn_no,
            "insutype": person.insutype,
            "begntime": when(begntime),
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": person.certno,
            "med_type": med_type,
            "ipt_no": ipt_no,
            "atddr_no": doctor[0],
            "chfpdr_name": doctor[1],
            "adm_diag_dscr": diag[1],
            "adm_dept_codg": dept[0],
            "adm_dept_name": dept[1],
            "dscg_maindiag_code": diag[0],
            "dscg_maindiag_name": diag[1],
        }
        dise = [
            {
                "diag_type": "1",
                "maindiag_flag": "1",
                "diag_srt_no": 1,
                "diag_code": diag[0],
                "diag_name": diag[1],
            }
        ]
        out = self.must(
            "2401", {"mdtrtinfo": info, "diseinfo": dise}, insuplc_admdvs=person.insuplc_admdvs
        ).output
        return str(out["result"]["mdtrt_id"])

    def discharge(
        self, person: Person, mdtrt_id: str, endtime: datetime, dscg_way: str = "1"
    ) -> None:
        """2402 出院办理."""
        info = {
            "mdtrt_id": mdtrt_id,
            "psn_no": person.psn_no,
            "insutype": person.insutype,
            "endtime": when(endtime),
            "dscg_way": dscg_way,
        }
        self.must("2402", {"dscginfo": info}, insuplc_admdvs=person.insuplc_admdvs)

    def register(
        self,
        person: Person,
        begntime: datetime,
        *,
        ipt_otp_no: str,
        dept: tuple[str, str] = ("A01", "普通内科"),
        doctor: tuple[str, str] = ("D002", "李医生"),
    ) -> str:
        """2201 门诊挂号: the visit's mdtrt_id."""
        data = {
            "psn_no": person.psn_no,
            "insutype": person.insutype,
            "begntime": when(begntime),
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": person.certno,
            "ipt_otp_no": ipt_otp_no,
            "atddr_no": doctor[0],
            "dr_name": doctor[1],
            "dept_code": dept[0],
            "dept_name": dept[1],
        }
        out = self.must("2201", {"data": data}, insuplc_admdvs=person.insuplc_admdvs).output
        return str(out["result"]["mdtrt_id"])

    # ----------------------------------------------------------------------- fees

    def upload_fees(
        self,
        person: Person,
        mdtrt_id: str,
        items: Sequence[FeeItem],
        fee_ocur_time: datetime,
        *,
        kind: str = "ipt",
        first_sn: int = 1,
    ) -> tuple[Decimal, list[dict[str, Any]]]:
        """2301 (inpatient) / 2204 (outpatient): the lines' total and the gateway's
        classification of each line."""
        lines = [
            {
                "feedetl_sn": f"{mdtrt_id[-8:]}{first_sn + i:04d}",
                "mdtrt_id": mdtrt_id,
                "psn_no": person.psn_no,
                "fee_ocur_time": when(fee_ocur_time),
                "med_list_codg": item.code,
                "medins_list_codg": f"H-{item.code}",
                "det_item_fee_sumamt": money(item.amount),
                "cnt": str(item.cnt),
                "pric": str(item.pric),
                "bilg_dept_codg": "A03",
                "bilg_dept_name": "心血管内科",
            }
            for i, item in enumerate(items)
        ]
        out = self.must(
            KIND_INFNO[kind]["fees"], {"feedetail": lines}, insuplc_admdvs=person.insuplc_admdvs
        ).output
        return sum((item.amount for item in items), Decimal("0.00")), list(out["result"])

    def outpatient_fees(
        self, person: Person, mdtrt_id: str, items: Sequence[FeeItem], fee_ocur_time: datetime
    ) -> tuple[Decimal, list[dict[str, Any]]]:
        """2204 门诊费用明细上传."""
        return self.upload_fees(person, mdtrt_id, items, fee_ocur_time, kind="otp")

    # ---------------------------------------------------------------- settlement

    def _settle_input(
        self, person: Person, mdtrt_id: str, medfee_sumamt: Decimal, acct_used: bool
    ) -> dict[str, Any]:
        return {
            "data": {
                "psn_no": person.psn_no,
                "mdtrt_cert_type": "02",
                "mdtrt_cert_no": person.certno,
                "medfee_sumamt": money(medfee_sumamt),
                "psn_setlway": "01",
                "mdtrt_id": mdtrt_id,
                "insutype": person.insutype,
                "acct_used_flag": "1" if acct_used else "0",
            }
        }

    def _settlement(self, infno: str, person: Person, data: dict[str, Any]) -> Settled:
        done = self.must(infno, data, insuplc_admdvs=person.insuplc_admdvs)
        out = done.output
        info = dict(out["setlinfo"])
        return Settled(done.msgid, str(info.get("setl_id") or ""), info, list(out["setldetail"]))

    def presettle(
        self,
        person: Person,
        mdtrt_id: str,
        medfee_sumamt: Decimal,
        *,
        kind: str = "ipt",
        acct_used: bool = True,
    ) -> Settled:
        """2303 住院预结算 / 2206 门诊预结算 (nothing is paid)."""
        data = self._settle_input(person, mdtrt_id, medfee_sumamt, acct_used)
        return self._settlement(KIND_INFNO[kind]["presettle"], person, data)

    def settle(
        self,
        person: Person,
        mdtrt_id: str,
        medfee_sumamt: Decimal,
        *,
        kind: str = "ipt",
        acct_used: bool = True,
    ) -> Settled:
        """2304 住院结算 / 2207 门诊结算."""
        data = self._settle_input(person, mdtrt_id, medfee_sumamt, acct_used)
        return self._settlement(KIND_INFNO[kind]["settle"], person, data)

    def outpatient_presettle(self, person: Person, mdtrt_id: str, total: Decimal) -> Settled:
        """2206 门诊预结算."""
        return self.presettle(person, mdtrt_id, total, kind="otp")

    def outpatient_settle(self, person: Person, mdtrt_id: str, total: Decimal) -> Settled:
        """2207 门诊结算."""
        return self.settle(person, mdtrt_id, total, kind="otp")

    def reverse(self, person: Person, mdtrt_id: str, setl_id: str, *, kind: str = "ipt") -> Settled:
        """2305 住院结算撤销 / 2208 门诊结算撤销: figures negated, setl_type 2."""
        data = {"data": {"psn_no": person.psn_no, "mdtrt_id": mdtrt_id, "setl_id": setl_id}}
        return self._settlement(KIND_INFNO[kind]["reverse"], person, data)

    def reverse_message(
        self, omsgid: str, oinfno: str, person: Person | None = None
    ) -> dict[str, Any]:
        """2601 冲正交易: undo the message ``omsgid`` (of transaction ``oinfno``)."""
        data = {"psn_no": person.psn_no if person else None, "omsgid": omsgid, "oinfno": oinfno}
        place = person.insuplc_admdvs if person else None
        return self.must("2601", {"data": data}, insuplc_admdvs=place).output

    # -------------------------------------------------------------- reconciliation

    def statement(
        self,
        *,
        insutype: str,
        clr_type: str,
        setl_optins: str,
        begin: date,
        end: date,
        settlements: Iterable[dict[str, Any]],
    ) -> dict[str, Any]:
        """3201 对总账 of the institution's own ``settlements`` (setlinfo dicts; a
        reversal's negative figures net out): the centre's verdict ``stmtinfo``."""
        rows = list(settlements)
        total = sum((Decimal(str(r["medfee_sumamt"])) for r in rows), Decimal(0))
        fund = sum((Decimal(str(r["fund_pay_sumamt"])) for r in rows), Decimal(0))
        acct = sum((Decimal(str(r["acct_pay"])) for r in rows), Decimal(0))
        count = sum(1 if str(r.get("setl_type", "1")) == "1" else -1 for r in rows)
        data = {
            "insutype": insutype,
            "clr_type": clr_type,
            "setl_optins": setl_optins,
            "stmt_begndate": str(begin),
            "stmt_enddate": str(end),
            "medfee_sumamt": money(total),
            "fund_pay_sumamt": money(fund),
            "acct_pay": money(acct),
            "fixmedins_setl_cnt": count,
        }
        return dict(self.must("3201", {"data": data}).output["stmtinfo"])
