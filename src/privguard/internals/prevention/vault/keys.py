"""Key handling: the key-encryption key outside the database, and the quarantine escrow.

Each recording has its own random 256-bit data key. The database only ever holds that key
*wrapped*:

* by the :class:`KeyWrapper` (default :class:`FileKeyWrapper`: AES-256-GCM under a 256-bit
  key-encryption key in ``<data_dir>/keys/vault.kek``, mode 0600), with the recording id as
  associated data so a wrapped key moved to another row does not unwrap. A KMS or an HSM
  implements the same three members;
* and, once the recording is quarantined, *only* by the escrow public key (RSA-OAEP-SHA256,
  :class:`Escrow`). The escrow private key belongs offline (a court or an oversight body);
  without it no role, and nobody reading the storage directly, can read a quarantined
  recording. With it, a recording quarantined by mistake can be released.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privguard.errors import InputError, IntegrityError

log = logging.getLogger(__name__)
NONCE = 12
KEY_BYTES = 32
_OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class KeyWrapper(Protocol):
    """Wraps and unwraps data keys; the key-encryption key never leaves it."""

    @property
    def key_id(self) -> str:
        """A stable name of the key-encryption key (never the key itself)."""
        ...

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        """The wrapped ``data_key``, bound to ``context``."""
        ...

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """The data key; raises :class:`IntegrityError` if it was not wrapped for ``context``."""
        ...


def write_secret(path: Path, data: bytes) -> None:
    """Create ``path`` (folder 0700, file 0600) holding ``data``; never overwrites."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def move_secret(source: Path, target: Path) -> None:
    """Copy a key file to ``target`` (new, 0600), check the copy, then overwrite and delete
    ``source`` (a file the vault itself created)."""
    source, target = Path(source), Path(target)
    if not source.is_file():
        raise InputError("there is no key file to move", where=str(source),
                         fix="it was moved already; it is wherever it was moved to")  # fmt: skip
    if target.exists():
        raise InputError(
            "the target file already exists; privguard never writes over a file",
            where=str(target),
            fix="give --to a file name that does not exist yet",
        )
    data = source.read_bytes()
    write_secret(target, data)
    if target.read_bytes() != data:
        raise IntegrityError("the copy of the key does not read back", where=str(target))
    with source.open("r+b") as fh:
        fh.write(os.urandom(len(data)))
        fh.flush()
        os.fsync(fh.fileno())
    source.unlink()


def load_or_create_secret(path: Path, size: int = KEY_BYTES) -> bytes:
    """The random secret in ``path``, created on first use."""
    path = Path(path)
    if not path.exists():
        write_secret(path, os.urandom(size))
        log.info("created key %s", path)
    data = path.read_bytes()
    if len(data) != size:
        raise InputError(
            f"the key file holds {len(data)} bytes, not {size}",
            where=str(path),
            fix="restore the key file from its backup; without it the vault cannot be read",
        )
    return data


class FileKeyWrapper:
    """AES-256-GCM key wrapping under a key file kept outside the database."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        kek = load_or_create_secret(self.path)
        self._aead = AESGCM(kek)
        self._id = "file:" + hashlib.sha256(b"privguard-vault-kek-id\0" + kek).hexdigest()[:16]

    @property
    def key_id(self) -> str:
        """``file:`` and 16 hex digits of a hash of the key (identifies, reveals nothing)."""
        return self._id

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        """nonce || AES-GCM(data_key) with ``context`` as associated data."""
        nonce = os.urandom(NONCE)
        return nonce + self._aead.encrypt(nonce, data_key, context)

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """The data key, or IntegrityError if the wrap or its context was altered."""
        try:
            return self._aead.decrypt(wrapped[:NONCE], wrapped[NONCE:], context)
        except (InvalidTag, ValueError):
            raise IntegrityError(
                "a recording's data key does not unwrap with this key-encryption key",
                where=str(self.path),
                fix="check that the vault runs with its own key file (keys/vault.kek)",
            ) from None


_ESCROW_FIX = (
    "give --escrow-key the file that 'privguard vault escrow-move --to FILE' wrote for this "
    "vault (it begins with -----BEGIN PRIVATE KEY-----)"
)


class Escrow:
    """The quarantine escrow: data keys sealed to a public key whose private half is offline."""

    def __init__(
        self,
        public_pem: bytes,
        private_pem: bytes | None = None,
        private_where: str | None = None,
        public_where: str | None = None,
    ) -> None:
        try:
            key = serialization.load_pem_public_key(public_pem)
        except (ValueError, TypeError):
            key = None
        if not isinstance(key, rsa.RSAPublicKey):
            raise InputError(
                "the escrow public key is not an RSA public key (the file is damaged)",
                where=public_where,
                fix="restore keys/vault-escrow.pub from the vault's backup; the recordings "
                "quarantined so far are sealed to it",
            )
        self._public = key
        self._private: PrivateKeyTypes | None = None
        if private_pem:
            try:
                self._private = serialization.load_pem_private_key(private_pem, password=None)
            except (ValueError, TypeError):  # not a PEM private key, or one with a password
                raise InputError(
                    "this file is not the escrow private key",
                    where=private_where,
                    fix=_ESCROW_FIX,
                ) from None
        self._private_where = private_where
        self.key_id = "rsa:" + hashlib.sha256(public_pem).hexdigest()[:16]

    @classmethod
    def generate(cls) -> tuple[bytes, bytes]:
        """A new escrow pair as (public PEM, private PEM)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return public, private

    @classmethod
    def load(cls, public: Path, private: Path | None = None) -> Escrow:
        """The escrow of a public key file, with its private key file if it is here."""
        priv = private.read_bytes() if private is not None and private.exists() else None
        where = str(private) if private else None
        return cls(Path(public).read_bytes(), priv, where, str(public))

    def seal(self, data_key: bytes) -> bytes:
        """``data_key`` encrypted to the escrow public key (RSA-OAEP-SHA256)."""
        return self._public.encrypt(data_key, _OAEP)

    def open(self, sealed: bytes) -> bytes:
        """The data key; needs the private key (offline by design)."""
        if self._private is None or not isinstance(self._private, rsa.RSAPrivateKey):
            raise InputError(
                "the escrow private key is not available here",
                fix="bring the escrow private key file (kept offline) to release a recording",
            )
        try:
            return self._private.decrypt(sealed, _OAEP)
        except ValueError:  # another vault's escrow key (the wrong private half)
            raise InputError(
                "this escrow private key does not open the recording: it is not this vault's",
                where=self._private_where,
                fix=_ESCROW_FIX,
            ) from None
