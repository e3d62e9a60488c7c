"""Letters rendered in worker processes, reading their calls from one Parquet file.

The parent writes the recorded privileged calls once (DuckDB ``COPY``, sorted by
recipient and in letter order), then from that file: each recipient's complete list as
``letters/<stem>.csv`` (one ``COPY`` each, spreadsheet-safe), a small file with only the
calls the letters list (the first ``letters.LIST_CAP`` of each recipient), and one
summary row per recipient (counts over all its calls). Each worker gets only that small
file's path, the recipients to render and their summaries, so no call rows travel
between processes and a worker's work no longer grows with a recipient's calls. Workers are fresh interpreters
(``python -m privguard.internals.audit.report.parallel``), not forks: the parent holds a
DuckDB connection and its threads, which a forked child must not inherit, and unlike
``multiprocessing``'s spawn they do not re-run the caller's script. Each letter's bytes
do not depend on which process renders it, so the files are the same as
:func:`letters.write_letters` writes.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from privguard.errors import EngineError
from privguard.internals.audit.engines.base import Executor
from privguard.internals.audit.sql import copy_csv_sql

from . import sql
from .case import Case
from .letters import LIST_CAP, Recipient, Summary, link_text, recipient_name, render_letter, stems

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

RECIPIENTS_VIEW = "pg_letter_recipient"
PARTS_VIEW = "pg_letter_part"
# A letter costs about as much as this many call rows before its first row (fonts,
# subsetting, the first page), so a worker with many short letters is not under-counted.
LETTER_COST_ROWS = 400


def render_jobs(
    path: Path, jobs: list[tuple[str, str, dict[str, Any], list[list[str]]]], folder: Path, *,
    as_of: dt.datetime, pseudonymized: bool, cap: int = LIST_CAP, case: Case | None = None,
) -> None:  # fmt: skip
    """Write the letters of the given recipients (name, file stem, summary as a dict of
    :class:`letters.Summary` fields, [number, how it was linked] pairs) from the listed
    calls in ``path``."""
    names = [job[0] for job in jobs]
    table = pq.read_table(path, filters=[("recipient", "in", names)])
    for name, stem, summary, links in jobs:
        mine = table.filter(pc.equal(table.column("recipient"), name)).slice(0, cap)
        calls = mine.drop_columns(["recipient"]).to_pylist()
        s = Summary(**summary)
        rec = Recipient(name, list(s.numbers), calls, s, [(a, b) for a, b in links])
        render_letter(
            rec, folder / f"{stem}.pdf", as_of=as_of, pseudonymized=pseudonymized, cap=cap,
            case=case,
        )  # fmt: skip


def split(counts: dict[str, int], n: int) -> list[list[str]]:
    """Recipients in ``n`` groups of about equal work (biggest letters first, each to the
    least loaded group); each group in name order."""
    bins: list[list[str]] = [[] for _ in range(n)]
    load = [0] * n
    for name in sorted(counts, key=lambda k: (-counts[k], k)):
        i = load.index(min(load))
        bins[i].append(name)
        load[i] += counts[name] + LETTER_COST_ROWS
    return [sorted(b) for b in bins if b]


def workers() -> int:
    """Worker processes for the letters: the cores this process may use, at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


class LetterJob:
    """Letters being written by worker processes; :meth:`wait` for them."""

    def __init__(self, paths: list[Path], procs: list[tuple[subprocess.Popen[bytes], IO[bytes]]]):
        self.paths = paths
        self._procs = procs

    def wait(self) -> list[Path]:
        """Wait for every worker; raise :class:`EngineError` if one failed."""
        failed: list[str] = []
        for proc, err in self._procs:
            code = proc.wait()
            err.seek(0)
            text = err.read().decode("utf-8", "replace").strip()
            err.close()
            if code != 0:
                failed.append(f"exit {code}: {text[-2000:]}")
        self._procs = []
        if failed:
            raise EngineError(
                "a letter-writing worker process failed: " + " | ".join(failed),
                where="report/letters",
                fix="report this as a bug with the log",
            )
        return self.paths


@dataclass
class LetterPlan:
    """What the workers need: ``paths`` (letters in recipient order), one JSON job spec per
    worker (``specs``), and each recipient's CSV file (``csvs``) from ``calls``."""

    paths: list[Path]
    specs: list[dict[str, Any]]
    csvs: list[tuple[str, Path]]
    calls: Path


def plan_letters(
    ex: Executor, folder: Path, scratch: Path, *, as_of: dt.datetime, pseudonymized: bool,
    max_workers: int | None = None, cap: int = LIST_CAP, case: Case | None = None,
) -> LetterPlan:  # fmt: skip
    """Write the letters' scratch files (see :func:`start_letters`) and split the
    recipients into one job spec per worker; nothing is rendered yet."""
    folder.mkdir(parents=True, exist_ok=True)
    scratch.mkdir(parents=True, exist_ok=True)
    pairs = ex.fetchall(sql.letter_pairs_sql())
    names = [recipient_name(p[0], p[1]) for p in pairs]
    counts: dict[str, int] = {}
    for (_, _, n), name in zip(pairs, names, strict=True):
        counts[name] = counts.get(name, 0) + n
    ordered = sorted(counts)
    stem_of = dict(zip(ordered, stems(ordered), strict=True))
    paths = [folder / f"{stem_of[name]}.pdf" for name in ordered]
    path = scratch / "letter_calls.parquet"
    if not counts:
        return LetterPlan(paths, [], [], path)
    mapping = pa.table(
        {
            "attorney_name": pa.array([p[0] for p in pairs], pa.string()),
            "number": pa.array([p[1] for p in pairs], pa.string()),
            "recipient": pa.array(names, pa.string()),
        }
    )
    ex.register_arrow(RECIPIENTS_VIEW, mapping)
    ex.execute(sql.copy_letter_calls_sql(sql.letter_calls_by_recipient_sql(RECIPIENTS_VIEW), path))
    listed = scratch / "letter_listed.parquet"
    ex.copy_to_parquet(sql.letter_listed_sql(path, cap), listed)
    summaries = {
        row[0]: {
            "calls": row[1], "first_day": row[2], "last_day": row[3],
            "facilities": sorted(row[4]), "inmates": row[5], "completed": row[6],
            "violations": row[7], "numbers": sorted(row[8]), "inferred": row[9],
        }
        for row in ex.fetchall(sql.letter_summary_sql(path, pseudonymized))
    }  # fmt: skip
    links = {n: link_text(c, e, f) for n, c, e, f in ex.fetchall(sql.letter_links_sql())}
    specs = [
        {"path": str(listed), "folder": str(folder), "as_of": as_of.isoformat(),
         "pseudonymized": pseudonymized, "cap": cap, "parent": os.getpid(),
         "case": (case or Case()).to_dict(),
         "jobs": [[n, stem_of[n], summaries[n],
                   [[k, links[k]] for k in summaries[n]["numbers"] if k in links]]
                  for n in group]}
        for group in split(counts, max_workers or workers())
    ]  # fmt: skip
    csvs = [(name, folder / f"{stem_of[name]}.csv") for name in ordered]
    return LetterPlan(paths, specs, csvs, path)


def start_letters(
    ex: Executor,
    folder: Path,
    scratch: Path,
    *,
    as_of: dt.datetime,
    pseudonymized: bool,
    max_workers: int | None = None,
    cap: int = LIST_CAP,
    case: Case | None = None,
) -> LetterJob:
    """Start writing one letter per recipient into ``folder`` in worker processes.

    Needs ``pg_export_calls`` (see ``api.report``). Writes the recorded calls to
    ``scratch/letter_calls.parquet`` and the listed ones to ``scratch/letter_listed.parquet``
    (remove ``scratch`` after :meth:`LetterJob.wait`), starts the workers, writes every
    recipient's complete list as ``folder/<stem>.csv`` while they render, and returns, so
    the caller can write the exports while the workers render: both are CPU-bound Python.
    Each letter lists at most ``cap`` calls. The job's ``paths`` are the letters in
    recipient order (the CSV files are beside them, same stems)."""
    plan = plan_letters(
        ex, folder, scratch, as_of=as_of, pseudonymized=pseudonymized,
        max_workers=max_workers, cap=cap, case=case,
    )  # fmt: skip
    if not plan.specs:
        return LetterJob(plan.paths, [])
    procs: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []
    for spec in plan.specs:
        err = tempfile.TemporaryFile()  # noqa: SIM115 - closed by LetterJob.wait
        proc = subprocess.Popen(
            [sys.executable, "-m", "privguard.internals.audit.report.parallel"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(spec).encode("utf-8"))
        proc.stdin.close()
        procs.append((proc, err))
    # Written here while the workers render.
    write_csvs(ex, plan.calls, plan.csvs, scratch)
    log.info("letters: %d recipients on %d worker processes", len(plan.csvs), len(procs))
    return LetterJob(plan.paths, procs)


def write_csvs(ex: Executor, calls: Path, files: list[tuple[str, Path]], scratch: Path) -> None:
    """Each recipient's complete list to its CSV file: ``files`` is (recipient, file).

    One ``COPY ... PARTITION_BY`` writes them all (one statement per recipient cost ~60 ms
    each: 1,357 statements for 1,297 letters at 1 M rows). It runs on one thread, since a
    partitioned write on several threads interleaves a recipient's row chunks out of order,
    so each file holds exactly the bytes its own ``COPY`` wrote (the golden and
    tests/test_letter_csvs.py compare them). A recipient whose file did not come out as one
    file (no rows, or the engine split it) gets its own ``COPY``, as before; so does every
    recipient on an executor without ``Executor.partitioned_copy``."""
    done: set[int] = set()
    if ex.partitioned_copy and files:
        parts = pa.table(
            {
                "recipient": pa.array([r for r, _ in files], pa.string()),
                "part": pa.array(range(len(files)), pa.int32()),
            }
        )
        ex.register_arrow(PARTS_VIEW, parts)
        out = scratch / "letter_csvs"
        scratch.mkdir(parents=True, exist_ok=True)
        threads = ex.fetchall("SELECT current_setting('threads')")[0][0]
        ex.execute("SET threads = 1")
        try:
            query = sql.letter_csvs_sql(calls, PARTS_VIEW)
            ex.execute(copy_csv_sql(query, out, partition_by="pg_part"))
        finally:
            ex.execute(f"SET threads = {int(threads)}")
        for i, (_, target) in enumerate(files):
            written = list((out / f"pg_part={i}").glob("*")) if out.exists() else []
            if len(written) == 1:
                os.replace(written[0], target)
                done.add(i)
        shutil.rmtree(out, ignore_errors=True)
    for i, (name, target) in enumerate(files):
        if i not in done:
            ex.execute(copy_csv_sql(sql.letter_csv_sql(calls, name), target))


def die_with_parent(parent: int) -> None:
    """End this worker when the audit process that started it dies (``kill -9`` included).

    On Linux the kernel sends SIGKILL on the parent's death (``PR_SET_PDEATHSIG``); the
    parent-pid check covers a parent already gone before that was set, and a watchdog
    thread covers systems without prctl. Orphaned workers would otherwise go on writing
    into the letters folder of a run that was stopped."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the watchdog below still works
            log.debug("prctl(PR_SET_PDEATHSIG) unavailable")
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def render_spec(spec: dict[str, Any], limit: int | None = None) -> int:
    """Render the letters of one worker's job spec (the first ``limit`` of them); return
    how many were rendered."""
    jobs = [(n, s, summary, links) for n, s, summary, links in spec["jobs"]][:limit]
    render_jobs(
        Path(spec["path"]),
        jobs,
        Path(spec["folder"]),
        as_of=dt.datetime.fromisoformat(spec["as_of"]),
        pseudonymized=bool(spec["pseudonymized"]),
        cap=int(spec["cap"]),
        case=Case.from_dict(spec.get("case") or {}),
    )
    return len(jobs)


def _main() -> None:
    """Worker entry point: one JSON job description on stdin."""
    spec: dict[str, Any] = json.loads(sys.stdin.read())
    if "parent" in spec:
        die_with_parent(int(spec["parent"]))
    render_spec(spec)


if __name__ == "__main__":
    _main()
