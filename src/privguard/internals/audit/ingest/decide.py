"""Mapping decisions across tables: tables of one layout share one decision, and the
tables that no decision maps are reported together with the mapping-file lines to fix them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from privguard.errors import MappingError
from privguard.internals.audit.ingest.mapping import Mapping, fix_snippet, map_table
from privguard.internals.audit.ingest.readers import Staged
from privguard.internals.audit.ingest.settings import Settings


def mapping_error(dump: Path, bad: list[tuple[Staged, Mapping]]) -> MappingError:
    problems: list[str] = []
    snippets: list[str] = []
    multi = {s.file for s, _ in bad if s.format in ("xlsx", "sqlite", "mysql_dump", "pg_dump")}
    for s, m in bad:
        rows = s.sample
        shown = "; ".join(", ".join("" if v is None else str(v)[:40] for v in r) for r in rows[:3])
        problems.append(
            f"{s.file} (table {s.table!r}): {'; '.join(m.problems)}. Columns found: "
            f"{', '.join(s.columns) or '(none)'}. First rows: {shown or '(no rows)'}"
        )
        snippets.append(fix_snippet(s.file, s.table, s.file in multi, s.columns, m))
    return MappingError(
        f"{len(bad)} table(s) cannot be mapped onto the call schema (a dialed number and a "
        "start time are needed)",
        where=str(dump),
        problems=problems,
        fix="write these lines into a TOML file, fill in the column names (or skip the table), "
        "and run again with --config FILE ('privguard audit') or --mapping FILE ('privguard "
        "ingest'):\n\n" + "\n\n".join(snippets),
    )


Decisions = dict[tuple[Any, ...], Mapping]


# Headers that name nothing: "column3" (our own), "col3", "field_3", "F3", "V3", "var3".
_GENERIC = re.compile(r"(?:column|col|field|var|[cfv])[ _]?\d+", re.I)


def map_all(
    staged: list[Staged], settings: Settings, known: Decisions
) -> tuple[list[Mapping], Decisions]:
    """Map every table (pure); tables of one layout share one decision, unless the header
    is meaningless (``col1..colN``: one table's values say nothing about another's).

    ``known`` holds earlier decisions by (columns, first rows, rule): a table the probe saw
    as it is staged is not mapped again. Returns the maps and every decision made.
    """
    layouts: dict[tuple[Any, ...], Mapping] = {}
    decided = dict(known)
    maps: list[Mapping] = []
    rules = [settings.rule_for(s.file, s.table) for s in staged]
    pooled = _pooled(staged, rules)
    for s, rule in zip(staged, rules, strict=True):
        key = (tuple(s.columns), id(rule))
        generic = all(_GENERIC.fullmatch(c.strip()) for c in s.columns)
        if key in layouts and not generic and s.sample:
            m = layouts[key]
        else:
            sample = s.sample if generic or not s.sample else pooled[key]
            seen = (tuple(s.columns), tuple(map(tuple, sample)), id(rule))
            m = decided.get(seen) or map_table(s.columns, sample, rule)
            decided[seen] = m
            if s.sample:
                layouts[key] = m
        maps.append(m)
    return maps, decided


POOLED_ROWS = 1000  # sampled rows of one layout that its one decision reads


def _pooled(staged: list[Staged], rules: list[Any]) -> dict[tuple[Any, ...], list[Any]]:
    """The samples of every table of one layout, joined: a layout's first table may hold a
    handful of rows, too few to tell an account from a call number by its values."""
    out: dict[tuple[Any, ...], list[Any]] = {}
    for s, rule in zip(staged, rules, strict=True):
        rows = out.setdefault((tuple(s.columns), id(rule)), [])
        rows += s.sample[: max(0, POOLED_ROWS - len(rows))]
    return out


def unmappable(staged: list[Staged], maps: list[Mapping]) -> list[tuple[Staged, Mapping]]:
    """Tables with rows whose mapping falls short (skipped and empty tables are not)."""
    return [(s, m) for s, m in zip(staged, maps, strict=True) if not m.ok and s.sample]
