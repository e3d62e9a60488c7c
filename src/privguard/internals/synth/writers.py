"""Where rows go: one sink per table, containers for multi-table files, and the row truth.

Every byte is deterministic: gzip and zip entries carry fixed dates, XLSX a fixed creation
time, Parquet fixed writer settings.
"""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
import sqlite3
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter

from privguard.internals.common.parquet import parquet_writer
from privguard.internals.synth import lines as L
from privguard.internals.synth.layouts import Layout

EXPORT_DATE = (2014, 5, 2, 3, 15, 0)  # fixed "export" date of every archive entry
PARQUET_OPTS: dict[str, Any] = {"compression": "snappy", "use_dictionary": True}
TRUTH_SCHEMA = pa.schema(
    [("file", pa.string()), ("table", pa.string()), ("row", pa.int64()),
     ("call_id", pa.int64()), ("corrupt", pa.bool_())]
)  # fmt: skip


class RowTruth:
    """Collects (file, table, row, call_id, corrupt) for every record written."""

    def __init__(self, path: Path) -> None:
        self._writer = parquet_writer(path, TRUTH_SCHEMA, **PARQUET_OPTS)
        self._parts: list[pa.RecordBatch] = []
        self._pending = 0
        self.rows = 0
        self.corrupt = 0

    def add(
        self, file: str, table: str, first_row: int, call_id: np.ndarray, corrupt: np.ndarray
    ) -> None:
        n = len(call_id)
        if n == 0:
            return
        zeros = pa.array(np.zeros(n, dtype=np.int32))
        batch = pa.record_batch(
            [pa.array([file]).take(zeros), pa.array([table]).take(zeros),
             pa.array(np.arange(first_row, first_row + n, dtype=np.int64)),
             pa.array(call_id, pa.int64()), pa.array(corrupt, pa.bool_())],
            schema=TRUTH_SCHEMA,
        )  # fmt: skip
        self._parts.append(batch)
        self._pending += n
        self.rows += n
        self.corrupt += int(np.count_nonzero(corrupt))
        if self._pending >= 1_000_000:
            self.flush()

    def flush(self) -> None:
        if self._parts:
            self._writer.write_table(pa.Table.from_batches(self._parts), row_group_size=1 << 20)
        self._parts, self._pending = [], 0

    def close(self) -> None:
        self.flush()
        self._writer.close()


class Sink:
    """One table. ``rows`` counts records written so far (the 1-based index of the last one)."""

    def __init__(self, file: str, table: str, layout: Layout, truth: RowTruth) -> None:
        self.file, self.table, self.layout, self.truth = file, table, layout, truth
        self.rows = 0
        self.bytes = 0

    def _truth(self, call_id: np.ndarray, corrupt: np.ndarray) -> None:
        self.truth.add(self.file, self.table, self.rows + 1, call_id, corrupt)
        self.rows += len(call_id)

    def append(self, cols: list[pa.Array], call_id: np.ndarray, corrupt: np.ndarray) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def open_binary(path: Path, gz: bool) -> BinaryIO:
    """A file to write, gzip-compressed with no name and a fixed time when ``gz``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = open(path, "wb")  # noqa: SIM115 - closed by the sink
    if not gz:
        return raw
    return gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=3)  # type: ignore[return-value]


class TextSink(Sink):
    """CSV/TSV/JSONL. Holds back the last record so it can be truncated at close."""

    def __init__(self, file: str, table: str, layout: Layout, truth: RowTruth, out: BinaryIO,
                 truncate_last: bool) -> None:  # fmt: skip
        super().__init__(file, table, layout, truth)
        self.out = out
        self.truncate_last = truncate_last
        self._pending: tuple[bytes, int, bool] | None = None
        enc = layout.encoding
        self._codec = "latin-1" if enc == "latin-1" else None
        head = "\ufeff" if enc == "utf-8-sig" else ""
        if layout.fmt != "jsonl":
            head += L.header(layout)
        self._write(head.encode(self._codec or "utf-8"))

    def _write(self, b: bytes | memoryview) -> None:
        self.out.write(b)
        self.bytes += len(b)

    def _enc(self, b: memoryview | bytes) -> bytes | memoryview:
        return bytes(b).decode("utf-8").encode(self._codec) if self._codec else b

    def append(self, cols: list[pa.Array], call_id: np.ndarray, corrupt: np.ndarray) -> None:
        fn = L.jsonl if self.layout.fmt == "jsonl" else L.delimited
        self.write_lines(fn(self.layout, cols, corrupt), call_id, corrupt)

    def write_lines(self, lines: pa.Array, call_id: np.ndarray, corrupt: np.ndarray) -> None:
        data, offs = L.concat_bytes(lines)
        n = len(call_id)
        if n == 0:
            return
        if self._pending is not None:
            b, cid, bad = self._pending
            self._write(b)
            self._truth(np.array([cid]), np.array([bad]))
        cut = int(offs[n - 1])
        self._write(self._enc(data[int(offs[0]) : cut]))
        self._truth(call_id[: n - 1], corrupt[: n - 1])
        self._pending = (
            bytes(self._enc(data[cut : int(offs[n])])),
            int(call_id[-1]),
            bool(corrupt[-1]),
        )

    def close(self) -> None:
        if self._pending is not None:
            b, cid, bad = self._pending
            if self.truncate_last:
                text = b.decode(self._codec or "utf-8")
                sep = "," if self.layout.fmt == "jsonl" else self.layout.delimiter
                where = [i for i, ch in enumerate(text) if ch == sep]
                pos = where[len(where) // 2] if where else len(text) // 2
                b, bad = text[:pos].encode(self._codec or "utf-8"), True
            self._write(b)
            self._truth(np.array([cid]), np.array([bad]))
        self.out.close()


class ParquetSink(Sink):
    """One Parquet file; one row group per chunk."""

    def __init__(self, file: str, table: str, layout: Layout, truth: RowTruth, path: Path) -> None:
        super().__init__(file, table, layout, truth)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._w: pq.ParquetWriter | None = None

    def append(self, cols: list[pa.Array], call_id: np.ndarray, corrupt: np.ndarray) -> None:
        t = pa.table(cols, names=[c.header for c in self.layout.columns])
        if self._w is None:
            self._w = parquet_writer(self.path, t.schema, **PARQUET_OPTS)
        self._w.write_table(t)
        self._truth(call_id, np.zeros(len(call_id), bool))

    def close(self) -> None:
        if self._w is not None:
            self._w.close()
        self.bytes = self.path.stat().st_size if self.path.exists() else 0


class SqliteSink(Sink):
    """One table inside a shared SQLite database."""

    def __init__(self, file: str, table: str, layout: Layout, truth: RowTruth,
                 con: sqlite3.Connection) -> None:  # fmt: skip
        super().__init__(file, table, layout, truth)
        self.con = con
        defs = ", ".join(
            f'"{c.header}" {"INTEGER" if c.field.startswith("duration:") and "hms" not in c.field else "TEXT"}'
            for c in layout.columns
        )
        con.execute(f'CREATE TABLE "{table}" ({defs})')
        marks = ", ".join("?" * len(layout.columns))
        self._insert = f'INSERT INTO "{table}" VALUES ({marks})'

    def append(self, cols: list[pa.Array], call_id: np.ndarray, corrupt: np.ndarray) -> None:
        self.con.executemany(self._insert, zip(*(c.to_pylist() for c in cols), strict=True))
        self._truth(call_id, np.zeros(len(call_id), bool))

    def close(self) -> None:
        pass


class DumpSink(Sink):
    """One table of a MySQL or PostgreSQL dump; its data goes to a part file until assembly."""

    def __init__(self, file: str, table: str, layout: Layout, truth: RowTruth, part: Path) -> None:
        super().__init__(file, table, layout, truth)
        part.parent.mkdir(parents=True, exist_ok=True)
        self.part = part
        self.out = open(part, "wb")  # noqa: SIM115 - closed in close()

    def append(self, cols: list[pa.Array], call_id: np.ndarray, corrupt: np.ndarray) -> None:
        if self.layout.fmt == "mysql_dump":
            lines = L.mysql_values(self.layout, cols, self.table)
            corrupt = np.zeros(len(call_id), bool)
        else:
            lines = L.pg_copy(self.layout, cols, corrupt)
        data, offs = L.concat_bytes(lines)
        self.out.write(data[int(offs[0]) : int(offs[-1])])
        self._truth(call_id, corrupt)

    def close(self) -> None:
        self.out.close()


class XlsxSink(Sink):
    """One worksheet of a shared workbook (kept small: xlsxwriter works cell by cell)."""

    def __init__(self, file: str, table: str, layout: Layout, truth: RowTruth,
                 book: xlsxwriter.Workbook) -> None:  # fmt: skip
        super().__init__(file, table, layout, truth)
        self.sheet = book.add_worksheet(table)
        self.sheet.write_row(0, 0, [c.header for c in layout.columns])

    def append(self, cols: list[pa.Array], call_id: np.ndarray, corrupt: np.ndarray) -> None:
        for i, values in enumerate(zip(*(c.to_pylist() for c in cols), strict=True)):
            self.sheet.write_row(self.rows + 1 + i, 0, values)
        self._truth(call_id, np.zeros(len(call_id), bool))

    def close(self) -> None:
        pass


def new_workbook(path: Path) -> xlsxwriter.Workbook:
    """A workbook with fixed metadata, so the same data gives the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(
        str(path), {"default_date_format": "mm/dd/yyyy hh:mm:ss AM/PM", "strings_to_numbers": False}
    )
    book.set_properties({"created": dt.datetime(*EXPORT_DATE), "author": "export"})
    return book


def write_zip(path: Path, members: list[tuple[str, Path]]) -> None:
    """A zip of part files with fixed entry dates, in the given order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=3) as zf:
        for name, part in members:
            info = zipfile.ZipInfo(name, date_time=EXPORT_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            # Python < 3.13 ignores the archive's level for a ZipInfo; 3 is much faster than 6.
            object.__setattr__(info, "_compresslevel", 3)
            with open(part, "rb") as src, zf.open(info, "w", force_zip64=True) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
