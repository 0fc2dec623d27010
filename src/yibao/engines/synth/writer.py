"""Stream case batches to Parquet files with bounded memory."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from yibao.engines.synth.cases import CaseBatch

_TABLES = ("cases", "diagnoses", "procedures")


def write_parquet(
    batches: Iterable[CaseBatch],
    out_dir: Path | str,
    *,
    targets: bool = False,
    compression: str = "zstd",
) -> dict[str, int]:
    """Write ``cases.parquet``, ``diagnoses.parquet`` and ``procedures.parquet`` (and
    ``targets.parquet`` when ``targets``) under ``out_dir``, one row group per batch.

    Only one batch is held in memory at a time.  Returns the number of rows written
    per file stem.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = (*_TABLES, "targets") if targets else _TABLES
    writers: dict[str, pq.ParquetWriter] = {}
    counts = dict.fromkeys(names, 0)
    try:
        for batch in batches:
            for name in names:
                table: pa.Table = getattr(batch, name).to_arrow()
                if name not in writers:
                    writers[name] = pq.ParquetWriter(
                        out / f"{name}.parquet", table.schema, compression=compression
                    )
                writers[name].write_table(table)
                counts[name] += table.num_rows
    finally:
        for writer in writers.values():
            writer.close()
    return counts
