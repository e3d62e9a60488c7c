"""Retroactive protection: quarantine what turns out privileged, and purge with proof.

* :func:`quarantine_numbers` is what the registry (or the CLI) calls when a number is
  registered: every stored recording of a call to it is quarantined at once.
* :func:`sweep` quarantines every stored recording the privilege oracle names now.
* :func:`import_audit` reads an audit's output files (``privileged_calls.csv``,
  ``numbers.parquet``), keeps its findings, and sweeps.
* :func:`release` brings a recording quarantined by mistake back (needs the escrow private
  key, which lives offline).
* :func:`purge` crypto-shreds recordings and returns a signed purge certificate; a letter
  with it is queued for each attorney whose number was called (:mod:`.notify`).

Quarantine leaves the data key sealed only to the escrow public key: from then on no key
on this machine opens the recording, whatever is read directly from disk.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from privguard import __version__
from privguard.errors import InputError
from privguard.internals.common.classes import ATTORNEY_CLASSES
from privguard.internals.common.layout import audit_file
from privguard.internals.prevention import db
from privguard.internals.prevention.vault import blobs as B
from privguard.internals.prevention.vault.access import AccessContext, utcnow
from privguard.internals.prevention.vault.certificate import sign_certificate
from privguard.internals.prevention.vault.keys import Escrow
from privguard.internals.prevention.vault.models import Finding, Purge, Recording
from privguard.internals.prevention.vault.notify import queue_letters
from privguard.internals.prevention.vault.vault import (
    Vault,
    call_of,
    e164,
    secure_delete,
)

log = logging.getLogger(__name__)
_CHUNK = 500


def _quarantine_rows(
    vault: Vault, session: Session, ctx: AccessContext, rows: Sequence[Recording], cause: str
) -> list[str]:
    if not rows:
        return []
    reasons = vault.oracle.reasons(session, [call_of(r) for r in rows])
    now = utcnow()
    done = []
    for row in rows:
        why = ",".join(reasons.get(row.id, [])) or cause
        vault.seal_away(row, vault.data_key(row), "quarantined", why, now)
        done.append(row.id)
    vault.log.record(
        session, ctx, "quarantine", ",".join(done[:50]), "ok", items=len(done),
        detail=cause, extra={"recordings": done},
    )  # fmt: skip
    return done


def quarantine_numbers(vault: Vault, ctx: AccessContext, numbers: Iterable[str]) -> list[str]:
    """Quarantine every stored recording of a call to ``numbers``; returns their ids.

    The hook the registry calls when it registers numbers (and ``vault quarantine``).
    """
    vault.admit(ctx, "quarantine", "numbers", needs_case=False)
    wanted = sorted({e164(n) for n in numbers})
    done: list[str] = []
    with db.transaction(vault.factory) as session:
        secure_delete(session)
        for i in range(0, len(wanted), _CHUNK):
            rows = session.scalars(
                select(Recording).where(
                    Recording.state == "stored",
                    Recording.dialed_number.in_(wanted[i : i + _CHUNK]),
                )
            ).all()
            done += _quarantine_rows(vault, session, ctx, rows, ctx.reason or "number registered")
    vault.scrub()
    return done


def sweep(vault: Vault, ctx: AccessContext) -> list[str]:
    """Quarantine every stored recording the privilege oracle names privileged now."""
    vault.admit(ctx, "quarantine", "sweep", needs_case=False)
    done: list[str] = []
    with db.transaction(vault.factory) as session:
        secure_delete(session)
        numbers = sorted(vault.oracle.numbers_now(session))
        refs = list(session.scalars(select(Finding.value).where(Finding.kind == "ref")))
        ids: set[str] = set()
        for values, column in ((numbers, Recording.dialed_number), (refs, Recording.recording_ref)):
            for i in range(0, len(values), _CHUNK):
                ids |= set(
                    session.scalars(
                        select(Recording.id).where(
                            Recording.state == "stored", column.in_(values[i : i + _CHUNK])
                        )
                    )
                )
        rows = [r for r in (session.get(Recording, i) for i in sorted(ids)) if r is not None]
        done = _quarantine_rows(vault, session, ctx, rows, ctx.reason or "privileged now")
    vault.scrub()
    return done


@dataclass(frozen=True)
class AuditImport:
    """What an audit's files added, and what was quarantined because of them."""

    files: tuple[str, ...]
    numbers: int
    refs: int
    quarantined: tuple[str, ...]


def _csv_findings(path: Path) -> list[tuple[str, str, str]]:
    out = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("number", "classification") if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(
                f"privileged_calls.csv lacks the column(s) {', '.join(missing)}",
                where=str(path),
                # The file is found in an audit's OUT, so naming OUT again cannot help.
                fix="re-run the audit to write it again (the file was edited since, or this "
                "is not the OUT folder of 'privguard audit')",
            )
        for row in reader:
            cls = (row.get("classification") or "").strip()
            if cls not in ATTORNEY_CLASSES:
                continue
            if (row.get("number") or "").strip():
                out.append(("number", e164(row["number"]), cls))
            if (row.get("recording_ref") or "").strip():
                out.append(("ref", row["recording_ref"].strip(), cls))
    return out


def _parquet_findings(path: Path) -> list[tuple[str, str, str]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(
            path,
            columns=["number", "classification"],
            filters=[("classification", "in", list(ATTORNEY_CLASSES))],
        )
    except (pa.ArrowInvalid, OSError, KeyError) as exc:
        raise InputError(
            f"numbers.parquet cannot be read ({exc})",
            where=str(path),
            fix="re-run the audit to write it again",
        ) from None
    rows = zip(table["number"].to_pylist(), table["classification"].to_pylist(), strict=True)
    return [("number", e164(n), c) for n, c in rows if n]


def import_audit(vault: Vault, ctx: AccessContext, out: Path) -> AuditImport:
    """Import an audit's privileged numbers and recordings from its output folder, then sweep.

    Reads the audit's ``privileged_calls.csv`` (or its export of the same name) and
    ``numbers.parquet`` as files (``common.layout``); at least one must be there.
    """
    vault.admit(ctx, "import_audit", str(out), needs_case=False)
    out = Path(out)
    listed = audit_file(out, "privileged_calls")
    exports = audit_file(out, "exports")
    if listed is None and exports is not None and (exports / "privileged_calls.csv").is_file():
        listed = exports / "privileged_calls.csv"
    files = [p for p in (listed, audit_file(out, "numbers")) if p is not None]
    if not files:
        raise InputError(
            "no privileged_calls.csv or numbers.parquet here: not an audit output folder",
            where=str(out),
            fix="give the OUT folder of 'privguard audit ... --out OUT'",
        )
    found: dict[tuple[str, str], tuple[str, Path]] = {}
    for path in files:
        rows = _parquet_findings(path) if path.suffix == ".parquet" else _csv_findings(path)
        for kind, value, cls in rows:
            found.setdefault((kind, value), (cls, path))
    now = utcnow()
    with db.transaction(vault.factory) as session:
        have = {tuple(r) for r in session.execute(select(Finding.kind, Finding.value))}
        sums = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
        for (kind, value), (cls, path) in sorted(found.items()):
            if (kind, value) not in have:
                session.add(Finding(kind=kind, value=value, classification=cls,
                                    source_file=str(path), source_sha256=sums[path],
                                    imported_at=now))  # fmt: skip
        vault.log.record(
            session, ctx, "import_audit", str(out), "ok", items=len(found),
            extra={"files": {str(p): sums[p] for p in files}},
        )  # fmt: skip
    done = sweep(vault, ctx)
    return AuditImport(
        tuple(str(p) for p in files),
        sum(1 for k, _ in found if k == "number"),
        sum(1 for k, _ in found if k == "ref"),
        tuple(done),
    )


def release(vault: Vault, ctx: AccessContext, recording_id: str, escrow: Escrow) -> None:
    """Bring back a recording quarantined by mistake; needs the offline escrow private key.

    Refused while the recording is still privileged by the registry or an audit.
    """
    vault.admit(ctx, "release", recording_id)
    with db.transaction(vault.factory) as session:
        row = session.get(Recording, recording_id)
        if row is None or row.state != "quarantined" or row.escrow_key is None:
            refusal = "only a quarantined recording can be released"
        elif why := vault.oracle.reasons(session, [call_of(row)]).get(row.id):
            refusal = "the recording is still privileged: " + ",".join(why)
        else:
            key = escrow.open(row.escrow_key)
            row.wrapped_key = vault.wrapper.wrap(key, B.context(row.id, row.decision_id))
            row.escrow_key = None
            row.state, row.state_reason, row.state_at = (
                "stored",
                "released: " + ctx.reason,
                utcnow(),
            )
            vault.log.record(session, ctx, "release", row.id, "ok", items=1)
            return
    vault.refuse(ctx, "release", recording_id, refusal)


def purge(
    vault: Vault,
    ctx: AccessContext,
    recording_ids: Sequence[str],
    *,
    authority: str,
    backups: Sequence[str] = (),
) -> str:
    """Crypto-shred recordings and return the signed purge certificate (its text).

    For each recording: both sealed copies of its data key are destroyed in the database
    (freed cells zeroed on SQLite, the WAL truncated; VACUUM on PostgreSQL), its blob is
    overwritten with random bytes and deleted, and the result is read back. ``authority``
    names the order or case; ``backups`` lists where copies of blobs or database are kept:
    they hold ciphertext and wrapped keys and must be purged too (listed on the certificate).
    """
    vault.admit(ctx, "purge", ",".join(recording_ids[:20]))
    if not authority.strip():
        raise InputError("a purge needs its authority (court order, case or policy)")
    cert_id = "purge_" + secrets.token_hex(8)
    media, problems = [], []
    with db.transaction(vault.factory) as session:
        secure_delete(session)
        rows = [session.get(Recording, i) for i in dict.fromkeys(recording_ids)]
        unknown = [i for i, r in zip(dict.fromkeys(recording_ids), rows, strict=True) if r is None]
        if unknown or not rows:
            raise InputError(
                f"unknown recording(s): {', '.join(unknown[:10]) or 'none given'}",
                fix="check the recording ids: 'privguard vault query' lists them, first",
            )
        now = utcnow()
        for row in rows:
            assert row is not None
            media.append({"id": row.id, "sha256": row.sha256, "size": row.size,
                          "blob_sha256": row.blob_sha256, "state_before": row.state})  # fmt: skip
            row.wrapped_key = row.escrow_key = None
            row.state, row.state_reason, row.state_at = "purged", authority, now
        session.flush()
        index = vault.log.record(
            session, ctx, "purge", cert_id, "ok", items=len(rows),
            detail=authority, extra={"recordings": [m["id"] for m in media]},
        )  # fmt: skip
        session.add(Purge(id=cert_id, at=now, actor=ctx.actor, recordings=len(rows),
                          certificate="", ledger_index=index))  # fmt: skip
    vault.scrub()
    with vault.factory() as session:
        for m in media:
            row = session.get(Recording, m["id"])
            if row is None or row.wrapped_key is not None or row.escrow_key is not None:
                problems.append(f"{m['id']}: a data key is still stored")
            vault.blobs.shred(row.blob if row else "")
            if row is not None and (vault.blobs.root / row.blob).exists():
                problems.append(f"{m['id']}: the blob is still on disk")
    fields = {
        "certificate_id": cert_id,
        "person": {"actor": ctx.actor, "role": ctx.role, "source": ctx.source},
        "media": {
            "type": "recordings in the privguard vault",
            "count": len(media),
            "recordings": media,
        },  # fmt: skip
        "sanitization": {
            "category": "Purge",
            "method": "cryptographic erase",
            "detail": "each recording's AES-256-GCM data key destroyed in the database (both "
            "the KEK-wrapped and the escrow-sealed copy); ciphertext overwritten with random "
            "bytes and deleted",
            "key_encryption_key": vault.wrapper.key_id,
            "escrow_key": vault.escrow.key_id,
        },
        "tool": {"name": "privguard vault purge", "version": __version__},
        "verification": {
            "method": "read back: no data key left in the database row, no blob file left",
            "result": "passed" if not problems else "failed",
            "problems": problems,
            "limits": "overwriting may not reach old blocks on SSD or copy-on-write storage; "
            "the destroyed key makes any copy of the ciphertext unreadable",
        },
        "authority": {"authority": authority, "case": ctx.case, "reason": ctx.reason},
        "backups": {"must_also_be_purged": sorted({*vault.backups, *backups})},
        "date_utc": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "access_log_index": index,
    }
    text = sign_certificate(fields, vault.signer)
    with db.transaction(vault.factory) as session:
        found = session.get(Purge, cert_id)
        assert found is not None
        found.certificate = text
        letters = queue_letters(session, vault.blobs.root.parent / "outbox", cert_id,
                                [str(m["id"]) for m in media], text, str(vault.signer.verifier()))  # fmt: skip
    log.info("purge %s: %d letter(s) to attorneys queued", cert_id, len(letters))
    return text
