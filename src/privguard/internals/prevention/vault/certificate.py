"""Purge certificates: signed, self-contained, checkable offline with the public key alone.

The fields follow the sample Certificate of Sanitization of NIST SP 800-88 Rev. 1,
Appendix G (person, media, sanitization method and technique, tool, verification,
backups, authority), with the recordings named by id and SHA-256. The certificate is a
C2SP signed note (Ed25519, the ledger's note format): a first line naming the format,
then the fields as JSON, then the signature line. Anyone holding the vault's vkey checks
it with :func:`verify_certificate` (``privguard vault verify-certificate FILE --key K``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privguard.errors import InputError, IntegrityError
from privguard.internals.prevention.ledger import LedgerError, Signer, Verifier, sign_note
from privguard.internals.prevention.ledger import verify_note as _verify_note

HEADER = "privguard purge certificate v1"
REQUIRED = (
    "certificate_id",
    "person",
    "media",
    "sanitization",
    "tool",
    "verification",
    "authority",
    "backups",
    "date_utc",
    "access_log_index",
)


def sign_certificate(fields: dict[str, Any], signer: Signer) -> str:
    """The signed certificate text of ``fields``."""
    missing = [k for k in REQUIRED if k not in fields]
    if missing:
        raise ValueError(f"certificate fields missing: {missing}")
    body = json.dumps(fields, indent=2, sort_keys=True, ensure_ascii=True)
    return sign_note(f"{HEADER}\n{body}\n", signer)


@dataclass(frozen=True)
class CertificateCheck:
    """A verified certificate: its fields and the key that signed it."""

    fields: dict[str, Any]
    signed_by: str

    @property
    def recordings(self) -> list[dict[str, Any]]:
        """The purged recordings (id, sha256, size, blob_sha256)."""
        return list(self.fields["media"]["recordings"])


_KEY_CMD = "privguard vault key --data-dir DIR > FILE (on the vault that issued it)"


def read_key(value: str) -> Verifier:
    """A vkey given as the text itself or as a file holding it."""
    text = value
    path = Path(value)
    if len(value) < 1024 and path.is_file():
        text = path.read_text(encoding="utf-8").strip()
    elif "+" not in value:  # a vkey always holds '+': this was meant as a file name
        raise InputError(
            "this is neither a vkey nor a file holding one",
            where=value,
            fix=f"check the path, or write the vault's key into it: {_KEY_CMD}",
        )
    if not text:
        raise InputError("no vkey in this file", where=value, fix=f"write it: {_KEY_CMD}")
    return Verifier(text)


def verify_certificate(
    text: str, key: Verifier | list[Verifier], *, where: str | None = None
) -> CertificateCheck:
    """Check a purge certificate offline; IntegrityError when it does not hold.

    ``where`` names the certificate (its file) in the error."""
    try:
        note = _verify_note(text, key)
    except LedgerError as exc:
        raise IntegrityError(
            f"the purge certificate's signature does not hold: {exc.message}",
            where=where,
            fix="check --key: it must be the vkey of the vault that issued the certificate "
            "('privguard vault key' prints it there); if it is, the certificate was altered: "
            "ask the issuer for the original",
        ) from None
    head, _, body = note.text.partition("\n")
    if head != HEADER:
        raise IntegrityError(f"not a purge certificate (first line {head[:60]!r})")
    try:
        fields = json.loads(body)
    except ValueError as exc:
        raise IntegrityError(f"the certificate's fields are not JSON: {exc}") from None
    problems = [f"missing field {k}" for k in REQUIRED if k not in fields]
    recs = fields.get("media", {}).get("recordings", [])
    if fields.get("media", {}).get("count") != len(recs):
        problems.append("the count of recordings does not match the list")
    if problems:
        raise IntegrityError("the purge certificate is incomplete", problems=problems)
    return CertificateCheck(fields, note.verified_by[0].vkey)


def load_certificate(path: Path) -> str:
    """A certificate file's text, or InputError naming the file."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read the certificate: {exc}",
            where=str(path),
            fix="give the certificate file the vault issued (purge-*.txt)",
        ) from None
