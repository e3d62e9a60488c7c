"""Count the privileged calls, the recorded ones and the registry violations.

:func:`findings` reads ``calls.parquet``, ``numbers.parquet``, ``registry.parquet`` and
``work/ingest_report.json`` and ``work/normalize_report.json`` (all in ``OUT/restricted``;
the normalize report may be absent) and writes
``restricted/privileged_calls.csv``, ``restricted/findings/by_inmate.csv`` and
``OUT/shareable/summary.json`` (names from ``paths.AuditPaths``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from privguard.errors import InputError
from privguard.internals.audit.csvout import write_safe_csv
from privguard.internals.audit.engines import Executor, session
from privguard.internals.audit.findings import sql as S
from privguard.internals.audit.findings.estimate import estimate_hidden
from privguard.internals.audit.findings.settings import Settings
from privguard.internals.audit.findings.words import headline
from privguard.internals.audit.identify.sql import NEEDS, missing_features_sql
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.schema import SUMMARY_INT_KEYS
from privguard.internals.audit.sql import (
    BY_INMATE_ORDER,
    by_inmate_sql,
    drop_table_sql,
    parquet_source,
    view_sql,
)

log = logging.getLogger(__name__)


@dataclass
class Summary:
    """The audit's headline figures, as written to ``summary.json``."""

    path: Path
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def headline(self) -> str:
        return str(self.values.get("headline", ""))

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


@dataclass(frozen=True)
class IngestFacts:
    """What findings takes from ``ingest_report.json``.

    ``totals``: rows read and rejected (summed over the tables) and the files that could
    not be read (``files_unread``, ``bytes_unread``, ``unread_files``). ``flagged``: (file,
    tbl) of every table whose mapping has a recorded-flag column. ``reflogs``: (file, tbl)
    of every table whose mapping has a recording reference and no recorded flag: a log of
    calls or a list of recordings (``sql.create_stated`` tells)."""

    totals: dict[str, Any]
    flagged: pa.Table
    reflogs: pa.Table


def ingest_facts(report: Path) -> IngestFacts:
    """What findings takes from ``ingest_report.json``, read once, through one error path."""
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
        tables = data.get("tables", [])
        unread = [
            {"file": str(f["file"]), "bytes": f.get("bytes"), "reason": str(f["reason"])}
            for f in data.get("skipped_files", [])
            if f.get("unread", True)
        ]
        totals = {
            "rows_read": sum(int(t.get("rows_read", 0)) for t in tables),
            "rows_rejected": sum(int(t.get("rows_rejected", 0)) for t in tables),
            "files_unread": len(unread),
            "bytes_unread": sum(int(f["bytes"] or 0) for f in unread),
            "unread_files": unread,
        }
        mapped = [
            (str(t["file"]), str(t["table"]), t.get("mapping") or {})
            for t in tables
            if "file" in t and "table" in t
        ]
        flagged = sorted({(f, tbl) for f, tbl, m in mapped if "recorded" in m})
        reflogs = sorted(
            {(f, tbl) for f, tbl, m in mapped if "recording_ref" in m and "recorded" not in m}
        )
    except (ValueError, AttributeError, TypeError, KeyError) as exc:
        raise InputError(
            f"the ingest report cannot be read: {exc}",
            where=str(report),
            fix="run 'privguard audit' again; the report is written by the ingest stage",
        ) from None
    return IngestFacts(
        totals, _pairs_table(("file", "tbl"), flagged), _pairs_table(("file", "tbl"), reflogs)
    )


def normalize_facts(report: Path) -> tuple[int, pa.Table]:
    """What findings takes from ``normalize_report.json``, read once: the rows normalize set
    aside as not calls (0 in a report made before they were counted) and (label,
    canonical) for every facility label it resolved to a code. ``(0, no aliases)`` when
    there is no report."""
    set_aside = 0
    pairs: list[tuple[str, str]] = []
    if report.is_file():
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
            set_aside = int(data.get("totals", {}).get("rows_set_aside", 0))
            groups = (data.get("facilities") or {}).get("groups") or []
            pairs = sorted({(str(m), str(g["facility"])) for g in groups for m in g["labels"]})
        except (ValueError, AttributeError, TypeError, KeyError) as exc:
            raise InputError(
                f"the normalize report cannot be read: {exc}",
                where=str(report),
                fix="run 'privguard audit' again; the report is written by the normalize stage",
            ) from None
    return set_aside, _pairs_table(("label", "canonical"), pairs)


def _pairs_table(names: tuple[str, str], pairs: list[tuple[str, str]]) -> pa.Table:
    """A two-column text table of ``pairs``, named ``names``."""
    return pa.table(
        {name: pa.array([p[i] for p in pairs], pa.string()) for i, name in enumerate(names)}
    )


def findings(
    out: Path, *, settings: Settings | None = None, executor: Executor | None = None
) -> Summary:
    """Find the privileged calls and write the findings and ``summary.json``.

    A call is privileged when it went to an attorney number: one classified
    ``registered``, ``directory_attorney`` or ``confirmed`` by identify. Candidates are
    counted apart (``candidate_numbers``, ``candidate_calls``) until a person confirms them.
    A registry violation is a recorded call to a number that was on a do-not-record
    registry on the call's date (the facility's local date, from the clocks identify wrote
    to ``OUT/facility_clocks.parquet``; UTC when that file is absent), for all facilities
    or for the call's facility, and not yet removed. A registry's facility is read as the
    calls' labels were: letters and digits ("tx-07" is TX07), and a name normalize resolved
    to a code (``normalize_report.json``'s facility groups) is that code.

    Recording is shown (a recording reference or a recorded flag) or, where no record states
    it, inferred from the facility's demonstrated practice (``settings``, the ``[findings]``
    section: a completed call counts as recorded when its facility recorded at least
    ``recording_practice_share`` of the completed calls of its kind, to a number on the list
    at the time or not, whose recording a flag or a log of calls with recording references
    states: ``sql.create_stated``). Each privileged call says which in
    ``recorded_from``; the summary counts ``..._shown``, ``..._inferred`` and the rest as
    ``privileged_calls_recording_unknown``, and ``recording_practice`` gives each facility's
    measured share. ``registry_violations_hidden_estimate`` estimates, apart from every
    count, how many of the completed calls to listed numbers of unknown recording were
    recorded too, at the rate the same facility's stated calls to listed numbers were
    (:func:`estimate.estimate_hidden`: the estimate, its 95 % interval and the method).

    Writes ``OUT/privileged_calls.csv`` (each call with its source rows as
    ``file:table:row``, the number, its class and evidence, whether it was recorded and
    whether a registration covered it), ``OUT/findings/by_inmate.csv`` (the shareable
    ``exports/by_inmate.csv`` with people in clear: same columns; the tables that name no
    one exist only in ``exports/``) and
    ``OUT/summary.json`` (every key of ``schema.SUMMARY_INT_KEYS``, ``first_call``,
    ``last_call``, ``completed_privileged_calls``, ``numbers_by_class``,
    ``invalid_number_reasons`` and ``headline``). Calls to numbers that failed validation
    count in ``calls`` and, apart, in ``calls_to_invalid_numbers`` with their calls per
    reason in ``invalid_number_reasons`` (the reasons of ``common.phones.REASONS``); they
    have no ``dialed_number``, so they never count as attorney numbers or privileged calls.

    Raises:
        InputError: an input of the stage is missing or unreadable.

    Example::

        >>> findings(Path("out")).headline  # doctest: +SKIP
    """
    paths = AuditPaths(out)
    for name in ("calls", "numbers", "registry"):
        paths.require(name)  # each missing one is named before any work starts
    ingested = ingest_facts(paths.require("ingest_report"))
    set_aside, aliases = normalize_facts(paths.normalize_report)
    with session(executor) as ex:
        ex.register_arrow("f_fac_alias", aliases)
        ex.register_arrow("f_reflogs", ingested.reflogs)
        values = (
            dict(ingested.totals)
            | {"rows_set_aside": set_aside}
            | _write_findings(ex, paths, settings or Settings(), ingested.flagged)
        )
    assert all(k in values for k in SUMMARY_INT_KEYS), "summary misses a contract key"
    values["headline"] = headline(values)
    path = paths.summary
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    log.info("findings: %s", values["headline"])
    return Summary(path=path, values=values)


def _write_findings(
    ex: Executor, paths: AuditPaths, settings: Settings, flagged: pa.Table
) -> dict[str, Any]:
    """Write the privileged calls, the flags and the breakdowns; the summary's figures."""
    for name, path in (("f_calls", paths.calls), ("f_numbers", paths.numbers)):
        ex.execute(view_sql(name, parquet_source(path)))
    ex.execute(S.registry_view_sql(parquet_source(paths.registry)))
    clocks = paths.clocks
    ex.execute(S.clocks_view_sql(clocks if clocks.is_file() else None))
    ex.register_arrow("f_flagged", flagged)
    ex.execute(S.create_stated())
    ex.execute(
        S.create_practice(
            settings.recording_practice_share,
            settings.recording_practice_calls,
            enabled=settings.infer_recording,
        )
    )
    ex.execute(S.create_privileged())
    write_safe_csv(
        ex, S.privileged_csv_query(), paths.privileged_calls, order_by=S.PRIVILEGED_ORDER
    )
    # The report counts from these flags: one definition of "registered at the call".
    ex.copy_to_parquet(S.registry_flags_query(), paths.flags)
    paths.findings.mkdir(parents=True, exist_ok=True)
    write_safe_csv(
        ex, by_inmate_sql("f_priv"), paths.findings / "by_inmate.csv", order_by=BY_INMATE_ORDER
    )
    row = dict(zip(S.SUMMARY_FIELDS, ex.fetchall(S.summary_query())[0], strict=True))
    classes = dict(ex.fetchall(S.classes_query()))
    reasons = ex.fetchall(S.invalid_reasons_query())
    gone = ex.fetchall(missing_features_sql("f_numbers"))[0]
    undated = ex.fetchall(S.undated_registry_query())[0][0]
    practice = ex.fetchall(S.practice_query())
    hidden_rows = ex.fetchall(S.hidden_violations_query())
    ex.execute(drop_table_sql("f_priv"))
    ex.execute(drop_table_sql("f_practice"))
    ex.execute(drop_table_sql("f_stated"))
    values: dict[str, Any] = {}
    for key, value in row.items():
        if key in ("first_call", "last_call"):
            values[key] = value.isoformat() if value is not None else None
        else:
            values[key] = int(value or 0)
    values["numbers_by_class"] = {str(k): int(v) for k, v in classes.items()}
    # Counted as calls only: an invalid number has no dialed_number, so no class, no attorney.
    values["invalid_number_reasons"] = {str(k): int(v) for k, v in reasons}
    # The candidate score's sub-scores the dump had no evidence for (identify left them out).
    values["candidate_features_missing"] = [n for n, g in zip(NEEDS, gone, strict=True) if g]
    # Entries of the do-not-record list with no date added count as listed from the start.
    values["registry_entries_undated"] = int(undated or 0)
    # Each facility's measured recording practice, per kind of call (the rule's evidence).
    values["recording_practice"] = [
        {
            "facility": str(fac),
            "registered": bool(reg),
            "stated": int(stated),
            "recorded": int(rec),
            "infer": bool(infer),
            "inferred_calls": int(n),
        }
        for fac, reg, stated, rec, infer, n in practice
    ]
    # An estimate, kept apart from every count: the violations the unknown calls probably hide.
    values["registry_violations_hidden_estimate"] = estimate_hidden(
        values["recording_practice"],
        {str(fac): int(blind) for fac, blind, _, _ in hidden_rows},
        settings.recording_practice_calls,
        in_reference_tables=sum(int(refs) for _, _, refs, _ in hidden_rows),
        completion_unknown=sum(int(n) for *_, n in hidden_rows),
    )
    values["recording_practice_rule"] = {
        "enabled": settings.infer_recording,
        "share": settings.recording_practice_share,
        "min_calls": settings.recording_practice_calls,
    }
    return values
