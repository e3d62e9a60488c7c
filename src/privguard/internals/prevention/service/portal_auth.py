"""The portal's sign-in machinery: web sessions, CSRF, the TOTP second factor, rate limits.

A web session is an API token of the ``auth`` tables (stored as SHA-256 only), labelled
:data:`WEB` and carried in an HttpOnly, SameSite=Strict cookie that is also Secure unless
the page is served over plain http on a loopback address. A staff member (registrar,
auditor, admin) first gets a :data:`PENDING` token that opens no page, only the code form;
the code (RFC 6238, computed by ``cryptography``) turns it into a web session.

CSRF: every form carries ``csrf``, an HMAC keyed by the session's secret, so only a page
the service rendered for this session knows it; :func:`page` checks it on every POST before
the endpoint runs. The sign-in form, before any session, uses a random pre-session cookie
the same way. Failed steps are rows of ``portal_attempts``: :data:`USER_LIMIT` per username
and :data:`IP_LIMIT` per address in :data:`WINDOW` lock further tries out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Annotated, Any

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from fastapi import Depends, Request
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from privguard.internals.prevention.service import policy
from privguard.internals.prevention.service.auth import (
    Principal,
    audit_event,
    authenticate,
    issue_token,
    now,
)
from privguard.internals.prevention.service.deps import DbSession, access_log, client_ip
from privguard.internals.prevention.service.errors import Unauthenticated
from privguard.internals.prevention.service.models import Token, User
from privguard.internals.prevention.service.portal_models import Attempt, Totp

COOKIE = "privguard_session"
PRE_COOKIE = "privguard_pre"
WEB = "web"
PENDING = "web:pending-code"
STAFF = frozenset({"registrar", "auditor", "admin"})
PAGE_ROLES = frozenset({"attorney", "registrar", "auditor", "admin"})
WEB_HOURS = 12
PENDING_MINUTES = 5
WINDOW = timedelta(minutes=15)
USER_LIMIT = 5
IP_LIMIT = 20
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
ISSUER = "privguard"
STEP = 30


class SignInNeeded(Exception):
    """A page asked for without a web session: answered by a 303 to the sign-in page."""


class PageRefused(Exception):
    """A page the signed-in role may not see, or a form without its CSRF token (403)."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message, self.fix = message, fix


def csrf_for(secret: str) -> str:
    """The CSRF token of the session (or pre-session) whose secret is ``secret``."""
    return hmac.new(secret.encode(), b"privguard-csrf-v1", hashlib.sha256).hexdigest()


def csrf_ok(secret: str | None, sent: object) -> bool:
    """Whether ``sent`` is the CSRF token of ``secret`` (constant time)."""
    if not secret or not isinstance(sent, str):
        return False
    return hmac.compare_digest(csrf_for(secret), sent)


def secure_cookies(request: Request) -> bool:
    """Secure cookies everywhere except plain http on a loopback address (development)."""
    return request.url.scheme == "https" or (request.url.hostname or "") not in LOOPBACK


def set_cookie(response: Any, request: Request, name: str, value: str, max_age: int) -> None:
    """Set a cookie the way every portal cookie is set: HttpOnly, SameSite=Strict."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )


def pre_secret(request: Request) -> tuple[str, bool]:
    """The pre-session secret from its cookie, or a new one (then True: set the cookie)."""
    value = request.cookies.get(PRE_COOKIE)
    if value and 20 <= len(value) <= 100:
        return value, False
    return secrets.token_urlsafe(32), True


def open_session(session: Session, user: User, *, pending: bool = False) -> str:
    """A new web session (or pending-code session) for ``user``; returns its secret."""
    life = timedelta(minutes=PENDING_MINUTES) if pending else timedelta(hours=WEB_HOURS)
    return issue_token(session, user, PENDING if pending else WEB, expires_in=life).token


def session_of(
    session: Session, request: Request, label: str = WEB
) -> tuple[Principal, str] | None:
    """The cookie's principal and secret when it is a live session with ``label``."""
    secret = request.cookies.get(COOKIE)
    if not secret:
        return None
    try:
        principal = authenticate(session, secret)
    except Unauthenticated:
        return None
    token = session.get(Token, principal.token_id)
    if token is None or token.label != label:
        return None
    return principal, secret


async def _sent_csrf(request: Request) -> object:
    # Read here, before the endpoint, so that no POST page runs without the check.
    if request.method != "POST":
        return None
    form = await request.form()
    return form.get("csrf")


def page(*roles: str) -> Any:
    """The policy of a page: a web session of one of ``roles``, and CSRF on every POST.

    Anonymous callers are sent to the sign-in page (303); other roles get a 403 page. The
    roles are declared to :mod:`policy` like an endpoint's, so the role matrix covers pages.
    """
    allowed = frozenset(roles)
    if not allowed or not allowed <= PAGE_ROLES:
        raise ValueError(f"page(): roles must be some of {sorted(PAGE_ROLES)}, not {roles}")

    def caller(
        request: Request, session: DbSession, sent: Annotated[object, Depends(_sent_csrf)]
    ) -> Principal:
        found = session_of(session, request)
        if found is None:
            raise SignInNeeded()
        principal, secret = found
        request.state.principal, request.state.csrf = principal, csrf_for(secret)
        if principal.role not in allowed:
            audit_event(
                "denied",
                actor=principal.actor,
                outcome="refused",
                detail=f"{request.method} {request.url.path}",
                ip=client_ip(request),
                sink=access_log(request),
            )
            raise PageRefused(
                "Your account cannot open this page.",
                "Sign in with an account that has one of the roles: " + ", ".join(sorted(allowed)),
            )
        if request.method == "POST" and not csrf_ok(secret, sent):
            raise PageRefused(
                "The form was refused because it did not come from this page.",
                "Go back, reload the page and send the form again.",
            )
        return principal

    setattr(caller, policy._ATTR, allowed)
    return Depends(caller)


# -- rate limits -------------------------------------------------------------------------


def locked_out(session: Session, username: str, ip: str) -> bool:
    """Whether ``username`` or ``ip`` used up its failed attempts in the last :data:`WINDOW`."""
    since = now() - WINDOW
    by_user = session.scalar(
        select(func.count()).where(Attempt.at >= since, Attempt.username == username)
    )
    by_ip = session.scalar(select(func.count()).where(Attempt.at >= since, Attempt.ip == ip))
    return int(by_user or 0) >= USER_LIMIT or int(by_ip or 0) >= IP_LIMIT


def failed(session: Session, username: str, ip: str) -> None:
    """Count one failed step against ``username`` and ``ip`` (committed by the caller)."""
    session.add(Attempt(at=now(), username=username[:64], ip=ip[:64]))
    # Old rows are of no use to the limits; keep the table small.
    session.execute(delete(Attempt).where(Attempt.at < now() - 2 * WINDOW))


def forgive(session: Session, username: str) -> None:
    """A successful sign-in clears the user's failed attempts (not the address's)."""
    session.execute(delete(Attempt).where(Attempt.username == username))


# -- the second factor -------------------------------------------------------------------


def _totp(secret: bytes) -> TOTP:
    return TOTP(secret, 6, SHA1(), STEP, enforce_key_length=True)


def totp_of(session: Session, user_id: int) -> Totp:
    """The user's TOTP row, made (unconfirmed, with a new 160-bit secret) if there is none."""
    row = session.get(Totp, user_id)
    if row is None:
        row = Totp(user_id=user_id, secret=secrets.token_bytes(20), last_step=0)
        session.add(row)
        session.flush()
    return row


def provisioning(row: Totp, username: str) -> tuple[str, str]:
    """The secret in base32 (to type into an app) and its otpauth:// URI."""
    import base64

    text = base64.b32encode(row.secret).decode().rstrip("=")
    return text, _totp(row.secret).get_provisioning_uri(username, ISSUER)


def code_at(secret: bytes, when: float) -> str:
    """The code for time ``when`` (tests and the first-enrolment hint use it)."""
    return _totp(secret).generate(when).decode()


def check_code(row: Totp, code: str, when: float | None = None) -> bool:
    """Whether ``code`` is valid now (one step of clock drift either way), never twice."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return False
    t = now().timestamp() if when is None else when
    step = int(t // STEP)
    for candidate in (step - 1, step, step + 1):
        if candidate <= row.last_step:
            continue  # a code already used (or older) is refused: no replay
        expected = code_at(row.secret, candidate * STEP)
        if hmac.compare_digest(expected, code):
            row.last_step = candidate
            if row.confirmed_at is None:
                row.confirmed_at = now()
            return True
    return False
