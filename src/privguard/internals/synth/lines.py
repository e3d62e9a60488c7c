"""Encode rendered columns as text records (CSV/TSV, JSON lines, SQL dumps), vectorized."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from privguard.internals.synth.layouts import Layout

_NULL = pa.scalar(None, pa.string())


def _str(col: pa.Array) -> pa.Array:
    return pc.cast(col, pa.string()) if col.type != pa.string() else col


def _replace(col: pa.Array, pairs: tuple[tuple[str, str], ...]) -> pa.Array:
    for old, new in pairs:
        col = pc.replace_substring(col, pattern=old, replacement=new)
    return col


def _corrupt_join(vals: list[pa.Array], line: pa.Array, corrupt: np.ndarray, sep: str) -> pa.Array:
    """Give corrupt rows a wrong field count: drop the last field, or insert a stray one."""
    idx = np.flatnonzero(corrupt)
    if len(idx) == 0:
        return line
    sub = [v.take(pa.array(idx)) for v in vals]
    short = pc.binary_join_element_wise(*sub[:-1], sep)
    extra = pc.binary_join_element_wise(*sub[:3], "ERR", *sub[3:], sep)
    bad = pc.if_else(pa.array(idx % 2 == 0), short, extra)
    return pc.replace_with_mask(line, pa.array(corrupt), bad)


def delimited(layout: Layout, cols: list[pa.Array], corrupt: np.ndarray) -> pa.Array:
    """CSV/TSV lines, quoted where needed (or always), each ending with the layout's newline."""
    d = layout.delimiter
    vals = []
    for col in cols:
        c = pc.fill_null(_str(col), "")
        if layout.quote_all or d != "\t":
            quoted = pc.binary_join_element_wise('"', pc.replace_substring(c, '"', '""'), '"', "")
            if layout.quote_all:
                c = quoted
            else:
                need = pc.or_(pc.match_substring(c, d), pc.match_substring(c, '"'))
                c = pc.if_else(need, quoted, c)
        vals.append(c)
    line = _corrupt_join(vals, pc.binary_join_element_wise(*vals, d), corrupt, d)
    return pc.binary_join_element_wise(line, layout.newline, "")


def header(layout: Layout) -> str:
    """The header record of a delimited table."""
    names = [f'"{c.header}"' if layout.quote_all else c.header for c in layout.columns]
    return layout.delimiter.join(names) + layout.newline


def jsonl(layout: Layout, cols: list[pa.Array], corrupt: np.ndarray) -> pa.Array:
    """One JSON object per line; counts are JSON numbers; corrupt rows are cut in half."""
    parts = []
    for c, col in zip(layout.columns, cols, strict=True):
        s = _str(col)
        numeric = c.field in ("duration:seconds", "duration:minutes")
        if not numeric:
            s = _replace(s, (("\\", "\\\\"), ('"', '\\"')))
            s = pc.binary_join_element_wise('"', s, '"', "")
        parts.append(pc.binary_join_element_wise(f'"{c.header}": ', pc.fill_null(s, "null"), ""))
    body = pc.binary_join_element_wise("{", pc.binary_join_element_wise(*parts, ", "), "}", "")
    idx = np.flatnonzero(corrupt)
    if len(idx):
        cut = [s[: len(s) // 2] for s in body.take(pa.array(idx)).to_pylist()]
        body = pc.replace_with_mask(body, pa.array(corrupt), pa.array(cut))
    return pc.binary_join_element_wise(body, "\n", "")


def mysql_values(layout: Layout, cols: list[pa.Array], table: str) -> pa.Array:
    """Extended INSERT statements as mariadb-dump writes them, 1000 rows per statement."""
    vals = []
    for c, col in zip(layout.columns, cols, strict=True):
        s = _str(col)
        if c.field not in ("duration:seconds", "duration:minutes"):
            s = _replace(
                s, (("\\", "\\\\"), ("'", "\\'"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"))
            )
            s = pc.binary_join_element_wise("'", s, "'", "")
        vals.append(pc.fill_null(s, "NULL"))
    row = pc.binary_join_element_wise("(", pc.binary_join_element_wise(*vals, ","), ")", "")
    n = len(row)
    pos = np.arange(n)
    first = pa.array(np.where(pos % 1000 == 0, f"INSERT INTO `{table}` VALUES ", ""))
    last = (pos % 1000 == 999) | (pos == n - 1)
    return pc.binary_join_element_wise(first, row, pa.array(np.where(last, ";\n", ",")), "")


def pg_copy(layout: Layout, cols: list[pa.Array], corrupt: np.ndarray) -> pa.Array:
    """COPY ... FROM stdin data lines: tab separated, backslash escapes, ``\\N`` for NULL."""
    vals = [
        pc.fill_null(
            _replace(_str(c), (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))),
            "\\N",
        )
        for c in cols
    ]
    line = _corrupt_join(vals, pc.binary_join_element_wise(*vals, "\t"), corrupt, "\t")
    return pc.binary_join_element_wise(line, "\n", "")


def concat_bytes(lines: pa.Array) -> tuple[memoryview, np.ndarray]:
    """The UTF-8 bytes of all lines back to back (zero copy) and the line offsets."""
    if lines.offset != 0:
        lines = pa.concat_arrays([lines])
    width = np.int64 if pa.types.is_large_string(lines.type) else np.int32
    offs = np.frombuffer(lines.buffers()[1], dtype=width, count=len(lines) + 1).astype(np.int64)
    data = lines.buffers()[2]
    view = memoryview(data) if data is not None else memoryview(b"")
    return view, offs
