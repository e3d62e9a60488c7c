"""Custody hashing: the one way privguard fingerprints a file (SHA-256, streamed)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path) -> str:
    """SHA-256 of a file as lowercase hex, streamed so a file of any size fits."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
