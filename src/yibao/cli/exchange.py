"""``yibao exchange``: the transaction gateway's administration (signing keys)."""

from __future__ import annotations

import typer
from rich.table import Table

from yibao.audit.service import Actor
from yibao.cli.common import console, domain_errors
from yibao.db.session import unit_of_work
from yibao.kit.timeutil import local

app = typer.Typer(no_args_is_help=True)
key_app = typer.Typer(no_args_is_help=True)
app.add_typer(
    key_app, name="key", help="机构报文签名密钥（SM3）/ institutions' message-signing keys"
)
CLI_ACTOR = Actor(None, "cli")
HOSPITAL = typer.Option(..., "--hospital", help="定点医药机构编号 / institution code")


def _print_secret(key_id: str, secret: str, code: str) -> None:
    console.print(f"机构 [bold]{code}[/] 的签名密钥 {key_id} 已生效 / key active")
    console.print("密钥（只显示这一次，请交给该机构的 HIS 配置）/ secret (shown once):")
    console.print(secret, markup=False, highlight=False)


@key_app.command("issue")
def issue(hospital: str = HOSPITAL) -> None:
    """为机构签发签名密钥；此后该机构的每条报文都须带 SM3 签名 / issue a key."""
    from yibao.exchange.keys import do_issue_key

    with domain_errors(), unit_of_work() as session:
        issued = do_issue_key(session, hospital, actor=CLI_ACTOR)
    _print_secret(issued.key_id, issued.secret, issued.hospital_code)


@key_app.command("rotate")
def rotate(hospital: str = HOSPITAL) -> None:
    """更换机构的签名密钥：旧密钥立即失效 / rotate: the old key stops at once."""
    from yibao.exchange.keys import do_rotate_key

    with domain_errors(), unit_of_work() as session:
        issued = do_rotate_key(session, hospital, actor=CLI_ACTOR)
    console.print(f"旧密钥 {issued.replaced} 已失效 / old key revoked")
    _print_secret(issued.key_id, issued.secret, issued.hospital_code)


@key_app.command("revoke")
def revoke(hospital: str = HOSPITAL) -> None:
    """停用机构的签名密钥：此后不再校验其报文签名 / revoke: signatures no longer checked."""
    from yibao.exchange.keys import do_revoke_key

    with domain_errors(), unit_of_work() as session:
        key_id = do_revoke_key(session, hospital, actor=CLI_ACTOR)
    console.print(f"机构 {hospital} 的签名密钥 {key_id} 已停用，报文不再校验签名 / key revoked")


@key_app.command("list")
def list_keys(
    hospital: str | None = typer.Option(None, "--hospital", help="只列此机构 / one institution"),
) -> None:
    """列出签名密钥（不显示密钥本身）/ list keys (secrets are not shown)."""
    from yibao.exchange.keys import keys_of

    with unit_of_work() as session:
        table = Table("机构", "密钥编号", "状态", "签发时间", "签发人", "停用时间")
        for code, key in keys_of(session, hospital):
            table.add_row(
                code,
                key.key_id,
                "有效" if key.active else "已停用",
                f"{local(key.created_at):%Y-%m-%d %H:%M}",
                key.created_by,
                f"{local(key.revoked_at):%Y-%m-%d %H:%M}" if key.revoked_at else "",
            )
    console.print(table)
