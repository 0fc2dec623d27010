"""Fast bulk load of Polars frames into tables (COPY on PostgreSQL, executemany on SQLite).

Used for demo seeding and batch intake.  Runs inside the caller's transaction: the
session's connection is used, nothing commits here.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Sequence
from typing import Any, cast

import polars as pl
from sqlalchemy import FromClause, Table, func, select, text
from sqlalchemy.orm import Session


def _sqlite_ready(df: pl.DataFrame) -> pl.DataFrame:
    exprs = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Decimal):
            exprs.append(col.cast(pl.Float64))
        elif isinstance(dtype, pl.Datetime):
            if dtype.time_zone is not None:
                col = col.dt.convert_time_zone("UTC")
            exprs.append(col.dt.strftime("%Y-%m-%d %H:%M:%S.%6f"))
        elif dtype == pl.Date:
            exprs.append(col.dt.strftime("%Y-%m-%d"))
        elif dtype == pl.Boolean:
            exprs.append(col.cast(pl.Int8))
        else:
            exprs.append(col)
    return df.select(exprs)


def _csv_ready(df: pl.DataFrame) -> pl.DataFrame:
    exprs = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is None:
                col = col.dt.replace_time_zone("UTC")
            exprs.append(col.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S.%6f+00"))
        else:
            exprs.append(col)
    return df.select(exprs)


def _table(table: FromClause) -> Table:
    """A mapped class's ``__table__`` (typed as a FromClause) as the Table it is."""
    if not isinstance(table, Table):
        raise TypeError(f"{table!r} is not a table")
    return table


def insert_frame(
    session: Session, table: FromClause, df: pl.DataFrame, chunk_rows: int = 50_000
) -> int:
    """Insert every row of ``df`` (columns named like the table's) into ``table``."""
    table = _table(table)
    if df.height == 0:
        return 0
    columns: Sequence[str] = df.columns
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise ValueError(f"表 {table.name} 没有列 {unknown} / unknown columns")
    conn = session.connection()
    dialect = conn.dialect.name
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    if dialect == "postgresql":
        cols = ", ".join(f'"{c}"' for c in columns)
        with dbapi.cursor() as cur:  # type: ignore[attr-defined]
            for start in range(0, df.height, chunk_rows):
                buf = io.BytesIO()
                _csv_ready(df.slice(start, chunk_rows)).write_csv(
                    buf, include_header=False, null_value=""
                )
                sql = f'COPY "{table.name}" ({cols}) FROM STDIN WITH (FORMAT csv)'
                with cur.copy(sql) as copy:
                    copy.write(buf.getvalue())
        return df.height
    placeholders = ", ".join("?" for _ in columns)
    cols = ", ".join(f'"{c}"' for c in columns)
    sql = f'INSERT INTO "{table.name}" ({cols}) VALUES ({placeholders})'
    cur = dbapi.cursor()
    try:
        for start in range(0, df.height, chunk_rows):
            chunk = _sqlite_ready(df.slice(start, chunk_rows))
            cur.executemany(sql, cast(Any, chunk.iter_rows()))
    finally:
        cur.close()
    return df.height


def reserve_ids(session: Session, table: FromClause, count: int, column: str = "id") -> list[int]:
    """``count`` new ids for rows about to be bulk-inserted into ``table``, ascending.

    PostgreSQL takes them from the column's sequence (``nextval``), so concurrent
    transactions never collide and nobody waits; they need not be contiguous.
    SQLite has one writer at a time (``BEGIN IMMEDIATE``, see ``db.session``), so the
    block after the largest id is free for this transaction.
    """
    table = _table(table)
    if count <= 0:
        return []
    if session.connection().dialect.name == "postgresql":
        rows = session.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, :column)) "
                "FROM generate_series(1, :n)"
            ),
            {"table": table.name, "column": column, "n": count},
        ).scalars()
        return sorted(int(v) for v in rows)
    start = int(session.scalar(select(func.coalesce(func.max(table.c[column]), 0))) or 0) + 1
    return list(range(start, start + count))


def insert_many(
    session: Session,
    table: FromClause,
    rows: Sequence[dict[str, Any]],
    serialised: Collection[str] = (),
) -> None:
    """Insert ``rows`` (all with the same keys) as one driver ``executemany`` of a
    single-row INSERT: psycopg runs it as one prepared statement in a pipeline, sqlite3
    in its C loop.  SQLAlchemy's own path for many rows builds a multi-row statement
    whose text changes with the number of rows, which the driver then parses afresh
    every time — the larger cost for the small, frequent batches of a group commit
    (ADR 0026).  Values go through each column type's bind processing, as SQLAlchemy
    would send them (JSON serialised, times and amounts adapted), except the JSON columns
    named in ``serialised``, whose values are JSON text already (serialised once, by
    the model, for the answer and the row alike)."""
    if not rows:
        return
    table = _table(table)
    conn = session.connection()
    dialect = conn.dialect
    names = list(rows[0])
    mark = "%({})s" if dialect.paramstyle == "pyformat" else ":{}"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) "
        f"VALUES ({', '.join(mark.format(n) for n in names)})"
    )
    procs = [
        (n, None if n in serialised else table.c[n].type._cached_bind_processor(dialect))
        for n in names
    ]
    values = [
        {n: (p(r[n]) if p is not None and r[n] is not None else r[n]) for n, p in procs}
        for r in rows
    ]
    conn.exec_driver_sql(sql, values)
