"""Chain of custody: ``manifest.json`` and :func:`verify`.

The manifest lists the SHA-256 of every input file and every file in the output
folder (except the manifest, its signature and the unsealed files), the input
folders (so files added to the dump later are noticed), the parameters, the labels
file and the software versions. It holds no wall-clock time and no spelling of a
path (everything is resolved first), so the same audit on the same inputs gives a
byte-identical manifest. Paths of inputs are stored relative to the output folder's
parent when possible, so a case folder can be moved as a whole; each input also
records its root (the folder or file given) so ``verify --inputs DIR`` finds it
elsewhere. ``seal.py`` signs the manifest (``manifest.sig``). Operating-system litter
(``.DS_Store``, ``Thumbs.db``, ``desktop.ini``, ``~$`` lock files, ``._`` forks) is
neither sealed nor called tampering: :func:`verify` names it apart.
"""

from __future__ import annotations

import fnmatch
import json
import os
import platform
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from privguard import __version__
from privguard.errors import InputError, IntegrityError
from privguard.internals.audit.paths import FILES
from privguard.internals.audit.report import seal
from privguard.internals.common.custody import sha256_file

MANIFEST = FILES["manifest"]
# Files in OUT deliberately left out of the manifest: the audit's wall-clock timings
# (they differ between identical runs, and are written after the manifest) and the
# engine's scratch folder (spill files come and go while the report runs).
UNSEALED_FILES = (FILES["timings"], FILES["signature"])
UNSEALED_DIRS = (FILES["scratch"] + "/",)
FORMAT = "privguard-manifest/2"
LITTER = (".DS_Store", "Thumbs.db", "desktop.ini", "~$*", "._*", ".~lock.*#")
_PACKAGES = ("duckdb", "pyarrow", "fpdf2", "xlsxwriter", "openpyxl", "phonenumbers", "click")


@dataclass
class VerifyResult:
    """What :func:`verify` checked: every file matched its recorded hash."""

    manifest: Path
    inputs_checked: int
    outputs_checked: int
    manifest_sha256: str = ""
    problems: list[str] = field(default_factory=list)
    public_key: str = ""
    key_pinned: bool = False
    outputs_only: bool = False
    ignored: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def is_litter(path: Path | str) -> bool:
    """Whether a file is operating-system or editor litter (never evidence)."""
    name = Path(path).name
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in LITTER)


def software_versions() -> dict[str, str]:
    """Versions of Python, privguard and the libraries that shape the outputs."""
    versions = {"python": platform.python_version(), "privguard": __version__}
    for pkg in _PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    return versions


def _files_under(folder: Path) -> list[Path]:
    return [f for f in folder.rglob("*") if f.is_file() and not is_litter(f)]


def input_files(inputs: list[Path]) -> list[tuple[Path, str, str]]:
    """Every file under the inputs (files or folders), sorted, each once, as (file, root
    name, path inside the root)."""
    found: dict[Path, tuple[Path, str, str]] = {}
    for item in inputs:
        p = Path(item).resolve()
        if p.is_dir():
            for f in _files_under(p):
                found.setdefault(f.resolve(), (f, p.name, f.relative_to(p).as_posix()))
        elif p.is_file():
            found.setdefault(p, (p, p.name, ""))
        else:
            raise InputError(
                "an input of the audit does not exist",
                where=str(item),
                fix="check the path given on the command line",
            )
    return [found[k] for k in sorted(found, key=lambda f: f.as_posix())]


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
        and not is_litter(name)
    )


def output_files(out: Path) -> list[Path]:
    """Every sealed file in the output folder (all but the manifest and scratch), sorted."""
    return sorted(
        (f for f in out.rglob("*") if f.is_file() and sealed(f.relative_to(out).as_posix())),
        key=lambda f: f.relative_to(out).as_posix(),
    )


def previous_outputs(out: Path) -> list[str] | None:
    """The outputs an earlier audit sealed in ``out`` (None: no manifest there); raises
    :class:`InputError` when that manifest cannot be read."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        return None
    try:
        return [str(e["path"]) for e in json.loads(path.read_text(encoding="utf-8"))["outputs"]]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InputError(
            "the output folder holds a damaged manifest.json from an earlier audit",
            where=str(path),
            fix="give a new, empty --out folder, or pass --overwrite to write over it",
        ) from None


def _entry(
    path: Path, name: str, digests: dict[Path, str] | None = None, **extra: str
) -> dict[str, Any]:
    digest = digests[path] if digests is not None else sha256_file(path)
    return {"path": name, "sha256": digest, "bytes": path.stat().st_size, **extra}


def _digests(paths: list[Path]) -> dict[Path, str]:
    """SHA-256 of every file, on every core: hashlib lets go of the GIL while it hashes,
    and at the leak's scale the inputs and outputs are tens of GB (one core took minutes)."""
    unique = sorted(set(paths), key=lambda p: p.stat().st_size, reverse=True)
    workers = max(1, min(len(unique), os.cpu_count() or 1, 8))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip(unique, pool.map(sha256_file, unique), strict=True))


def write_manifest(
    out: Path,
    *,
    inputs: list[Path],
    parameters: dict[str, Any],
    labels: Path | None,
    privacy: dict[str, Any],
    foreign: set[str] | None = None,
) -> Path:
    """Hash every input and output and write ``OUT/manifest.json`` (last step of an audit).

    ``foreign``: files (POSIX, relative to ``out``) that were in the folder before the
    audit and that it did not write (a person's own notes): named in the manifest as
    ``foreign``, never hashed, so :func:`verify` neither seals nor flags them."""
    out = Path(out)
    base = out.resolve().parent
    folders = sorted({Path(p).resolve() for p in inputs if Path(p).is_dir()})
    sealed_inputs = input_files(inputs)
    outputs = [
        f for f in output_files(out) if f.relative_to(out).as_posix() not in (foreign or set())
    ]
    digests = _digests(
        [*([Path(labels)] if labels else []), *(f for f, _, _ in sealed_inputs), *outputs]
    )
    manifest = {
        "format": FORMAT,
        "software": software_versions(),
        "parameters": parameters,
        "privacy": privacy,
        "labels": (
            _entry(Path(labels), _stored_path(Path(labels), base), digests) if labels else None
        ),
        "input_folders": [{"path": _stored_path(f, base), "root": f.name} for f in folders],
        "inputs": [
            _entry(f, _stored_path(f, base), digests, root=root, member=member)
            for f, root, member in sealed_inputs
        ],
        "outputs": [_entry(f, f.relative_to(out).as_posix(), digests) for f in outputs],
        "foreign": sorted(foreign or ()),
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


def _damaged(path: Path, why: str) -> IntegrityError:
    return IntegrityError(
        f"manifest.json is damaged and cannot be checked: {why}",
        where=str(path),
        fix="restore manifest.json from the original copy of the audit",
    )


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest's content, every entry checked for shape; raises IntegrityError."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _damaged(path, f"it is not JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") not in (FORMAT,):
        raise _damaged(path, f"it is not a {FORMAT} manifest")
    entries = list(manifest.get("inputs") or []) + list(manifest.get("outputs") or [])
    if manifest.get("labels"):
        entries.append(manifest["labels"])
    for e in entries:
        if not (
            isinstance(e, dict)
            and isinstance(e.get("path"), str)
            and isinstance(e.get("sha256"), str)
        ):
            raise _damaged(path, f"an entry has no path or SHA-256: {str(e)[:80]}")
    if not manifest.get("outputs") or not isinstance(manifest.get("inputs"), list):
        raise _damaged(path, "it lists no outputs or no inputs, so it proves nothing")
    return manifest


def _input_path(entry: dict[str, Any], base: Path, moved: Path | None) -> Path:
    """Where an input is now: at its recorded place, or under ``moved`` (``--inputs``)."""
    if moved is None:
        return base / str(entry["path"])
    root, member = str(entry.get("root", "")), str(entry.get("member", ""))
    # The recorded path's tails, longest first: "leak/directory/bar.csv" is found under
    # a copy of leak/ as directory/bar.csv, or beside the dump as bar.csv.
    parts = [q for q in Path(entry["path"]).parts if q not in ("..", "/")]
    tails = [moved / Path(*parts[i:]) for i in range(len(parts))]
    for cand in (moved / root / member, *tails):
        if cand.is_file():
            return cand
    return moved / root / member


def verify(
    out: Path,
    *,
    key: str | None = None,
    outputs_only: bool = False,
    inputs: Path | None = None,
) -> VerifyResult:
    """Check ``OUT/manifest.json``'s signature, then every hash in it; raise if anything changed.

    The signature (``manifest.sig``) is checked against ``key`` (hex, or a file holding
    it) when given, else against the public key beside the outputs (the result says
    which). Then each input file (at its recorded path, relative to the output folder's
    parent, or under ``inputs`` when they moved), the labels file, and each output file;
    a file in the output folder or in an input folder that the manifest does not list is
    reported as extra or added. ``outputs_only`` checks a copy of the outputs alone.
    Litter (``.DS_Store``, ``~$`` lock files ...) is listed in ``ignored``, not as a
    problem. Raises :class:`IntegrityError` (exit code 3) listing every problem; a
    missing manifest is an :class:`InputError`.

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
    pinned = seal.parse_public_key(key) if key else None
    manifest = read_manifest(path)
    sealed_by = seal.check(path, out / FILES["signature"], pinned)
    base = out.resolve().parent
    problems: list[str] = []
    ignored = sorted(f.relative_to(out).as_posix() for f in out.rglob("*") if is_litter(f))
    checked_inputs = 0
    if not outputs_only:
        moved = Path(inputs) if inputs else None
        for entry in manifest["inputs"]:
            _check(entry, _input_path(entry, base, moved), "input", problems)
        checked_inputs = len(manifest["inputs"])
        if manifest.get("labels") and moved is None:
            _check(manifest["labels"], base / manifest["labels"]["path"], "labels file", problems)
        known = {(str(e.get("root")), str(e.get("member"))) for e in manifest["inputs"]}
        for folder in manifest.get("input_folders") or []:
            root = str(folder.get("root"))
            where = (moved / root if (moved / root).is_dir() else moved) if moved else None
            where = where or base / str(folder.get("path"))
            for f in where.rglob("*") if where.is_dir() else []:
                if f.is_file() and is_litter(f):
                    ignored.append(f"{root}/{f.relative_to(where).as_posix()}")
                elif f.is_file() and (root, f.relative_to(where).as_posix()) not in known:
                    problems.append(f"added to the input folder since the audit: {root}/"
                                    f"{f.relative_to(where).as_posix()}")  # fmt: skip
    listed = {e["path"] for e in manifest["outputs"]}
    foreign = {str(f) for f in manifest.get("foreign") or []}
    ignored += sorted(foreign)
    for entry in manifest["outputs"]:
        _check(entry, out / entry["path"], "output", problems)
    for f in output_files(out):
        name = f.relative_to(out).as_posix()
        if name not in listed and name not in foreign:
            problems.append(f"extra output not in the manifest: {name}")
    result = VerifyResult(
        path, checked_inputs, len(manifest["outputs"]), sha256_file(path), problems,
        sealed_by.public_key, sealed_by.pinned, outputs_only, ignored,
    )  # fmt: skip
    if problems:
        raise IntegrityError(
            f"{len(problems)} file(s) differ from the manifest: the audit's files were altered",
            where=str(path),
            problems=problems,
            fix="compare with the original copy; re-run the audit from the original inputs"
            + ("" if outputs_only else " (a copy of the outputs alone: use --outputs-only)"),
        )
    return result
