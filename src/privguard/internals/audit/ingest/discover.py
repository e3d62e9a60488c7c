"""Find every table file under a dump folder, recursively, including inside zip and gz archives.

Each file found becomes a :class:`SourceFile`: its name relative to the dump root (archive
members as ``archive.zip/inner/member.csv``), the path to read it from (zip members and
gzip files are extracted to a scratch folder first, within the archive limits), its format and the
SHA-256 of the bytes that ``name`` designates (the member for zip archives, the ``.gz`` file
as it sits in the dump for gzip files).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from privguard.errors import InputError
from privguard.internals.audit.ingest.limits import Budget, Limits

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
SQLITE_MAGIC = b"SQLite format 3\x00"
GZIP_MAGIC = b"\x1f\x8b"
_BY_SUFFIX = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xlsx",
    ".xlsb": "xlsx",  # a zip package too, but a workbook: never opened as an archive
    ".ods": "xlsx",
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
    ".db": "sqlite",
    ".sql": "sql",
    ".dump": "sql",
}


@dataclass
class SourceFile:
    """One file holding one or more tables."""

    name: str  # relative to the dump root, posix separators
    path: Path  # where to read the bytes from
    format: str  # csv | tsv | jsonl | json | parquet | xlsx | sqlite | mysql_dump | pg_dump
    sha256: str  # "" until hashed (see ``hash_path``)
    size: int
    gzip: bool = False  # ``path`` is gzip-compressed (only for csv/tsv/jsonl/sql)
    hash_path: Path | None = None  # the bytes ``sha256`` is of, when not yet hashed


@dataclass
class Skipped:
    """A file that holds no table privguard can read; listed in the report, never dropped."""

    name: str
    reason: str


def natural_key(name: str) -> tuple[list[list[str | int]], str]:
    """Sort key of a dump's file names as a person orders them: ``calls_2`` before ``calls_10``.

    Folder by folder, runs of digits compare by value and the rest as text; the name itself
    breaks ties (``a01``, ``a1``), so the order is total and the same on every machine."""
    parts = [
        [int(p) if i % 2 else p for i, p in enumerate(re.split(r"(\d+)", part))]
        for part in name.split("/")
    ]
    return parts, name


def stem(name: str) -> str:
    """File name without any extension: ``calls.2013.csv.gz`` -> ``calls``."""
    base = PurePosixPath(name).name
    return base.split(".", 1)[0] if not base.startswith(".") else base


def _head(path: Path, compressed: bool, size: int = 65536) -> bytes:
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as fh:
            return bytes(fh.read(size))
    except (OSError, EOFError):
        return b""


def _sql_flavour(head: bytes) -> str:
    text = head.decode("utf-8", "replace")
    if "PostgreSQL database dump" in text or "FROM stdin;" in text or "pg_catalog" in text:
        return "pg_dump"
    # Hand-written or non-pg_dump PostgreSQL: its own setting, or E'...' values (MySQL has none).
    if "standard_conforming_strings" in text or re.search(r"[(,]\s*[Ee]'", text):
        return "pg_dump"
    return "mysql_dump"


def _looks_like_text(head: bytes) -> bool:
    """Lines of text: no NUL byte (UTF-16 aside), and a line break in the head."""
    return b"\x00" not in head and (b"\n" in head or b"\r" in head)


def gzip_inner(name: str, path: Path) -> str | None:
    """The name of what a gzip file holds (``calls.csv.gz`` -> ``calls.csv``); None if not gzip.

    A file is gzip by its ``.gz`` suffix or by its magic bytes under any other name (duckdb's
    ``test_comp.csv.gzz``): then its last suffix is dropped.
    """
    if name.lower().endswith(".gz"):
        return name[:-3]
    try:
        with open(path, "rb") as fh:
            if fh.read(2) != GZIP_MAGIC:
                return None
    except OSError:
        return None
    base = PurePosixPath(name)
    return name[: -len(base.suffix)] if base.suffix else name


def classify(name: str, path: Path, compressed: bool, inner: str | None = None) -> str | None:
    """The format of a file from its extension, checked against its first bytes.

    ``inner`` is the name of what a compressed file holds (default: ``name`` without
    ``.gz``). Compressed text under no known extension (duckdb's ``concat.gz``) is read as
    delimited text: its delimiter is found as for any CSV.
    """
    if inner is None:
        inner = name[:-3] if compressed else name
    suffix = PurePosixPath(inner).suffix.lower()
    fmt = _BY_SUFFIX.get(suffix)
    head = _head(path, compressed, 65536)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(b"PAR1"):
        return "parquet"
    if fmt == "sql":
        return _sql_flavour(head)
    if fmt == "jsonl" and head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
        return "json"  # one array of records, not JSON lines
    if fmt is None and head.startswith(b"PK\x03\x04") and suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if fmt is None and compressed and _looks_like_text(head):
        return "csv"
    return fmt


def gunzip(src: Path, dest: Path, budget: Budget | None = None, name: str = "") -> bool:
    """Decompress what a gzip file holds to ``dest``; False when it is truncated or damaged.

    With a ``budget``, every piece is counted against the archive limits before it is written
    (a gzip file declares no size that could be checked first).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
    packed, done = src.stat().st_size, 0
    try:
        with open(src, "rb") as fin, open(dest, "wb") as fout:
            while chunk := fin.read(_CHUNK):
                while chunk:
                    # At most _CHUNK bytes out per call: a bomb is stopped a piece at a time.
                    piece = dec.decompress(chunk, _CHUNK)
                    if budget is not None:
                        done += len(piece)
                        budget.spend(name, len(piece), done, packed)
                    fout.write(piece)
                    if dec.unconsumed_tail:
                        chunk = dec.unconsumed_tail
                        continue
                    chunk = dec.unused_data
                    if chunk or dec.eof:
                        if not chunk:
                            break
                        dec = zlib.decompressobj(16 + zlib.MAX_WBITS)  # next gzip member
            rest = dec.flush()
            if budget is not None:
                budget.spend(name, len(rest), done + len(rest), packed)
            fout.write(rest)
    except zlib.error:
        return False
    return dec.eof


class _Walker:
    def __init__(self, root: Path, scratch: Path, limits: Limits) -> None:
        self.root = root
        self.scratch = scratch
        self.budget = Budget(limits)
        self.found: list[SourceFile] = []
        self.skipped: list[Skipped] = []
        self.warnings: list[tuple[str, str]] = []
        self._n = 0

    def scratch_path(self, name: str) -> Path:
        self._n += 1
        return self.scratch / f"{self._n:05d}" / PurePosixPath(name).name

    def add(self, name: str, path: Path, sha: str | None = None, depth: int = 0) -> None:
        """Add one file (``depth``: how many archives hold it)."""
        lower = name.lower()
        if lower.endswith(".zip") or (not lower.endswith(".xlsx") and _is_zip(path, lower)):
            self._zip(name, path, depth + 1)
            return
        inner = gzip_inner(name, path)
        compressed = inner is not None
        hash_path = None if sha else path
        try:
            fmt = classify(name, path, compressed, inner)
        except OSError as exc:
            self.skipped.append(Skipped(name, f"cannot be read: {exc}"))
            return
        if fmt is None:
            self.skipped.append(Skipped(name, "not a table format privguard reads"))
            return
        # Hashed later, by the worker that reads the file, while the engine parses it.
        digest = sha or ""
        if compressed:
            # Decompressed within the archive limits, also for the CSV DuckDB could read
            # itself (a .csv.gz bomb was read without them); the plain text is then read
            # like any other (line scan, long records, rejects placed by byte position).
            plain = self.scratch_path(inner or name)
            complete = gunzip(path, plain, self.budget, name)
            if not complete and fmt in ("csv", "tsv"):
                # The CSV reader reads a damaged gzip file itself as far as it goes and
                # rejects the record it cut (its bytes were just counted).
                plain.unlink()
            else:
                hash_path = path
                path, compressed = plain, False
                if not complete:
                    self.warnings.append(
                        (name, "the gzip file is truncated or damaged; read as far as it goes")
                    )
        self.found.append(
            SourceFile(name, path, fmt, digest, path.stat().st_size, compressed, hash_path)
        )

    def _zip(self, name: str, path: Path, depth: int) -> None:
        self.budget.enter(name, depth)
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            self.skipped.append(Skipped(name, f"damaged zip archive: {exc}"))
            return
        with archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                member = f"{name}/{info.filename}"
                # Refused on what the archive declares, before a byte is written.
                self.budget.admit(member, info.file_size, info.compress_size)
                dest = self.scratch_path(info.filename)
                dest.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                done = 0
                try:
                    with archive.open(info) as fin, open(dest, "wb") as fout:
                        while chunk := fin.read(_CHUNK):
                            done += len(chunk)
                            self.budget.spend(member, len(chunk), done, info.compress_size)
                            digest.update(chunk)
                            fout.write(chunk)
                except (zipfile.BadZipFile, OSError, EOFError) as exc:
                    self.skipped.append(Skipped(member, f"damaged archive member: {exc}"))
                    continue
                self.add(member, dest, digest.hexdigest(), depth)


def _is_zip(path: Path, lower: str) -> bool:
    if any(lower.endswith(s) for s in (".xlsx", ".xlsm", ".xlsb", ".ods", ".parquet")):
        return False
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def _files(dump: Path, skipped: list[Skipped]) -> list[Path]:
    """The files under ``dump``; a symbolic link that leads out of it is refused, unopened.

    A link inside the dump to a file inside it is read like that file; a broken link is
    listed as skipped. (``rglob`` never descends into a linked folder.)
    """
    root = dump.resolve()
    files: list[Path] = []
    outside: list[str] = []
    for path in sorted(dump.rglob("*")):
        name = path.relative_to(dump).as_posix()
        if path.is_symlink():
            # resolve() follows the chain of names only: the target is never opened.
            if not path.resolve().is_relative_to(root):
                outside.append(name)
                continue
            if not path.exists():
                skipped.append(Skipped(name, "a broken symbolic link (its target is missing)"))
                continue
        if path.is_file():
            files.append(path)
    if outside:
        # Named, never followed: its target's content must not reach the evidence or an error.
        raise InputError(
            f"{len(outside)} symbolic link(s) in the dump lead outside it; privguard does "
            "not follow them",
            where=str(dump),
            problems=[f"{n}: a symbolic link to a place outside the dump folder" for n in outside],
            fix="replace each link with a copy of the file it stands for (if it belongs to the "
            "evidence), or remove it, and run again",
        )
    return files


def discover(
    dump: Path, scratch: Path, limits: Limits | None = None
) -> tuple[list[SourceFile], list[Skipped], list[tuple[str, str]]]:
    """Every table file under ``dump`` (a folder or a single file), in natural order of name
    (:func:`natural_key`). Their order is the tables' ``table_id``, so it is the order of
    the ingest report, of ``normalized.parquet``'s rows and of every output ordered by table.

    Archives are opened within ``limits`` (:mod:`.limits`); one past a limit, or a symbolic
    link leading out of ``dump``, raises :class:`~privguard.errors.InputError`.
    """
    dump = Path(dump)
    if not dump.exists():
        raise InputError(
            "the dump folder does not exist",
            where=str(dump),
            fix="give the folder that holds the leaked or produced tables",
        )
    walker = _Walker(dump, scratch, limits or Limits())
    if dump.is_file():
        walker.add(dump.name, dump)
    else:
        for path in _files(dump, walker.skipped):
            walker.add(path.relative_to(dump).as_posix(), path)
    walker.found.sort(key=lambda s: natural_key(s.name))
    log.info("found %d table files, skipped %d", len(walker.found), len(walker.skipped))
    return walker.found, walker.skipped, walker.warnings
