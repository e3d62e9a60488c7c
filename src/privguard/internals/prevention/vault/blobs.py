"""Ciphertext on the filesystem: one file per recording, AES-256-GCM, shredded on purge.

A blob is ``nonce (12 bytes) || AES-256-GCM ciphertext and tag`` under the recording's own
data key, with the recording id and its decision id as associated data: a blob swapped
between recordings, or re-attributed to another decision, fails to decrypt.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privguard.errors import IntegrityError
from privguard.internals.prevention.vault.keys import KEY_BYTES, NONCE

FORMAT = b"privguard-vault/v1"


def context(recording_id: str, decision_id: str) -> bytes:
    """The associated data binding a blob and a wrapped key to their recording and decision."""
    return b"\0".join((FORMAT, recording_id.encode(), decision_id.encode()))


def encrypt(plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
    """A fresh data key and the blob (nonce || ciphertext) of ``plaintext``."""
    key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    nonce = os.urandom(NONCE)
    return key, nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def decrypt(key: bytes, blob: bytes, aad: bytes, where: str = "") -> bytes:
    """The plaintext, or IntegrityError if the blob, the key or the binding was altered."""
    try:
        return AESGCM(key).decrypt(blob[:NONCE], blob[NONCE:], aad)
    except (InvalidTag, ValueError):
        raise IntegrityError(
            "a recording's ciphertext does not decrypt: it was altered or moved",
            where=where or None,
            fix="restore the blob from a verified backup; report the tampering",
        ) from None


class BlobStore:
    """Blobs under ``root``, named by recording id (two-character fan-out)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def relpath(self, recording_id: str) -> str:
        """Where a recording's blob lives, relative to the root."""
        return f"{recording_id[-2:]}/{recording_id}.bin"

    def put(self, recording_id: str, blob: bytes) -> str:
        """Write the blob durably (temporary file, fsync, rename); returns its relative path."""
        rel = self.relpath(recording_id)
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return rel

    def get(self, rel: str) -> bytes:
        """The blob's bytes; IntegrityError if it is missing."""
        path = self.root / rel
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise IntegrityError(
                "a recording's blob is missing from the vault's storage",
                where=str(path),
                fix="restore it from a verified backup; report the loss",
            ) from None

    def shred(self, rel: str) -> bool:
        """Overwrite the blob with random bytes, fsync, then delete it; False if absent.

        On copy-on-write or flash storage the overwrite may not reach the old blocks: the
        data key's destruction is what makes the ciphertext unreadable (crypto-erase).
        """
        path = self.root / rel
        if not path.exists():
            return False
        size = path.stat().st_size
        with path.open("r+b") as fh:
            fh.write(os.urandom(size))
            fh.flush()
            os.fsync(fh.fileno())
        path.unlink()
        return True
