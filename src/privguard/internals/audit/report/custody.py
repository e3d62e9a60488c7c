"""Chain of custody: ``manifest.json`` and :func:`verify`.

The manifest lists the SHA-256 of every input file and every file in the output
folder (except the manifest itself), the parameters, the labels file and the
software versions. It holds no wall-clock time, so the same audit on the same
inputs gives a byte-identical manifest. Paths of inputs are stored relative to the
output folder's parent when possible, so a case folder can be moved as a whole.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from privguard import __version__
from privguard.errors import InputError, IntegrityError
from privguard.internals.audit.paths import FILES
from privguard.internals.common.custody import sha256_file

MANIFEST = FILES["manifest"]
# Files in OUT deliberately left out of the manifest: the audit's wall-clock timings
# (they differ between identical runs, and are written after the manifest) and the
# engine's scratch folder (spill files come and go while the report runs).
UNSEALED_FILES = (FILES["timings"], FILES["signature"])
UNSEALED_DIRS = (FILES["scratch"] + "/",)
FORMAT = "privguard-manifest/1"
_PACKAGES = ("duckdb", "pyarrow", "fpdf2", "xlsxwriter", "openpyxl", "phonenumbers", "click")


@dataclass
class VerifyResult:
    """What :func:`verify` checked: every file matched its recorded hash."""

    manifest: Path
    inputs_checked: int
    outputs_checked: int
    manifest_sha256: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def software_versions() -> dict[str, str]:
    """Versions of Python, privguard and the libraries that shape the outputs."""
    versions = {"python": platform.python_version(), "privguard": __version__}
    for pkg in _PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    return versions


def input_files(inputs: list[Path]) -> list[Path]:
    """Every file under the given inputs (files or folders), sorted, each once."""
    files: set[Path] = set()
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            files.update(f for f in p.rglob("*") if f.is_file())
        elif p.is_file():
            files.add(p)
        else:
            raise InputError(
                "an input of the audit does not exist",
                where=str(p),
                fix="check the path given on the command line",
            )
    return sorted(files, key=lambda f: f.resolve().as_posix())


def _stored_path(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when that stays short, else absolute (POSIX form)."""
    absolute = path.resolve()
    try:
        return Path(os.path.relpath(absolute, base)).as_posix()
    except ValueError:  # another drive on Windows
        return absolute.as_posix()


def sealed(name: str) -> bool:
    """Whether a file of the output folder (POSIX path relative to it) is in the manifest."""
    return (
        name != MANIFEST
        and name not in UNSEALED_FILES
        and not any(name.startswith(d) for d in UNSEALED_DIRS)
    )


def output_files(out: Path) -> list[Path]:
    """Every sealed file in the output folder (all but the manifest and scratch), sorted."""
    return sorted(
        (f for f in out.rglob("*") if f.is_file() and sealed(f.relative_to(out).as_posix())),
        key=lambda f: f.relative_to(out).as_posix(),
    )


def _entry(path: Path, name: str) -> dict[str, Any]:
    return {"path": name, "sha256": sha256_file(path), "bytes": path.stat().st_size}


def write_manifest(
    out: Path,
    *,
    inputs: list[Path],
    parameters: dict[str, Any],
    labels: Path | None,
    privacy: dict[str, Any],
) -> Path:
    """Hash every input and output and write ``OUT/manifest.json`` (last step of an audit)."""
    out = Path(out)
    base = out.resolve().parent
    manifest = {
        "format": FORMAT,
        "software": software_versions(),
        "parameters": parameters,
        "privacy": privacy,
        "labels": _entry(Path(labels), _stored_path(Path(labels), base)) if labels else None,
        "inputs": [_entry(f, _stored_path(f, base)) for f in input_files(inputs)],
        "outputs": [_entry(f, f.relative_to(out).as_posix()) for f in output_files(out)],
        "unsealed": [*UNSEALED_FILES, *UNSEALED_DIRS],
    }
    path = out / MANIFEST
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def _check(entry: dict[str, Any], path: Path, what: str, problems: list[str]) -> None:
    if not path.is_file():
        problems.append(f"missing {what}: {entry['path']} (expected at {path})")
    elif sha256_file(path) != entry["sha256"]:
        problems.append(f"changed {what}: {entry['path']} (its SHA-256 no longer matches)")


def verify(out: Path) -> VerifyResult:
    """Recompute every hash in ``OUT/manifest.json``; raise if anything changed.

    Checks each input file (at its recorded path, relative to the output folder's
    parent), the labels file, and each output file; any file in the output folder that
    the manifest does not list is reported as extra. Raises :class:`IntegrityError`
    (exit code 3) listing every changed, missing or extra file; returns a
    :class:`VerifyResult` when everything matches. A missing or unreadable manifest is
    an :class:`InputError`.

    Example::

        >>> privguard.verify(Path("case/out"))   # doctest: +SKIP
        VerifyResult(manifest=..., inputs_checked=12, outputs_checked=31, problems=[])
    """
    out = Path(out)
    path = out / MANIFEST
    if not path.is_file():
        raise InputError(
            "this folder has no manifest.json, so it cannot be verified",
            where=str(out),
            fix="give the output folder of a finished 'privguard audit' run",
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        inputs, outputs = manifest["inputs"], manifest["outputs"]
        labels = manifest.get("labels")
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(
            f"manifest.json is damaged and cannot be read ({exc})",
            where=str(path),
            fix="restore manifest.json from the original copy of the audit",
        ) from None
    base = out.resolve().parent
    problems: list[str] = []
    for entry in inputs:
        _check(entry, base / entry["path"], "input", problems)
    if labels:
        _check(labels, base / labels["path"], "labels file", problems)
    listed = {e["path"] for e in outputs}
    for entry in outputs:
        _check(entry, out / entry["path"], "output", problems)
    for f in output_files(out):
        name = f.relative_to(out).as_posix()
        if name not in listed:
            problems.append(f"extra output not in the manifest: {name}")
    result = VerifyResult(path, len(inputs), len(outputs), sha256_file(path), problems)
    if problems:
        raise IntegrityError(
            f"{len(problems)} file(s) differ from the manifest: the audit's files were altered",
            where=str(path),
            problems=problems,
            fix="compare with the original copy; re-run the audit from the original inputs",
        )
    return result
