"""Recording inferred from a facility's demonstrated practice (issue 11): shown, inferred and
unknown are kept apart, and a facility that honours its list gets no inference for it."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import duckdb
import pytest

from privguard.errors import Problems, SettingsError
from privguard.internals.audit.findings.api import findings
from privguard.internals.audit.findings.settings import Settings, parse
from privguard.internals.audit.findings.words import practice_words
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.report.texts import practice_lines
from privguard.internals.audit.settings import parse_settings
from test_findings import _covered, _setup
from test_identify_helpers import attorney_numbers, build


def _practice(pop, entries, *, honours: dict[str, bool], miss: float = 0.0, seed: int = 1):  # type: ignore[no-untyped-def]
    """Every completed call recorded, except listed numbers' at facilities that honour the
    list; ``miss`` of the others left unrecorded at random."""
    rng = random.Random(seed)
    for r in pop.rows:
        skip = honours[r["facility"]] and _covered(r, entries)
        r["recorded"] = bool(r["completed"]) and not skip and rng.random() >= miss


def _rows(out: Path) -> dict[int, dict[str, str]]:
    with AuditPaths(out).privileged_calls.open() as fh:
        return {int(r["call_id"]): r for r in csv.DictReader(fh)}


def _prepare(tmp: Path, *, honours: dict[str, bool], miss: float = 0.0):  # type: ignore[no-untyped-def]
    pop = build(seed=7)
    groups = attorney_numbers(pop)
    listed = set(groups["directory"]) | set(groups["registry"])
    # The entries _setup writes, so the fixture can decide recording before writing.
    _, _, entries = _setup(tmp / "probe", pop)
    _practice(pop, entries, honours=honours, miss=miss)
    ids = [i + 1 for i, r in enumerate(pop.rows) if r["dialed_number"] in listed][::4]
    for i in ids:  # these calls appear only in a table with no recorded flag
        pop.rows[i - 1]["recorded"] = None
    out, work, entries = _setup(tmp / "run", pop)
    # Every call sits in calls.csv, a table with a recorded-flag column: the practice sample.
    table = {"file": "calls.csv", "table": "calls", "rows_read": len(pop.rows),
             "rows_rejected": 0, "mapping": {"recorded": "rec", "dialed_number": "to"}}  # fmt: skip
    (work / "ingest_report.json").write_text(json.dumps({"dump": "d", "tables": [table]}))
    return pop, entries, ids, out


def test_a_facility_that_records_everything_gets_its_unknown_calls_inferred(
    tmp_path: Path,
) -> None:
    pop, entries, ids, out = _prepare(tmp_path, honours={"JAIL_A": False, "JAIL_B": False})
    s = findings(out, settings=Settings(recording_practice_calls=10))
    rows = _rows(out)
    done = [i for i in ids if pop.rows[i - 1]["completed"]]
    assert done and len(done) < len(ids), "the fixture needs completed and other unknown calls"
    assert s["privileged_calls_recorded_inferred"] == len(done)
    assert s["privileged_calls_recording_unknown"] == len(ids) - len(done)
    assert s["privileged_calls_recorded"] == (
        s["privileged_calls_recorded_shown"] + s["privileged_calls_recorded_inferred"]
    )
    for i in done:  # labelled as inferred, never as shown
        assert rows[i]["recorded"] == "true" and rows[i]["recorded_from"] == "facility practice"
    for i in set(ids) - set(done):  # not completed: nothing to infer from
        assert rows[i]["recorded"] == "" and rows[i]["recorded_from"] == ""
    shown = [r for r in rows.values() if r["recorded"] == "true"]
    assert all(r["recorded_from"] in ("recorded flag", "facility practice") for r in shown)
    # This facility recorded listed numbers' calls too, so their violations are inferred.
    listed_done = [i for i in done if _covered(pop.rows[i - 1], entries)]
    assert listed_done, "the fixture needs an unknown completed call to a listed number"
    assert s["registry_violations_inferred"] == len(listed_done)
    h = s.headline
    assert f"{s['privileged_calls_recorded_shown']:,} were shown recorded in the records" in h
    assert f"{len(done):,} more were inferred recorded" in h
    assert (
        "recorded 100.0 % of the" in h and "completed calls whose recording the records state" in h
    )
    # The unknown that remain are still said to leave a floor; the inferred ones are not.
    assert f"For {len(ids) - len(done):,} more calls" in h and "a floor" in h
    # The report's method section names each facility's measured practice and the rule.
    lines = practice_lines(s.values)
    assert any(line.startswith("JAIL_A, calls to numbers not on the list") for line in lines)
    assert all("(rule: at least 99 % over at least 10 calls)" in line for line in lines)
    con = duckdb.connect()
    q = f"SELECT count(*) FROM '{AuditPaths(out).flags}' WHERE recorded_from = 'facility practice'"
    assert con.execute(q).fetchall() == [(len(done),)]
    con.close()


def test_a_facility_that_honours_its_list_gets_no_inference_for_listed_numbers(
    tmp_path: Path,
) -> None:
    pop, entries, ids, out = _prepare(tmp_path, honours={"JAIL_A": True, "JAIL_B": False})
    s = findings(out, settings=Settings(recording_practice_calls=10))
    practice = {(p["facility"], p["registered"]): p for p in s["recording_practice"]}
    honoured = practice[("JAIL_A", True)]
    assert honoured["stated"] >= 10 and not honoured["infer"], honoured
    assert practice[("JAIL_A", False)]["infer"] and practice[("JAIL_B", True)]["infer"]
    rows = _rows(out)
    for i in ids:
        r = pop.rows[i - 1]
        if r["completed"] and r["facility"] == "JAIL_A" and _covered(r, entries):
            assert rows[i]["recorded_from"] == "", "a listed number at JAIL_A was inferred"
    kept = [
        i
        for i in ids
        if pop.rows[i - 1]["completed"]
        and pop.rows[i - 1]["facility"] == "JAIL_A"
        and _covered(pop.rows[i - 1], entries)
    ]
    assert kept, "the fixture needs an unknown completed call to a listed number at JAIL_A"
    assert s["registered_calls_recording_unknown"] >= len(kept)
    assert "violations are a floor" in s.headline


def test_a_facility_below_the_threshold_gets_no_inference(tmp_path: Path) -> None:
    _, _, ids, out = _prepare(tmp_path, honours={"JAIL_A": False, "JAIL_B": False}, miss=0.05)
    s = findings(out)  # the defaults: 99 % over at least 100 stated calls
    open_ = [p for p in s["recording_practice"] if not p["registered"]]
    assert all(p["stated"] >= 100 and 0.9 < p["recorded"] / p["stated"] < 0.99 for p in open_)
    assert not any(p["infer"] for p in s["recording_practice"])
    assert s["privileged_calls_recorded_inferred"] == 0
    assert s["privileged_calls_recording_unknown"] == len(ids)
    assert "inferred recorded" not in s.headline and "a floor" in s.headline


def test_no_table_with_a_recorded_flag_gives_no_inference(tmp_path: Path) -> None:
    """A table whose reference column is empty on every row says nothing: no practice."""
    _, _, ids, out = _prepare(tmp_path, honours={"JAIL_A": False, "JAIL_B": False})
    report = AuditPaths(out).work / "ingest_report.json"
    data = json.loads(report.read_text())
    data["tables"][0]["mapping"] = {"recording_ref": "link"}
    report.write_text(json.dumps(data))
    s = findings(out, settings=Settings(recording_practice_calls=10))
    assert s["recording_practice"] == [] and s["privileged_calls_recorded_inferred"] == 0
    assert s["privileged_calls_recording_unknown"] == len(ids)


def _as_reference_log(out: Path, ids: list[int], *, recordings_only: bool = False) -> None:
    """calls.csv becomes a table of recording references with no flag (a link on each
    recorded call's row, none on the others), as an exporter that drops the flag writes it;
    the calls of ``ids`` (and, with ``recordings_only``, every call not recorded) move to
    billing.csv, a table that says nothing about recording. Dedupe's rule: a reference
    means recorded, no reference and no flag means unknown."""
    calls = AuditPaths(out).calls
    moved = f"call_id IN ({', '.join(map(str, ids))})"
    if recordings_only:
        moved += " OR NOT coalesce(recorded, false)"
    tmp = calls.with_suffix(".tmp.parquet")
    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT * REPLACE (
              CASE WHEN recorded THEN 'https://rec.example/' || call_id || '.wav' END
                  AS recording_ref,
              CASE WHEN recorded THEN true END AS recorded,
              CASE WHEN {moved} THEN [struct_pack(file := 'billing.csv', "table" := 'billing',
                                                  "row" := sources[1]."row")]
                   ELSE sources END AS sources)
            FROM '{calls}') TO '{tmp}' (FORMAT parquet)"""
    )
    con.close()
    tmp.replace(calls)
    report = AuditPaths(out).work / "ingest_report.json"
    data = json.loads(report.read_text())
    data["tables"][0]["mapping"] = {"recording_ref": "link", "dialed_number": "to"}
    data["tables"].append({"file": "billing.csv", "table": "billing", "rows_read": 0,
                           "rows_rejected": 0, "mapping": {"dialed_number": "to"}})  # fmt: skip
    report.write_text(json.dumps(data))


def test_a_log_of_calls_with_recording_references_shows_the_practice(tmp_path: Path) -> None:
    """A table with a reference on recorded calls' rows and none on the others (no flag
    column; the sparse layout family) states both ways, so it measures the practice: the
    facility's unknown completed calls elsewhere are inferred recorded (issue 11: all 55
    recorded privileged calls missed at 200 k, sparse, seed 3, were of this kind)."""
    pop, _, ids, out = _prepare(tmp_path, honours={"JAIL_A": False, "JAIL_B": False})
    _as_reference_log(out, ids)
    s = findings(out, settings=Settings(recording_practice_calls=10))
    done = [i for i in ids if pop.rows[i - 1]["completed"]]
    assert done, "the fixture needs unknown completed calls"
    practice = [p for p in s["recording_practice"] if not p["registered"]]
    assert practice and all(p["infer"] and p["recorded"] == p["stated"] for p in practice)
    assert s["privileged_calls_recorded_inferred"] == len(done)
    rows = _rows(out)
    assert all(rows[i]["recorded_from"] == "facility practice" for i in done)


def test_a_list_of_recordings_alone_shows_no_practice(tmp_path: Path) -> None:
    """A table that holds only recorded calls (a reference on every row) can only say
    "recorded": it is no sample of the practice, so nothing is inferred from it."""
    _, _, ids, out = _prepare(tmp_path, honours={"JAIL_A": False, "JAIL_B": False})
    _as_reference_log(out, ids, recordings_only=True)
    s = findings(out, settings=Settings(recording_practice_calls=10))
    assert s["recording_practice"] == [] and s["privileged_calls_recorded_inferred"] == 0
    # The moved calls, and every call not recorded (now in billing.csv too), stay unknown.
    assert s["privileged_calls_recording_unknown"] > len(ids)


def test_a_call_the_log_shows_unrecorded_is_never_inferred_recorded(tmp_path: Path) -> None:
    """The practice infers only where no table states the call's recording: a completed call
    in the log of calls without a reference stays unrecorded-or-unknown, never "inferred"."""
    pop, _, ids, out = _prepare(tmp_path, honours={"JAIL_A": False, "JAIL_B": False}, miss=0.004)
    _as_reference_log(out, ids)
    s = findings(out, settings=Settings(recording_practice_calls=10))
    rows = _rows(out)
    missed = [
        i
        for i, r in enumerate(pop.rows, 1)
        if r["completed"] and r["recorded"] is False and i in rows and i not in ids
    ]
    assert missed, "the fixture needs a completed call the log shows unrecorded"
    assert any(p["infer"] for p in s["recording_practice"]), s["recording_practice"]
    assert all(rows[i]["recorded_from"] != "facility practice" for i in missed)
    assert s["privileged_calls_recorded_inferred"] == sum(
        1 for i in ids if pop.rows[i - 1]["completed"]
    )


def test_too_few_stated_calls_or_inference_off_gives_no_inference(tmp_path: Path) -> None:
    _, _, ids, out = _prepare(tmp_path, honours={"JAIL_A": False, "JAIL_B": False})
    for settings in (Settings(recording_practice_calls=10**6), Settings(infer_recording=False)):
        s = findings(out, settings=settings)
        assert s["privileged_calls_recorded_inferred"] == 0
        assert s["privileged_calls_recording_unknown"] == len(ids)


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ({"recording_practice_share": 0.5}, "from 0.9 to 1"),
        ({"recording_practice_share": True}, "from 0.9 to 1"),
        ({"recording_practice_calls": 5}, "at least 10"),
        ({"infer_recording": "yes"}, "true or false"),
        ({"practice": 1}, "unknown key 'practice'"),
    ],
)
def test_bad_findings_settings_are_named(section: dict, words: str) -> None:
    problems = Problems()
    parse(section, problems)
    assert any(words in p for p in problems.items), problems.items
    with pytest.raises(SettingsError):
        parse_settings({"findings": section})


@pytest.mark.parametrize(("facilities", "tail"), [(4, "and 1 more facility likewise"),
                                                  (5, "and 2 more facilities likewise")])  # fmt: skip
def test_the_facilities_past_three_are_counted_in_good_english(facilities: int, tail: str) -> None:
    rows = [
        {"facility": f"F{i}", "registered": False, "stated": 100 + i, "recorded": 100 + i,
         "inferred_calls": 10 + i}
        for i in range(facilities)
    ]  # fmt: skip
    assert practice_words({"recording_practice": rows}, registered=False).endswith(tail)
