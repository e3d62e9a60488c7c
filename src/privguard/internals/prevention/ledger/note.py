"""C2SP signed notes (Ed25519) and tlog checkpoints, with keys that live outside the database.

A *signed note* (c2sp.org/signed-note) is UTF-8 text ending in a newline, a blank line, and
signature lines ``— <key name> base64(key id || signature)``. The key id is the first four
bytes of ``SHA-256(name || 0x0A || 0x01 || public key)``; a *vkey* publishes a key as
``<name>+<hex key id>+base64(0x01 || public key)``. A *checkpoint* (c2sp.org/tlog-checkpoint)
is a note whose text is ``origin\\nsize\\nbase64(root)\\n``. These formats are what Go's
``golang.org/x/mod/sumdb/note`` and the transparency-dev tools read, so anyone can check a
privguard checkpoint with the public vkey and no privguard code.

The signing key is one Ed25519 key in a PEM file (mode 0600) given by the service settings,
never stored in the database. The key name is chosen per log, so one key file can sign
several logs (each log's origin is its own key name). :meth:`Signer.rotate` retires the
key: its public half is kept in ``<key file>.history`` so old checkpoints still verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from privguard.errors import InputError
from privguard.internals.prevention.ledger.errors import LedgerError

log = logging.getLogger(__name__)

ED25519 = 0x01
EM_DASH = "\u2014"
MAX_SIGNATURES = 100
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
# Signer.rotate has no command and reads the old key, so it cannot mend a damaged file.
_KEY_FIX = (
    "restore the signing key file from its backup (it signs every receipt and checkpoint), "
    "or give the settings' signing_key_file if another file is the key"
)


def check_name(name: str) -> str:
    """A key name or origin: non-empty, no spaces, no ``+`` (the C2SP rule)."""
    if not name or any(c.isspace() or c == "+" for c in name):
        raise InputError(
            f"{name!r} cannot be a key name",
            fix="use a schema-less URL with no spaces and no '+', e.g. privguard.example/registry",
        )
    return name


def key_id(name: str, public_key: bytes) -> int:
    """The C2SP key id of an Ed25519 key under ``name`` (big-endian uint32)."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class Verifier:
    """A public key that checks signatures for one key name; ``str()`` is its C2SP vkey."""

    def __init__(self, vkey: str) -> None:
        parts = vkey.strip().split("+", 2)  # base64 may hold "+", a name may not
        try:
            if len(parts) != 3 or len(parts[1]) != 8:
                raise ValueError("a vkey is <name>+<8 hex digits>+<base64 key>")
            name, hex_id, blob = check_name(parts[0]), int(parts[1], 16), b64decode(parts[2])
            if len(blob) != 33 or blob[0] != ED25519:
                raise ValueError("only Ed25519 keys (type 0x01, 32 bytes) are supported")
            if key_id(name, blob[1:]) != hex_id:
                raise ValueError("the key id does not match the name and key")
        except (ValueError, InputError) as exc:
            raise InputError(
                f"this is not a valid verifier key (vkey): {exc}",
                where=vkey[:80],
                fix="copy the vkey line exactly as published, e.g. example.com/log+1a2b3c4d+AX...",
            ) from None
        self.name, self.key_id, self.public_key = name, hex_id, blob[1:]
        self._key = Ed25519PublicKey.from_public_bytes(self.public_key)

    @classmethod
    def for_key(cls, name: str, public_key: bytes) -> Verifier:
        """The verifier of a raw 32-byte Ed25519 public key under ``name``."""
        blob = base64.b64encode(bytes([ED25519]) + public_key).decode()
        return cls(f"{check_name(name)}+{key_id(name, public_key):08x}+{blob}")

    @property
    def vkey(self) -> str:
        """The C2SP verifier key string."""
        blob = base64.b64encode(bytes([ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{blob}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (64 bytes, no key id) signs ``message`` with this key."""
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __str__(self) -> str:
        return self.vkey

    def __repr__(self) -> str:
        return f"Verifier({self.vkey!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Verifier) and other.vkey == self.vkey

    def __hash__(self) -> int:
        return hash(self.vkey)


class Signer:
    """An Ed25519 signing key under a key name (the log's origin), with its retired keys.

    Load it with :meth:`load_or_create`; :meth:`verifiers` lists the current key's verifier
    first, then those of the retired keys in ``<key file>.history``, all under this name.
    """

    def __init__(
        self, key: Ed25519PrivateKey, name: str, retired: list[bytes] | None = None
    ) -> None:
        self.name = check_name(name)
        self._key = key
        self.public_key = _raw(key.public_key())
        self.key_id = key_id(name, self.public_key)
        self.retired = list(retired or [])

    @classmethod
    def generate(cls, name: str) -> Signer:
        """A fresh key held only in memory (tests, benchmarks)."""
        return cls(Ed25519PrivateKey.generate(), name)

    @classmethod
    def load_or_create(cls, path: Path | str, name: str) -> Signer:
        """The key in ``path``, created (mode 0600, folder 0700) if the file does not exist."""
        path = Path(path)
        check_name(name)
        if not path.exists():
            _write_key(path, Ed25519PrivateKey.generate(), new=True)
            log.info("created signing key %s", path)
        return cls(_read_key(path), name, _read_history(path))

    @classmethod
    def rotate(cls, path: Path | str, name: str) -> Signer:
        """Retire the key in ``path`` (its public key goes to the history) and write a new one.

        Checkpoints signed by the old key keep verifying with :meth:`verifiers`. The old
        private key is replaced, which is the point of rotating a key that may have leaked.
        """
        path = Path(path)
        old = cls.load_or_create(path, name)
        history = _history_path(path)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with history.open("a", encoding="utf-8") as fh:
            fh.write(f"# retired {stamp}\n{old.verifier().vkey}\n")
        _write_key(path, Ed25519PrivateKey.generate(), new=False)
        log.info("rotated signing key %s (old key id %08x kept in %s)", path, old.key_id, history)
        return cls.load_or_create(path, name)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return self._key.sign(message)

    def verifier(self) -> Verifier:
        """The verifier of the current key (publish ``str(signer.verifier())``)."""
        return Verifier.for_key(self.name, self.public_key)

    def verifiers(self) -> list[Verifier]:
        """The current key's verifier, then every retired key's, all under this name."""
        return [self.verifier()] + [Verifier.for_key(self.name, k) for k in self.retired]

    def for_name(self, name: str) -> Signer:
        """The same key (and history) signing under another key name."""
        return Signer(self._key, name, self.retired)


def _history_path(path: Path) -> Path:
    return path.with_name(path.name + ".history")


def _write_key(path: Path, key: Ed25519PrivateKey, *, new: bool) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = path if new else path.with_name(path.name + ".new")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    if not new:
        os.replace(target, path)


def _read_key(path: Path) -> Ed25519PrivateKey:
    if path.stat().st_mode & 0o077:
        log.warning("signing key %s can be read by other users; chmod 600 it", path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"the signing key file cannot be read: {exc}", where=str(path), fix=_KEY_FIX
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError("the signing key is not an Ed25519 key", where=str(path), fix=_KEY_FIX)
    return key


def _read_history(path: Path) -> list[bytes]:
    history = _history_path(path)
    if not history.exists():
        return []
    keys: list[bytes] = []
    for number, line in enumerate(history.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            try:
                keys.append(Verifier(line).public_key)
            except InputError as exc:
                raise InputError(
                    exc.message, where=f"{history}, line {number}", fix="restore the line"
                ) from None
    return keys[::-1]  # newest retired key first


def b64decode(text: str) -> bytes:
    """Strict standard base64 (RFC 4648 §4): no stray characters, padding required."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(f"not base64: {exc}") from None


# -- notes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    """A verified note: its text (ending in a newline) and the keys whose signatures held."""

    text: str
    verified_by: tuple[Verifier, ...]


def sign_note(text: str, signer: Signer | list[Signer]) -> str:
    """The signed note of ``text`` (which must end in a newline) by one or more signers."""
    signers = signer if isinstance(signer, list) else [signer]
    _check_text(text)
    lines = []
    for s in signers:
        blob = s.key_id.to_bytes(4, "big") + s.sign(text.encode())
        lines.append(f"{EM_DASH} {s.name} {base64.b64encode(blob).decode()}\n")
    return text + "\n" + "".join(lines)


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise LedgerError("a note's text must end with a newline")
    if _CONTROL.search(text):
        raise LedgerError("a note may hold no control characters other than newlines")


def split_note(note: str) -> tuple[str, list[tuple[str, int, bytes]]]:
    """A note's text and its signatures as ``(key name, key id, signature)``; not verified."""
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise LedgerError("this is not a signed note: no blank line before the signatures")
    text, block = note[: cut + 1], note[cut + 2 :]
    _check_text(text)
    sigs = []
    for line in block.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH or not parts[1]:
            raise LedgerError(f"malformed signature line {line[:60]!r}")
        try:
            blob = b64decode(parts[2])
        except ValueError:
            raise LedgerError(f"signature line {line[:60]!r} is not base64") from None
        if len(blob) < 5:
            raise LedgerError(f"signature line {line[:60]!r} is too short")
        sigs.append((parts[1], int.from_bytes(blob[:4], "big"), blob[4:]))
    if not sigs:
        raise LedgerError("the note has no signature")
    if len(sigs) > MAX_SIGNATURES:
        raise LedgerError(f"the note has more than {MAX_SIGNATURES} signatures")
    return text, sigs


def verify_note(note: str, verifiers: Verifier | list[Verifier]) -> Note:
    """Check a signed note against known keys (C2SP rules) and return its verified text.

    Signatures by unknown keys are ignored (witnesses, other logs); a signature by a known
    key that fails rejects the whole note; at least one known key must have signed.
    """
    known = {
        (v.name, v.key_id): v
        for v in ([verifiers] if isinstance(verifiers, Verifier) else verifiers)
    }
    text, sigs = split_note(note)
    good: list[Verifier] = []
    for name, kid, sig in sigs:
        v = known.get((name, kid))
        if v is None:
            continue
        if not v.verify(text.encode(), sig):
            raise LedgerError(f"the signature of {name} (key {kid:08x}) does not verify")
        good.append(v)
    if not good:
        names = ", ".join(f"{n} {k:08x}" for n, k, _ in sigs)
        raise LedgerError(f"the note is signed by no known key (signed by: {names})")
    return Note(text, tuple(good))


# -- checkpoints -----------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's origin, its size and its RFC 6962 root."""

    origin: str
    size: int
    root: bytes


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    """The C2SP checkpoint text: ``origin\\nsize\\nbase64(root)\\n``."""
    if size < 0 or len(root) != 32:
        raise ValueError("a checkpoint needs a size >= 0 and a 32-byte root")
    return f"{check_name(origin)}\n{size}\n{base64.b64encode(root).decode()}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """The origin, size and root of a checkpoint's text (extension lines are ignored)."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "" or not all(lines[:-1]):
        raise LedgerError(
            "a checkpoint is at least three non-empty lines, each ending in a newline"
        )
    origin, size, root = lines[0], lines[1], lines[2]
    if not _DECIMAL.fullmatch(size):
        raise LedgerError(f"the checkpoint size {size[:30]!r} is not a decimal number")
    try:
        digest = b64decode(root)
    except ValueError:
        digest = b""
    if len(digest) != 32:
        raise LedgerError("the checkpoint root is not the base64 of a 32-byte hash")
    return Checkpoint(origin, int(size), digest)


def verify_checkpoint(note: str, verifiers: Verifier | list[Verifier]) -> Checkpoint:
    """A signed checkpoint's tree head, once a known key for its origin has verified it."""
    vs = [verifiers] if isinstance(verifiers, Verifier) else verifiers
    verified = verify_note(note, vs)
    head = parse_checkpoint(verified.text)
    if not any(v.name == head.origin for v in verified.verified_by):
        raise LedgerError(
            f"the checkpoint of {head.origin!r} is not signed by a key of that origin"
        )
    return head
