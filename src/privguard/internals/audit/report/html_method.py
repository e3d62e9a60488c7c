"""The report's method section and its appendix (technical evidence), in HTML."""

from __future__ import annotations

from html import escape
from typing import Any

from . import layout, texts
from .htmlparts import table, tag
from .model import ReportModel, clock_groups, uncertain_clocks, utc_offsets

CLOCKS_LISTED = 60


def rule_rows(m: ReportModel) -> list[tuple[Any, ...]]:
    """Rows of the dedupe-rules table, shared by the HTML and the PDF: each rule by a plain
    name, never its internal one."""
    return [
        (
            texts.RULE_LABELS.get(r["rule"], str(r["rule"]).replace("_", " ")),
            r["description"] or texts.RULES_EXPLAINED.get(r["rule"], ""),
            r["clusters"],
            r["rows"],
        )
        for r in m.dedupe_rules
    ]


def _tolerance(m: ReportModel) -> str:
    tol = m.dedupe.get("tolerances")
    if not isinstance(tol, dict) or not isinstance(tol.get("time_tolerance_s"), int):
        return " (within a small tolerance)"
    text = f" (start times within {tol['time_tolerance_s']} seconds"
    if isinstance(tol.get("duration_tolerance_s"), int):
        text += f", durations within {tol['duration_tolerance_s']} seconds"
    return text + ")"


def method(m: ReportModel) -> str:
    """How each number was classified, in plain words, and the caveats."""
    counts = {r["classification"]: r["numbers"] for r in m.classes}
    classes = table(
        layout.table("classes"),
        ["Class", "What it means", "Numbers"],
        [(tag(c), texts.CLASS_EXPLAINED[c], counts.get(c, 0)) for c in texts.CLASS_LABELS],
        numeric=[2],
    )
    caveats = "".join(f"<li>{escape(c)}</li>" for c in texts.CAVEATS)
    practice = texts.practice_lines(m.summary)
    inferred = (
        "<h3>Recording inferred from each facility's practice</h3><ul>"
        + "".join(f"<li>{escape(p)}</li>" for p in practice)
        + "</ul>"
        if practice
        else ""
    )
    return (
        "<h3>Evidence for each number</h3>" + classes
        + "<p>Every time in this report is in UTC; how each table's clock was found, and how "
        "copies of the same call were merged, is in Appendix A.</p>"
        + inferred
        + f"<h3>Caveats</h3><ul class=caveats>{caveats}</ul>"
    )  # fmt: skip


def appendix(m: ReportModel) -> str:
    """Appendix A: the clocks of the source tables and the merging of duplicate copies."""
    given = table(
        layout.table("clocks"),
        ["Clock (time zone)", "Offset from UTC", "How it was found", "Tables", "Rows"],
        [(g["zone"], utc_offsets(g["zone"]) if "/" in g["zone"] else "",
          texts.ZONE_METHODS.get(g["method"], g["method"]), g["tables"], g["rows"])
         for g in clock_groups(m.clocks)],
        numeric=[3, 4],
    )  # fmt: skip
    uncertain = uncertain_clocks(m.clocks)
    inferred = table(
        layout.table("inferred"),
        ["File (table)", "Clock used", "Offset from UTC", "Evidence", "Confidence", "Warnings"],
        [(f"{r['file']} ({r['table']})", r["zone"] or "unknown", utc_offsets(r["zone"]), r["evidence"],
          f"{r['confidence']:.0%}" if isinstance(r["confidence"], float) else r["confidence"],
          "; ".join(r["warnings"]) or "none") for r in uncertain[:CLOCKS_LISTED]],
        tid="clocks",
    )  # fmt: skip
    more = len(uncertain) - CLOCKS_LISTED
    clocks = given + inferred
    if more > 0:
        clocks += (
            f"<p class=muted>{more:,} more tables with an inferred clock are listed in "
            "restricted/work/normalize_report.json.</p>"
        )
    rules = table(
        layout.table("rules"),
        ["Rule", "Description", "Calls (clusters)", "Rows"],
        rule_rows(m),
        numeric=[2, 3],
    )
    missing = (
        ""
        if m.clocks
        else '<p class="note">The clock report (restricted/work/normalize_report.json) was not available.</p>'
    )
    return (
        f"<p>{escape(layout.APPENDIX_INTRO)}</p>"
        + "<h3>Clocks</h3><p>Call records from different systems keep time differently: billing "
        "systems often in UTC, recording systems in the facility's local time. Every time was "
        "converted to UTC before comparing tables.</p>" + missing + clocks
        + "<h3>Duplicates</h3><p>Exports overlap, so the same call often appears in several "
        "tables. Copies are merged when they agree on the facility, the inmate, the number "
        f"and the time{_tolerance(m)}; each rule below is one way of agreeing.</p>" + rules
    )  # fmt: skip
