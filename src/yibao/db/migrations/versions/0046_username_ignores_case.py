"""users: usernames unique whatever their case (unique index on lower(username))

``admin`` and ``ADMIN`` could both be created: two look-alike accounts, one of them
perhaps the bureau's administrator.  The service refuses a username another user has
in any case; this index makes the database refuse it too, and serves logins, which
match a username in any case (ADR 0046).  Usernames are ASCII, so SQLite's and
PostgreSQL's ``lower`` agree.

A database that already holds such a pair cannot take the index: the upgrade stops
and names them, for the operator to rename or remove one of each (there is no
command for renaming a user; ``UPDATE users SET username = … WHERE id = …``).

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-08 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None

INDEX = "uq_users_username_lower"


def _clashes() -> list[str]:
    rows = op.get_bind().execute(
        sa.text(
            "SELECT username FROM users WHERE lower(username) IN ("
            " SELECT lower(username) FROM users GROUP BY lower(username) HAVING count(*) > 1)"
            " ORDER BY lower(username), id"
        )
    )
    return [name for (name,) in rows]


def upgrade() -> None:
    clashes = _clashes()
    if clashes:
        raise RuntimeError(
            "用户名仅大小写不同的账号须先改名或删除其一，才能升级（用户名将不区分大小写，"
            f"ADR 0046）：{'、'.join(clashes[:50])}"
            " / usernames that differ only in case must be renamed first"
        )
    op.create_index(INDEX, "users", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="users")
