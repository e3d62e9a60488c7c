"""The manifest's signature: ``OUT/manifest.sig``, Ed25519 over the exact manifest bytes.

``manifest.sig`` is a small JSON file: the algorithm, the signer's raw public key (hex),
the SHA-256 of the manifest it signs and the signature (hex). The public key travels with
the outputs so anyone can check them; a court pins the key it was given out of band
(``privguard verify --key``), since a forger can replace both files together.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from privguard.errors import InputError, IntegrityError
from privguard.internals.common.keys import public_key_hex

FORMAT = "privguard-manifest-signature/1"


@dataclass
class SealCheck:
    """A manifest signature that checked out, and which key it was checked against."""

    public_key: str
    pinned: bool


def sign(manifest: Path, key: Ed25519PrivateKey, dest: Path) -> str:
    """Sign the bytes of ``manifest`` and write ``dest``; returns the public key (hex)."""
    data = manifest.read_bytes()
    sig = {
        "format": FORMAT,
        "algorithm": "Ed25519",
        "public_key": public_key_hex(key),
        "manifest_sha256": hashlib.sha256(data).hexdigest(),
        "signature": key.sign(data).hex(),
    }
    dest.write_text(json.dumps(sig, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return str(sig["public_key"])


def parse_public_key(text: str) -> bytes:
    """A public key given on the command line: 64 hex digits, or a file holding them (a
    ``manifest.sig`` or ``manifest.pub`` of a trusted copy works too)."""
    value = text.strip()
    path = Path(value)
    if path.is_file():
        content = path.read_text(encoding="utf-8", errors="replace").strip()
        try:
            value = str(json.loads(content)["public_key"])
        except (ValueError, KeyError, TypeError):
            value = content
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise InputError(
            "the public key to check against is not 64 hexadecimal characters",
            where=text,
            fix="give the key printed at the end of the audit (or a file holding it)",
        )
    return raw


def check(manifest: Path, sig_path: Path, pinned: bytes | None) -> SealCheck:
    """Check ``sig_path`` against the bytes of ``manifest``; raise :class:`IntegrityError`."""
    where = str(sig_path)
    if not sig_path.is_file():
        raise IntegrityError(
            "the manifest is not signed (manifest.sig is missing)",
            where=where,
            fix="restore manifest.sig from the original copy of the audit",
        )
    try:
        sig = json.loads(sig_path.read_text(encoding="utf-8"))
        key = bytes.fromhex(sig["public_key"])
        signature = bytes.fromhex(sig["signature"])
        public = Ed25519PublicKey.from_public_bytes(key)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise IntegrityError(
            f"manifest.sig is damaged and cannot be read ({exc})",
            where=where,
            fix="restore manifest.sig from the original copy of the audit",
        ) from None
    if pinned is not None and key != pinned:
        raise IntegrityError(
            "the manifest was signed with another key than the one you gave",
            where=where,
            problems=[f"signed by {key.hex()}", f"expected {pinned.hex()}"],
            fix="this is not the audit signed with your key; get the original copy",
        )
    try:
        public.verify(signature, manifest.read_bytes())
    except InvalidSignature:
        raise IntegrityError(
            "manifest.json does not match its signature: it was changed after the audit",
            where=str(manifest),
            fix="restore manifest.json from the original copy of the audit",
        ) from None
    return SealCheck(public_key=key.hex(), pinned=pinned is not None)
