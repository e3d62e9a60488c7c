"""Pure SQL builders for ``findings.xlsx``: sheet rows as SpreadsheetML, built by the engine.

Each row of a sheet becomes one line of XML (inline strings, no shared-string table), with
the same cell rules xlsxwriter applied; :mod:`.xlsx` streams the lines into the workbook.
"""

from __future__ import annotations

from pathlib import Path

from privguard.internals.audit.sql import quote_ident, quote_literal

XLSX_STR_MAX = 32767  # Excel's characters per cell; longer text is cut as xlsxwriter did
_XLSX_CTRL = [c for c in range(0x20) if c not in (9, 10)]  # XML 1.0 forbids most of these
_XLSX_E164 = r"\+[1-9][0-9]{6,14}\n?"  # as re.match(r"^\+...$") in Python (trailing \n ok)
_XLSX_WS_CODES = "9, 10, 11, 12, 13, 32, 133, 160, 5760, " + ", ".join(
    str(c) for c in [*range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
)  # the code points of _XLSX_WS
# Python's \s (xlsxwriter's test for xml:space="preserve") after control escapes.
_XLSX_WS = (
    r"[\t\n\r\f\v \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
)


def xlsx_escape_sql(v: str) -> str:
    """Text ``v`` as the body of an inline-string ``<t>``, escaped as xlsxwriter does:
    a literal ``_xHHHH_`` gets ``_x005F`` before it, control characters other than tab
    and newline (forbidden in XML 1.0) and U+FFFE/U+FFFF become ``_xHHHH_`` (Excel's own
    escape, which readers turn back into the character), ``& < >`` become entities and a
    newline becomes ``&#10;`` so that each sheet row stays on one line of the rows file."""
    ctrl = f"regexp_replace({v}, '(_x[0-9a-fA-F]{{4}}_)', '_x005F\\1', 'g')"
    for c in _XLSX_CTRL:
        ctrl = f"replace({ctrl}, chr({c}), '_x{c:04X}_')"
    for c in (0xFFFE, 0xFFFF):
        ctrl = f"replace({ctrl}, chr({c}), '_x{c:04X}_')"
    rare = r"regexp_matches({v}, '[\x00-\x08\x0b-\x1f\x{{fffe}}\x{{ffff}}]|_x[0-9a-fA-F]{{4}}_')"
    s = f"CASE WHEN {rare.format(v=v)} THEN {ctrl} ELSE {v} END"
    for ch, ent in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\n", "&#10;")):
        s = f"replace({s}, {quote_literal(ch)}, '{ent}')"
    return s


def _xlsx_as_text(value: str, kind: str) -> str:
    """A date, timestamp or other value as the text Python's writer gave it (isoformat)."""
    if kind == "timestamp":
        us = f"(epoch_us({value}) % 1000000 + 1000000) % 1000000"
        return (
            f"strftime({value}, '%Y-%m-%dT%H:%M:%S') || CASE WHEN {us} = 0 THEN '' "
            f"ELSE '.' || lpad(CAST({us} AS VARCHAR), 6, '0') END"
        )
    return f"CAST({value} AS VARCHAR)"


# Excel's date serials: days since 1899-12-30, exact from 1900-03-01 (Excel's 1900 leap
# bug makes earlier serials wrong) to 9999-12-31 (its last date). Outside that: ISO text.
_EXCEL_EPOCH = "DATE '1899-12-30'"
_EXCEL_FIRST = "DATE '1900-03-01'"
DATE_STYLE = {"date": 3, "timestamp": 4}  # cellXfs index in xlsx._STYLES


def _xlsx_in_range(value: str) -> str:
    return f"coalesce({value} >= {_EXCEL_FIRST} AND year({value}) < 10000, false)"


def _xlsx_serial(value: str, kind: str) -> str:
    """A date or timestamp as Excel's serial number (NULL when Excel cannot hold it)."""
    if kind == "date":
        num = f"CAST(date_diff('day', {_EXCEL_EPOCH}, {value}) AS DOUBLE)"
    else:  # days and the fraction of a day, from microseconds since 1970 (serial 25569)
        num = f"(epoch_us({value}) / 86400000000.0 + 25569.0)"
    return f"CASE WHEN {_xlsx_in_range(value)} THEN {num} END"


def _xlsx_cell(i: int, ref: str, kind: str) -> list[str]:
    """Cell ``i`` of a row as parts of the row's one ``concat`` (which skips NULLs: every
    part is NULL when the value is, so a NULL is no cell); see ``xlsx_rows_sql``."""
    if kind in DATE_STYLE:  # a date cell (number v + date style), else the text cell
        von = f"CASE WHEN v{i} IS NOT NULL THEN"
        return [
            f"{von} '<c r=\"{ref}' END",
            f"{von} rr END",
            f'{von} \'" s="{DATE_STYLE[kind]}"><v>\' END',
            f"{von} printf('%.16G', v{i}) END",
            f"{von} '</v></c>' END",
            *_xlsx_cell(i, ref, "text"),
        ]
    val = "x" if kind not in ("bool", "number") else "v"
    on = f"CASE WHEN {val}{i} IS NOT NULL THEN"
    parts = [f"{on} '<c r=\"{ref}' END", f"{on} rr END"]
    if kind == "bool":
        parts += [
            f'{on} \'" t="b"><v>\' END',
            f"CASE WHEN v{i} THEN '1' WHEN NOT v{i} THEN '0' END",
            f"{on} '</v></c>' END",
        ]
    elif kind == "number":  # NaN and infinity (no Excel number) are written as text
        fin = f"CASE WHEN isfinite(v{i}) THEN"
        parts += [
            f"{fin} '\"><v>' WHEN v{i} IS NOT NULL THEN '\" t=\"inlineStr\"><is><t>' END",
            f"{fin} printf('%.16G', v{i}) ELSE CAST(v{i} AS VARCHAR) END",
            f"{fin} '</v></c>' WHEN v{i} IS NOT NULL THEN '</t></is></c>' END",
        ]
    else:
        parts += [
            f'CASE WHEN t{i} THEN \'" s="2" t="inlineStr"><is><t\' '
            f'WHEN x{i} IS NOT NULL THEN \'" t="inlineStr"><is><t\' END',
            f"CASE WHEN p{i} THEN ' xml:space=\"preserve\">' WHEN x{i} IS NOT NULL THEN '>' END",
            f"x{i}",
            f"{on} '</t></is></c>' END",
        ]
    return parts


def _xlsx_text_layers(i: int) -> list[str]:
    """The steps from text ``s{i}`` to its cell, one SELECT layer each (so no step is
    computed twice): ``t{i}`` E.164 (kept as is, text style); ``y{i}`` formula-safe
    unless E.164; ``f{i}`` anything to escape, cut or keep (rare: cheap tests first);
    ``x{i}`` cut at Excel's limit and escaped; ``p{i}`` whitespace to preserve."""
    s = f"s{i}"
    ws = f"({_XLSX_WS}|&#10;)"  # a newline is already &#10; in x
    rare = r"[&<>\x00-\x1f\x{fffe}\x{ffff}]|_x[0-9a-fA-F]{4}_"
    return [
        f"coalesce(prefix({s}, '+') AND regexp_full_match({s}, '{_XLSX_E164}'), false) AS t{i}",
        f"CASE WHEN t{i} THEN {s} WHEN ascii({s}) IN (61, 43, 45, 64, 9, 13) "
        f"THEN chr(39) || {s} ELSE {s} END AS y{i}",
        f"(strlen(y{i}) > {XLSX_STR_MAX} OR ascii(y{i}) IN ({_XLSX_WS_CODES}) "
        f"OR regexp_matches(y{i}, '{rare}|{_XLSX_WS}$')) AS f{i}",
        f"CASE WHEN f{i} THEN {xlsx_escape_sql(f'left(y{i}, {XLSX_STR_MAX})')} ELSE y{i} END AS x{i}",
        f"CASE WHEN f{i} THEN regexp_matches(x{i}, '^{ws}|{ws}$') ELSE false END AS p{i}",
    ]


def xlsx_column_ref(i: int) -> str:
    """Column letters of the 0-based column ``i`` (0 -> A, 26 -> AA)."""
    ref = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        ref = chr(65 + r) + ref
    return ref


def xlsx_rows_sql(
    query: str, columns: list[tuple[str, str]], *, order_by: str, per_sheet: int
) -> str:
    """One line of SpreadsheetML per row of ``query``: ``<row r="n">...</row>``, in the
    order ``order_by`` (over the query's columns), numbered from 2 (row 1 is the header)
    and starting again every ``per_sheet`` rows (a continuation sheet).

    ``columns``: (name, kind) with kind ``text``, ``bool``, ``number``, ``date``,
    ``timestamp`` or ``other``. The cells follow the per-cell rules of the former Python
    writer (xlsxwriter): NULL is no cell; booleans are boolean cells; numbers are number
    cells written as ``%.16G``; E.164 text is a text cell with the text style (s=2),
    unchanged; dates and timestamps are date cells (Excel's serial number with a
    ``yyyy-mm-dd`` or ``yyyy-mm-dd hh:mm:ss`` format; ISO text before 1900-03-01, where
    Excel's serials are wrong); other text gets a leading ``'`` when it starts with
    ``= + - @``, tab or carriage return, is cut at 32,767 characters and escaped (see
    ``xlsx_escape_sql``). No value can hold a raw newline, so the file is one row a line.
    """
    first: list[str] = []
    cells: list[str] = []
    layers: list[list[str]] = [[], [], [], [], []]
    for i, (name, kind) in enumerate(columns):
        q = quote_ident(name)
        if kind in ("bool", "number"):
            first.append(f"{q if kind == 'bool' else f'CAST({q} AS DOUBLE)'} AS v{i}")
        elif kind in DATE_STYLE:  # Excel's serial; ISO text only outside Excel's dates
            first.append(f"{_xlsx_serial(q, kind)} AS v{i}")
            txt = f"CASE WHEN NOT {_xlsx_in_range(q)} THEN {_xlsx_as_text(q, kind)} END"
            first.append(f"{txt} AS s{i}")
            for layer, step in zip(layers, _xlsx_text_layers(i), strict=True):
                layer.append(step)
        else:
            first.append(f"{_xlsx_as_text(q, kind)} AS s{i}")
            for layer, step in zip(layers, _xlsx_text_layers(i), strict=True):
                layer.append(step)
        cells.extend(_xlsx_cell(i, xlsx_column_ref(i), kind))
    body = (
        f"SELECT rn, CAST((rn - 1) % {int(per_sheet)} + 2 AS VARCHAR) AS rr, {', '.join(first)} "
        f"FROM (SELECT row_number() OVER (ORDER BY {order_by}) AS rn, * FROM ({query}))"
    )
    for layer in layers:
        if layer:
            body = f"SELECT *, {', '.join(layer)} FROM ({body})"
    return (
        "SELECT concat('<row r=\"', rr, '\">',\n  " + ",\n  ".join(cells) + ",\n  '</row>') AS x\n"
        f"FROM ({body})\nORDER BY rn"
    )


def copy_lines_sql(query: str, path: Path) -> str:
    """``COPY`` of a one-column ``query`` to ``path``, each value verbatim on its own line
    (no header, quoting or escaping; one column, so no delimiter is ever written)."""
    return (
        f"COPY ({query}) TO {quote_literal(str(path))} "
        "(FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\x01', NEW_LINE '\n')"
    )
