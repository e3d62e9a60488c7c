"""Who is calling: users, Argon2id passwords, API tokens, and the one audit hook.

A token is ``secrets.token_urlsafe(32)`` (256 random bits), shown once and stored only as
its SHA-256: a stolen database yields no usable token. Tokens are revocable, may expire
(a password sign-in gives one that lasts :data:`SESSION_HOURS`), and record when they
were last used. Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106's
low-memory profile) and re-hashed on sign-in when those defaults change.

Every sign-in, success or failure, and every refusal goes through :func:`audit_event`.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from privguard.errors import InputError
from privguard.internals.prevention.db import transaction
from privguard.internals.prevention.ledger import Ledger, Signer
from privguard.internals.prevention.service.errors import Conflict, NotFound, Unauthenticated
from privguard.internals.prevention.service.models import ROLES, Token, User

log = logging.getLogger(__name__)
access_log = logging.getLogger("privguard.access")

SESSION_HOURS = 12
# last_used_at is written at most this often per token, so reads do not all become writes.
LAST_USED_EVERY = timedelta(seconds=60)
_hasher = PasswordHasher()
_REVOKED = [0]  # revocations made in this process (see revocations())


ACCESS_LOG = "access"
ACCESS_ORIGIN = "privguard/access"  # the key name (C2SP origin) of the access log


class AccessLog:
    """The ledger's ``access`` log: each security event is a tamper-evident entry.

    An entry is appended in a transaction of its own, so that a refusal is kept even
    though the request that caused it fails and rolls back.
    """

    def __init__(self, factory: sessionmaker[Session], ledger: Ledger) -> None:
        self.factory = factory
        self.ledger = ledger

    def append(self, action: str, actor: str, outcome: str, payload: dict[str, Any]) -> int:
        """Append one event; returns its index in the access log."""
        with transaction(self.factory) as session:
            return self.ledger.append(
                session, actor=actor, action=action, reason=outcome, payload=payload
            ).index


def audit_event(
    action: str,
    *,
    actor: str,
    outcome: str,
    detail: str | None = None,
    ip: str | None = None,
    sink: AccessLog | None = None,
) -> None:
    """Record one security event: a sign-in (``outcome`` "ok"/"failed"), a refusal, an
    administrator's change. It is logged, and appended to the ledger's access log
    (``sink``) when the caller has one (the service always does).

    ``actor`` is ``role:username`` when known, else what the caller claimed.
    """
    level = logging.INFO if outcome == "ok" else logging.WARNING
    access_log.log(level, "%s %s actor=%s ip=%s %s", action, outcome, actor, ip, detail or "")
    if sink is not None:
        sink.append(action, actor, outcome, {"detail": detail, "ip": ip})


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    user_id: int
    username: str
    role: str
    attorney_id: int | None
    token_id: int
    expires_at: datetime | None = None  # the token's expiry (aware UTC), None: never

    @property
    def actor(self) -> str:
        """How the caller is named in logs and the ledger: ``role:username``."""
        return f"{self.role}:{self.username}"


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``token`` is the only copy of the secret; ``record`` is what is stored."""

    token: str
    record: Token


def now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every time stored here is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def token_hash(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password``."""
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    # Checked against when the user is unknown, so that timing does not reveal usernames.
    return _hasher.hash(secrets.token_urlsafe(16))


def create_user(
    session: Session,
    username: str,
    role: str,
    *,
    password: str | None = None,
    display_name: str | None = None,
    attorney_id: int | None = None,
) -> User:
    """Add a user; raises :class:`Conflict` if the username is taken."""
    if role not in ROLES:
        raise InputError(
            f"unknown role {role!r}", where="role", fix=f"use one of: {', '.join(ROLES)}"
        )
    name = username.strip().lower()
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise Conflict(
            f"the username {name!r} is already taken",
            where="username",
            fix="choose another username",
        )
    user = User(
        username=name,
        role=role,
        display_name=display_name,
        password_hash=hash_password(password) if password else None,
        attorney_id=attorney_id,
        active=True,
        created_at=now(),
    )
    session.add(user)
    session.flush()
    return user


def issue_token(
    session: Session, user: User, label: str, *, expires_in: timedelta | None = None
) -> IssuedToken:
    """A new random token for ``user``; only its SHA-256 is stored."""
    plain = secrets.token_urlsafe(32)
    created = now()
    record = Token(
        user_id=user.id,
        token_hash=token_hash(plain),
        label=label,
        created_at=created,
        expires_at=created + expires_in if expires_in else None,
    )
    session.add(record)
    session.flush()
    return IssuedToken(plain, record)


def get_user(session: Session, user_id: int) -> User:
    """The user with ``user_id``, or :class:`NotFound`."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"there is no user {user_id}", where=f"user {user_id}")
    return user


def revocations() -> int:
    """How many revocations this process has made: token caches forget all when it changes."""
    return _REVOKED[0]


def revoke_token(session: Session, token_id: int) -> Token:
    """Mark a token revoked (idempotent: a second revoke keeps the first time).

    This process's token caches (:mod:`.token_cache`) forget every token at once; another
    process's within their time to live."""
    _REVOKED[0] += 1
    record = session.get(Token, token_id)
    if record is None:
        raise NotFound(f"there is no token {token_id}", where=f"token {token_id}")
    if record.revoked_at is None:
        record.revoked_at = now()
    return record


def login(
    session: Session,
    username: str,
    password: str,
    *,
    ip: str | None = None,
    sink: AccessLog | None = None,
) -> IssuedToken:
    """Exchange a username and password for a session token of :data:`SESSION_HOURS`."""
    name = username.strip().lower()
    user = session.scalar(select(User).where(User.username == name))
    stored = user.password_hash if user is not None and user.active else None
    try:
        _hasher.verify(stored or _decoy_hash(), password)
        ok = stored is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        audit_event("login", actor=name, outcome="failed", ip=ip, sink=sink)
        raise Unauthenticated(
            "the username or password is wrong",
            where="username",
            # No route resets a password: an administrator gives the account a token instead.
            fix="check both (the username is not case-sensitive, the password is); if the "
            "password is lost, an administrator gives the account a new token "
            "(POST /v1/users/{id}/tokens)",
        )
    if _hasher.check_needs_rehash(stored or ""):
        user.password_hash = hash_password(password)
    audit_event("login", actor=f"{user.role}:{user.username}", outcome="ok", ip=ip, sink=sink)
    return issue_token(session, user, "session", expires_in=timedelta(hours=SESSION_HOURS))


def authenticate(
    session: Session, token: str | None, *, ip: str | None = None, sink: AccessLog | None = None
) -> Principal:
    """The principal a bearer token stands for; :class:`Unauthenticated` otherwise."""
    if not token:
        raise Unauthenticated(
            "this endpoint needs a token",
            fix="send the header 'Authorization: Bearer <token>'; POST /v1/session gives one",
        )
    row = session.execute(
        select(Token, User)
        .join(User, User.id == Token.user_id)
        .where(Token.token_hash == token_hash(token))
    ).first()
    current = now()
    reason = None
    if row is None:
        reason = "unknown token"
    else:
        record, user = row
        expires = aware(record.expires_at)
        if record.revoked_at is not None:
            reason = "revoked token"
        elif expires is not None and expires <= current:
            reason = "expired token"
        elif not user.active:
            reason = "deactivated user"
    if reason is not None:
        audit_event(
            "authenticate", actor="unknown", outcome="failed", detail=reason, ip=ip, sink=sink
        )
        raise Unauthenticated(
            "the token is not valid (unknown, expired or revoked)",
            fix="sign in again (POST /v1/session) or ask an administrator for a new token",
        )
    last = aware(record.last_used_at)
    if last is None or current - last >= LAST_USED_EVERY:
        record.last_used_at = current
        session.commit()
    return Principal(user.id, user.username, user.role, user.attorney_id, record.id, expires)


def bootstrap_admin(settings: Any, username: str) -> IssuedToken:
    """Create admin ``username`` (or reuse that admin) and issue a token for it.

    For a fresh install, from the command line: the database is created and migrated if
    needed. Raises :class:`Conflict` if the username belongs to a user of another role.
    """
    from privguard.internals.prevention.db import make_engine, sessions, upgrade

    engine = make_engine(settings.url)
    try:
        upgrade(engine)
        with transaction(sessions(engine)) as session:
            user = session.scalar(select(User).where(User.username == username.strip().lower()))
            if user is None:
                user = create_user(session, username, "admin")
            elif user.role != "admin":
                raise Conflict(
                    f"{user.username!r} exists with the role {user.role!r}, not admin",
                    where="--create-admin",
                    fix="choose another name for the administrator",
                )
            issued = issue_token(session, user, "bootstrap (privguard serve --create-admin)")
        signer = Signer.load_or_create(settings.key_file, name=ACCESS_ORIGIN)
        sink = AccessLog(sessions(engine), Ledger(log=ACCESS_LOG, signer=signer))
        detail = f"token {issued.record.id} for admin {user.username}"
        audit_event("token.issued", actor="cli", outcome="ok", detail=detail, sink=sink)
        return issued
    finally:
        engine.dispose()
