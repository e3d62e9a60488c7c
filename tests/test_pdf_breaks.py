"""Nothing in a PDF table breaks mid-word (issue 13): a long recording URL or path breaks
only after "/", ".", "_", "-" or "?", in the letters' call table and in the report's tables.
Checked on the text pdftotext reads back from the PDF, as a reader would see it."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from privguard.internals.audit.report.letters import write_letters
from privguard.internals.audit.report.pdfbase import JOINTS, Doc

URL = "https://recordings.securetel.example/FAC9/474909145.wav?session=ab_cd-ef"
AS_OF = dt.datetime(2014, 1, 1, tzinfo=dt.UTC)

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext")


def _pieces(pdf: Path, whole: str, after: str) -> list[str]:
    """The parts of ``whole`` in the PDF's text (pdftotext -layout), in order: the words that
    are parts of it on the lines of its table row: from where it starts after the line holding
    ``after`` (the table's header) to a blank line."""
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    lines = text.splitlines()
    head = next(i for i, ln in enumerate(lines) if after in ln)
    start = next(i for i, ln in enumerate(lines) if i > head and whole[:6] in ln)
    out: list[str] = []
    for ln in lines[start:]:
        if not ln.strip():
            break
        out += [w for w in ln.split() if len(w) > 1 and w in whole]
    return out


def _assert_whole_words(pieces: list[str], whole: str) -> None:
    assert "".join(pieces) == whole, pieces
    assert len(pieces) > 1, "the test needs a value wider than its column"
    for piece in pieces[:-1]:
        assert piece[-1] in JOINTS, f"broken mid-word after {piece!r}: {pieces}"


def test_letter_call_table_breaks_urls_at_joints(tmp_path: Path) -> None:
    call = dict(
        call_id=1, number="+15125550100", attorney_name="Jane Roe",
        start_utc="2013-06-27T10:00:00", local_zone="America/Chicago", facility="F1",
        inmate_account="acct-x", inmate_name=None, duration_s=300, recording_ref=URL,
        registered_then=True, completed=True, sources="x",
    )  # fmt: skip
    (pdf,) = write_letters([call], tmp_path, as_of=AS_OF, pseudonymized=True)
    _assert_whole_words(_pieces(pdf, URL, "Recording reference"), URL)


LONG_PATH = "/srv/exports/" + "/".join(f"securetel_{y}/facility-{y % 7}" for y in range(2011, 2017))


DOTTED = ".".join(f"recordings{i}" for i in range(16)) + ".securetel.example"


@pytest.mark.parametrize("value", [URL * 2, LONG_PATH + "/calls-q3.csv?v=1", DOTTED])
def test_report_grid_breaks_long_values_at_joints(tmp_path: Path, value: str) -> None:
    doc = Doc("Breaks", AS_OF)
    doc.add_page()
    doc.grid("T", ["File", "Size", "Reason"], [[value, "large", "not a table"]], [100, 30, 44])
    doc.save(tmp_path / "grid.pdf")
    _assert_whole_words(_pieces(tmp_path / "grid.pdf", value, "Reason"), value)


def test_wrap_keeps_every_line_within_its_width_and_every_character() -> None:
    doc = Doc("Wrap", AS_OF)
    doc.set_font(doc.fam, "", 7)
    for width in (8.0, 15.0, 30.0):
        lines = doc.wrap(URL, width, max_lines=50)
        assert "".join(lines) == URL
        assert all(doc.width(ln) <= width + 1e-6 for ln in lines)
