"""Render ``report.html``: one self-contained, offline, printable, accessible file."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from importlib import resources
from typing import Any

from privguard import __version__

from . import charts, reading, texts
from .completion import completed_cell, completion_sub
from .model import ReportModel, clock_groups, pick, uncertain_clocks, utc_offsets


def _n(value: Any) -> str:
    return (
        f"{value:,}" if isinstance(value, int) else ("–" if value is None else escape(str(value)))
    )


def _table(
    caption: str,
    headers: Sequence[str],
    body: Sequence[Sequence[Any]],
    *,
    numeric: Sequence[int] = (),
    total: Sequence[Any] | None = None,
    tid: str = "",
) -> str:
    """An HTML table with a caption; cells are escaped unless already markup (tuple)."""
    head = "".join(
        f'<th scope="col"{" class=num" if i in numeric else ""}>{escape(h)}</th>'
        for i, h in enumerate(headers)
    )

    def cell(i: int, v: Any) -> str:
        cls = ' class="num"' if i in numeric else ""
        html = v[0] if isinstance(v, tuple) else _n(v)
        return f"<td{cls}>{html}</td>"

    rows = ["<tr>" + "".join(cell(i, v) for i, v in enumerate(r)) + "</tr>" for r in body]
    if total is not None:
        rows.append(
            '<tr class="total">' + "".join(cell(i, v) for i, v in enumerate(total)) + "</tr>"
        )
    if not body:
        rows.append(f'<tr><td colspan="{len(headers)}" class="muted">None.</td></tr>')
    ident = f' id="{tid}"' if tid else ""
    return (
        f'<div class="scroll"><table{ident}><caption>{escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _card(key: str, label: str, value: Any, sub: str = "", cls: str = "") -> str:
    shown = f"{value:,}" if isinstance(value, int) else "not available"
    return (
        f'<div class="card {cls}"><dt>{escape(label)}</dt>'
        f'<dd data-summary="{key}">{shown}</dd>'
        + (f'<p class="sub">{sub}</p>' if sub else "")
        + "</div>"
    )


def _tag(cls: str) -> tuple[str]:
    return (f'<span class="tag {escape(cls)}">{escape(texts.CLASS_LABELS.get(cls, cls))}</span>',)


def _mono(text: Any) -> tuple[str]:
    return (f'<span class="mono">{_n(text)}</span>',)


def _invalid_sub(s: dict[str, Any]) -> str:
    """Calls to numbers that are not phone numbers: in the calls, never among the numbers."""
    v = s.get("calls_to_invalid_numbers")
    if not isinstance(v, int):
        return ""
    return (
        f'<b data-summary="calls_to_invalid_numbers">{v:,}</b> more calls went to numbers '
        "that are not valid phone numbers (see Table 1)"
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
        _card("privileged_calls_recorded", "Recorded calls to attorneys", s.get("privileged_calls_recorded"), "calls marked as recorded, attempts included", "alert"),
        _card("registry_violations", "Registry violations", s.get("registry_violations"), "recorded although the number was registered as do-not-record", "alert"),
        _card("privileged_calls", "Calls to attorney numbers (attempts)", s.get("privileged_calls"), sub_completed),
        _card("attorney_numbers", "Attorney numbers called", s.get("attorney_numbers"), "registered, in a directory, or confirmed"),
        _card("candidate_numbers", "Numbers awaiting review", s.get("candidate_numbers"), "look like attorneys; not counted above", "amber"),
        _card("calls", "Calls examined (attempts)", s.get("calls"), completion_sub(s, "calls") or "after merging duplicate copies"),
        _card("inmates", "People in custody", s.get("inmates"), "distinct inmate accounts"),
        _card("unique_numbers", "Phone numbers called", s.get("unique_numbers"), _invalid_sub(s)),
        _card("files_unread", "Files that could not be read", s.get("files_unread"), _unread_sub(s) if s.get("files_unread") else "every file given was read", "alert" if s.get("files_unread") else ""),
    ]  # fmt: skip
    return f'<dl class="cards">{"".join(cards)}</dl>'


def rule_rows(m: ReportModel) -> list[tuple[Any, ...]]:
    """Rows of the dedupe-rules table, shared by the HTML and the PDF."""
    return [
        (
            r["rule"],
            r["description"] or texts.RULES_EXPLAINED.get(r["rule"], ""),
            r["clusters"],
            r["rows"],
        )
        for r in m.dedupe_rules
    ]


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
    table = _table(
        "Table 1. How the records were reduced to distinct calls",
        ["Step", "Count", "What it means"],
        reduction_rows(m),
        numeric=[1],
        tid="reduction",
    )
    sentence = texts.invalid_numbers(m.summary)
    if sentence is None:
        return table
    n = m.summary.get("calls_to_invalid_numbers")
    explained = f" {escape(texts.INVALID_NUMBERS_EXPLAINED)}" if n else ""
    return table + f'<p id="invalid-numbers">{escape(sentence)}{explained}</p>'


def unread(m: ReportModel) -> str:
    """The files that could not be read, named with their size and the reason."""
    rows = texts.unread_rows(m.summary)
    if not rows:
        return ""
    return _table("Files not read", ["File", "Size", "Reason"], rows, tid="unread-files")


FACILITIES_CHARTED = 20
CLOCKS_LISTED = 60


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
        f" The {len(top)} facilities with the most; all {len(m.by_facility):,} are in Table 3."
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
    month_tbl = _table(
        "Table 2. Calls to attorney numbers per month (UTC)",
        ["Month", "Attempts", "Completed", "Recorded", "Registry violations"],
        [(r["month"], r["calls"], completed_cell(r), r["recorded"], r["violations"]) for r in m.by_month],
        numeric=[1, 2, 3, 4],
    )  # fmt: skip
    fac_tbl = _table(
        "Table 3. Calls to attorney numbers per facility",
        ["Facility", "Local clock", "Attempts", "Completed", "Recorded", "Registry violations"],
        [(r["facility"], r["zone"] or "unknown", r["calls"], completed_cell(r), r["recorded"], r["violations"]) for r in m.by_facility],
        numeric=[2, 3, 4, 5],
    )  # fmt: skip
    return (
        f"<figure>{monthly}<figcaption>Figure 1. Calls to attorney numbers each month; the "
        f"orange-red part was recorded.</figcaption></figure>"
        f"{month_tbl}<figure>{by_fac}<figcaption>Figure 2. Recorded calls to attorney numbers "
        f"and registry violations at each facility.{fac_note}</figcaption></figure>{fac_tbl}"
        f"<figure>{viol}<figcaption>Figure 3. Registry violations over time: recorded calls to "
        f"numbers that were on the do-not-record list that day.</figcaption></figure>"
    )


def top_numbers(m: ReportModel, limit: int = 25) -> str:
    """The attorney numbers with the most recorded calls, with their evidence."""
    body = [
        (_mono(r["number"]), r["attorney_name"] or "(name unknown)", _tag(r["classification"]),
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
        _table(
            f"Table 4. Attorney numbers with the most recorded calls (top {min(limit, len(m.attorney_numbers))} of {len(m.attorney_numbers):,})",
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
        (_mono(r["number"]), f"{r['score']:.2f}" if r["score"] is not None else None,
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
    return intro + _table(
        f"Table 5. Numbers awaiting review, highest score first ({len(m.candidates):,} in all)",
        ["Number", "Score", "Why it was flagged", "Calls", "Recorded", "Inmates calling"],
        body,
        numeric=[1, 3, 4, 5],
        tid="candidates",
    )


def _tolerance(m: ReportModel) -> str:
    tol = m.dedupe.get("tolerances")
    if not isinstance(tol, dict) or not isinstance(tol.get("time_tolerance_s"), int):
        return " (within a small tolerance)"
    text = f" (start times within {tol['time_tolerance_s']} seconds"
    if isinstance(tol.get("duration_tolerance_s"), int):
        text += f", durations within {tol['duration_tolerance_s']} seconds"
    return text + ")"


def method(m: ReportModel) -> str:
    """Evidence classes, clock offsets per table, dedupe rules, caveats."""
    counts = {r["classification"]: r["numbers"] for r in m.classes}
    classes = _table(
        "Table 6. How each called number was classified",
        ["Class", "What it means", "Numbers"],
        [(_tag(c), texts.CLASS_EXPLAINED[c], counts.get(c, 0)) for c in texts.CLASS_LABELS],
        numeric=[2],
    )
    given = _table(
        "Table 7. The clocks of the source tables",
        ["Clock (time zone)", "Offset from UTC", "How it was found", "Tables", "Rows"],
        [(g["zone"], utc_offsets(g["zone"]) if "/" in g["zone"] else "",
          texts.ZONE_METHODS.get(g["method"], g["method"]), g["tables"], g["rows"])
         for g in clock_groups(m.clocks)],
        numeric=[3, 4],
    )  # fmt: skip
    uncertain = uncertain_clocks(m.clocks)
    inferred = _table(
        "Table 8. Tables whose clock was inferred, with the evidence",
        ["File (table)", "Clock used", "Offset from UTC", "Evidence", "Confidence", "Warnings"],
        [(f"{r['file']} ({r['table']})", r["zone"] or "unknown", utc_offsets(r["zone"]), r["evidence"],
          f"{r['confidence']:.0%}" if isinstance(r["confidence"], float) else r["confidence"],
          "; ".join(r["warnings"]) or "none") for r in uncertain[:CLOCKS_LISTED]],
        tid="clocks",
    )  # fmt: skip
    more = len(uncertain) - CLOCKS_LISTED
    clocks = (
        given
        + inferred
        + (
            f"<p class=muted>{more:,} more tables with an inferred clock are listed in "
            "restricted/work/normalize_report.json.</p>"
            if more > 0
            else ""
        )
    )
    rules = _table(
        "Table 9. Duplicate copies merged, by rule",
        ["Rule", "Description", "Calls (clusters)", "Rows"],
        rule_rows(m),
        numeric=[2, 3],
    )
    missing = (
        ""
        if m.clocks
        else '<p class="note">The clock report (restricted/work/normalize_report.json) was not available.</p>'
    )
    caveats = "".join(f"<li>{escape(c)}</li>" for c in texts.CAVEATS)
    return (
        "<h3>Evidence for each number</h3>" + classes
        + "<h3>Clocks</h3><p>Call records from different systems keep time differently: billing "
        "systems often in UTC, recording systems in the facility's local time. Every time was "
        "converted to UTC before comparing tables.</p>" + missing + clocks
        + "<h3>Duplicates</h3><p>Exports overlap, so the same call often appears in several "
        "tables. Copies are merged when they agree on the facility, the inmate, the number "
        f"and the time{_tolerance(m)}; each rule below is one way of agreeing.</p>"
        + rules + f"<h3>Caveats</h3><ul class=caveats>{caveats}</ul>"
    )  # fmt: skip


def render_html(m: ReportModel) -> str:
    """The full report page."""
    css = (
        resources.files("privguard.internals.audit.report")
        .joinpath("templates/report.css")
        .read_text("utf-8")
    )
    s = m.summary
    headline = s.get("headline") or (
        f"{_n(s.get('privileged_calls_recorded'))} recorded calls to "
        f"{_n(s.get('attorney_numbers'))} attorney numbers"
    )
    span = f"{str(s.get('first_call', '?'))[:10]} to {str(s.get('last_call', '?'))[:10]}"
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
        "<title>Audit of recorded attorney-client calls</title>"
        f"<style>{css}</style></head><body>"
        '<header class="masthead"><div class="wrap"><p class="kicker">privguard audit report</p>'
        "<h1>Recorded attorney-client calls</h1>"
        f'<p class="lede" data-summary-text="headline">{escape(str(headline))}</p>'
        f'<p class="meta">Calls from {escape(span)} (UTC) · privguard {escape(__version__)}</p>'
        f'</div></header><nav class="toc" aria-label="Contents"><div class="wrap"><ol>{toc}</ol>'
        f"</div></nav><main>{body}</main>"
        '<footer><div class="wrap">Produced by privguard. This report contains no scripts and '
        "loads nothing from the network.</div></footer></body></html>\n"
    )
