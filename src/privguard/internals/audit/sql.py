"""Pure helpers for building SQL text. No engine is touched here."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote_ident(name: str) -> str:
    """Quote an identifier for SQL, doubling embedded quotes."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Quote a string literal for SQL, doubling embedded single quotes."""
    return "'" + value.replace("'", "''") + "'"


def parquet_source(paths: Path | str | Iterable[Path | str]) -> str:
    """A ``read_parquet`` table expression over one path, a glob, or a list of paths."""
    if isinstance(paths, (str, Path)):
        return f"read_parquet({quote_literal(str(paths))})"
    items = ", ".join(quote_literal(str(p)) for p in paths)
    return f"read_parquet([{items}])"


def is_plain_ident(name: str) -> bool:
    """True when ``name`` needs no quoting."""
    return bool(_PLAIN.match(name))
