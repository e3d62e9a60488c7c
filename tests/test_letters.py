"""The report PDF and the notification letters: rendered to images, text extracted."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pypdfium2 as pdfium
import pytest

from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.report import privacy
from privguard.internals.audit.report.letters import LIST_CAP, duration, local_time, slug
from privguard.internals.audit.schema import ATTORNEY_CLASSES
from test_report_fixture import run_report


def _pdf_text(path: Path, tmp_path: Path) -> str:
    doc = pdfium.PdfDocument(str(path))
    texts = []
    for i in range(len(doc)):
        page = doc[i]
        image = page.render(scale=0.6).to_pil()
        assert image.width > 100 and image.getextrema() != ((255, 255),) * 3
        if i == 0:
            image.save(tmp_path / f"{path.stem}-p1.png")
        texts.append(page.get_textpage().get_text_range())
    return "\n".join(texts)


@pytest.fixture(scope="module")
def audit(tmp_path_factory) -> dict[str, Path]:
    paths, _ = run_report(tmp_path_factory.mktemp("letters"))
    return paths


def _recorded_by_attorney(out: Path) -> dict[str, list[dict]]:
    """Independent recount with pyarrow: recorded calls to attorney numbers per name."""
    numbers = pq.read_table(AuditPaths(out).numbers).to_pylist()
    names = {
        n["number"]: n["attorney_name"] for n in numbers if n["classification"] in ATTORNEY_CLASSES
    }
    calls = pq.read_table(AuditPaths(out).calls)
    calls = calls.filter(pc.field("recorded")).to_pylist()
    grouped: dict[str, list[dict]] = {}
    for c in calls:
        if c["dialed_number"] in names:
            grouped.setdefault(names[c["dialed_number"]], []).append(c)
    return grouped


def test_report_pdf_text_matches_summary(audit, tmp_path: Path) -> None:
    text = _pdf_text(AuditPaths(audit["out"]).report_pdf, tmp_path)
    summary = json.loads((AuditPaths(audit["out"]).summary).read_text())
    assert "Recorded attorney-client calls" in text
    assert summary["headline"] in text
    for key in ("privileged_calls_recorded", "registry_violations", "privileged_calls", "calls"):
        assert f"{summary[key]:,}" in text, key
    assert "Caveats" in text and "floor, not a ceiling" in text
    assert "America/Chicago" in text  # the clock table


def test_one_letter_per_attorney_with_every_recorded_call(audit, tmp_path: Path) -> None:
    """Each letter states its recipient's recorded calls (a separate recount), lists the
    first min(LIST_CAP, M) of them and its CSV beside it holds all M, spreadsheet-safe."""
    out = audit["out"]
    expected = _recorded_by_attorney(out)
    letters = sorted((AuditPaths(out).letters).glob("*.pdf"))
    assert len(letters) == len(expected)
    assert sorted(p.stem for p in (AuditPaths(out).letters).glob("*.csv")) == [
        p.stem for p in letters
    ]
    key = bytes.fromhex((audit["root"] / "case.key").read_text().strip())
    for name, calls in expected.items():
        path = AuditPaths(out).letters / f"{slug(name)}.pdf"
        text = _pdf_text(path, tmp_path)
        assert f"To: {name}" in text
        assert f"{len(calls):,} recorded call" in text
        assert f"{slug(name)}.csv" in text
        calls.sort(key=lambda c: (c["start_utc"], c["call_id"]))
        squeezed = "".join(text.split())  # table cells wrap inside long pseudonyms
        for c in calls[:LIST_CAP]:
            # Each listed call appears with its UTC time and its inmate's pseudonym.
            assert c["start_utc"].strftime("%Y-%m-%d %H:%M") in text
            assert privacy.pseudonym(key, "account", c["inmate_account"]) in squeezed
            assert c["inmate_name"] not in text and f" {c['inmate_account']} " not in text
        assert "delete" in text and "suppress" in text
        with open(path.with_suffix(".csv"), encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert [int(r["call_id"]) for r in rows] == [c["call_id"] for c in calls]
        for r, c in zip(rows, calls, strict=True):
            assert r["start_utc"] == c["start_utc"].strftime("%Y-%m-%d %H:%M:%S")
            assert r["inmate_account"] == privacy.pseudonym(key, "account", c["inmate_account"])
            assert r["number"] == "'" + c["dialed_number"]  # formula-safe, as the exports
            assert r["sources"]


def test_jane_roe_letter_groups_her_two_numbers(audit, tmp_path: Path) -> None:
    text = _pdf_text(AuditPaths(audit["out"]).letters / "law-office-of-jane-roe.pdf", tmp_path)
    assert "+15125550101, +15125550102" in text
    assert "CST" in text or "CDT" in text or "EST" in text or "EDT" in text  # local times


def test_pdfs_have_fixed_dates(audit) -> None:
    for path in [
        AuditPaths(audit["out"]).report_pdf,
        *(AuditPaths(audit["out"]).letters).glob("*.pdf"),
    ]:
        doc = pdfium.PdfDocument(str(path))
        meta = doc.get_metadata_dict()
        assert meta["CreationDate"].startswith("D:2013"), meta  # the last call, not today


def test_local_time_and_duration_helpers() -> None:
    assert local_time("2013-07-01 15:00:00", "America/Chicago") == "2013-07-01 10:00 CDT"
    assert local_time("2013-01-01 15:00:00", "America/Chicago") == "2013-01-01 09:00 CST"
    assert local_time("2013-07-01 15:00:00", None) == "not known"
    assert local_time("2013-07-01 15:00:00", "Mars/Olympus") == "not known"
    assert duration(725) == "12 min 05 s"
    assert slug("=Evil Ésq.") == "evil-esq"
    assert dt.datetime.fromisoformat("2013-07-01 15:00:00")  # the export's time format


def test_worker_letters_equal_serial_letters(audit: dict[str, Path], tmp_path: Path) -> None:
    """The report renders letters in worker processes; rendering the same calls in this
    process with write_letters must give the same file names and bytes."""
    from privguard.internals.audit.report.letters import link_text, write_letters
    from privguard.internals.audit.report.model import as_of
    from privguard.internals.audit.report.sql import LETTER_COLUMNS

    out = audit["out"]
    calls = pq.read_table(AuditPaths(out).exports / "privileged_calls.parquet")
    calls = calls.filter(pc.field("recorded")).select(list(LETTER_COLUMNS)).sort_by("call_id")
    summary = json.loads((AuditPaths(out).summary).read_text())
    numbers = pq.read_table(AuditPaths(out).numbers).to_pylist()
    links = {
        n["number"]: link_text(n["classification"], n["evidence"], n["evidence_file"])
        for n in numbers
    }
    serial = write_letters(
        calls.to_pylist(), tmp_path / "serial", as_of=as_of(summary), pseudonymized=True,
        links=links,
    )  # fmt: skip
    parallel = sorted((AuditPaths(out).letters).glob("*.pdf"))
    assert len(parallel) >= 2
    assert [p.name for p in serial] == [p.name for p in parallel]
    for a, b in zip(serial, parallel, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


@pytest.mark.parametrize(
    ("calls", "completed", "violations", "want"),
    [
        (1, 1, 1, "It was completed (connected). It was made while the number was on the "
         "facility's do-not-record list: the facility had been told not to record it."),
        (1, 0, 0, "It was an attempt that did not connect. It was not made while the number "
         "was on a do-not-record list known to this audit."),
        (3, 1, 1, "1 of them was completed (connected); the others were attempts. 1 of them "
         "was made while the number was on the facility's do-not-record list: the facility "
         "had been told not to record it."),
        (3, 2, 0, "2 of them were completed (connected); the other was an attempt. None was "
         "made while the number was on a do-not-record list known to this audit."),
        (2, 2, 2, "Both were completed (connected). Both were made while the number was on "
         "the facility's do-not-record list: the facility had been told not to record them."),
        (5, 5, 0, "All 5 were completed (connected). None was made while the number was on a "
         "do-not-record list known to this audit."),
        (4, 0, 3, "None of them was completed (connected): all were attempts. 3 of them were "
         "made while the number was on the facility's do-not-record list: the facility had "
         "been told not to record them."),
    ],
)  # fmt: skip
def test_letter_sentences_agree_with_any_count(
    calls: int, completed: int, violations: int, want: str
) -> None:
    from privguard.internals.audit.report.letters import outcome_sentences

    assert outcome_sentences(calls, completed, violations) == want


def test_letter_says_on_for_a_single_day() -> None:
    from privguard.internals.audit.report.letters import when_sentence

    assert when_sentence("2013-06-27", "2013-06-27") == "on 2013-06-27 (UTC)"
    assert when_sentence("2013-06-27", "2013-07-01") == "between 2013-06-27 and 2013-07-01 (UTC)"
    assert when_sentence(None, None) == "at times the records do not give"
