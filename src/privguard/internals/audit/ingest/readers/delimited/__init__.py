"""Delimited text (CSV/TSV files, and the tables of SQL dumps split into text), in one place.

* :mod:`.dialect`: encoding, delimiter, escape and header, from the head of the file;
* :mod:`.table`: the staged table, parsed by DuckDB ``read_csv`` when it is written, and
  its rejected records placed (:func:`finish_delimited`);
* :mod:`.checks`: the one pass over the file's bytes (line breaks, blank lines, quotes, a
  delimiter ending a line) and the second looks it calls for.

Nothing here is shared between threads: every function takes what it needs and returns
what it found.
"""

from privguard.internals.audit.ingest.readers.delimited.checks import Lines, scan_lines
from privguard.internals.audit.ingest.readers.delimited.table import (
    count_delimited,
    defer_delimited,
    finish_delimited,
    read_csv_file,
    read_delimited,
    reread,
)

__all__ = [
    "Lines",
    "count_delimited",
    "defer_delimited",
    "finish_delimited",
    "read_csv_file",
    "read_delimited",
    "reread",
    "scan_lines",
]
