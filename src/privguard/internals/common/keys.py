"""Case keys: the secret that pseudonymizes (HMAC-SHA256) what leaves the case team, and
the Ed25519 key that signs each audit's manifest (``case-signing.key``, beside ``case.key``).

Used by the audit's report and by anything else that must name a person or a number
without revealing it. The key lives outside any output folder (``OUT/../case.key`` or a
configured file), is created on first use with :mod:`secrets`, and never enters a manifest.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from privguard.errors import InputError

log = logging.getLogger(__name__)

KEY_BYTES = 32
DIGITS = 12  # 48 bits: collisions stay negligible for millions of distinct values
# Prefixes both label the pseudonym and separate the domains: a name and an account
# with the same text get different pseudonyms.
PREFIXES = {"name": "person", "account": "acct", "number": "phone"}


def key_path(out: Path, key_file: Path | None = None) -> Path:
    """Where the case key lives: ``key_file`` if given, else ``OUT/../case.key``."""
    return Path(key_file) if key_file else Path(out).resolve().parent / "case.key"


def _inside(path: Path, out: Path) -> bool:
    """Whether ``path`` is the output folder or inside it (a key there would be shared)."""
    out_dir, resolved = Path(out).resolve(), path.resolve()
    return resolved == out_dir or out_dir in resolved.parents


def _create_secret(path: Path, nbytes: int) -> bool:
    """Write ``nbytes`` random bytes as hex to a new 0600 file; False if it already exists."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two runs racing must not overwrite each other's key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(nbytes) + "\n")
    return True


def load_key(out: Path, key_file: Path | None = None) -> bytes:
    """Read the case key, creating it with :mod:`secrets` on first use.

    Raises :class:`InputError` when the key would sit inside the output folder (it would
    then travel with the shareable outputs) or when the key file is unreadable.
    """
    path = key_path(out, key_file)
    if _inside(path, out):
        raise InputError(
            "the pseudonymization key would be stored inside the output folder",
            where=str(path),
            fix="set [privacy] key_file to a path outside the output folder",
        )
    if _create_secret(path, KEY_BYTES):
        log.warning("created a new case key at %s: keep it with the case, never share it", path)
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(
            f"the case key cannot be read: {exc}",
            where=str(path),
            fix="restore the key file from the case backup (64 hexadecimal characters)",
        ) from None
    if len(key) < 16:
        raise InputError(
            "the case key is too short (at least 16 bytes are needed)",
            where=str(path),
            fix="restore the key file from the case backup",
        )
    return key


def hmac_hex(key: bytes, message: str) -> str:
    """HMAC-SHA256 of ``message`` (UTF-8) as lowercase hex."""
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def pseudonym(key: bytes, kind: str, value: str | None) -> str | None:
    """The pseudonym of ``value`` of a ``kind`` (name, account, number); None stays None."""
    if value is None:
        return None
    digest = hmac_hex(key, f"{kind}:{value}")
    return f"{PREFIXES[kind]}-{digest[:DIGITS]}"


def pads(key: bytes) -> tuple[str, str]:
    """The HMAC inner and outer pads of ``key``, as hex."""
    block = hashlib.sha256().block_size
    k = hashlib.sha256(key).digest() if len(key) > block else key
    k = k.ljust(block, b"\0")
    return bytes(b ^ 0x36 for b in k).hex(), bytes(b ^ 0x5C for b in k).hex()


def signing_key_path(out: Path, key_file: Path | None = None) -> Path:
    """Where the case signing key lives: ``key_file`` if given, else ``OUT/../case-signing.key``."""
    return Path(key_file) if key_file else Path(out).resolve().parent / "case-signing.key"


def load_signing_key(out: Path, key_file: Path | None = None) -> Ed25519PrivateKey:
    """The case's Ed25519 signing key (seals manifests), created on first use.

    Kept like the case key: outside the output folder (refused inside it, where it would
    travel with the outputs), mode 0600, 32 random bytes as hex. Raises
    :class:`InputError` when the file is inside ``out`` or unreadable.
    """
    path = signing_key_path(out, key_file)
    if _inside(path, out):
        raise InputError(
            "the signing key would be stored inside the output folder",
            where=str(path),
            fix="keep the signing key outside the output folder (default: beside it)",
        )
    if _create_secret(path, 32):
        log.warning("created a new case signing key at %s: keep it with the case", path)
    try:
        seed = bytes.fromhex(path.read_text(encoding="ascii").strip())
        return Ed25519PrivateKey.from_private_bytes(seed)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(
            f"the case signing key cannot be read: {exc}",
            where=str(path),
            fix="restore the signing key from the case backup (64 hexadecimal characters)",
        ) from None


def public_key_hex(key: Ed25519PrivateKey) -> str:
    """The raw 32-byte Ed25519 public key of ``key``, as lowercase hex."""
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
