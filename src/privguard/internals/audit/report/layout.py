"""What the HTML and the PDF report share besides the figures: one numbering of tables and
figures, the cover's lines and the document's title, so a reader can cite "Table 3" from
either and find the same table."""

from __future__ import annotations

import datetime as dt

from privguard import __version__

from .model import ReportModel

# Main body first, then the appendix (technical evidence) as A1, A2 ...
TABLES = {
    "reduction": "1", "month": "2", "facility": "3", "numbers": "4", "candidates": "5",
    "classes": "6", "clocks": "A1", "inferred": "A2", "rules": "A3",
}  # fmt: skip
FIGURES = {"month": "1", "facility": "2", "violations": "3"}
APPENDIX = "Appendix A. Technical evidence: clocks and duplicate copies"
APPENDIX_INTRO = (
    "This appendix holds the evidence behind two steps of the audit that a reader of the "
    "figures above does not need, but that an expert checking them does: how each table's "
    "clock was found, and how copies of the same call were merged."
)
TITLE = "Audit of recorded attorney-client calls"


CAPTIONS = {
    "reduction": "How the records were reduced to distinct calls",
    "month": "Calls to attorney numbers per month (UTC)",
    "facility": "Calls to attorney numbers per facility",
    "numbers": "Attorney numbers with the most recorded calls",
    "candidates": "Numbers awaiting review, highest score first",
    "classes": "How each called number was classified",
    "clocks": "The clocks of the source tables",
    "inferred": "Tables whose clock was inferred, with the evidence",
    "rules": "Duplicate copies merged, by rule",
}
FIGURE_CAPTIONS = {
    "month": "Calls to attorney numbers each month; the orange-red part was recorded.",
    "facility": "Recorded calls to attorney numbers and registry violations at each facility.",
    "violations": "Registry violations over time: recorded calls to numbers that were on the "
    "do-not-record list that day.",
}


def table(key: str, extra: str = "") -> str:
    """A table's caption with its shared number, e.g. 'Table 3. Calls ... per facility'."""
    return f"Table {TABLES[key]}. {CAPTIONS[key]}{extra}"


def figure(key: str, extra: str = "") -> str:
    """A figure's caption with its shared number."""
    return f"Figure {FIGURES[key]}. {FIGURE_CAPTIONS[key]}{extra}"


def title(m: ReportModel) -> str:
    """The document's title: the case name when the case file gives one."""
    return f"{TITLE}: {m.case.name}" if m.case.name else TITLE


def made_on(m: ReportModel) -> dt.datetime:
    """The date the PDF says it was made: the case file's date, else the last call's (never
    the clock: the same inputs give the same bytes)."""
    if m.case.date:
        return dt.datetime.combine(m.case.date, dt.time(12), tzinfo=dt.UTC)
    return m.as_of


def cover(m: ReportModel) -> list[tuple[str, str]]:
    """(label, value) lines under the headline: case, analyst, date, software, signature."""
    s, c = m.summary, m.case
    lines = [("Case", c.name or "not named in the case file ([case] name)")]
    if c.reference:
        lines.append(("Reference", c.reference))
    lines.append(("Analyst", c.analyst or "not named in the case file ([case] analyst)"))
    if c.sender.who():
        lines.append(("Prepared by", c.sender.who() or ""))
    lines.append(
        ("Audit date", f"{c.date.day} {c.date:%B %Y}" if c.date else "not given in the case file ([case] date)")
    )  # fmt: skip
    span = f"{str(s.get('first_call', '?'))[:10]} to {str(s.get('last_call', '?'))[:10]} (UTC)"
    lines.append(("Calls from", span))
    lines.append(("Software", f"privguard {__version__}"))
    if m.public_key:
        lines.append(
            ("Signed with", f"Ed25519 key {m.public_key} (manifest.sig; check with privguard verify)")
        )  # fmt: skip
    return lines
