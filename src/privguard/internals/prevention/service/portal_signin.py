"""The sign-in pages: password, then (for staff) the TOTP code; and signing out.

Each step is rate limited (:func:`portal_auth.locked_out`), CSRF-checked and sent to the
ledger's access log through :func:`auth.audit_event` (``auth.login`` logs the password
step; this module logs the code step, lock-outs and sign-outs).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from privguard.internals.prevention.service import auth
from privguard.internals.prevention.service import portal_auth as P
from privguard.internals.prevention.service.auth import Principal, audit_event
from privguard.internals.prevention.service.deps import DbSession, access_log, client_ip
from privguard.internals.prevention.service.errors import Unauthenticated
from privguard.internals.prevention.service.policy import public
from privguard.internals.prevention.service.portal_web import HOME, render

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form(max_length=500)]
LOCKED = (
    "Too many failed attempts. Wait 15 minutes before you try again, "
    "or ask an administrator to check your account."
)


def _next(value: str, role: str) -> str:
    # Only a path on this site: never an open redirect to somewhere else.
    parts = urlsplit(value or "")
    if value.startswith("/") and not value.startswith("//") and not parts.netloc:
        return value
    return HOME.get(role, "/")


def _form(request: Request, status: int = 200, **ctx: object) -> HTMLResponse:
    secret, new = P.pre_secret(request)
    ctx.setdefault("username", "")
    ctx.setdefault("next", request.query_params.get("next", ""))
    response = render(request, "sign_in.html", status, form_csrf=P.csrf_for(secret), **ctx)
    if new:
        P.set_cookie(response, request, P.PRE_COOKIE, secret, 3600)
    return response


@router.get("/", dependencies=[public()])
def home(request: Request, session: DbSession) -> Response:
    """The start page of whoever is signed in, or the sign-in page."""
    found = P.session_of(session, request)
    target = HOME.get(found[0].role, "/sign-in") if found else "/sign-in"
    return RedirectResponse(target, status_code=303)


@router.get("/sign-in", dependencies=[public()])
def sign_in_form(request: Request) -> HTMLResponse:
    """The sign-in form."""
    return _form(request)


@router.post("/sign-in", dependencies=[public()])
def sign_in(
    request: Request,
    session: DbSession,
    username: Field = "",
    password: Field = "",
    csrf: Field = "",
    next: Field = "",
) -> Response:
    """Check the password (Argon2id); staff go on to the code, attorneys to their page."""
    ip = client_ip(request) or "unknown"
    name = username.strip().lower()
    sink = access_log(request)
    if not P.csrf_ok(request.cookies.get(P.PRE_COOKIE), csrf):
        return _form(request, 403, username=name, next=next, errors=[("", P_REFUSED)])
    if not name or not password:
        missing = [("username", "Enter your username")] if not name else []
        missing += [("password", "Enter your password")] if not password else []
        return _form(request, 400, username=name, next=next, errors=missing)
    if P.locked_out(session, name, ip):
        audit_event("login", actor=name, outcome="locked", ip=ip, sink=sink)
        return _form(request, 429, username=name, next=next, errors=[("", LOCKED)])
    try:
        issued = auth.login(session, name, password, ip=ip, sink=sink)
    except Unauthenticated:
        session.rollback()
        P.failed(session, name, ip)
        session.commit()
        wrong = "The username or password is wrong. Check both and try again."
        return _form(request, 401, username=name, next=next, errors=[("username", wrong)])
    user = auth.get_user(session, issued.record.user_id)
    auth.revoke_token(session, issued.record.id)  # the API token login() made; pages use theirs
    if user.role not in P.PAGE_ROLES:
        session.commit()
        refused = "This account belongs to a facility's system; it has no pages. Use the API."
        return _form(request, 403, username=name, next=next, errors=[("", refused)])
    staff = user.role in P.STAFF
    secret = P.open_session(session, user, pending=staff)
    if not staff:
        P.forgive(session, name)
    session.commit()
    target = "/sign-in/code?next=" + _next(next, user.role) if staff else _next(next, user.role)
    response = RedirectResponse(target, status_code=303)
    life = P.PENDING_MINUTES * 60 if staff else P.WEB_HOURS * 3600
    P.set_cookie(response, request, P.COOKIE, secret, life)
    return response


P_REFUSED = "The form was refused because it did not come from this page. Send it again."


def _pending(request: Request, session: DbSession) -> tuple[Principal, str] | None:
    return P.session_of(session, request, P.PENDING)


def _code_form(
    request: Request,
    session: DbSession,
    me: Principal,
    secret: str,
    status: int = 200,
    **ctx: object,
) -> HTMLResponse:
    row = P.totp_of(session, me.user_id)
    enrol = None
    if row.confirmed_at is None:
        key, uri = P.provisioning(row, me.username)
        enrol = {"secret": key, "uri": uri}
    session.commit()
    ctx.setdefault("next", request.query_params.get("next", ""))
    return render(request, "sign_in_code.html", status, csrf=P.csrf_for(secret), enrol=enrol, **ctx)


@router.get("/sign-in/code", dependencies=[public()])
def code_form(request: Request, session: DbSession) -> Response:
    """The second step for staff: the code from an authenticator app (set up once)."""
    found = _pending(request, session)
    if found is None:
        return RedirectResponse("/sign-in", status_code=303)
    return _code_form(request, session, *found)


@router.post("/sign-in/code", dependencies=[public()])
def code(
    request: Request, session: DbSession, code: Field = "", csrf: Field = "", next: Field = ""
) -> Response:
    """Check the code (RFC 6238, one step of drift, never twice); opens the web session."""
    found = _pending(request, session)
    if found is None:
        return RedirectResponse("/sign-in", status_code=303)
    me, secret = found
    ip = client_ip(request) or "unknown"
    sink = access_log(request)
    if not P.csrf_ok(secret, csrf):
        return _code_form(request, session, me, secret, 403, next=next, errors=[("", P_REFUSED)])
    if P.locked_out(session, me.username, ip):
        audit_event("login.code", actor=me.actor, outcome="locked", ip=ip, sink=sink)
        return _code_form(request, session, me, secret, 429, next=next, errors=[("", LOCKED)])
    row = P.totp_of(session, me.user_id)
    if not P.check_code(row, code):
        session.rollback()
        P.failed(session, me.username, ip)
        session.commit()
        audit_event("login.code", actor=me.actor, outcome="failed", ip=ip, sink=sink)
        wrong = "That code is not right. Type the 6 digits your app shows now."
        return _code_form(request, session, me, secret, 401, next=next, errors=[("code", wrong)])
    auth.revoke_token(session, me.token_id)
    user = auth.get_user(session, me.user_id)
    web = P.open_session(session, user)
    P.forgive(session, me.username)
    session.commit()
    audit_event("login.code", actor=me.actor, outcome="ok", ip=ip, sink=sink)
    response = RedirectResponse(_next(next, me.role), status_code=303)
    P.set_cookie(response, request, P.COOKIE, web, P.WEB_HOURS * 3600)
    return response


@router.post("/sign-out")
def sign_out(
    request: Request,
    session: DbSession,
    me: Annotated[Principal, P.page(*P.PAGE_ROLES)],
) -> Response:
    """End the web session now (its token is revoked, the cookie cleared)."""
    auth.revoke_token(session, me.token_id)
    session.commit()
    audit_event(
        "logout", actor=me.actor, outcome="ok", ip=client_ip(request), sink=access_log(request)
    )
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(
        P.COOKIE, path="/", httponly=True, samesite="strict", secure=P.secure_cookies(request)
    )
    return response
