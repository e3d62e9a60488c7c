"""findings on small call tables: counts checked against a plain-Python recount."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from privguard.errors import InputError
from privguard.internals.audit.findings.api import findings, ingest_facts
from privguard.internals.audit.identify.api import identify
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.schema import SUMMARY_INT_KEYS
from test_identify_helpers import FACILITIES, Population, attorney_numbers, build, write_calls

REPORT = {"dump": "d", "tables": [{"rows_read": 7000, "rows_rejected": 12}], "totals": {}}


def _setup(tmp: Path, pop: Population) -> tuple[Path, Path, list[tuple[str, str, str, str]]]:
    out = tmp / "out"
    work = AuditPaths(out).work
    write_calls(pop, out)
    work.mkdir(parents=True)
    (work / "ingest_report.json").write_text(json.dumps(REPORT))
    groups = attorney_numbers(pop)
    reg = groups["registry"]
    # Facility-specific entries, a removal date, an open-ended one.
    entries = [
        (reg[0], "2013-02-01", "", ""),
        (reg[1], "2013-02-01", "2013-03-15", ""),
        (reg[2], "2013-01-01", "", "JAIL_A"),
        (reg[3], "2013-03-01", "", "JAIL_B"),
        (reg[3], "2013-01-20", "2013-02-10", "JAIL_A"),
        (reg[4], "2014-01-01", "", ""),
    ]
    lines = ["number,date added,date removed,facility"] + [",".join(e) for e in entries]
    (tmp / "dnr.csv").write_text("\n".join(lines) + "\n")
    bar = "name,phone\n" + "".join(f"Atty {i},{n}\n" for i, n in enumerate(groups["directory"]))
    (tmp / "bar.csv").write_text(bar)
    identify(out, directories=[tmp / "bar.csv"], registries=[tmp / "dnr.csv"])
    return out, work, entries


def _covered(row: dict, entries: list[tuple[str, str, str, str]]) -> bool:
    # Registrations apply by the facility's local calendar day.
    day = (row["start_utc"] + dt.timedelta(hours=FACILITIES[row["facility"]])).date()
    for number, start, end, fac in entries:
        if number != row["dialed_number"]:
            continue
        if day < dt.date.fromisoformat(start):
            continue
        if end and day >= dt.date.fromisoformat(end):
            continue
        if fac and fac != row["facility"]:
            continue
        return True
    return False


def test_counts_match_a_recount(tmp_path: Path) -> None:
    pop = build(seed=7)
    out, work, entries = _setup(tmp_path, pop)
    summary = findings(out)
    groups = attorney_numbers(pop)
    listed = set(groups["directory"]) | set(groups["registry"])
    priv = [r for r in pop.rows if r["dialed_number"] in listed]
    violations = [r for r in priv if r["recorded"] and _covered(r, entries)]
    assert violations, "the fixture must contain violations for this test to mean anything"
    assert summary["privileged_calls"] == len(priv)
    assert summary["completed_privileged_calls"] == sum(1 for r in priv if r["completed"])
    assert summary["privileged_calls_recorded"] == sum(1 for r in priv if r["recorded"])
    assert summary["registry_violations"] == len(violations)
    assert summary["calls"] == len(pop.rows)
    assert summary["unique_numbers"] == len(pop.kinds)
    assert summary["inmates"] == len({(r["facility"], r["inmate_account"]) for r in pop.rows})
    assert summary["attorney_numbers"] == len(listed)
    assert summary["rows_read"] == 7000 and summary["rows_rejected"] == 12
    assert summary["first_call"] == min(r["start_utc"] for r in pop.rows).isoformat()
    data = json.loads((AuditPaths(out).summary).read_text())
    for key in SUMMARY_INT_KEYS:
        assert isinstance(data[key], int), key
    assert f"{len(priv):,} calls" in data["headline"]


def test_breakdowns_add_up_and_calls_carry_provenance(tmp_path: Path) -> None:
    pop = build(seed=8)
    out, work, _ = _setup(tmp_path, pop)
    summary = findings(out)
    # One findings table, with the columns of exports/by_inmate.csv (the others exist
    # only in the exports, where no one is named).
    assert sorted(p.name for p in AuditPaths(out).findings.iterdir()) == ["by_inmate.csv"]
    with (AuditPaths(out).findings / "by_inmate.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [
        "facility", "inmate_account", "inmate_name", "calls", "completed", "recorded",
        "violations",
    ]  # fmt: skip
    for col, key in (("calls", "privileged_calls"), ("recorded", "privileged_calls_recorded"),
                     ("violations", "registry_violations")):  # fmt: skip
        assert sum(int(r[col]) for r in rows) == summary[key], key
    with (AuditPaths(out).privileged_calls).open() as fh:
        calls = list(csv.DictReader(fh))
    assert len(calls) == summary["privileged_calls"]
    by_id = {i + 1: r for i, r in enumerate(pop.rows)}
    for row in calls[:50]:
        assert row["sources"] == f"calls.csv:calls:{row['call_id']}"
        # Formula-safe like every CSV privguard writes: E.164 '+' gets an apostrophe.
        assert row["number"] == "'" + by_id[int(row["call_id"])]["dialed_number"]
        assert row["evidence"]
    flagged = [r for r in calls if r["registry_violation"] == "true"]
    assert len(flagged) == summary["registry_violations"]
    assert all(r["registry_entry"].startswith("dnr.csv row ") for r in flagged)


def test_candidates_are_not_privileged_until_confirmed(tmp_path: Path) -> None:
    pop = build(seed=9)
    out, work, _ = _setup(tmp_path, pop)
    summary = findings(out)
    unlisted = set(attorney_numbers(pop)["unlisted"])
    with (AuditPaths(out).privileged_calls).open() as fh:
        assert not unlisted & {r["number"].lstrip("'") for r in csv.DictReader(fh)}
    assert summary["candidate_numbers"] >= 1
    assert summary["candidate_calls"] > 0


def test_missing_ingest_report_is_an_input_error(tmp_path: Path) -> None:
    pop = build(seed=7)
    out, work, _ = _setup(tmp_path, pop)
    (work / "ingest_report.json").unlink()
    with pytest.raises(InputError) as err:
        findings(out)
    assert err.value.where == str(work / "ingest_report.json")


def test_findings_reads_the_ingest_report_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The totals, the flagged tables and the reference tables come from one read, through
    # one error path (it was read three times, and only the first read's errors handled).
    out, _, _ = _setup(tmp_path, build(seed=7))
    reads: list[str] = []
    read_text = Path.read_text

    def counted(self: Path, *args: Any, **kwargs: Any) -> str:
        if self.name == "ingest_report.json":
            reads.append(str(self))
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counted)
    summary = findings(out)
    assert len(reads) == 1, reads
    assert summary["rows_read"] == 7000 and summary["rows_rejected"] == 12


def test_ingest_facts_tell_flag_tables_from_reference_logs(tmp_path: Path) -> None:
    report = tmp_path / "ingest_report.json"
    tables = [
        {"file": "b.csv", "table": "b", "rows_read": 5, "mapping": {"recorded": "r", "recording_ref": "f"}},
        {"file": "a.csv", "table": "a", "rows_read": 3, "rows_rejected": 1, "mapping": {"recording_ref": "f"}},
        {"file": "b.csv", "table": "b2", "mapping": {"recorded": "r"}},
        {"file": "c.csv", "table": "c", "mapping": {"start": "s"}},
        {"file": "d.csv", "table": "d"},
        {"rows_read": 2, "mapping": {"recorded": "r"}},  # names no table: counted, not listed
    ]  # fmt: skip
    skipped = [
        {"file": "x.bin", "bytes": 10, "reason": "binary"},
        {"file": "y.csv", "reason": "a copy", "unread": False},
    ]
    report.write_text(json.dumps({"tables": tables, "skipped_files": skipped}))
    facts = ingest_facts(report)
    assert facts.totals == {
        "rows_read": 10,
        "rows_rejected": 1,
        "files_unread": 1,
        "bytes_unread": 10,
        "unread_files": [{"file": "x.bin", "bytes": 10, "reason": "binary"}],
    }
    assert facts.flagged.to_pylist() == [
        {"file": "b.csv", "tbl": "b"},
        {"file": "b.csv", "tbl": "b2"},
    ]
    assert facts.reflogs.to_pylist() == [{"file": "a.csv", "tbl": "a"}]


def test_a_damaged_ingest_report_names_the_file_and_the_fix(tmp_path: Path) -> None:
    out, work, _ = _setup(tmp_path, build(seed=7))
    report = work / "ingest_report.json"
    # Each of the three reads once had its own handling: a damaged mapping escaped as a
    # TypeError from the flagged tables' read.
    for text in (
        '{"tables": [',
        '{"tables": 5}',
        '{"tables": [{"file": "a.csv", "table": "a", "mapping": 5}]}',
        '{"tables": [{"file": "a.csv", "table": "a", "mapping": {"recording_ref": "f"}}, 7]}',
    ):
        report.write_text(text)
        with pytest.raises(InputError) as err:
            findings(out)
        assert err.value.where == str(report), text
        assert "the report is written by the ingest stage" in (err.value.fix or ""), text


def test_outputs_are_byte_identical_across_runs(tmp_path: Path) -> None:
    pop = build(seed=13)
    runs = []
    for name in ("a", "b"):
        out, work, _ = _setup(tmp_path / name, pop)
        findings(out)
        paths = AuditPaths(out)
        files = [paths.numbers, paths.registry, paths.review, paths.privileged_calls]
        files += [paths.summary, paths.clocks]
        files += [paths.findings / "by_inmate.csv"]
        runs.append({f.relative_to(out): f.read_bytes() for f in files})
    assert runs[0] == runs[1]


def test_calls_with_unknown_recording_are_counted_apart(tmp_path: Path) -> None:
    """A call no copy marks either way is neither recorded nor silently not recorded."""
    pop = build(seed=7)
    groups = attorney_numbers(pop)
    listed = set(groups["directory"]) | set(groups["registry"])
    unknown = [r for r in pop.rows if r["dialed_number"] in listed][::3]
    for r in unknown:
        r["recorded"] = None
    out, work, _ = _setup(tmp_path, pop)
    summary = findings(out)
    assert summary["privileged_calls_recording_unknown"] == len(unknown) > 0
    assert f"For {len(unknown):,} more calls" in summary["headline"]
    # Those calls may have been recorded: the headline must not read as a full count.
    assert "so the recorded figures" in summary["headline"]
    # Some of them were to numbers on the list at the time: the violations are a floor too.
    assert summary["registered_calls_recording_unknown"] > 0
    assert "violations are a floor." in summary["headline"]
    # This fixture records 90 % of calls at random: no facility's practice settles anything.
    assert summary["privileged_calls_recorded_inferred"] == 0
    assert "inferred recorded" not in summary["headline"]
