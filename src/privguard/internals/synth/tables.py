"""Route each call's copies to the tables of its facility's systems and write them."""

from __future__ import annotations

import calendar
import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import xlsxwriter

from privguard.internals.synth import dumps
from privguard.internals.synth.calls import Calls
from privguard.internals.synth.layouts import TEXT_FORMATS, System
from privguard.internals.synth.population import Population
from privguard.internals.synth.render import Formatter, Rows
from privguard.internals.synth.writers import (
    DumpSink,
    ParquetSink,
    RowTruth,
    Sink,
    SqliteSink,
    TextSink,
    XlsxSink,
    new_workbook,
    open_binary,
    write_zip,
)

_ID_MOD = 10**9
_JAN_2013 = (2013 - 1970) * 12  # months since 1970-01


@dataclass
class TableInfo:
    """What synth.json says about one table (the zone and unit truth)."""

    file: str
    table: str
    format: str
    zone: str
    duration_unit: str
    facility: str
    system: str
    zone_stated: bool
    compression: str
    encoding: str
    reexport_of: str | None = None
    rows: int = 0
    columns: tuple[tuple[str, str], ...] = ()  # (header, what it holds): the roles' truth


def expected_copies(lam: float, s: int) -> float:
    """E[min(1 + Poisson(lam), s)]."""
    total, p = 0.0, math.exp(-lam)
    for j in range(s):
        total += (j + 1) * p if j < s - 1 else s * (1.0 - sum_pmf(lam, s - 1))
        p *= lam / (j + 1)
    return total


def sum_pmf(lam: float, n: int) -> float:
    """P(Poisson(lam) < n)."""
    p, acc = math.exp(-lam), 0.0
    for j in range(n):
        acc += p
        p *= lam / (j + 1)
    return acc


def solve_lambda(target: float, s: int) -> float:
    """The Poisson rate that makes the capped copy count average ``target`` (bisection)."""
    if target <= 1.0 or s <= 1:
        return 0.0
    lo, hi = 0.0, 50.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if expected_copies(mid, s) < target else (lo, mid)
    return lo


class Router:
    """Owns every open table; ``route`` writes one window of calls."""

    def __init__(self, dump: Path, tmp: Path, pop: Population, systems: list[System],
                 truth: RowTruth, *, seed: int, copies: float, corrupt_rate: float) -> None:  # fmt: skip
        self.dump, self.tmp, self.pop, self.truth = dump, tmp, pop, truth
        self.seed, self.corrupt_rate = seed, corrupt_rate
        self.fmt = Formatter(pop)
        self.systems = systems
        self.main = [s for s in systems if not s.extra]
        self.extras = [s for s in systems if s.extra]
        n_fac = len(pop.facilities)
        self.sys_of = np.full((n_fac, 3), -1, dtype=np.int64)
        self.logw = np.full((n_fac, 3), -np.inf)
        self.lam = np.zeros(n_fac)
        self.n_sys = np.zeros(n_fac, dtype=np.int64)
        for s in self.main:
            j = int(self.n_sys[s.facility])
            self.sys_of[s.facility, j], self.logw[s.facility, j] = s.index, math.log(s.weight)
            self.n_sys[s.facility] += 1
        for f in range(n_fac):
            mine = [s for s in self.main if s.facility == f]
            extra = sum(
                2.0 * s.overlap_days / (30.4 * s.months) + s.reexport / 29.0 for s in mine
            ) / max(len(mine), 1)
            q = sum(s.weight for s in self.extras if s.facility == f)
            self.lam[f] = solve_lambda((copies - q) / (1.0 + extra), int(self.n_sys[f]) + 2)
        self.open: dict[int, tuple[Sink, Sink | None, int]] = {}
        self.closed: set[int] = set()
        self.tables: list[TableInfo] = []
        self.zips: dict[str, list[tuple[str, Path]]] = {}
        self.sqlite: dict[str, sqlite3.Connection] = {}
        self.books: dict[str, xlsxwriter.Workbook] = {}
        self.book_end: dict[str, int] = {}
        self.dumps: dict[str, tuple[str, str, list[tuple[str, Any, Path]]]] = {}

    # --- which copies --------------------------------------------------------------------
    def _copies(
        self, c: Calls, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows as (call position, system), plus rows to repeat verbatim (exact duplicates)."""
        n = len(c)
        k = 1 + rng.poisson(self.lam[c.facility])
        k = np.minimum(k, self.n_sys[c.facility] + 2)
        # Beyond one copy per system, a call's first copy is repeated as an exact duplicate;
        # row i of the first copy is call i.
        surplus = np.maximum(k - self.n_sys[c.facility], 0)
        dup = np.repeat(np.arange(n), surplus)
        keys = self.logw[c.facility] + rng.gumbel(size=(n, 3))
        order = np.argsort(-keys, axis=1)
        pos, sysi = [], []
        distinct = np.minimum(k, self.n_sys[c.facility])
        for j in range(3):
            sel = np.flatnonzero(distinct > j)
            pos.append(sel)
            sysi.append(self.sys_of[c.facility[sel], order[sel, j]])
        for s in self.extras:
            sel = np.flatnonzero((c.facility == s.facility) & (rng.random(n) < s.weight))
            pos.append(sel)
            sysi.append(np.full(len(sel), s.index))
        return np.concatenate(pos), np.concatenate(sysi), dup

    def route(self, c: Calls, rng: np.random.Generator) -> None:
        """Write every copy of these calls to its table(s)."""
        pos, sysi, dup = self._copies(c, rng)
        skew = np.array([s.skew_s for s in self.systems])[sysi]
        jit = np.array([s.jitter_s for s in self.systems])[sysi]
        delay = (rng.random(len(pos)) * (jit + 1)).astype(np.int64)
        utc = c.utc_s[pos] + skew + delay
        dur = c.duration_s[pos]
        dur = np.where(c.status[pos] == 0, np.maximum(dur - delay, 1), dur)
        pos, sysi, utc, dur = (np.concatenate([a, a[dup]]) for a in (pos, sysi, utc, dur))
        local = np.array([s.layout.clock == "local" for s in self.systems])[sysi]
        wall = utc + np.where(local, c.offset_s[pos], 0)
        months = np.array([s.months for s in self.systems])[sysi]
        mon = wall.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
        period = mon // months
        ov = np.array([s.overlap_days for s in self.systems])[sysi] * 86400
        p_start = _month_start(period * months)
        p_end = _month_start((period + 1) * months)
        before = np.flatnonzero((ov > 0) & (wall - p_start < ov))
        after = np.flatnonzero((ov > 0) & (p_end - wall <= ov))
        extra = np.concatenate([before, after])
        pos = np.concatenate([pos, pos[extra]])
        sysi = np.concatenate([sysi, sysi[extra]])
        utc, dur = np.concatenate([utc, utc[extra]]), np.concatenate([dur, dur[extra]])
        period = np.concatenate([period, period[before] - 1, period[after] + 1])
        key = sysi * 100_000 + period
        order = np.lexsort((utc, key))
        key, pos, sysi, utc, dur = key[order], pos[order], sysi[order], utc[order], dur[order]
        bounds = np.flatnonzero(np.diff(key)) + 1
        for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(key)], strict=True):
            s = self.systems[int(sysi[a])]
            p = c.call_id[pos[a:b]]
            rows = Rows(
                call_id=p,
                facility=c.facility[pos[a:b]],
                zone=c.zone[pos[a:b]],
                inmate=c.inmate[pos[a:b]],
                number=c.number[pos[a:b]],
                utc_s=utc[a:b],
                offset_s=c.offset_s[pos[a:b]],
                duration_s=dur[a:b],
                status=c.status[pos[a:b]],
                recorded=c.recorded[pos[a:b]],
                source_id=(p * s.id_mul + s.id_add) % _ID_MOD,
            )
            self._write(s, int(key[a] % 100_000), rows, rng)

    def _write(self, s: System, period: int, rows: Rows, rng: np.random.Generator) -> None:
        k = s.index * 100_000 + period
        if k not in self.open:
            if k in self.closed:  # would overwrite a finished file: a bug, never bad input
                raise RuntimeError(f"synth: rows arrived for closed table {s.prefix} {period}")
            self.open[k] = self._open(s, period)
        sink, mirror, _ = self.open[k]
        cols = [self.fmt.column(s.layout, col.field, rows) for col in s.layout.columns]
        n = len(rows)
        corrupt = np.zeros(n, bool)
        if s.layout.fmt in (*TEXT_FORMATS, "pg_dump") and self.corrupt_rate > 0:
            corrupt = rng.random(n) < self.corrupt_rate
        sink.append(cols, rows.call_id, corrupt)
        if mirror is not None:
            # The re-export ("resend") repeats the table's January 2013 rows verbatim.
            wall = rows.utc_s + (rows.offset_s if s.layout.clock == "local" else 0)
            month = wall.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
            keep = np.flatnonzero(month == _JAN_2013)
            if len(keep):
                idx = pa.array(keep)
                mirror.append([c.take(idx) for c in cols], rows.call_id[keep], corrupt[keep])

    # --- tables and files ----------------------------------------------------------------
    def _open(self, s: System, period: int) -> tuple[Sink, Sink | None, int]:
        lay = s.layout
        fac = self.pop.facilities[s.facility]
        y, m = divmod(period * s.months, 12)
        y += 1970
        suffix = {1: f"{y}_{m + 1:02d}", 3: f"{y}_q{m // 3 + 1}", 6: f"{y}_h{m // 6 + 1}"}
        table = f"{s.prefix}_{suffix.get(s.months, str(y))}"
        base = f"{fac.code}/{s.name}"
        trng = np.random.default_rng([self.seed, 7, s.index, period])
        info = TableInfo(
            file="", table=table, format=lay.fmt,
            zone="UTC" if lay.clock == "utc" else fac.zone, duration_unit=lay.duration_unit,
            facility=fac.code, system=s.name,
            zone_stated=lay.clock == "utc" or lay.zone_given in ("iso", "column"),
            compression=lay.compression, encoding=lay.encoding,
            columns=tuple((c.header, c.field) for c in lay.columns),
        )  # fmt: skip
        sink: Sink
        if lay.fmt in TEXT_FORMATS:
            trunc = self.corrupt_rate > 0 and trng.random() < 0.1
            if lay.compression == "zip":
                container = f"{base}_{y}.zip"
                info.file = f"{container}/{table}{lay.ext}"
                part = self.tmp / f"part{len(self.tables)}"
                self.zips.setdefault(container, []).append((f"{table}{lay.ext}", part))
                out = open_binary(part, False)
            else:
                info.file = f"{base}/{table}{lay.ext}" + (".gz" if lay.compression == "gz" else "")
                out = open_binary(self.dump / info.file, lay.compression == "gz")
            sink = TextSink(info.file, table, lay, self.truth, out, trunc)
        elif lay.fmt == "parquet":
            info.file = f"{base}/{table}.parquet"
            sink = ParquetSink(info.file, table, lay, self.truth, self.dump / info.file)
        elif lay.fmt == "sqlite":
            info.file = f"{fac.code}/{s.prefix}.sqlite"
            if info.file not in self.sqlite:
                (self.dump / info.file).parent.mkdir(parents=True, exist_ok=True)
                con = sqlite3.connect(self.dump / info.file)
                con.execute("PRAGMA journal_mode=OFF")
                con.execute("PRAGMA synchronous=OFF")
                self.sqlite[info.file] = con
            sink = SqliteSink(info.file, table, lay, self.truth, self.sqlite[info.file])
        elif lay.fmt == "xlsx":
            info.file = f"{base}_{y}.xlsx"
            sheet = {1: f"{calendar.month_abbr[m + 1]} {y}", 3: f"{y} Q{m // 3 + 1}"}
            info.table = table = sheet.get(
                s.months, f"{y} H{m // 6 + 1}" if s.months == 6 else str(y)
            )
            if info.file not in self.books:
                self.books[info.file] = new_workbook(self.dump / info.file)
                # A workbook lives in memory: close it once its year is over.
                self.book_end[info.file] = (
                    int(_month_start(np.array([(y - 1969) * 12]))[0]) // 86400 + 5
                )
            sink = XlsxSink(info.file, table, lay, self.truth, self.books[info.file])
        else:
            tag = "mysql" if lay.fmt == "mysql_dump" else "pg"
            info.file = f"{fac.code}/{s.prefix}_{tag}.sql"
            part = self.tmp / f"part{len(self.tables)}"
            entry = self.dumps.setdefault(info.file, (lay.fmt, s.prefix, []))
            entry[2].append((table, lay, part))
            sink = DumpSink(info.file, table, lay, self.truth, part)
        self.tables.append(info)
        mirror: Sink | None = None
        reexport = s.reexport and period == _JAN_2013 // s.months
        if lay.fmt in ("csv", "tsv", "jsonl", "parquet") and reexport:
            mi = TableInfo(**{**info.__dict__, "reexport_of": info.file})
            mi.table = f"{s.prefix}_2013_01_resend"
            ext = ".parquet" if lay.fmt == "parquet" else lay.ext
            mi.file = f"{fac.code}/resend/{mi.table}{ext}"
            mi.compression = ""
            if lay.fmt == "parquet":
                mirror = ParquetSink(mi.file, mi.table, lay, self.truth, self.dump / mi.file)
            else:
                out = open_binary(self.dump / mi.file, False)
                mirror = TextSink(mi.file, mi.table, lay, self.truth, out, False)
            self.tables.append(mi)
        end_day = int(_month_start(np.array([(period + 1) * s.months]))[0] // 86400)
        return sink, mirror, end_day + s.overlap_days + 2

    def close_before(self, day: int) -> None:
        """Close tables that no call from ``day`` on can reach (bounded open files)."""
        for k in [k for k, (_, _, end) in self.open.items() if end < day]:
            self._close(k)
        for file in [f for f, end in self.book_end.items() if end < day]:
            self.books.pop(file).close()
            del self.book_end[file]

    def _close(self, k: int) -> None:
        sink, mirror, _ = self.open.pop(k)
        self.closed.add(k)
        for sk in (sink, mirror):
            if sk is not None:
                sk.close()
                for t in self.tables:
                    if t.file == sk.file and t.table == sk.table:
                        t.rows = sk.rows

    def containers(self) -> int:
        """Files still to assemble at the end (zip archives, databases, workbooks, dumps)."""
        return len(self.zips) + len(self.sqlite) + len(self.books) + len(self.dumps)

    def finish(self, step: Callable[[], None] = lambda: None) -> None:
        """Close every table and assemble archives, databases, workbooks and dumps."""
        for k in list(self.open):
            self._close(k)
        for container, members in self.zips.items():
            write_zip(self.dump / container, members)
            step()
        for con in self.sqlite.values():
            con.commit()
            con.close()
            step()
        for book in self.books.values():
            book.close()
            step()
        for file, (fmt, db, parts) in self.dumps.items():
            dumps.assemble(self.dump / file, fmt, db, parts)
            step()


def _month_start(month_abs: np.ndarray) -> np.ndarray:
    """Epoch seconds of the first instant of each month counted from 1970-01."""
    return month_abs.astype("datetime64[M]").astype("datetime64[s]").astype(np.int64)
