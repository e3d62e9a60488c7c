"""Helpers for the portal tests: sign in through the forms, read CSRF tokens, seed data."""

from __future__ import annotations

import re
import time

from fastapi.testclient import TestClient
from httpx2 import Response  # what the TestClient returns (it runs over httpx2)

from privguard.internals.prevention.db import transaction
from privguard.internals.prevention.registry import workflow as W
from privguard.internals.prevention.service import portal_auth as P
from privguard.internals.prevention.service.models import User
from privguard.internals.prevention.service.portal_models import Totp
from service_helpers import PASSWORD, add_user

_CSRF = re.compile(r'name="csrf" value="([^"]*)"')
BASE = "http://127.0.0.1"


def csrf_in(html: str) -> str:
    """The first CSRF token of a page."""
    found = _CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def add_attorney_user(client: TestClient, name: str = "ada", full: str = "Ada Lovelace") -> int:
    """An attorney record and a user linked to it; returns the user id."""
    app = client.app
    with transaction(app.state.sessions) as session:  # type: ignore[attr-defined]
        aid = W.add_attorney(
            session,
            app.state.registry.ledger,
            full,
            actor="admin:test",  # type: ignore[attr-defined]
            bar_number="TX123",
            bar_state="TX",
        )
    return add_user(client, "attorney", name, attorney_id=aid)


def totp_secret(client: TestClient, user_id: int) -> bytes:
    """The user's TOTP secret, read from the database (what the enrolment page shows)."""
    with transaction(client.app.state.sessions) as session:  # type: ignore[attr-defined]
        row = session.get(Totp, user_id)
        assert row is not None
        return bytes(row.secret)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Response:
    """Post the sign-in form as a browser would (GET it first for the CSRF cookie)."""
    form = client.get("/sign-in")
    return client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf": csrf_in(form.text)},
        follow_redirects=False,
    )


def sign_in_staff(client: TestClient, username: str, user_id: int) -> Response:
    """Password, then the code from the enrolled (or newly enrolled) secret."""
    first = sign_in(client, username)
    assert first.status_code == 303 and first.headers["location"].startswith("/sign-in/code")
    page = client.get("/sign-in/code")
    secret = totp_secret(client, user_id)
    code = P.code_at(secret, time.time())
    return client.post(
        "/sign-in/code",
        data={"code": code, "csrf": csrf_in(page.text)},
        follow_redirects=False,
    )


def web_session(client: TestClient, user_id: int) -> str:
    """A web session opened directly (for the role matrix); returns its cookie value."""
    with transaction(client.app.state.sessions) as session:  # type: ignore[attr-defined]
        user = session.get(User, user_id)
        assert user is not None
        return P.open_session(session, user)
