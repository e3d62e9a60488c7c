"""The role matrix: every route of the app, against every role and anonymous.

The routes come from the app itself, so an endpoint added without a declared policy fails
here (and the app refuses to start); a route whose declared roles are not enforced fails
the matrix.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from portal_helpers import web_session
from privguard.internals.prevention.service import create_app, portal_auth
from privguard.internals.prevention.service.models import ROLES
from privguard.internals.prevention.service.policy import (
    ANONYMOUS,
    PolicyError,
    declared_policies,
    iter_routes,
    requires,
)
from privguard.internals.prevention.settings import ServiceSettings
from service_helpers import bearer, service_client, token_for, users_of_every_role

BODY_METHODS = {"POST", "PUT", "PATCH"}


def _is_page(path: str) -> bool:
    # The portal's HTML pages sign in with a cookie, not a bearer token.
    return not path.startswith(("/v1/", "/docs", "/redoc", "/openapi", "/static"))


def _page_status(client: Any, method: str, url: str, user: int | None) -> tuple[int, str]:
    """Call a page as a browser would: a web session cookie, and the form's CSRF token."""
    secret = web_session(client, user) if user is not None else "pre-session-" + "x" * 20
    client.cookies.clear()
    client.cookies.set(portal_auth.PRE_COOKIE, secret)
    if user is not None:
        client.cookies.set(portal_auth.COOKIE, secret)
    data = {"csrf": portal_auth.csrf_for(secret)} if method in BODY_METHODS else None
    r = client.request(method, url, data=data, follow_redirects=False)
    client.cookies.clear()
    return r.status_code, r.headers.get("location", "")


def test_role_matrix_covers_every_route(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path) as client:
        app: FastAPI = client.app  # type: ignore[assignment]
        table = app.state.policy
        routes = [(m, p) for p, methods, _ in iter_routes(app) for m in methods]
        assert sorted(routes) == sorted(table), "every route has a policy, and only routes do"
        assert ("GET", "/v1/me") in table and ("DELETE", "/v1/tokens/{token_id}") in table
        users = users_of_every_role(client)
        wrong: list[str] = []
        checked = 0
        for (method, path), allowed in sorted(table.items()):
            if method == "HEAD":
                continue
            url = re.sub(r"\{[^}]+\}", "1", path)
            for who in (ANONYMOUS, *ROLES):
                checked += 1
                if _is_page(path):
                    user = None if who == ANONYMOUS else users[who]
                    status, went = _page_status(client, method, url, user)
                    # A page that needs a session sends anonymous callers to sign in first.
                    to_sign_in = status == 303 and went.startswith("/sign-in?next=")
                    if who in allowed:
                        ok = status not in (401, 403) and not to_sign_in
                    else:
                        # Anonymous is sent to the sign-in page; another role is refused.
                        ok = to_sign_in if who == ANONYMOUS else status == 403
                    if not ok:
                        wrong.append(
                            f"{method} {path} as {who}: {status} {went} ({sorted(allowed)})"
                        )
                    continue
                # A fresh token each time: the matrix itself revokes tokens (DELETE routes).
                headers = {} if who == ANONYMOUS else bearer(token_for(client, users[who]))
                body = {} if method in BODY_METHODS else None
                status = client.request(method, url, headers=headers, json=body).status_code
                if who in allowed:
                    ok = status not in (401, 403)
                else:
                    ok = status == (401 if who == ANONYMOUS else 403)
                if not ok:
                    wrong.append(f"{method} {path} as {who}: {status} (allowed: {sorted(allowed)})")
        assert wrong == []
        assert checked >= 6 * 10
        pages = [p for _, p in table if _is_page(p)]
        assert "/attorney" in pages and "/registrar" in pages and "/auditor" in pages


def test_a_route_without_policy_is_refused(tmp_path: Path) -> None:
    app = create_app(ServiceSettings(data_dir=tmp_path))

    @app.get("/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    with pytest.raises(PolicyError) as err:
        declared_policies(app, [app.openapi_url or ""])
    assert any("/v1/forgotten" in p for p in err.value.problems)


def test_a_route_with_two_policies_is_refused(tmp_path: Path) -> None:
    app = create_app(ServiceSettings(data_dir=tmp_path))

    @app.get("/v1/both", dependencies=[requires("admin"), requires("auditor")])
    def both() -> dict[str, str]:
        return {}

    with pytest.raises(PolicyError) as err:
        declared_policies(app, [app.openapi_url or ""])
    assert any("/v1/both: 2 policies" in p for p in err.value.problems)


def test_a_page_without_policy_is_refused(tmp_path: Path) -> None:
    app = create_app(ServiceSettings(data_dir=tmp_path))

    @app.get("/forgotten-page")
    def forgotten() -> str:
        return "<p>no policy</p>"

    with pytest.raises(PolicyError) as err:
        declared_policies(app, [app.openapi_url or ""])
    assert any("/forgotten-page" in p for p in err.value.problems)


def test_requires_rejects_unknown_roles() -> None:
    with pytest.raises(ValueError, match="unknown"):
        requires("janitor")
    with pytest.raises(ValueError):
        requires()
