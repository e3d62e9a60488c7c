"""The report's cover, PDF metadata, shared numbering and table cells (issue 13, item 2)."""

from __future__ import annotations

import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from privguard.internals.audit.paths import AuditPaths
from test_letters_cap import CASE
from test_report_fixture import run_report


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    paths, _ = run_report(tmp_path_factory.mktemp("cover"), case=CASE)
    return paths["out"]


def _pdf_text(path: Path) -> str:
    doc = pdfium.PdfDocument(str(path))
    return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))


def test_cover_names_the_case_analyst_date_software_and_key(out: Path) -> None:
    html = AuditPaths(out).report_html.read_text(encoding="utf-8")
    pdf = " ".join(_pdf_text(AuditPaths(out).report_pdf).split())
    sig = (out / "manifest.sig").read_text()
    key = re.search(r'"public_key": "([0-9a-f]+)"', sig)
    assert key
    for want in (
        "State v. Doe",
        "PD-2026-0142",
        "Dana Analyst",
        "3 December 2026",
        "privguard ",
        key.group(1),
    ):
        assert want in html, want
        assert want in pdf, want  # fmt: skip
    assert "<title>Audit of recorded attorney-client calls: State v. Doe</title>" in html


def test_pdf_metadata_comes_from_the_case_file_not_the_clock(out: Path) -> None:
    meta = pdfium.PdfDocument(str(AuditPaths(out).report_pdf)).get_metadata_dict()
    assert meta["Title"] == "Audit of recorded attorney-client calls: State v. Doe"
    assert meta["Author"] == "Dana Analyst"
    assert meta["Subject"] == "PD-2026-0142"
    assert meta["CreationDate"].startswith("D:20261203"), meta


def test_html_and_pdf_number_tables_and_figures_alike(out: Path) -> None:
    html = AuditPaths(out).report_html.read_text(encoding="utf-8")
    pdf = " ".join(_pdf_text(AuditPaths(out).report_pdf).split())
    caption = r"((?:Table|Figure) A?\d+)\. ([A-Z][a-z]+(?: [a-z-]+){1,3})"
    in_html = dict(re.findall(caption, re.sub(r"<[^>]+>", " ", html)))
    in_pdf = dict(re.findall(caption, pdf))
    assert len(in_html) == 12  # 6 tables, 3 appendix tables, 3 figures
    assert in_pdf == in_html
    assert "Appendix A. Technical evidence" in html and "Appendix A. Technical evidence" in pdf


def test_no_word_breaks_inside_a_pdf_table_cell(out: Path) -> None:
    pdf = _pdf_text(AuditPaths(out).report_pdf)
    lines = {ln.strip() for ln in pdf.splitlines()}
    for word in ("Confidence", "America/Chicago", "America/New_York", "Violations"):
        assert any(word in ln for ln in lines), word
    for half in ("Confidenc", "America/Chi", "Violation"):
        assert half not in lines, half
    assert "billed_minutes" not in pdf and "near_time" not in pdf


def test_a_narrow_column_widens_rather_than_break_a_word(tmp_path: Path) -> None:
    import datetime as dt

    from privguard.internals.audit.report.pdfbase import Doc

    doc = Doc("t", dt.datetime(2013, 1, 1, tzinfo=dt.UTC))
    doc.add_page()
    doc.grid("x", ["File (table)", "Clock used", "Evidence", "Confidence"],
             [("a", "America/Los_Angeles", "e", "97%")], [48, 30, 76, 20])  # fmt: skip
    doc.save(tmp_path / "t.pdf")
    lines = _pdf_text(tmp_path / "t.pdf").splitlines()
    assert "File (table) Clock used Evidence Confidence" in lines
    assert "a America/Los_Angeles e 97%" in lines


def test_pdfs_embed_the_packaged_font_and_keep_accents(tmp_path: Path) -> None:
    import datetime as dt

    import font_source_sans_pro

    from privguard.internals.audit.report.pdfbase import Doc, font_files

    files = font_files()
    assert files is not None
    assert all(f.is_relative_to(Path(font_source_sans_pro.__file__).parent) for f in files)
    doc = Doc("t", dt.datetime(2013, 1, 1, tzinfo=dt.UTC))
    doc.add_page()
    doc.para("Joaquín Núñez, Zoë Adler – Ørsted")
    doc.save(tmp_path / "t.pdf")
    raw = (tmp_path / "t.pdf").read_bytes()
    assert b"SourceSansPro" in raw and b"DejaVu" not in raw and b"Helvetica" not in raw
    assert "Joaquín Núñez, Zoë Adler – Ørsted" in _pdf_text(tmp_path / "t.pdf")
