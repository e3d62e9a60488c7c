"""Issue 11, item 2: every table's mapping shown and explained (ingest_report.json, the
proposed mapping file, ``privguard ingest --show-mapping``), and what a missing field costs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from privguard.errors import InputError
from privguard.internals.audit.ingest.api import ingest
from privguard.internals.audit.ingest.explain import column_guess
from privguard.internals.audit.ingest.propose import propose_mapping
from privguard.internals.audit.ingest.settings import load


def _rows(n: int = 30) -> list[list[str]]:
    return [
        [
            f"512555{3000 + i:04d}",
            f"2013-01-{1 + i % 28:02d} 10:{i % 60:02d}:00",
            f"{i % 17}:{(7 * i) % 60:02d}",
            f"POD-{'ABC'[i % 3]}-{i % 4:02d}",
            f"{(i % 9) + 0.25:.2f}",
        ]
        for i in range(n)
    ]


@pytest.fixture
def dump(tmp_path: Path) -> Path:
    d = tmp_path / "dump"
    d.mkdir()
    head = "ph,when,t,station,charge\n"
    (d / "calls.csv").write_text(head + "".join(",".join(r) + "\n" for r in _rows()))
    # A second layout with no duration, no flag and no status: each gap is named.
    (d / "bare.csv").write_text(
        "dialed_number,start\n" + "".join(f"{r[0]},{r[1]}\n" for r in _rows())
    )
    return d


def test_the_ingest_report_explains_every_column_and_every_gap(dump: Path, tmp_path: Path) -> None:
    ingest(dump, tmp_path / "work")
    report = json.loads((tmp_path / "work" / "ingest_report.json").read_text())
    t = {e["file"]: e for e in report["tables"]}
    calls = t["calls.csv"]
    assert calls["roles"]["duration"] == {
        "column": "t",
        "how": "content",
        "confidence": "medium",
        "evidence": "the sampled values read as m:ss durations",
    }
    guesses = {u["column"]: u for u in calls["unmapped_columns"]}
    assert set(guesses) == {"station", "charge"}
    assert guesses["charge"]["looks_like"] == "money amounts"
    assert guesses["station"]["looks_like"] == "a code with 12 distinct values"
    assert "30 sampled values" in guesses["station"]["evidence"]
    assert [m["field"] for m in calls["missing"]] == ["recorded", "status"]
    bare = [m["field"] for m in t["bare.csv"]["missing"]]
    assert bare == ["duration", "recorded", "status"]
    assert "undercounted" in t["bare.csv"]["missing"][1]["consequence"]


@pytest.mark.parametrize(
    ("values", "looks", "could_be"),
    [
        (["5125553000", "(512) 555-3001"] * 10, "phone numbers", "dialed_number"),
        (["1", "0", "1"] * 7, "a yes/no flag", "recorded"),
        (["3:05", "42:40", "0:59"] * 7, "m:ss durations", "duration"),
        (["3:05", "12:40", "0:59"] * 7, "times of day or m:ss durations", None),
        ([f"https://rec.example/{i}.wav" for i in range(20)], "links or file paths of recordings", "recording_ref"),
        ([f"X{i:07d}" for i in range(20)], "an identifier", None),
        (["COMPLETED", "REFUSED"] * 10, "words from a short list (2 kinds)", None),
        ([], "empty in the sample", None),
    ],
)  # fmt: skip
def test_a_column_guess_names_its_shape_never_its_values(
    values: list[str], looks: str, could_be: str | None
) -> None:
    g = column_guess("zz", values)
    assert (g["looks_like"], g["could_be"]) == (looks, could_be)
    assert not any(v in g["evidence"] for v in values if len(v) > 2)


def test_the_proposed_mapping_file_reads_back_and_ingests_the_same(
    dump: Path, tmp_path: Path
) -> None:
    proposal = propose_mapping(dump)
    assert {t["file"] for t in proposal.tables} == {"calls.csv", "bare.csv"}
    path = proposal.write(tmp_path / "mapping.toml")
    text = path.read_text()
    assert "# PROBLEM" not in text and "no call durations" in text
    rules = load(path).rules
    assert len(rules) == 2
    by_file = {r.files: dict(r.columns) for r in rules}
    assert by_file["calls.csv"]["duration"] == ("t",)
    a = ingest(dump, tmp_path / "a")
    b = ingest(dump, tmp_path / "b", mapping_file=path)
    assert [t["mapping"] for t in a.tables] == [t["mapping"] for t in b.tables]
    assert [t["hints"] for t in a.tables] == [t["hints"] for t in b.tables]
    assert {r["how"] for t in b.tables for r in t["roles"].values()} == {"mapping"}
    with pytest.raises(InputError, match="already exists"):
        proposal.write(path)
    assert path.read_text() == text  # a person's corrections are never overwritten


def test_an_unmappable_table_is_proposed_with_its_problem(tmp_path: Path) -> None:
    d = tmp_path / "dump"
    d.mkdir()
    (d / "notes.csv").write_text("a,b\nhello,world\nfoo,bar\n")
    proposal = propose_mapping(d)
    assert proposal.unmappable and "no column for dialed_number" in proposal.toml()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    return subprocess.run(
        [sys.executable, "-c", "from privguard.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
    )


def test_show_mapping_prints_and_writes_the_proposal(dump: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.toml"
    run = _cli("ingest", str(dump), "--show-mapping", "--write-mapping", str(out))
    assert run.returncode == 0, run.stderr
    assert "duration" in run.stdout and "medium" in run.stdout
    assert "bare.csv: no call durations" in run.stdout
    assert load(out).rules
    assert not (tmp_path / "work").exists()  # nothing ingested


def test_show_mapping_bad_input_exit_codes_and_messages(dump: Path, tmp_path: Path) -> None:
    run = _cli("ingest", str(tmp_path / "nowhere"), "--show-mapping")
    assert run.returncode == 2 and "the dump folder does not exist" in run.stderr
    assert "Traceback" not in run.stderr
    taken = tmp_path / "taken.toml"
    taken.write_text("# mine\n")
    run = _cli("ingest", str(dump), "--show-mapping", "--write-mapping", str(taken))
    assert run.returncode == 2 and "already exists" in run.stderr and "Fix:" in run.stderr
    assert taken.read_text() == "# mine\n"
    run = _cli("ingest", str(dump), "--write-mapping", str(tmp_path / "x.toml"))
    assert run.returncode == 2 and "--write-mapping needs --show-mapping" in run.stderr
    run = _cli("ingest", str(dump))
    assert run.returncode == 2 and "--out is required" in run.stderr
    (dump / "notes.csv").write_text("a,b\nhello,world\n")
    run = _cli("ingest", str(dump), "--show-mapping")
    assert run.returncode == 2 and "1 table(s) cannot be mapped" in run.stdout


def test_the_report_warns_that_recorded_figures_are_a_floor() -> None:
    from types import SimpleNamespace
    from typing import Any, cast

    from privguard.internals.audit.report.reading import gap_warnings

    tables = [
        {"file": "a.csv", "status": "ingested", "rows_accepted": 10,
         "missing": [{"field": "recorded"}]},
        {"file": "b.csv", "status": "ingested", "rows_accepted": 5, "missing": []},
    ]  # fmt: skip
    m = SimpleNamespace(
        summary={"privileged_calls_recording_unknown": 28}, ingest={"tables": tables}
    )
    got = gap_warnings(cast(Any, m))
    assert got[0].startswith("For 28 calls to attorney numbers no record says whether")
    assert "a floor" in got[0]
    assert got[1].startswith("1 of 2 tables (10 rows) have no recorded flag")
    m.summary = {"privileged_calls_recording_unknown": 0}
    assert len(gap_warnings(cast(Any, m))) == 1


def test_a_stray_word_among_mss_values_is_not_parsed() -> None:
    # The corpus's minimal_package.xlsx: a sheet whose time column holds its own header
    # ('BKG_TM') among the values; the guess must not crash on it.
    from privguard.internals.audit.ingest.explain import column_guess

    assert column_guess("c", ["45:10"] * 30 + ["BKG_TM"])["could_be"] == "duration"
    assert column_guess("c", ["12:40"] * 30 + ["BKG_TM"])["could_be"] is None
