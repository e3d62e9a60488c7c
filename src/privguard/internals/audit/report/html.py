"""Render ``report.html``: one self-contained, offline, printable, accessible file."""

from __future__ import annotations

from html import escape
from importlib import resources
from typing import Any

from . import charts, layout, reading, texts
from .completion import completed_cell, completion_sub, recording_sub
from .html_method import appendix, method
from .htmlparts import card, mono, n, table, tag
from .model import ReportModel, pick, plain_zone


def _invalid_sub(s: dict[str, Any]) -> str:
    """Calls to numbers that are not phone numbers: in the calls, never among the numbers."""
    v = s.get("calls_to_invalid_numbers")
    if not isinstance(v, int):
        return ""
    return (
        f'<b data-summary="calls_to_invalid_numbers">{v:,}</b> more calls went to numbers '
        f"that are not valid phone numbers (see Table {layout.TABLES['reduction']})"
    )


def _unread_sub(s: dict[str, Any]) -> str:
    """Under the unread-files card: their size, and that their calls are in no figure."""
    size = s.get("bytes_unread")
    shown = f'<b data-summary="bytes_unread">{size:,}</b> bytes' if isinstance(size, int) else ""
    return f"{shown}; their calls are in no figure" if shown else "their calls are in no figure"


def key_figures(m: ReportModel) -> str:
    """The headline cards: every number comes straight from summary.json."""
    s = m.summary
    sub_completed = completion_sub(s, "privileged_calls") or "completed calls: not available"
    cards = [
        card("privileged_calls_recorded", "Recorded calls to attorneys", s.get("privileged_calls_recorded"), recording_sub(s, "privileged_calls_recorded") or "calls marked as recorded, attempts included", "alert"),
        card("registry_violations", "Registry violations", s.get("registry_violations"), recording_sub(s, "registry_violations") or "recorded although the number was registered as do-not-record", "alert"),
        card("privileged_calls", "Calls to attorney numbers (attempts)", s.get("privileged_calls"), sub_completed),
        card("attorney_numbers", "Attorney numbers called", s.get("attorney_numbers"), "registered, in a directory, or confirmed"),
        card("candidate_numbers", "Numbers awaiting review", s.get("candidate_numbers"), "look like attorneys; not counted above", "amber"),
        card("calls", "Calls examined (attempts)", s.get("calls"), completion_sub(s, "calls") or "after merging duplicate copies"),
        card("inmates", "People in custody", s.get("inmates"), "distinct inmate accounts"),
        card("unique_numbers", "Phone numbers called", s.get("unique_numbers"), _invalid_sub(s)),
        card("files_unread", "Files that could not be read", s.get("files_unread"), _unread_sub(s) if s.get("files_unread") else "every file given was read", "alert" if s.get("files_unread") else ""),
    ]  # fmt: skip
    return f'<dl class="cards">{"".join(cards)}</dl>'


def reduction_rows(m: ReportModel) -> list[tuple[str, int | None, str]]:
    """Rows read -> rejected -> duplicates -> calls, in plain words."""
    s, d = m.summary, m.dedupe
    read, rejected, calls = s.get("rows_read"), s.get("rows_rejected"), s.get("calls")
    junk = s.get("rows_set_aside", 0)
    accepted = (
        read - rejected - junk
        if isinstance(read, int) and isinstance(rejected, int) and isinstance(junk, int)
        else None
    )
    rows_in = pick(d, "rows_in", "rows", default=accepted)
    calls_out = pick(d, "calls_out", "calls", default=calls)
    dupes = rows_in - calls_out if isinstance(rows_in, int) and isinstance(calls_out, int) else None
    # rows read = set aside (unreadable) + set aside (not calls) + duplicates + calls
    body = [
        ("Files that could not be read", s.get("files_unread"), "their rows are in no count below (see the list of files not read)"),
        ("Rows read from the source tables", read, "every record in every table that could be read"),
        ("Rows set aside (unreadable)", rejected, "listed with the reason in restricted/work/rejects.csv"),
        ("Rows set aside (not calls)", junk, "neither a usable dialed number nor a readable start time; "
         "listed with the reason in restricted/work/set_aside.csv"),
        ("Rows kept", accepted, ""),
        ("Duplicate copies merged", dupes, "the same call found in several tables"),
        ("Distinct calls", calls, "the basis of every count in this report"),
    ]  # fmt: skip
    invalid = s.get("calls_to_invalid_numbers")
    if isinstance(invalid, int):
        body.append(("of which to numbers that are not valid phone numbers", invalid,
                     "counted as calls, never as attorney numbers"))  # fmt: skip
    return [(a, b if isinstance(b, int) else None, c) for a, b, c in body]


def reduction(m: ReportModel) -> str:
    """The reduction table, then what became of calls to numbers that are not numbers."""
    steps = table(
        layout.table("reduction"),
        ["Step", "Count", "What it means"],
        reduction_rows(m),
        numeric=[1],
        tid="reduction",
    )
    sentence = texts.invalid_numbers(m.summary)
    if sentence is None:
        return steps
    invalid = m.summary.get("calls_to_invalid_numbers")
    explained = f" {escape(texts.INVALID_NUMBERS_EXPLAINED)}" if invalid else ""
    return steps + f'<p id="invalid-numbers">{escape(sentence)}{explained}</p>'


def unread(m: ReportModel) -> str:
    """The files that could not be read, named with their size and the reason."""
    rows = texts.unread_rows(m.summary)
    if not rows:
        return ""
    return table("Files not read", ["File", "Size", "Reason"], rows, tid="unread-files")


FACILITIES_CHARTED = 20


def chart_section(m: ReportModel) -> str:
    """Charts by month and facility, each followed by its numbers in a collapsed table."""
    months = [r["month"] for r in m.by_month]
    rec = [r["recorded"] for r in m.by_month]
    unrec = [r["calls"] - r["recorded"] for r in m.by_month]
    monthly = charts.column_chart(
        "c-month",
        "Calls to attorney numbers per month",
        "Stacked bars per month: calls to attorney numbers that were recorded, and those "
        "that were not. " + "; ".join(f"{a}: {b} recorded of {b + c}" for a, b, c in zip(months, rec, unrec, strict=True)),
        months,
        [charts.Series("Recorded", rec, charts.VERMILLION), charts.Series("Not recorded", unrec, charts.SKY)],
    )  # fmt: skip
    top = m.by_facility[:FACILITIES_CHARTED]  # already ordered by recorded calls
    by_fac = charts.bar_chart(
        "c-facility",
        "Recorded calls to attorney numbers per facility",
        "; ".join(f"{r['facility']}: {r['recorded']} recorded, {r['violations']} violations" for r in top),
        [r["facility"] for r in top],
        [charts.Series("Recorded", [r["recorded"] for r in top], charts.VERMILLION),
         charts.Series("Registry violations", [r["violations"] for r in top], charts.BLUE)],
    )  # fmt: skip
    more = len(m.by_facility) - len(top)
    fac_note = (
        f" The {len(top)} facilities with the most; all {len(m.by_facility):,} are in Table {layout.TABLES['facility']}."
        if more > 0
        else ""
    )
    viol = charts.column_chart(
        "c-violations",
        "Registry violations per month",
        "Bars per month: recorded calls to numbers registered as do-not-record at the time. "
        + "; ".join(f"{r['month']}: {r['violations']}" for r in m.by_month),
        months,
        [charts.Series("Registry violations", [r["violations"] for r in m.by_month], charts.BLUE)],
        height=240,
    )
    month_tbl = table(
        layout.table("month"),
        ["Month", "Attempts", "Completed", "Recorded", "Registry violations"],
        [(r["month"], r["calls"], completed_cell(r), r["recorded"], r["violations"]) for r in m.by_month],
        numeric=[1, 2, 3, 4],
    )  # fmt: skip
    fac_tbl = table(
        layout.table("facility"),
        ["Facility", "Local clock", "Attempts", "Completed", "Recorded", "Registry violations"],
        [(m.case.facility(r["facility"]) if r["facility"] != "(unknown)" else r["facility"],
          plain_zone(r["zone"]), r["calls"], completed_cell(r), r["recorded"], r["violations"])
         for r in m.by_facility],
        numeric=[2, 3, 4, 5],
    )  # fmt: skip
    return (
        f"<figure>{monthly}<figcaption>{escape(layout.figure('month'))}</figcaption></figure>"
        f"{month_tbl}<figure>{by_fac}<figcaption>{escape(layout.figure('facility', fac_note))}"
        f"</figcaption></figure>{fac_tbl}"
        f"<figure>{viol}<figcaption>{escape(layout.figure('violations'))}</figcaption></figure>"
    )


def top_numbers(m: ReportModel, limit: int = 25) -> str:
    """The attorney numbers with the most recorded calls, with their evidence."""
    body = [
        (mono(r["number"]), r["attorney_name"] or "(name unknown)", tag(r["classification"]),
         r["evidence"], r["calls"], r["completed"], r["recorded"], r["violations"])
        for r in m.attorney_numbers[:limit]
    ]  # fmt: skip
    more = len(m.attorney_numbers) - limit
    note = (
        f"<p class=muted>{more:,} more attorney numbers are in the exports (exports/attorney_numbers.csv).</p>"
        if more > 0
        else ""
    )
    return (
        table(
            layout.table(
                "numbers",
                f" (top {min(limit, len(m.attorney_numbers))} of {len(m.attorney_numbers):,})",
            ),
            [
                "Number",
                "Attorney or office",
                "Evidence class",
                "Evidence",
                "Attempts",
                "Completed",
                "Recorded",
                "Violations",
            ],
            body,
            numeric=[4, 5, 6, 7],
            tid="top-numbers",
        )  # fmt: skip
        + note
    )


def candidates(m: ReportModel, limit: int = 25) -> str:
    """Candidate numbers awaiting review (pseudonymized when privacy is on)."""
    body = [
        (mono(r["number"]), f"{r['score']:.2f}" if r["score"] is not None else None,
         r["evidence"], r["calls"], r["recorded"], r["inmates"])
        for r in m.candidates[:limit]
    ]  # fmt: skip
    intro = (
        "<p>These numbers are called in a way that resembles calls to attorneys, but no "
        "directory or registry lists them. They are not counted above. Someone on the case "
        "team should review them (<code>privguard review</code> exports a sheet to fill in); "
        "confirmed numbers are counted on the next run.</p>"
    )
    if m.pseudonymized:
        intro += (
            "<p class=muted>The numbers are shown as pseudonyms because they may belong to "
            "people who are not attorneys; the review sheet held by the case team has them in "
            "full.</p>"
        )
    return intro + table(
        layout.table("candidates", f" ({len(m.candidates):,} in all)"),
        ["Number", "Score", "Why it was flagged", "Calls", "Recorded", "Inmates calling"],
        body,
        numeric=[1, 3, 4, 5],
        tid="candidates",
    )


def render_html(m: ReportModel) -> str:
    """The full report page."""
    css = (
        resources.files("privguard.internals.audit.report")
        .joinpath("templates/report.css")
        .read_text("utf-8")
    )
    s = m.summary
    headline = s.get("headline") or (
        f"{n(s.get('privileged_calls_recorded'))} recorded calls to "
        f"{n(s.get('attorney_numbers'))} attorney numbers"
    )
    cover = "".join(
        f"<div><dt>{escape(k)}</dt><dd>{escape(v)}</dd></div>" for k, v in layout.cover(m)
    )
    warnings = [*m.warnings, *reading.gap_warnings(m)]
    warn = "".join(f'<p class="note warn">{escape(w)}</p>' for w in warnings)
    privacy = f'<p class="note">{escape(texts.PRIVACY_NOTE)}</p>' if m.pseudonymized else (
        '<p class="note warn">Privacy protection is OFF: names and numbers appear in full. '
        "Do not share this report outside the case team.</p>"
    )  # fmt: skip
    sections = [
        ("summary", "Summary", f"<p>{escape(texts.INTRO)}</p>" + key_figures(m) + privacy
         + f'<p class="note">{escape(texts.RESTRICTED_NOTE)}</p>' + warn),
        ("data", "The data", f"<p>{escape(texts.data_intro(s))}</p>" + unread(m) + reduction(m)),
        ("when-where", "When and where", chart_section(m)),
        ("numbers", "Attorney numbers", top_numbers(m)),
        ("review", "Numbers awaiting review", candidates(m)),
        ("method", "How these numbers were found", method(m)),
        ("custody", "Checking this report", f"<p>{escape(texts.CUSTODY)}</p>"),
        ("appendix", layout.APPENDIX, appendix(m)),
        ("reading", reading.TITLE, reading.appendix_html(m)),
    ]  # fmt: skip
    toc = "".join(f'<li><a href="#{sid}">{escape(t)}</a></li>' for sid, t, _ in sections)
    body = "".join(
        f'<section id="{sid}" aria-labelledby="{sid}-h"><div class="wrap">'
        f'<h2 id="{sid}-h">{escape(t)}</h2>{content}</div></section>'
        for sid, t, content in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(layout.title(m))}</title>"
        f"<style>{css}</style></head><body>"
        '<header class="masthead"><div class="wrap"><p class="kicker">privguard audit report</p>'
        "<h1>Recorded attorney-client calls</h1>"
        f'<p class="lede" data-summary-text="headline">{escape(str(headline))}</p>'
        f'<dl class="cover">{cover}</dl>'
        f'</div></header><nav class="toc" aria-label="Contents"><div class="wrap"><ol>{toc}</ol>'
        f"</div></nav><main>{body}</main>"
        '<footer><div class="wrap">Produced by privguard. This report contains no scripts and '
        "loads nothing from the network.</div></footer></body></html>\n"
    )
