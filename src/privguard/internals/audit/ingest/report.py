"""The reconciliation: ``WORK/ingest_report.json``, ``WORK/rejects.csv`` and the result object."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from privguard.internals.audit.engines.base import Executor
from privguard.internals.audit.ingest import sql
from privguard.internals.audit.ingest.readers import Staged

TOTAL_KEYS = ("rows_read", "rows_accepted", "rows_rejected")


@dataclass
class IngestResult:
    """What ``ingest`` did: one reconciliation entry per source table, and totals.

    ``tables`` holds the entries of ``ingest_report.json`` (``table_id``, ``file``, ``table``,
    ``format``, ``sha256``, ``rows_read``, ``rows_accepted``, ``rows_rejected``, ``mapping``,
    ``hints``, ``unmapped``, ``status``, ``warnings``). ``rows_read == rows_accepted +
    rows_rejected`` holds for every table. ``skipped_files`` lists every file no table was
    read from (``file``, ``bytes``, ``reason``, ``unread``); ``unread`` ones (damaged or
    refused, not merely files that are no table) make the audit incomplete:
    :attr:`incomplete`. ``status`` is ``ingested``, ``skipped`` (the mapping
    file says it is not a call table; its rows are counted but not ingested) or ``empty``.
    """

    dump: str
    work: Path
    tables: list[dict[str, Any]]
    totals: dict[str, int]
    skipped_files: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)

    @property
    def unread(self) -> list[dict[str, Any]]:
        """The files that may hold calls but could not be read."""
        return [s for s in self.skipped_files if s.get("unread", True)]

    @property
    def incomplete(self) -> bool:
        return bool(self.unread)

    @property
    def report_path(self) -> Path:
        return self.work / "ingest_report.json"

    @property
    def rejects_path(self) -> Path:
        return self.work / "rejects.csv"

    @property
    def ingested_dir(self) -> Path:
        return self.work / "ingested"


def table_entry(table_id: int, s: Staged) -> dict[str, Any]:
    """The report entry of one table, before mapping."""
    return {
        "table_id": table_id,
        "file": s.file,
        "table": s.table,
        "format": s.format,
        "sha256": s.sha256,
        "rows_read": s.rows_read,
        "rows_accepted": s.accepted,
        "rows_rejected": s.rejected,
        "mapping": {},
        "how": {},
        "hints": {"tz_hint": None, "duration_unit": None},
        "unmapped": list(s.columns),
        "columns": list(s.columns),
        "status": "ingested",
        "warnings": list(s.warnings),
    }


# discover's reason for a file that is no table at all (a PDF, a picture): listed, but its
# absence does not make the audit incomplete. Every other reason does.
NOT_A_TABLE = "not a table format privguard reads"


def skipped_entry(
    name: str, reason: str, size: int | None, folders: tuple[Path, ...] = ()
) -> dict[str, Any]:
    """A file no table was read from: its name, size in bytes (None inside an archive that
    could not be opened), the reason, and whether it leaves the audit incomplete.

    The reason keeps its first line, with ``folders`` (the dump, the scratch folder) cut
    from the paths in it: a report must not change with where the dump sits.
    """
    shown = (reason.strip().splitlines() or [""])[0][:400]
    for folder in folders:
        for spelled in {str(folder), str(folder.resolve())}:
            shown = shown.replace(spelled + "/", "")
    return {"file": name, "bytes": size, "reason": shown, "unread": reason != NOT_A_TABLE}


def dump_size(dump: Path, name: str) -> int | None:
    """Bytes of a skipped file as it sits in the dump; None for a member of an archive."""
    path = dump if dump.is_file() else dump / name
    try:
        return path.stat().st_size if path.is_file() else None
    except OSError:
        return None


def totals(
    tables: list[dict[str, Any]], files: int, skipped: list[dict[str, Any]] | None = None
) -> dict[str, int]:
    """Sums over every table, plus what went into the audit and which files were not read."""
    out = {k: sum(int(t[k]) for t in tables) for k in TOTAL_KEYS}
    unread = [s for s in skipped or [] if s.get("unread", True)]
    out["files_unread"] = len(unread)
    out["bytes_unread"] = sum(int(s.get("bytes") or 0) for s in unread)
    out["files"] = files
    out["tables"] = len(tables)
    out["tables_ingested"] = sum(1 for t in tables if t["status"] == "ingested")
    out["rows_ingested"] = sum(int(t["rows_accepted"]) for t in tables if t["status"] == "ingested")
    out["rows_in_skipped_tables"] = sum(
        int(t["rows_read"]) for t in tables if t["status"] == "skipped"
    )
    return out


def write_rejects_csv(ex: Executor, parts: list[tuple[Staged, Path]], out: Path) -> None:
    """``file,table,row,reason,raw`` for every rejected record, by table then row."""
    if not parts:
        out.write_text("file,table,row,reason,raw\n", encoding="utf-8")
        return
    ex.execute(sql.rejects_csv([(s.file, s.table, p) for s, p in parts], out))


def write_report(result: IngestResult) -> None:
    """Write ``ingest_report.json``."""
    data = {
        # The folder's name, as in the manifest's parameters: a report must not change
        # with where the dump sits (the manifest's inputs say where, relative to a root).
        "dump": Path(result.dump).resolve().name,
        "tables": result.tables,
        "totals": result.totals,
        "skipped_files": result.skipped_files,
        "warnings": result.warnings,
    }
    result.report_path.write_text(json.dumps(data, indent=2, ensure_ascii=False), "utf-8")
