"""``propose_mapping``: how privguard would read every table of a dump, without reading it.

Only the head of each file is read (the same probe ingest runs before a full read), so a
person can see, and correct, the proposed mapping of a multi-gigabyte dump in seconds.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from privguard.errors import InputError
from privguard.internals.audit.engines import connect
from privguard.internals.audit.ingest.decide import map_all
from privguard.internals.audit.ingest.discover import discover
from privguard.internals.audit.ingest.explain import MULTI_TABLE, describe, mapping_toml
from privguard.internals.audit.ingest.limits import Limits
from privguard.internals.audit.ingest.readers.probe import probe
from privguard.internals.audit.ingest.settings import Settings, load


@dataclass
class Proposal:
    """The proposed mapping of every table found at the head of a dump's files.

    ``tables``: one dict per table with ``file``, ``table``, ``format``, ``multi``,
    ``columns``, ``roles`` (field -> column, how, confidence, evidence),
    ``unmapped_columns`` (column, looks_like, could_be, evidence), ``missing`` (field,
    consequence), ``hints`` and ``problems`` (empty when the table is mappable).
    ``not_probed`` names files whose head could not be read (ingest reports why).
    """

    dump: str
    tables: list[dict[str, Any]]
    not_probed: list[str] = field(default_factory=list)

    @property
    def unmappable(self) -> list[dict[str, Any]]:
        return [t for t in self.tables if t["problems"]]

    def toml(self) -> str:
        """The proposal as a mapping file (``--mapping FILE``), with comments to correct it."""
        return mapping_toml(self.tables)

    def write(self, path: Path) -> Path:
        """Write :meth:`toml` to ``path``; never over an existing file."""
        path = Path(path)
        try:
            with open(path, "x", encoding="utf-8") as fh:
                fh.write(self.toml())
        except FileExistsError:
            raise InputError(
                "the mapping file already exists; privguard does not overwrite it",
                where=str(path),
                fix="give a new file name, or move the old file away first",
            ) from None
        except OSError as exc:
            raise InputError(
                f"the mapping file cannot be written: {exc.strerror or exc}",
                where=str(path),
                fix="give a file in a folder you may write",
            ) from None
        return path


def propose_mapping(
    dump: Path,
    *,
    mapping: Settings | None = None,
    mapping_file: Path | None = None,
    limits: Limits | None = None,
) -> Proposal:
    """Propose how every table of ``dump`` maps onto the call schema, from its head only.

    The same decisions as :func:`~privguard.internals.audit.ingest.api.ingest` (mapping file,
    then headers, then values), made on the first rows of every table; nothing is written.
    Unlike ingest, a table that cannot be mapped is returned with its ``problems`` instead
    of raising, so the whole dump can be corrected at once.

    Raises :class:`~privguard.errors.InputError` when ``dump`` does not exist (or an
    archive is past a limit) and :class:`~privguard.errors.SettingsError` for an invalid
    mapping file.

    Example::

        proposal = propose_mapping(Path("leak/dump"))
        proposal.write(Path("mapping.toml"))   # correct it, then ingest --mapping mapping.toml
    """
    settings = mapping if mapping is not None else Settings()
    if mapping_file is not None:
        settings = Settings(load(mapping_file).rules + settings.rules)
    dump = Path(dump)
    scratch = Path(tempfile.mkdtemp(prefix="privguard-propose-"))
    ex = connect()
    try:
        files, _, _ = discover(dump, scratch / "extract", limits or Limits())
        staged, not_probed = [], []
        for k, src in enumerate(files):
            found = probe(ex, src, scratch, f"p{k:05d}")
            staged += found
            if not found:
                not_probed.append(src.name)
        maps, _ = map_all(staged, settings, {})
    finally:
        ex.close()
        shutil.rmtree(scratch, ignore_errors=True)
    tables = []
    for s, m in zip(staged, maps, strict=True):
        entry = {
            "file": s.file,
            "table": s.table,
            "format": s.format,
            "multi": s.format in MULTI_TABLE,
            "columns": list(s.columns),
            **describe(s.columns, s.sample, m),
            "hints": {"tz_hint": m.tz_hint, "duration_unit": m.duration_unit},
            "skip": m.skip,
            "problems": [] if m.ok or not s.sample else list(m.problems),
        }
        tables.append(entry)
    return Proposal(dump.resolve().name, tables, not_probed)
