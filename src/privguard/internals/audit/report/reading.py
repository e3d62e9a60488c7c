"""The report's appendix "How each table was read", and its warnings about missing fields.

Written for a lawyer or a journalist: which column of each table was taken for which piece
of information, how that was decided (a person's mapping file, the column's name, or its
values), what the other columns seem to hold, and what a missing duration, recorded flag or
completion status costs. Tables read the same way are shown together. It reads only
``ingest_report.json`` (the model's ``ingest``), and quotes no value, only column names.

Kept apart from html.py and pdf.py: each calls :func:`appendix_html` / :func:`appendix_pdf`
and :func:`gap_warnings` once.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from privguard.internals.audit.ingest.explain import (
    CONSEQUENCE,
    FIELD_MEANING,
    MISSING,
    MULTI_TABLE,
)

from .completion import hidden_estimate

if TYPE_CHECKING:
    from .model import ReportModel
    from .pdfbase import Doc

TITLE = "Appendix: How each table was read"
LAYOUTS_SHOWN = 40  # past this, the JSON report holds the rest
_HOW = {
    "mapping": "named in the mapping file a person wrote",
    "header": "the column's name says so",
    "content": "read from the column's values",
}
_CONFIDENCE = {"given": "certain", "high": "high", "medium": "medium"}
INTRO = (
    "The exports in this case were not all written in one format. For every table, privguard "
    "decided which column holds which piece of information. A decision is certain when a "
    "person named the column in a mapping file; its confidence is high when the column's "
    "name says what it holds; it is medium when the name says nothing and the column was "
    "recognised by its values (for example, a column of only 1 and 0 beside the calls is "
    "read as the recorded flag). Tables read the same way are shown together. Columns that "
    "were not used are listed with what they appear to hold. Where a table lacks a duration, "
    "a recorded flag or a completion status, the consequence for the figures is stated. "
    "The full list, table by table, is in restricted/work/ingest_report.json."
)


def _tables(ingest: dict[str, Any]) -> list[dict[str, Any]]:
    tables = ingest.get("tables")
    return [
        t
        for t in (tables if isinstance(tables, list) else [])
        if isinstance(t, dict) and t.get("status") == "ingested"
    ]


def _column(value: Any) -> str:
    return " + ".join(map(str, value)) if isinstance(value, list) else str(value)


def _name(t: dict[str, Any]) -> str:
    file, table = str(t.get("file", "?")), str(t.get("table") or "")
    return f"{file} ({table})" if t.get("format") in MULTI_TABLE and table else file


def layouts(ingest: dict[str, Any]) -> list[dict[str, Any]]:
    """Tables grouped by how they were read: roles, unmapped columns, missing fields.

    Each group: ``tables`` (names), ``rows`` (accepted), ``roles``, ``unmapped``,
    ``missing``; the largest groups first.
    """
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for t in _tables(ingest):
        roles = t.get("roles") or {}
        unmapped = [
            (str(u.get("column")), str(u.get("looks_like")), u.get("could_be"))
            for u in t.get("unmapped_columns") or []
            if isinstance(u, dict)
        ]
        missing = [str(m.get("field")) for m in t.get("missing") or [] if isinstance(m, dict)]
        key = (
            tuple(
                (f, _column(r.get("column")), r.get("how"), r.get("evidence"))
                for f, r in roles.items()
            ),
            tuple(unmapped),
            tuple(missing),
        )
        g = groups.setdefault(
            key,
            {"tables": [], "rows": 0, "roles": roles, "unmapped": unmapped, "missing": missing},
        )
        g["tables"].append(_name(t))
        g["rows"] += int(t.get("rows_accepted") or 0)
    return sorted(groups.values(), key=lambda g: (-len(g["tables"]), g["tables"][0]))


def gap_warnings(m: ReportModel) -> list[str]:
    """One sentence per missing field, naming how many tables lack it and the consequence;
    and how many calls to attorney numbers no record says were or were not recorded."""
    tables = _tables(m.ingest)
    out = []
    inferred = m.summary.get("privileged_calls_recorded_inferred")
    if isinstance(inferred, int) and inferred > 0:
        out.append(
            f"For {inferred:,} completed calls to attorney numbers no record says whether "
            "they were recorded; they are counted as recorded, apart, as inferred from their "
            "facility's practice: its records show it recorded nearly every completed call of "
            "the same kind (see the headline and the method). Each is marked 'facility "
            "practice' in exports/privileged_calls.csv."
        )
    unknown = m.summary.get("privileged_calls_recording_unknown")
    if isinstance(unknown, int) and unknown > 0:
        out.append(
            f"For {unknown:,} calls to attorney numbers no record says whether they were "
            "recorded (they appear only in tables without a recorded flag or a recording "
            "reference). They are not counted as recorded: the recorded figures are a floor."
        )
    hidden = hidden_estimate(m.summary)
    if hidden:
        rows = hidden["by_facility"]
        k, n = sum(r["recorded"] for r in rows), sum(r["stated"] for r in rows)
        out.append(
            f"{hidden['calls_estimated']:,} of those are completed calls to numbers on the "
            "do-not-record list whose every row sits in a table that says nothing of "
            "recording. Where the records do state it, their facilities recorded "
            f"{k:,} of {n:,} such calls anyway; at that rate about {hidden['estimate']:,} of "
            f"the {hidden['calls_estimated']:,} were recorded too (95 % interval "
            f"{hidden['low']:,} to {hidden['high']:,}). This is an estimate, not a count: it "
            "is in no figure of this report, and only the recording system's own records "
            "can settle which calls they were."
        )
    for f, words in MISSING.items():
        lacking = [t for t in tables if any(x.get("field") == f for x in t.get("missing") or [])]
        if lacking:
            rows = sum(int(t.get("rows_accepted") or 0) for t in lacking)
            out.append(
                f"{len(lacking):,} of {len(tables):,} tables ({rows:,} rows) have {words}: in "
                f"each, {CONSEQUENCE[f]}. See '{TITLE}'."
            )
    return out


def _role_rows(g: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    for f, r in g["roles"].items():
        how = _HOW.get(str(r.get("how")), str(r.get("how")))
        conf = _CONFIDENCE.get(str(r.get("confidence")), str(r.get("confidence")))
        evidence = str(r.get("evidence") or "")
        why = (
            how
            if evidence in ("", "the header names it", "named in the mapping file")
            else (f"{how}: {evidence}")
        )
        rows.append((FIELD_MEANING.get(f, f), _column(r.get("column")), conf, why))
    for col, looks, could in g["unmapped"]:
        maybe = f"; it could be {FIELD_MEANING.get(could, could)}" if could else ""
        rows.append(("(not used)", col, "", f"appears to hold {looks}{maybe}"))
    return rows


def facility_code_notes(m: ReportModel) -> list[str]:
    """One sentence per facility whose code was read from the dump's folder names, and per
    facility whose folders were not read (and why): a registry entry scoped to a code covers
    a facility's calls only if the facility has that code."""
    out = []
    for e in m.facility_paths:
        names = ", ".join(str(x) for x in e["labels"] if x != e.get("path_code"))
        code = e.get("path_code")
        if code:
            files = int(e.get("path_files") or 0)
            examples = ", ".join(str(f) for f in e.get("example_files") or [])
            out.append(
                f"No record gives the code of the facility its records call {names} (its "
                f"name, in letters and digits): it was given the code {code}, which the folder "
                f"names of its files carry ({files:,} file{'s' if files != 1 else ''}, "
                f"{int(e.get('path_rows') or 0):,} rows; for example {examples}), as the "
                "dump's other facilities' folders carry their codes "
                f"({e.get('folders_agree', '?')} of their files). Registry entries for {code} "
                "were applied to its calls."
            )
        else:
            out.append(
                f"No record gives a code for the facilities its records call {names}, and "
                f"none was read from the dump's folders: {e.get('reason', 'no reason given')}. "
                "A registry entry that names such a facility by a code covers none of its "
                "calls; one that names it as its records do covers them."
            )
    return out


def _listed(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit:,} more" if len(names) > limit else "")


def _heading(k: int, g: dict[str, Any]) -> str:
    n = len(g["tables"])
    return (
        f"Layout {k}: {n:,} table{'s' if n != 1 else ''}, {g['rows']:,} rows "
        f"({_listed(g['tables'])})"
    )


def _gaps(g: dict[str, Any]) -> list[str]:
    return [f"Warning: {MISSING[f]} here: {CONSEQUENCE[f]}." for f in g["missing"]]


def appendix_html(m: ReportModel) -> str:
    """The appendix as HTML (a section's content)."""
    groups = layouts(m.ingest)
    if not groups:
        return "<p>No table was read (the ingest report was not available).</p>"
    parts = [f"<p>{escape(INTRO)}</p>"]
    parts += [f'<p class="note">{escape(n)}</p>' for n in facility_code_notes(m)]
    for k, g in enumerate(groups[:LAYOUTS_SHOWN], 1):
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
            for row in _role_rows(g)
        )
        parts.append(
            f'<div class="scroll"><table><caption>{escape(_heading(k, g))}</caption><thead><tr>'
            '<th scope="col">Information</th><th scope="col">Column</th>'
            '<th scope="col">Confidence</th><th scope="col">How it was decided</th>'
            f"</tr></thead><tbody>{body}</tbody></table></div>"
        )
        parts += [f'<p class="note warn">{escape(w)}</p>' for w in _gaps(g)]
    if len(groups) > LAYOUTS_SHOWN:
        parts.append(
            f"<p class=muted>{len(groups) - LAYOUTS_SHOWN:,} more layouts are listed in "
            "restricted/work/ingest_report.json.</p>"
        )
    return "".join(parts)


def appendix_pdf(doc: Doc, m: ReportModel) -> None:
    """The appendix in the PDF."""
    groups = layouts(m.ingest)
    doc.h2(TITLE)
    if not groups:
        doc.para("No table was read (the ingest report was not available).", 9)
        return
    doc.para(INTRO, 9)
    for note in facility_code_notes(m):
        doc.para(note, 8.5)
    for k, g in enumerate(groups[:LAYOUTS_SHOWN], 1):
        doc.grid(
            _heading(k, g),
            ["Information", "Column", "Confidence", "How it was decided"],
            _role_rows(g),
            [40, 34, 20, 80],
            size=8,
        )
        for w in _gaps(g):
            doc.para(w, 8.5)
    if len(groups) > LAYOUTS_SHOWN:
        doc.para(
            f"{len(groups) - LAYOUTS_SHOWN:,} more layouts are listed in "
            "restricted/work/ingest_report.json.",
            8.5,
            muted=True,
        )
