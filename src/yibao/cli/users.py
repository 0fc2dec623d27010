"""``yibao users``."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy import select

from yibao.accounts.models import User
from yibao.accounts.repository import user_by_username
from yibao.accounts.roles import Role
from yibao.accounts.service import do_create_user
from yibao.accounts.tokens import do_create_api_token
from yibao.audit.service import Actor
from yibao.cli.common import console, domain_errors, fail
from yibao.db.session import unit_of_work

app = typer.Typer(no_args_is_help=True)
CLI_ACTOR = Actor(None, "cli")
ROLES_HELP = ", ".join(f"{r.value}={r.label}" for r in Role)


@app.command("create")
def create(
    username: str = typer.Argument(..., help="用户名 / username"),
    role: str = typer.Option(..., help=f"角色 / role: {ROLES_HELP}"),
    region: str | None = typer.Option(None, help="医保区划（医保局角色）/ admdvs for bureau roles"),
    hospital: str | None = typer.Option(None, help="医疗机构编码（医院角色）/ hospital code"),
    display_name: str | None = typer.Option(None, help="姓名 / display name"),
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, help="密码 / password"
    ),
    token: bool = typer.Option(
        False, help="同时创建 API 令牌（HIS 接口）/ also create an API token"
    ),
) -> None:
    """创建用户 / create a user."""
    with domain_errors(), unit_of_work() as session:
        user = do_create_user(
            session,
            username=username,
            password=password,
            role=role,
            display_name=display_name,
            region_code=region,
            hospital_code=hospital,
            actor=CLI_ACTOR,
        )
        plain = do_create_api_token(session, user, "cli", actor=CLI_ACTOR) if token else None
    console.print(f"已创建用户 [bold]{username}[/]（{Role(role).label}）")
    if plain:
        console.print(f"API 令牌（只显示一次）/ API token (shown once): [bold]{plain}[/]")


@app.command("token")
def token(username: str, name: str = typer.Option("cli", help="令牌名称")) -> None:
    """为用户创建 API 令牌 / create an API token."""
    with domain_errors(), unit_of_work() as session:
        user = user_by_username(session, username)
        if user is None:
            raise fail(f"用户 {username} 不存在 / no such user")
        plain = do_create_api_token(session, user, name, actor=CLI_ACTOR)
    console.print(plain)


@app.command("list")
def list_users() -> None:
    """列出用户 / list users."""
    with unit_of_work() as session:
        table = Table("用户名", "姓名", "角色", "范围", "状态")
        for u in session.scalars(select(User).order_by(User.id)):
            scope = u.hospital.code if u.hospital else (u.region_code or "")
            table.add_row(
                u.username,
                u.display_name,
                Role(u.role).label,
                scope,
                "正常" if u.is_active else "停用",
            )
    console.print(table)
