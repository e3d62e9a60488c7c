"""Make the output folder ready for an audit without ever destroying a person's files.

* An absent or empty folder is used as is.
* A folder holding an earlier privguard audit (it has a ``manifest.json``) loses exactly
  the files that audit sealed, its signature, timings and work files; anything else (a
  note in ``shareable/exports/``, a draft in ``letters/``) stays, and is named in the
  new manifest as ``foreign`` rather than sealed as an output.
* Any other non-empty folder is refused (exit code 2) unless ``overwrite``: then files
  with privguard's names are replaced and nothing else is touched.
* A labels file inside the folder (the review loop) is read before anything is cleared
  and kept as ``restricted/work/labels/<name>``, which the audit then reads and seals.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from privguard.errors import InputError
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.report.custody import is_litter, previous_outputs

log = logging.getLogger(__name__)


@dataclass
class PreparedOut:
    """The labels file to read and the files of the folder the audit must leave alone."""

    labels: Path | None
    foreign: set[str] = field(default_factory=set)


def _files(out: Path) -> set[str]:
    return {f.relative_to(out).as_posix() for f in out.rglob("*") if f.is_file()}


def out_problem(out: Path, *, overwrite: bool = False) -> str | None:
    """What :func:`prepare_out` would refuse about ``out``, as one sentence with its fix,
    or None; changes nothing (the audit checks every input before it runs)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        return f"the output folder {out} is an existing file: give --out a folder name"
    if not out.exists():
        parent = out.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            return (
                f"the output folder {out} cannot be made: {parent} is a file, not a folder: "
                "give --out a folder whose parents are folders"
            )
        return None
    present = {f for f in _files(out) if not is_litter(f)}
    try:
        previous = previous_outputs(out)
    except InputError as err:
        return None if overwrite else f"the output folder {out}: {err.message}; fix: {err.fix}"
    if previous is None and present and not overwrite:
        return (
            f"the output folder {out} is not empty and holds no privguard audit "
            f"({len(present)} file(s) in it): give --out a new or empty folder, or pass "
            "--overwrite to write privguard's files into it (no other file is deleted)"
        )
    return None


def prepare_out(out: Path, *, labels: Path | None = None, overwrite: bool = False) -> PreparedOut:
    """Check and clear ``out`` for a new audit (rules in the module docstring).

    Raises:
        InputError: ``out`` is a file, or a non-empty folder that holds no privguard
            audit and ``overwrite`` is not set, or holds a damaged earlier manifest.
    """
    out = Path(out)
    paths = AuditPaths(out)
    if out.exists() and not out.is_dir():
        raise InputError(
            "the output folder is an existing file",
            where=str(out),
            fix="give --out a folder name (new or empty), not a file",
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"the output folder cannot be made: {exc.strerror or exc}",
            where=str(out),
            fix="give --out a folder you may write, whose parents are folders (not files)",
        ) from exc
    present = {f for f in _files(out) if not is_litter(f)}
    try:
        previous = previous_outputs(out)
    except InputError:
        if not overwrite:
            raise
        previous = []
    if previous is None and present and not overwrite:
        raise InputError(
            f"the output folder is not empty and holds no privguard audit ({len(present)} "
            "file(s) in it)",
            where=str(out),
            fix="give --out a new or empty folder, or pass --overwrite to write privguard's "
            "files into this one (no other file is deleted)",
        )
    kept_labels = None
    if labels is not None and Path(labels).resolve().is_relative_to(out.resolve()):
        # The review loop: the sheet lives among the outputs about to be cleared.
        kept_labels = (Path(labels).name, Path(labels).read_bytes())
    root = out.resolve()
    ours = set(previous or []) | {paths.rel(n) for n in ("manifest", "signature", "timings")}
    for rel in ours:
        path = (out / rel).resolve()
        if path.is_relative_to(root) and path.is_file():
            path.unlink()
    # Work files are never anyone else's: a re-run always rebuilds them.
    shutil.rmtree(paths.work, ignore_errors=True)
    paths.work.mkdir(parents=True)
    foreign = {f for f in _files(out) if not is_litter(f)}
    if foreign:
        log.warning(
            "%d file(s) in %s were not written by privguard; they are left alone and not "
            "sealed: %s",
            len(foreign),
            out,
            ", ".join(sorted(foreign)[:5]),
        )
    if kept_labels is not None:
        name, data = kept_labels
        labels = paths.work / "labels" / name
        labels.parent.mkdir(parents=True)
        labels.write_bytes(data)
    return PreparedOut(labels=Path(labels) if labels is not None else None, foreign=foreign)
