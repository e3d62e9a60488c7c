"""The one way Python writes Parquet (Arrow tables built in Python: sheets, SQLite rows,
rejected records, synthetic leaks), for both wings and synth.

Tables the SQL engine holds are written by it instead (``copy_parquet_sql`` in
``internals/audit/sql.py``, run by the engine's ``copy_to_parquet``) and read by
``parquet_source``; Python only streams what it produced itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


def parquet_writer(path: Path, schema: pa.Schema, **options: Any) -> pq.ParquetWriter:
    """A streaming writer to ``path`` (``options`` as pyarrow's: ``compression``,
    ``use_dictionary``, ``write_statistics``, ``column_encoding``...). Close it (or use it
    in a ``with`` block) to finish the file."""
    return pq.ParquetWriter(path, schema, **options)


def write_parquet(table: pa.Table, path: Path, **options: Any) -> None:
    """``table`` to ``path`` in one go, through :func:`parquet_writer` (the same bytes
    as ``pyarrow.parquet.write_table`` with the same options)."""
    with parquet_writer(path, table.schema, **options) as writer:
        writer.write_table(table)
