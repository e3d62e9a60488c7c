"""Mapping: synonyms, content sniffing, the mapping file, MappingError, and the CLI's answers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from privguard.errors import InputError, MappingError, SettingsError
from privguard.internals.audit.ingest.api import ingest
from privguard.internals.audit.ingest.mapping import map_table
from privguard.internals.audit.ingest.settings import load
from privguard.internals.audit.settings import parse_settings


def test_content_sniffing_without_useful_headers() -> None:
    cols = ["A", "B", "C", "D"]
    sample = [
        ["x1", "(312) 555-0101", "2013-04-01 10:00:00", "https://rec.example/1.wav"],
        ["x2", "3125550102", "2013-04-01 11:00:00", "https://rec.example/2.wav"],
    ]
    m = map_table(cols, sample, None)
    assert m.ok
    assert m.fields["dialed_number"] == (1,) and m.how["dialed_number"] == "content"
    assert m.fields["start"] == (2,) and m.fields["recording_ref"] == (3,)


def test_split_date_and_time_by_content() -> None:
    m = map_table(["num", "d", "t"], [["3125550101", "01/02/2013", "10:11 PM"]] * 3, None)
    assert m.fields["start"] == (1, 2)


def test_hints_from_headers_and_content() -> None:
    m = map_table(
        ["Phone", "Start_UTC", "Call Length"], [["3125550101", "2013-01-01 10:00", "0:01:05"]], None
    )
    assert m.tz_hint == "UTC" and m.duration_unit == "hms"
    m = map_table(
        ["Phone", "Start", "Billed Minutes"], [["3125550101", "2013-01-01 1:00", "3"]], None
    )
    assert m.tz_hint is None and m.duration_unit == "minutes"


def _dump(tmp_path: Path) -> Path:
    dump = tmp_path / "dump"
    (dump / "site_07").mkdir(parents=True)
    (dump / "site_07" / "calls.csv").write_text(
        "KEY,WHO,WHEN_D,WHEN_T,LEN\nA1,5551230001,2013-01-02,10:00:00,3\nA2,5551230002,2013-01-03,"
        "11:00:00,4\n"
    )
    (dump / "roster.csv").write_text("inmate,age\nJohn,33\nAnn,41\n")
    (dump / "rates.csv").write_text("zone,cents\nlocal,5\n")
    return dump


def test_unmappable_tables_reported_all_at_once(tmp_path: Path) -> None:
    dump = _dump(tmp_path)
    (dump / "site_07" / "calls.csv").unlink()
    with pytest.raises(MappingError) as info:
        ingest(dump, tmp_path / "work")
    err = info.value
    text = err.render()
    assert len(err.problems) == 2
    assert "roster.csv" in text and "rates.csv" in text
    assert "inmate, age" in text and "John, 33" in text  # what was found: headers and a sample
    assert 'files = "roster.csv"' in text and "skip = true" in text  # the fix, as TOML
    assert err.exit_code == 2


def test_mapping_file_overrides_and_skips(tmp_path: Path) -> None:
    dump = _dump(tmp_path)
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        """
[[mapping]]
files = "site_07/*.csv"
columns = { dialed_number = "WHO", start = ["WHEN_D", "WHEN_T"], duration = "LEN" }
timezone = "America/Chicago"
duration_unit = "minutes"

[[mapping]]
files = "r*.csv"
skip = true
"""
    )
    result = ingest(dump, tmp_path / "work", mapping_file=mapping)
    by_file = {t["file"]: t for t in result.tables}
    calls = by_file["site_07/calls.csv"]
    assert calls["mapping"]["start"] == ["WHEN_D", "WHEN_T"]
    assert calls["hints"] == {"tz_hint": "America/Chicago", "duration_unit": "minutes"}
    assert calls["how"]["dialed_number"] == "mapping"
    assert by_file["roster.csv"]["status"] == "skipped" == by_file["rates.csv"]["status"]
    assert result.totals["rows_in_skipped_tables"] == 3
    rows = (
        duckdb.connect()
        .execute(
            f"SELECT start, tz_hint, duration_unit, extras FROM read_parquet('{tmp_path}/work/ingested/*.parquet') ORDER BY src_row"
        )
        .fetchall()
    )
    assert rows[0] == ("2013-01-02 10:00:00", "America/Chicago", "minutes", '{"KEY":"A1"}')


def test_output_contract_columns_and_types(tmp_path: Path) -> None:
    import privguard
    from privguard.internals.audit.schema import INGESTED_COLUMNS

    dump = _dump(tmp_path)
    mapping = tmp_path / "m.toml"
    mapping.write_text('[[mapping]]\nfiles = "r*.csv"\nskip = true\n')
    privguard.ingest(dump, tmp_path / "work", mapping_file=mapping)  # the lazy public name
    described = (
        duckdb.connect()
        .execute(f"DESCRIBE SELECT * FROM read_parquet('{tmp_path}/work/ingested/*.parquet')")
        .fetchall()
    )
    assert tuple(r[0] for r in described) == INGESTED_COLUMNS
    types = {r[0]: r[1] for r in described}
    assert types["table_id"] == "INTEGER" and types["src_row"] == "BIGINT"
    assert all(types[c] == "VARCHAR" for c in INGESTED_COLUMNS if c not in ("table_id", "src_row"))


def test_mapping_file_problems_reported_together(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        """
[[mapping]]
columns = { phone = "X", start = ["a", "b", "c"] }
timezone = "Mars/Olympus"
duration_unit = "fortnights"
skip = "yes"
colour = "red"
"""
    )
    with pytest.raises(SettingsError) as info:
        load(bad)
    problems = " | ".join(info.value.problems)
    for needle in ("files is required", "'phone'", "only start may name two", "Mars/Olympus",
                   "duration_unit", "skip", "'colour'"):  # fmt: skip
        assert needle in problems
    assert len(info.value.problems) == 7


def test_case_file_mapping_section_is_validated() -> None:
    settings = parse_settings({"mapping": [{"files": "*.csv", "timezone": "UTC"}]})
    assert settings.mapping.rules[0].timezone == "UTC"
    with pytest.raises(SettingsError):
        parse_settings({"mapping": [{"files": 3}]})


def test_missing_dump_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        ingest(tmp_path / "nope", tmp_path / "work")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from privguard.cli import main; main()", *args],
        capture_output=True,
        text=True,
    )


def test_cli_missing_dump_exit_code_and_message(tmp_path: Path) -> None:
    proc = _cli("ingest", str(tmp_path / "nope"), "--out", str(tmp_path / "work"))
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith(
        f"Error: {tmp_path / 'nope'}: the dump folder does not exist"
    )
    assert "Fix: give the folder that holds the leaked or produced tables" in proc.stderr


def test_cli_unmappable_exit_code_and_message(tmp_path: Path) -> None:
    dump = _dump(tmp_path)
    proc = _cli("ingest", str(dump), "--out", str(tmp_path / "work"))
    assert proc.returncode == 2
    assert "2 table(s) cannot be mapped onto the call schema" in proc.stderr
    assert "[[mapping]]" in proc.stderr and 'files = "roster.csv"' in proc.stderr
    assert "site_07/calls.csv" not in proc.stderr  # mapped from its content


def test_cli_prints_reconciliation(tmp_path: Path) -> None:
    dump = _dump(tmp_path)
    (dump / "roster.csv").unlink()
    (dump / "rates.csv").unlink()
    (dump / "site_07" / "calls.csv").write_text(
        "Phone,Start\n5551230001,2013-01-02 10:00\nbroken\n5551230002,2013-01-03 11:00\n"
    )
    proc = _cli("ingest", str(dump), "--out", str(tmp_path / "work"))
    assert proc.returncode == 0, proc.stderr
    assert "site_07/calls.csv" in proc.stdout and "TOTAL" in proc.stdout
    assert "2 rows from 1 call tables ingested" in proc.stdout
    assert "1 rejected rows" in proc.stdout


def test_the_fix_an_unmappable_audit_suggests_works(tmp_path: Path) -> None:
    """audit has no --mapping: its error says --config, and that file is accepted."""
    dump = _dump(tmp_path)
    proc = _cli("audit", str(dump), "--out", str(tmp_path / "out"))
    assert (
        proc.returncode == 2 and "run again with --config FILE ('privguard audit')" in proc.stderr
    )
    case = tmp_path / "case.toml"
    case.write_text(
        '[[mapping]]\nfiles = "rates.csv"\nskip = true\n\n'
        '[[mapping]]\nfiles = "roster.csv"\nskip = true\n'
    )
    proc = _cli("audit", str(dump), "--config", str(case), "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr


def test_audit_names_a_folder_given_as_a_file_and_every_missing_input(tmp_path: Path) -> None:
    dump = _dump(tmp_path)
    folder = tmp_path / "directory"
    folder.mkdir()
    proc = _cli(
        "audit", str(dump), "--directory", str(folder), "--registry", str(tmp_path / "none.csv"),
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert f"the directory file {folder} is a folder: give the file inside it" in proc.stderr
    assert f"the registry file {tmp_path / 'none.csv'} does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_empty_dump_folder_is_named_not_sent_back_to_ingest(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    proc = _cli("audit", str(tmp_path / "empty"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    assert "no table of calls was read from the dump" in proc.stderr
    assert "run 'privguard ingest'" not in proc.stderr


def test_an_audit_without_lists_says_it_can_only_find_candidates(tmp_path: Path) -> None:
    dump = _dump(tmp_path)
    (dump / "roster.csv").unlink()
    (dump / "rates.csv").unlink()
    proc = _cli("audit", str(dump), "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert "No bar directory (--directory) or do-not-record list (--registry)" in proc.stderr
    assert "only candidates from calling patterns" in proc.stderr


def test_warnings_read_as_sentences_not_logger_names(tmp_path: Path) -> None:
    dump = _dump(tmp_path)
    (dump / "roster.csv").unlink()
    (dump / "rates.csv").unlink()
    proc = _cli("audit", str(dump), "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    # Gathered at the end of the run (issue 13): a "Warnings (N):" block of sentences.
    block = proc.stdout.partition("\nWarnings (")[2]
    warnings = [line for line in block.splitlines() if line.startswith("  - ")]
    assert warnings and any("clock zone" in w for w in warnings), proc.stdout
    for out in (proc.stdout, proc.stderr):
        assert "privguard.internals" not in out and "WARNING" not in out
    verbose = _cli("-v", "audit", str(dump), "--out", str(tmp_path / "out2"))
    assert "Warning (privguard.internals." in verbose.stderr  # -v names the module
