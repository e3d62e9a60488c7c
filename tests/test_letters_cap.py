"""Letters to recipients with more calls than a letter lists: the first ones are printed,
the letter states the total and how many more, and the CSV beside it has them all."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pypdfium2 as pdfium
import pytest

from privguard.internals.audit.engines import connect
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.report.case import Case, Sender
from privguard.internals.audit.report.letters import (
    LIST_CAP,
    Recipient,
    link_text,
    render_letter,
    write_letters,
)
from privguard.internals.audit.report.model import as_of
from privguard.internals.audit.report.parallel import start_letters
from privguard.internals.audit.report.sql import LETTER_COLUMNS
from privguard.internals.audit.sql import parquet_source
from test_report_fixture import run_report

AS_OF = dt.datetime(2014, 1, 1, tzinfo=dt.UTC)
CASE = Case(
    name="State v. Doe", reference="PD-2026-0142", analyst="Dana Analyst",
    date=dt.date(2026, 12, 3),
    sender=Sender(name="Dana Analyst", organisation="Travis County Public Defender",
                  address="509 W 11th St\nAustin, TX 78701", email="audit@example.org"),
    facilities={"FAC_A": "North Unit Jail", "TX01": "Travis County Jail"},
)  # fmt: skip


def _text(path: Path) -> str:
    doc = pdfium.PdfDocument(str(path))
    return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))


def _call(i: int) -> dict:
    start = dt.datetime(2013, 1, 1) + dt.timedelta(hours=7 * i)
    return {
        "call_id": 1000 + i, "number": "+15125550199", "attorney_name": "Busy Defender Office",
        "facility": ("TX01", "TX02", "TX03")[i % 3], "inmate_name": None,
        "inmate_account": f"p_{i % 17:012x}", "start_utc": start.isoformat(sep=" "),
        "local_zone": "America/Chicago", "duration_s": 60 + i, "completed": i % 4 != 0,
        "registered_then": i % 5 == 0, "recording_ref": f"REF-{i:05d}",
    }  # fmt: skip


def test_letter_over_the_cap_lists_the_first_calls_and_says_how_many_more(
    tmp_path: Path,
) -> None:
    total = LIST_CAP + 57
    calls = [_call(i) for i in range(total)]
    rec = Recipient("Busy Defender Office", ["+15125550199"], calls)
    path = tmp_path / "busy-defender-office.pdf"
    render_letter(rec, path, as_of=AS_OF, pseudonymized=True)
    text = _text(path)
    squeezed = "".join(text.split())
    assert f"{total:,}recordedcalls" in squeezed
    assert "from3facilities(TX01,TX02,TX03)" in squeezed
    assert "17differentpeopleincustody" in squeezed
    assert f"{sum(1 for c in calls if c['completed']):,}ofthemwerecompleted" in squeezed
    assert f"{sum(1 for c in calls if c['registered_then']):,}ofthemweremadewhile" in squeezed
    assert f"Thefirst{LIST_CAP:,}of{total:,}" in squeezed
    assert f"and{total - LIST_CAP:,}more;thecompletelistofall{total:,}calls" in squeezed
    assert "busy-defender-office.csv" in text
    listed = [c["recording_ref"] for c in calls if c["recording_ref"] in squeezed]
    assert listed == [c["recording_ref"] for c in calls[:LIST_CAP]]
    first, last = calls[0]["start_utc"][:10], calls[-1]["start_utc"][:10]
    assert f"between{first}and{last}" in squeezed  # over all calls, not the listed ones


@pytest.fixture(scope="module")
def audit(tmp_path_factory) -> dict[str, Path]:
    paths, _ = run_report(tmp_path_factory.mktemp("letters-cap"))
    return paths


def test_worker_letters_over_a_small_cap_equal_serial_ones_and_csvs_hold_every_call(
    audit: dict[str, Path], tmp_path: Path
) -> None:
    """With a cap of 2 most fixture recipients are over it: the worker letters (summaries
    from SQL) equal the serial ones (summaries in Python), and each CSV has all the calls."""
    out = audit["out"]
    exported = AuditPaths(out).exports / "privileged_calls.parquet"
    summary = json.loads((AuditPaths(out).summary).read_text())
    when = as_of(summary)
    ex = connect()
    try:
        ex.execute(f"CREATE TEMP TABLE pg_export_calls AS SELECT * FROM {parquet_source(exported)}")
        numbers = AuditPaths(out).numbers
        ex.execute(f"CREATE TEMP VIEW pg_numbers AS SELECT * FROM {parquet_source(numbers)}")
        job = start_letters(
            ex, tmp_path / "workers", tmp_path / "scratch", as_of=when, pseudonymized=True, cap=2,
            case=CASE,
        )  # fmt: skip
        parallel = job.wait()
    finally:
        ex.close()
    calls = pq.read_table(exported).filter(pc.field("recorded"))
    serial = write_letters(
        calls.select(list(LETTER_COLUMNS)).sort_by("call_id").to_pylist(),
        tmp_path / "serial",
        as_of=when,
        pseudonymized=True,
        cap=2,
        case=CASE,
        links={
            n["number"]: link_text(n["classification"], n["evidence"], n["evidence_file"])
            for n in pq.read_table(numbers).to_pylist()
        },
    )
    assert [p.name for p in serial] == [p.name for p in parallel]
    for a, b in zip(serial, parallel, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    rows = calls.to_pylist()
    over = 0
    for pdf in parallel:
        with open(pdf.with_suffix(".csv"), encoding="utf-8", newline="") as fh:
            got = list(csv.DictReader(fh))
        ids = {int(r["call_id"]) for r in got}
        mine = [r for r in rows if r["call_id"] in ids]
        names = {r["attorney_name"] or f"Attorney or office at {r['number']}" for r in mine}
        assert len(mine) == len(got) and len(names) == 1
        recount = [
            r
            for r in rows
            if (r["attorney_name"] or f"Attorney or office at {r['number']}") in names
        ]
        assert len(recount) == len(got)
        text = "".join(_text(pdf).split())
        if len(got) > 2:
            over += 1
            assert f"and{len(got) - 2:,}more" in text and f"{pdf.stem}.csv" in text
            order = sorted(recount, key=lambda r: (r["start_utc"], r["call_id"]))
            assert [int(r["call_id"]) for r in got] == [r["call_id"] for r in order]
    assert over >= 2


def test_letter_carries_the_case_files_sender_date_reference_links_and_examples(
    tmp_path: Path,
) -> None:
    calls = [_call(i) for i in range(6)]
    link = "in directory bar_directory.csv row 22: Busy Defender Office (bar #123)"
    rec = Recipient("Busy Defender Office", ["+15125550199"], calls,
                    links=[("+15125550199", link)])  # fmt: skip
    path = tmp_path / "busy.pdf"
    render_letter(rec, path, as_of=AS_OF, pseudonymized=True, case=CASE)
    text = _text(path)
    flat = " ".join(text.split())
    assert "DRAFT" not in text
    for want in (
        "Date: 3 December 2026",
        "Our reference: PD-2026-0142",
        "Case: State v. Doe",
        "Travis County Public Defender",
        "Austin, TX 78701",
        "audit@example.org",
        "Sincerely,",
        "Travis County Jail (TX01)",
        link,
        "Travis County Public Defender (contact: audit@example.org) holds the key",
    ):
        assert want in flat, want  # fmt: skip
    # A specific call to cite: the earliest, and the earliest made while registered.
    assert (
        "For example: the call of 2012-12-31 18:00 CST (2013-01-01 00:00 UTC) from "
        "Travis County Jail (TX01) to +15125550199, 1 min 00 s, marked as recorded, recording "
        "reference REF-00000, while your number was on the do-not-record list." in flat
    )
    assert "Austin Lawyers Guild" in flat and "LD 1603" in flat
    meta = pdfium.PdfDocument(str(path)).get_metadata_dict()
    assert meta["CreationDate"].startswith("D:20261203"), meta
    assert meta["Author"] == "Travis County Public Defender"
    assert meta["Subject"] == "PD-2026-0142"


def test_letter_without_a_case_file_says_it_is_a_draft_and_names_an_unnamed_holder(
    tmp_path: Path,
) -> None:
    from privguard.internals.audit.report.letters import recipient_name

    name = recipient_name(None, "+17023653370")
    rec = Recipient(name, ["+17023653370"], [_call(1) | {"number": "+17023653370"}])
    path = tmp_path / "x.pdf"
    render_letter(rec, path, as_of=AS_OF, pseudonymized=True)
    flat = " ".join(_text(path).split())
    assert "To: Attorney or office at +17023653370" in flat
    assert "DRAFT: the case file gives no date, sender, contact (email or phone)" in flat
    assert "Holder of" not in flat


def test_an_example_call_without_a_local_clock_is_cited_in_utc() -> None:
    from privguard.internals.audit.report.letters import example_calls

    call = _call(0) | {"local_zone": None, "registered_then": False, "recording_ref": None}
    assert example_calls([call], CASE) == [
        "the call of 2013-01-01 00:00 UTC from Travis County Jail (TX01) to +15125550199, "
        "1 min 00 s, marked as recorded"
    ]


def test_a_letter_keeps_inferred_calls_apart_from_the_ones_the_records_show(
    tmp_path: Path,
) -> None:
    """A call counted as recorded from its facility's practice is never said to be marked
    recorded: the letter says how many were shown and marks the inferred ones."""
    inferred = {1, 4}
    calls = [
        _call(i)
        | {"recorded_from": "recorded flag", "registered_then": False}
        | ({"recorded_from": "facility practice", "recording_ref": None} if i in inferred else {})
        for i in range(6)
    ]
    rec = Recipient("Busy Defender Office", ["+15125550199"], calls)
    path = tmp_path / "busy.pdf"
    render_letter(rec, path, as_of=AS_OF, pseudonymized=True)
    flat = " ".join(_text(path).split())
    assert "This audit counts 6 recorded calls" in flat
    assert "The records show 4 of them recorded. For the other 2, no record says" in flat
    assert flat.count("inferred") >= 1 + len(inferred)  # the sentence and each listed call
    assert "The records show 6" not in flat
    from privguard.internals.audit.report.letters import example_calls

    (example,) = example_calls([calls[1]], CASE)
    assert example.endswith("inferred recorded from the facility's practice")
    (example,) = example_calls([calls[0]], CASE)
    assert "marked as recorded" in example
