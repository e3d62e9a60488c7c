"""``synth``: write a realistic synthetic leak of jail call records, with its ground truth."""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from privguard import __version__
from privguard.errors import InputError
from privguard.internals.common.parquet import parquet_writer, write_parquet
from privguard.internals.common.progress import NullProgress, Progress
from privguard.internals.synth import calls as calls_mod
from privguard.internals.synth import directory, population
from privguard.internals.synth.families import FAMILIES, restyle
from privguard.internals.synth.layouts import FORMATS, plan_systems
from privguard.internals.synth.population import KINDS, P0, P1
from privguard.internals.synth.render import Formatter
from privguard.internals.synth.tables import Router
from privguard.internals.synth.writers import PARQUET_OPTS, RowTruth

log = logging.getLogger(__name__)

CALLS_SCHEMA = pa.schema(
    [
        ("call_id", pa.int64()),
        ("facility", pa.string()),
        ("inmate_id", pa.int64()),
        ("number", pa.string()),
        ("start_utc", pa.timestamp("us")),
        ("duration_s", pa.int32()),
        ("completed", pa.bool_()),
        ("recorded", pa.bool_()),
        ("kind", pa.string()),
    ]
)
_WINDOW_CALLS = 300_000  # calls generated at once: bounds memory at any scale


@dataclass
class SynthResult:
    """What ``synth`` wrote: counts, paths and how long it took."""

    out: Path
    dump: Path
    calls: int
    rows: int
    corrupt_rows: int
    tables: int
    files: int
    facilities: int
    inmates: int
    numbers: int
    bytes_written: int
    seconds: float
    truth: dict[str, Path] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        """Source rows written per second of wall time."""
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def _check(out: Path, calls: int, copies: float, corrupt_rate: float, no_zone_share: float,
           formats: tuple[str, ...]) -> None:  # fmt: skip
    problems = []
    if calls < 100:
        problems.append(f"--calls must be at least 100 (got {calls})")
    if not 1.0 <= copies <= 4.0:
        problems.append(f"--copies must be between 1 and 4 (got {copies})")
    if not 0.0 <= corrupt_rate <= 0.05:
        problems.append(f"--corrupt-rate must be between 0 and 0.05 (got {corrupt_rate})")
    if not 0.0 <= no_zone_share <= 1.0:
        problems.append(f"--no-zone-share must be between 0 and 1 (got {no_zone_share})")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        problems.append(
            f"unknown format(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(FORMATS)}"
        )
    if set(formats) == {"xlsx"}:
        problems.append("xlsx alone cannot hold the calls (spreadsheets are kept small); add csv")
    if problems:
        raise InputError(
            "cannot generate the synthetic leak",
            problems=problems,
            fix="correct the options listed above and run again",
        )
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(
            "the output folder already exists and is not empty",
            where=str(out),
            fix="give a new folder name (or an empty folder); privguard never writes over files",
        )


def _windows(calls: int) -> list[tuple[int, int, int]]:
    """(first day, end day, calls) per window; exact total, slight growth over the period."""
    days = P1 - P0
    per_day = calls / days
    width = int(min(62, max(1, _WINDOW_CALLS // max(per_day, 1e-9))))
    starts = list(range(P0, P1, width))
    spans = np.array([min(s + width, P1) - s for s in starts], dtype=float)
    mid = (np.array(starts) + spans / 2 - P0) / days
    share = spans * (0.8 + 0.4 * mid)
    share /= share.sum()
    raw = share * calls
    n = np.floor(raw).astype(np.int64)
    rest = calls - int(n.sum())
    n[np.argsort(-(raw - n), kind="stable")[:rest]] += 1
    return [(s, min(s + width, P1), int(k)) for s, k in zip(starts, n, strict=True)]


def synth(
    out: Path | str,
    *,
    calls: int,
    seed: int = 0,
    progress: Progress | None = None,
    copies: float = 2.05,
    corrupt_rate: float = 0.002,
    no_zone_share: float = 0.4,
    formats: tuple[str, ...] | list[str] | None = None,
    override_rate: float = 0.02,
    layouts: str = "standard",
) -> SynthResult:
    """Write a synthetic leak of jail phone call records to ``out``, with ground truth.

    ``out/dump/`` holds the tables (CSV/TSV/JSON lines/Parquet/XLSX/SQLite/MySQL and
    PostgreSQL dumps, some inside .zip or .gz), split per facility and per month, quarter,
    half-year or year, with about ``copies`` copies of each call spread over billing (UTC),
    recording (local clock) and export systems. ``out/directory/`` holds the bar directory
    and the public-defender list, ``out/registry/`` the do-not-record registry, and
    ``out/truth/`` the ground truth (rows.parquet maps every source record to its call;
    calls.parquet and numbers.parquet; registry_ignored.json). ``out/synth.json`` lists the
    parameters, counts, facilities and every table with its true zone and duration unit.

    The same ``seed`` and options give byte-identical files. Work is done in windows of
    about 300,000 calls, so memory stays bounded at any size.

    Knobs: ``copies`` mean copies per call (1-4); ``corrupt_rate`` share of text records
    made unreadable (wrong field count, broken JSON, truncated last lines); ``no_zone_share``
    share of local-clock tables that give no zone at all; ``formats`` restricts the table
    formats (e.g. ``("csv", "parquet")`` for throughput runs); ``override_rate`` share of
    calls to registered numbers recorded anyway by an administrator override; ``layouts`` the
    exporter family that names the columns (:data:`~.families.FAMILIES`: ``terse``,
    ``abbreviated``, ``spanish``, ``generic`` col1..colN, ``split`` date and time, ``sparse``
    fields missing; ``standard``, the default, is the generator's own vocabulary).

    Raises :class:`~privguard.errors.InputError` for bad options or a non-empty ``out``.

    Example::

        from privguard import synth
        result = synth("demo", calls=20_000, seed=1)
        print(result.rows, result.tables)
    """
    out = Path(out)
    fmts = tuple(formats) if formats else FORMATS
    _check(out, calls, copies, corrupt_rate, no_zone_share, fmts)
    if layouts not in FAMILIES:
        raise InputError(
            f"unknown layout family {layouts!r}",
            where="--layouts",
            fix=f"give one of {', '.join(FAMILIES)}",
        )
    progress = progress or NullProgress()
    t0 = time.perf_counter()
    dump, tdir, tmp = out / "dump", out / "truth", out / ".synth_tmp"
    for d in (dump, tdir, tmp):
        d.mkdir(parents=True, exist_ok=True)

    pop = population.build(np.random.default_rng([seed, 1]), calls)
    systems = plan_systems(
        np.random.default_rng([seed, 2]),
        [f.weight for f in pop.facilities],
        calls,
        fmts,
        no_zone_share,
    )
    if layouts != "standard":  # its own stream: the calls and tables stay those of the seed
        family_rng = np.random.default_rng([seed, 7])
        for system in systems:
            system.layout = restyle(family_rng, system.layout, layouts)
    log.info("synth: %d facilities, %d inmates, %d numbers, %d systems",
             len(pop.facilities), len(pop.inmate_fac), len(pop.num_digits), len(systems))  # fmt: skip
    truth = RowTruth(tdir / "rows.parquet")
    router = Router(dump, tmp, pop, systems, truth, seed=seed, copies=copies,
                    corrupt_rate=corrupt_rate)  # fmt: skip
    e164 = Formatter(pop).numbers("e164")
    fac_codes = pa.array([f.code for f in pop.facilities])
    kinds = pa.array(KINDS)
    n_calls_per_number = np.zeros(len(pop.num_digits), dtype=np.int64)
    recorded = 0
    calls_writer = parquet_writer(tdir / "calls.parquet", CALLS_SCHEMA, **PARQUET_OPTS)
    progress.start("Generating calls", total=calls)
    next_id = 1
    windows = _windows(calls)
    for i, (d0, d1, n) in enumerate(windows):
        if n == 0:
            continue
        rng = np.random.default_rng([seed, 3, i])
        c = calls_mod.generate(pop, rng, d0, d1, n, next_id, override_rate)
        next_id += n
        n_calls_per_number += np.bincount(c.number, minlength=len(n_calls_per_number))
        recorded += int(c.recorded.sum())
        calls_writer.write_table(
            pa.table(
                [
                    pa.array(c.call_id),
                    fac_codes.take(pa.array(c.facility)),
                    pa.array(pop.inmate_account[c.inmate]),
                    e164.take(pa.array(c.number)),
                    pa.array(c.utc_s * 1_000_000, pa.timestamp("us")),
                    pa.array(c.duration_s, pa.int32()),
                    pa.array(c.status == 0),
                    pa.array(c.recorded),
                    kinds.take(pa.array(c.kind)),
                ],
                schema=CALLS_SCHEMA,
            )
        )
        router.route(c, rng)
        nxt = windows[i + 1][0] if i + 1 < len(windows) else P1 + 400
        router.close_before(nxt)
        progress.advance("Generating calls", n)
    progress.finish("Generating calls")
    step = "Assembling archives, databases and dumps"
    progress.start(step, total=router.containers())
    router.finish(lambda: progress.advance(step, 1))
    calls_writer.close()
    truth.close()
    progress.finish(step)

    drng = np.random.default_rng([seed, 4])
    n_bar = directory.write_bar_directory(out / "directory" / "bar_directory.csv", pop, drng)
    n_pd = directory.write_public_defenders(out / "directory" / "public_defenders.xlsx", pop, drng)
    n_reg = directory.write_registry(out / "registry" / "do_not_record.csv", pop, drng)
    _write_numbers(tdir / "numbers.parquet", pop, e164, n_calls_per_number)
    ign = pop.facilities[pop.ignored_facility]
    (tdir / "registry_ignored.json").write_text(
        json.dumps({"facility": ign.code, "name": ign.name, "zone": ign.zone}, indent=2) + "\n"
    )
    shutil.rmtree(tmp)

    files = [p for p in dump.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    seconds = time.perf_counter() - t0
    tables = [t for t in router.tables if t.rows > 0]
    counts = {
        "calls": calls,
        "rows": truth.rows,
        "corrupt_rows": truth.corrupt,
        "mean_copies": round(truth.rows / calls, 4),
        "recorded_calls": recorded,
        "tables": len(tables),
        "files": len(files),
        "bytes": size,
        "facilities": len(pop.facilities),
        "inmates": len(pop.inmate_fac),
        "numbers": len(pop.num_digits),
        "numbers_called": int(np.count_nonzero(n_calls_per_number)),
        "attorneys": len(pop.attorneys),
        "bar_directory_rows": n_bar,
        "public_defender_offices": n_pd,
        "registry_entries": n_reg,
    }
    meta = {
        "generator": f"privguard {__version__}",
        "parameters": {
            "calls": calls, "seed": seed, "copies": copies, "corrupt_rate": corrupt_rate,
            "no_zone_share": no_zone_share, "formats": list(fmts), "override_rate": override_rate,
            "period": [directory.day_text(P0), directory.day_text(P1 - 1)],
            **({"layouts": layouts} if layouts != "standard" else {}),
        },
        "counts": counts,
        "registry_ignored": ign.code,
        "facilities": [
            {"code": f.code, "name": f.name, "state": f.state, "zone": f.zone,
             "applies_registry": f.applies_registry}
            for f in pop.facilities
        ],
        "tables": [
            {"file": t.file, "table": t.table, "format": t.format, "zone": t.zone,
             "duration_unit": t.duration_unit, "zone_stated": t.zone_stated,
             "facility": t.facility, "system": t.system, "compression": t.compression,
             "encoding": t.encoding, "reexport_of": t.reexport_of, "rows": t.rows,
             **({"columns": dict(t.columns)} if layouts != "standard" else {})}
            for t in tables
        ],
    }  # fmt: skip
    (out / "synth.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
    log.info("synth: %d rows in %d tables, %.1f s", truth.rows, len(tables), seconds)
    return SynthResult(
        out=out, dump=dump, calls=calls, rows=truth.rows, corrupt_rows=truth.corrupt,
        tables=len(tables), files=len(files), facilities=len(pop.facilities),
        inmates=len(pop.inmate_fac), numbers=len(pop.num_digits), bytes_written=size,
        seconds=seconds,
        truth={k: tdir / f"{k}.parquet" for k in ("rows", "calls", "numbers")},
    )  # fmt: skip


def _write_numbers(path: Path, pop: population.Population, e164: pa.Array, n: np.ndarray) -> None:
    def day(a: np.ndarray) -> pa.Array:
        return pa.array(np.where(a >= 0, a, 0).astype("datetime64[D]"), mask=a < 0)

    table = pa.table(
        {
            "number": e164,
            "kind": pa.array(KINDS).take(pa.array(pop.num_kind)),
            "owner_id": pa.array(pop.num_owner_id, pa.string()),
            "owner_name": pa.array(pop.num_owner_name, pa.string()),
            "in_directory": pa.array(pop.num_in_dir),
            "in_registry": pa.array(pop.reg_from >= 0),
            "registered_from": day(pop.reg_from),
            "registered_until": day(pop.reg_until),
            "registry_facility": pa.array(
                [pop.facilities[f].code if f >= 0 else None for f in pop.reg_fac], pa.string()
            ),
            "is_cell": pa.array(pop.num_is_cell),
            "n_calls": pa.array(n, pa.int64()),
        }
    )
    write_parquet(table, path, **PARQUET_OPTS)
