"""Render ``report.pdf``: the same content as the HTML report, for print and filing."""

from __future__ import annotations

from pathlib import Path

from . import charts, layout, reading, texts
from .completion import completed_cell, completion_known, hidden_estimate
from .html import FACILITIES_CHARTED, reduction_rows
from .html_method import rule_rows
from .model import ReportModel, clock_groups, plain_zone, uncertain_clocks
from .pdfbase import Doc


def _completed(s: dict[str, object], prefix: str) -> object:
    """The completed count, or "unknown" when no call's completion is known (never a false 0)."""
    return s.get(f"completed_{prefix}") if completion_known(s, prefix) else "unknown"


def _inferred(s: dict[str, object], key: str, what: str) -> list[tuple[str, object]]:
    """The shown and inferred parts of a recorded figure, when any was inferred."""
    if not s.get(f"{key}_inferred"):
        return []
    return [
        (f"{what}: shown recorded in the records", s.get(f"{key}_shown")),
        (f"{what}: inferred from the facility's practice", s.get(f"{key}_inferred")),
    ]


def _hidden(s: dict[str, object]) -> list[tuple[str, object]]:
    """The estimate of violations hidden among calls of unknown recording, said to be one."""
    e = hidden_estimate(s)
    if not e:
        return []
    what = (
        "Registry violations probably hidden among calls of unknown recording (an estimate, "
        f"in no other figure; 95 % interval {e['low']:,} to {e['high']:,})"
    )
    return [(what, e["estimate"])]


def _cards(m: ReportModel) -> list[tuple[str, object]]:
    s = m.summary
    return [
        ("Recorded calls to attorney numbers (attempts included)", s.get("privileged_calls_recorded")),
        *_inferred(s, "privileged_calls_recorded", "Recorded calls"),
        ("Registry violations (recorded although registered do-not-record)", s.get("registry_violations")),
        *_inferred(s, "registry_violations", "Registry violations"),
        *_hidden(s),
        ("Calls to attorney numbers: attempts", s.get("privileged_calls")),
        ("Calls to attorney numbers: completed", _completed(s, "privileged_calls")),
        ("Attorney numbers called", s.get("attorney_numbers")),
        ("Numbers awaiting review (not counted above)", s.get("candidate_numbers")),
        ("Calls examined (after merging duplicates), attempts", s.get("calls")),
        ("Calls examined: completed", _completed(s, "calls")),
        ("People in custody (inmate accounts)", s.get("inmates")),
        ("Phone numbers called", s.get("unique_numbers")),
        ("Calls to numbers that are not valid phone numbers (counted as calls only)", s.get("calls_to_invalid_numbers")),
        ("Files that could not be read (their calls are in no figure)", s.get("files_unread")),
    ]  # fmt: skip


def render_pdf(m: ReportModel, path: Path) -> None:
    """Write the report PDF to ``path``: the HTML report's content, tables and figures
    numbered alike (``layout``), dated by the case file or the data, never the clock, so
    reruns are byte-identical."""
    doc = Doc(
        layout.title(m), layout.made_on(m), author=m.case.analyst or m.case.sender.who(),
        subject=m.case.reference or m.case.name,
    )  # fmt: skip
    doc.add_page()
    s = m.summary
    doc.para("PRIVGUARD AUDIT REPORT", 9, muted=True)
    doc.h1("Recorded attorney-client calls")
    doc.para(str(s.get("headline") or ""), 12)
    doc.grid("", ["", ""], layout.cover(m), [30, 144], size=8.5, head=False)
    doc.h2("Summary")
    doc.para(texts.INTRO)
    doc.grid(
        "Key figures (from summary.json)",
        ["Figure", "Count"],
        [(a, b if isinstance(b, int | str) else "not available") for a, b in _cards(m)],
        [130, 44],
        numeric=[1],
        size=9.5,
    )
    doc.para(texts.PRIVACY_NOTE if m.pseudonymized else
             "Privacy protection is OFF: names and numbers appear in full. Do not share this "
             "report outside the case team.", 9, muted=True)  # fmt: skip
    doc.para(texts.RESTRICTED_NOTE, 9, muted=True)
    for w in [*m.warnings, *reading.gap_warnings(m)]:
        doc.para(f"Warning: {w}", 9)
    doc.h2("The data")
    doc.para(texts.data_intro(s), 9)
    if unread := texts.unread_rows(s):
        doc.grid("Files not read", ["File", "Size", "Reason"], unread, [60, 24, 90], size=8)
    doc.grid(
        layout.table("reduction"),
        ["Step", "Count", "What it means"],
        [(a, b if isinstance(b, int) else "–", c) for a, b, c in reduction_rows(m)],
        [60, 28, 86],
        numeric=[1],
    )
    sentence = texts.invalid_numbers(s)
    if sentence:
        extra = f" {texts.INVALID_NUMBERS_EXPLAINED}" if s.get("calls_to_invalid_numbers") else ""
        doc.para(sentence + extra, 9)
    doc.h2("When and where", need=120)
    months = [r["month"] for r in m.by_month]
    rec = [r["recorded"] for r in m.by_month]
    doc.svg(
        charts.column_chart(
            "p1", "Calls per month", "", months,
            [charts.Series("Recorded", rec, charts.VERMILLION),
             charts.Series("Not recorded", [r["calls"] - r["recorded"] for r in m.by_month], charts.SKY)],
        ),
        174,
    )  # fmt: skip
    doc.para(layout.figure("month"), 8.5, muted=True)
    doc.grid(
        layout.table("month"),
        ["Month", "Attempts", "Completed", "Recorded", "Registry violations"],
        [(r["month"], r["calls"], completed_cell(r), r["recorded"], r["violations"]) for r in m.by_month],
        [34, 35, 35, 35, 35],
        numeric=[1, 2, 3, 4],
    )  # fmt: skip
    top = m.by_facility[:FACILITIES_CHARTED]
    doc.svg(
        charts.bar_chart(
            "p2", "Recorded calls per facility", "", [r["facility"] for r in top],
            [charts.Series("Recorded", [r["recorded"] for r in top], charts.VERMILLION),
             charts.Series("Registry violations", [r["violations"] for r in top], charts.BLUE)],
        ),
        174,
    )  # fmt: skip
    more = len(m.by_facility) - len(top)
    note = (
        f" The {len(top)} facilities with the most; all {len(m.by_facility):,} are in "
        f"Table {layout.TABLES['facility']}." if more > 0 else ""
    )  # fmt: skip
    doc.para(layout.figure("facility", note), 8.5, muted=True)
    doc.grid(
        layout.table("facility"),
        ["Facility", "Local clock", "Attempts", "Completed", "Recorded", "Registry violations"],
        [(m.case.facility(r["facility"]) if r["facility"] != "(unknown)" else r["facility"],
          plain_zone(r["zone"]), r["calls"], completed_cell(r), r["recorded"], r["violations"])
         for r in m.by_facility],
        [40, 40, 23, 23, 23, 25],
        numeric=[2, 3, 4, 5],
    )  # fmt: skip
    doc.svg(
        charts.column_chart(
            "p3", "Registry violations per month", "", months,
            [charts.Series("Registry violations", [r["violations"] for r in m.by_month], charts.BLUE)],
            height=240,
        ),
        174,
    )  # fmt: skip
    doc.para(layout.figure("violations"), 8.5, muted=True)
    doc.h2("Attorney numbers")
    doc.grid(
        layout.table("numbers", f" (top {min(25, len(m.attorney_numbers))} of {len(m.attorney_numbers):,})"),
        ["Number", "Attorney or office", "Evidence", "Attempts", "Recorded", "Violations"],
        [(r["number"], r["attorney_name"] or "(name unknown)",
          f"{texts.CLASS_LABELS.get(r['classification'], r['classification'])}: {r['evidence'] or ''}",
          r["calls"], r["recorded"], r["violations"]) for r in m.attorney_numbers[:25]],
        [26, 30, 52, 22, 22, 22],
        numeric=[3, 4, 5],
    )  # fmt: skip
    doc.h2("Numbers awaiting review")
    doc.para("These numbers are called in a way that resembles calls to attorneys, but no "
             "directory or registry lists them. They are not counted above until someone on "
             "the case team confirms them (privguard review).")  # fmt: skip
    doc.grid(
        layout.table("candidates", f" ({len(m.candidates):,} in all)"),
        ["Number", "Score", "Why it was flagged", "Calls", "Recorded"],
        [(r["number"], f"{r['score']:.2f}" if r["score"] is not None else "–", r["evidence"], r["calls"], r["recorded"]) for r in m.candidates[:25]],
        [34, 14, 82, 20, 24],
        numeric=[1, 3, 4],
    )  # fmt: skip
    doc.h2("How these numbers were found")
    counts = {r["classification"]: r["numbers"] for r in m.classes}
    doc.grid(
        layout.table("classes"),
        ["Class", "What it means", "Numbers"],
        [(texts.CLASS_LABELS[c], texts.CLASS_EXPLAINED[c], counts.get(c, 0)) for c in texts.CLASS_LABELS],
        [36, 118, 20],
        numeric=[2],
    )  # fmt: skip
    doc.para("Every time in this report is in UTC; how each table's clock was found, and how "
             "copies of the same call were merged, is in Appendix A.", 9)  # fmt: skip
    practice = texts.practice_lines(m.summary)
    if practice:
        doc.h2("Recording inferred from each facility's practice")
        doc.bullets(practice)
    doc.h2("Caveats")
    doc.bullets(texts.CAVEATS)
    doc.h2("Checking this report")
    doc.para(texts.CUSTODY)
    _appendix(doc, m)
    reading.appendix_pdf(doc, m)
    doc.save(path)


def _appendix(doc: Doc, m: ReportModel) -> None:
    """Appendix A on a page of its own: clocks and duplicate copies."""
    doc.add_page()
    doc.h1(layout.APPENDIX)
    doc.para(layout.APPENDIX_INTRO, 9.5)
    doc.grid(
        layout.table("clocks"),
        ["Clock (time zone)", "How it was found", "Tables", "Rows"],
        [(g["zone"], texts.ZONE_METHODS.get(g["method"], g["method"]), g["tables"], g["rows"])
         for g in clock_groups(m.clocks)],
        [50, 84, 20, 20],
        numeric=[2, 3],
    )  # fmt: skip
    doc.grid(
        layout.table("inferred"),
        ["File (table)", "Clock used", "Evidence", "Confidence"],
        [(f"{r['file']} ({r['table']})", r["zone"] or "unknown",
          "; ".join([str(r["evidence"] or "")] + r["warnings"]),
          f"{r['confidence']:.0%}" if isinstance(r["confidence"], float) else r["confidence"] or "")
         for r in uncertain_clocks(m.clocks)[:60]],
        [48, 30, 76, 20],
    )  # fmt: skip
    doc.grid(
        layout.table("rules"),
        ["Rule", "Description", "Calls (clusters)", "Rows"],
        rule_rows(m),
        [40, 84, 26, 24],
        numeric=[2, 3],
    )
