"""Privilege-filtered productions: "all calls of inmate X between dates", filtered first.

Before anything is written, every call in the range is judged by the privilege oracle
(the registry as it stood at the call's time, the registry now, audit findings) and by its
state (quarantined, purged). What passes is decrypted into the package; what does not is
listed only by an opaque id and reason codes, so the package reveals neither the number,
the time nor the content of a privileged call. The package is a folder (optionally also a
zip): ``recordings/<id>.bin``, ``calls.csv``, ``manifest.json`` (SHA-256 of every file,
the included calls, the withheld items) and ``manifest.sig`` (a signed note naming the
manifest's SHA-256, verifiable with the vault's vkey).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import secrets
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from privguard.errors import InputError
from privguard.internals.prevention import db
from privguard.internals.prevention.ledger import sign_note
from privguard.internals.prevention.vault import blobs as B
from privguard.internals.prevention.vault.access import AccessContext, utcnow
from privguard.internals.prevention.vault.lookup import PURGED, QUARANTINED
from privguard.internals.prevention.vault.models import Recording
from privguard.internals.prevention.vault.vault import Vault, aware, call_of

_CHUNK = 2000
CALL_COLUMNS = ("id", "started_utc", "facility", "inmate_account", "dialed_number",
                "duration_s", "media_type", "sha256", "file")  # fmt: skip


@dataclass
class Production:
    """What a production wrote: the folder, the zip if any, counts and the manifest's hash."""

    production_id: str
    folder: Path
    zip_path: Path | None
    included: int
    withheld: int
    manifest_sha256: str
    withheld_reasons: dict[str, int] = field(default_factory=dict)


def _opaque(key: bytes, production_id: str, rid: str) -> str:
    return "w-" + hmac.new(key, f"{production_id}:{rid}".encode(), hashlib.sha256).hexdigest()[:20]


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def produce(
    vault: Vault,
    ctx: AccessContext,
    inmate_account: str,
    start: dt.datetime,
    end: dt.datetime,
    out: Path,
    *,
    zip_package: bool = False,
) -> Production:
    """Produce every non-privileged recording of ``inmate_account`` in [start, end) into ``out``.

    ``out`` must not exist yet (a user's files are never overwritten). The production is an
    access-log entry naming the case, the reason, the counts and the manifest's SHA-256.
    """
    query = f"inmate:{inmate_account} {aware(start):%Y-%m-%dT%H:%M:%SZ}..{aware(end):%Y-%m-%dT%H:%M:%SZ}"
    vault.admit(ctx, "produce", query)
    out = Path(out)
    if out.exists():
        raise InputError(
            "the production folder already exists", where=str(out),
            fix="give a new folder name; privguard never writes over existing files",
        )  # fmt: skip
    if aware(end) <= aware(start):
        raise InputError(
            "the end of the range must be after its start", where=query,
            fix="give the first day of the range, then a later day as its end (--from, --to)",
        )  # fmt: skip
    pid = "prod_" + secrets.token_hex(8)
    included: list[Recording] = []
    withheld: list[tuple[str, list[str]]] = []
    with vault.factory() as session:
        rows = session.scalars(
            select(Recording)
            .where(
                Recording.inmate_account == inmate_account.strip(),
                Recording.started_at >= aware(start),
                Recording.started_at < aware(end),
            )
            .order_by(Recording.started_at, Recording.id)
        ).all()
        for i in range(0, len(rows), _CHUNK):
            part = rows[i : i + _CHUNK]
            reasons = vault.oracle.reasons(session, [call_of(r) for r in part])
            for r in part:
                why = list(reasons.get(r.id, []))
                if r.state != "stored":
                    why.insert(0, PURGED if r.state == "purged" else QUARANTINED)
                if why:
                    withheld.append((r.id, why))
                else:
                    included.append(r)
        outcome = vault.volume(session, ctx, len(included))
    if outcome == "refused":
        vault.refuse(ctx, "produce", query, f"{len(included)} recordings: over the daily volume")
    try:
        manifest_sha = _write(vault, ctx, pid, query, included, withheld, out)
        zip_path = _zip(out) if zip_package else None
        counts: dict[str, int] = {}
        for _, why in withheld:
            for w in why:
                counts[w] = counts.get(w, 0) + 1
        with db.transaction(vault.factory) as session:
            vault.log.record(
                session, ctx, "produce", query, outcome, items=len(included),
                detail=pid,
                extra={
                    "production_id": pid, "manifest_sha256": manifest_sha,
                    "included": len(included), "withheld_reasons": counts,
                    # the key to the opaque ids, for a court; never in the package
                    "withheld": [{"id": rid, "item": _opaque(vault.link_key, pid, rid),
                                  "reasons": why} for rid, why in withheld],
                },
            )  # fmt: skip
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # ours: created above, not the user's
        raise
    return Production(pid, out, zip_path, len(included), len(withheld), manifest_sha, counts)


def _write(
    vault: Vault,
    ctx: AccessContext,
    pid: str,
    query: str,
    included: list[Recording],
    withheld: list[tuple[str, list[str]]],
    out: Path,
) -> str:
    (out / "recordings").mkdir(parents=True)
    files: list[dict[str, Any]] = []
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CALL_COLUMNS)
    for r in included:
        data = B.decrypt(
            vault.data_key(r), vault.blobs.get(r.blob), B.context(r.id, r.decision_id), r.id
        )
        rel = f"recordings/{r.id}.bin"
        (out / rel).write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        if sha != r.sha256:
            raise InputError(f"{r.id}: content does not match its acquisition hash")
        files.append({"path": rel, "sha256": sha, "bytes": len(data)})
        writer.writerow((r.id, f"{aware(r.started_at):%Y-%m-%dT%H:%M:%SZ}", r.facility,
                         r.inmate_account, r.dialed_number, r.duration_s, r.media_type, sha, rel))  # fmt: skip
    (out / "calls.csv").write_text(buf.getvalue(), encoding="utf-8")
    files.append({"path": "calls.csv", "sha256": _sha(out / "calls.csv"),
                  "bytes": (out / "calls.csv").stat().st_size})  # fmt: skip
    manifest = {
        "format": "privguard production v1",
        "production_id": pid,
        "created_utc": f"{utcnow():%Y-%m-%dT%H:%M:%SZ}",
        "requested_by": ctx.actor,
        "case": ctx.case,
        "reason": ctx.reason,
        "query": query,
        "filter": "registry at each call's time, registry now, audit findings, quarantine",
        "files": files,
        "included": len(included),
        "withheld": [
            {"item": _opaque(vault.link_key, pid, rid), "reasons": why} for rid, why in withheld
        ],
    }
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    (out / "manifest.json").write_text(text, encoding="utf-8")
    sha = hashlib.sha256(text.encode()).hexdigest()
    note = f"privguard production manifest v1\n{pid}\nmanifest.json sha256 {sha}\n"
    (out / "manifest.sig").write_text(sign_note(note, vault.signer), encoding="utf-8")
    return sha


def _zip(folder: Path) -> Path:
    target = folder.with_suffix(".zip")
    if target.exists():
        raise InputError("the zip file already exists", where=str(target), fix="move it away")
    with zipfile.ZipFile(target, "x", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(folder).as_posix())
    return target


def check_package(folder: Path) -> list[str]:
    """Problems with a production folder: every file listed and its SHA-256 matching."""
    manifest = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
    problems = []
    for f in manifest["files"]:
        p = Path(folder) / f["path"]
        if not p.is_file():
            problems.append(f"{f['path']}: missing")
        elif _sha(p) != f["sha256"]:
            problems.append(f"{f['path']}: SHA-256 differs from the manifest")
    return problems
