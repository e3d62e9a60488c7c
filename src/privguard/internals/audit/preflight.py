"""Check every input of an audit before any stage runs, and report every problem at once.

A directory without a phone column used to surface after ingest and normalize, minutes
into a large run; a bad case file hid the missing dump behind it. Here the case file,
the dump folder, every directory, registry and labels file (read in full, with the same
readers identify uses) and the output folder are checked together, and one
:class:`~privguard.errors.InputError` lists each problem with its fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from privguard.errors import InputError, PrivguardError
from privguard.internals.audit.engines import ENGINES
from privguard.internals.audit.outdir import out_problem
from privguard.internals.audit.settings import CaseSettings, load_settings
from privguard.internals.common.keys import _inside as path_inside
from privguard.internals.common.keys import key_path, load_key, load_signing_key, signing_key_path
from privguard.internals.common.lists.sources import load_labels, read_directory, read_registry


def _say(what: str, err: PrivguardError) -> list[str]:
    """One problem per line of an error: what, where, and the fix it suggests."""
    where = f" ({err.where})" if err.where else ""
    fix = f"; fix: {err.fix}" if err.fix else ""
    if err.problems:
        return [f"{what}: {p}" for p in err.problems]
    return [f"{what}{where}: {err.message}{fix}"]


def _file(kind: str, path: Path, problems: list[str]) -> bool:
    if path.is_dir():
        problems.append(f"the {kind} file {path} is a folder: give the file inside it")
    elif not path.is_file():
        problems.append(
            f"the {kind} file {path} does not exist: check the path (a .csv or .xlsx file)"
        )
    else:
        return True
    return False


def _key_problems(out: Path, settings: CaseSettings) -> list[str]:
    """The case key where the audit will use it: not inside OUT, and readable if it exists.
    Found late, at identify, a refused key left a half-written OUT that the next run, with
    the key fixed as the message said, then refused as "not an audit"."""
    problems: list[str] = []
    # The signing key seals the manifest at the very end: a damaged one found there left
    # a half-written OUT. Only read here when it exists (it is created on first use).
    if signing_key_path(out).is_file():
        try:
            load_signing_key(out)
        except PrivguardError as err:
            problems += _say("the case signing key", err)
    privacy = settings.privacy
    if not privacy.pseudonymize:
        return problems
    path = key_path(out, privacy.key_file)
    if not (path.is_file() or path_inside(path, out)):
        return problems  # created on first use, beside OUT
    try:
        load_key(out, privacy.key_file)
    except PrivguardError as err:
        problems += _say("the case key", err)
    return problems


def check_inputs(
    dump: Path,
    out: Path,
    *,
    directories: Sequence[Path] = (),
    registries: Sequence[Path] = (),
    labels: Path | None = None,
    config: Path | None = None,
    settings: CaseSettings | None = None,
    overwrite: bool = False,
    engine: str = "duckdb",
) -> CaseSettings:
    """Validate the case file, the dump folder, every list and the output folder; returns
    the case settings. Raises :class:`InputError` listing every problem found, so a person
    fixes them all in one go; nothing is written before this passes."""
    problems: list[str] = []
    if engine not in ENGINES:
        problems.append(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    if settings is None:
        try:
            settings = load_settings(config)
        except PrivguardError as err:
            problems += _say(f"the case file {config}", err)
            settings = load_settings(None)
    if not dump.exists():
        problems.append(
            f"the dump folder {dump} does not exist: check the path and give the folder that "
            "holds the leaked or produced tables"
        )
    elif not dump.is_dir():
        problems.append(f"the dump folder {dump} is a file: give the folder that holds it")
    elif not any(dump.iterdir()):
        problems.append(
            f"the dump folder {dump} is empty, so no table of calls was read from the dump: "
            "copy the call records into it"
        )
    ident = settings.identify
    columns = {
        "directory": getattr(ident, "directory_columns", None),
        "registry": getattr(ident, "registry_columns", None),
    }
    readers = {
        "directory": lambda p: read_directory(p, columns["directory"]),
        "registry": lambda p: read_registry(p, columns["registry"]),
        "labels": load_labels,
    }
    named = [("directory", Path(p)) for p in directories]
    named += [("registry", Path(p)) for p in registries]
    named += [("labels", Path(labels))] if labels is not None else []
    for kind, path in named:
        if not _file(kind, path, problems):
            continue
        try:
            readers[kind](path)
        except PrivguardError as err:
            problems += _say(f"the {kind} file {path}", err)
    if problem := out_problem(Path(out), overwrite=overwrite):
        problems.append(problem)
    problems += _key_problems(Path(out), settings)
    if problems:
        raise InputError(
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} with the inputs; "
            "nothing was run",
            problems=problems,
            fix="correct each problem listed above, then run the same command again",
        )
    return settings
