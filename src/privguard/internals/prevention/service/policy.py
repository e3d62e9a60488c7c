"""The access policy, declared in one place per route.

Every endpoint takes its caller from :func:`requires` (a role list) or :func:`public`.
That one declaration both enforces the rule (401 without a valid token, 403 for a role not
listed, each refusal sent to :func:`auth.audit_event`) and is read back by
:func:`declared_policies`, which maps every route to its roles. :func:`check_policy` runs
when the app is built, so a route that declares nothing stops the service from starting,
and the role-matrix test walks the same map.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated, Any

import fastapi.routing
from fastapi import Depends, FastAPI, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from privguard.errors import PrivguardError
from privguard.internals.prevention.service.auth import Principal, audit_event, authenticate
from privguard.internals.prevention.service.deps import DbSession, access_log, client_ip
from privguard.internals.prevention.service.errors import Forbidden
from privguard.internals.prevention.service.models import ROLES

ANONYMOUS = "anonymous"
# A public route admits every role and no role at all.
EVERYONE = frozenset({ANONYMOUS, *ROLES})
SIGNED_IN = frozenset(ROLES)
_ATTR = "__privguard_roles__"
_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer <token>`.")


def requires(*roles: str) -> Any:
    """A dependency that admits a valid token of one of ``roles`` and gives its Principal."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"requires(): unknown or no roles {sorted(unknown)}; known: {ROLES}")
    allowed = frozenset(roles)

    def caller(
        request: Request,
        session: DbSession,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    ) -> Principal:
        ip = client_ip(request)
        token = credentials.credentials if credentials else None
        sink = access_log(request)
        principal = authenticate(session, token, ip=ip, sink=sink)
        # End the read so the request holds no pooled connection while its endpoint runs:
        # POST /v1/decisions awaits the decision log's commit, and requests holding every
        # connection starve the log's writer of one (a deadlock until the pool's timeout).
        session.commit()
        if principal.role not in allowed:
            audit_event(
                "denied",
                actor=principal.actor,
                outcome="refused",
                detail=f"{request.method} {request.url.path}",
                ip=ip,
                sink=sink,
            )
            raise Forbidden(
                f"the role {principal.role!r} may not use this endpoint",
                where=f"{request.method} {request.url.path}",
                fix=f"use an account with one of the roles: {', '.join(sorted(allowed))}",
            )
        return principal

    setattr(caller, _ATTR, allowed)
    return Depends(caller)


def public() -> Any:
    """A dependency that admits everyone, anonymous included (declared, not forgotten)."""

    def anyone() -> None:
        return None

    setattr(anyone, _ATTR, EVERYONE)
    return Depends(anyone)


def _roles_of(dependant: Dependant) -> set[frozenset[str]]:
    found: set[frozenset[str]] = set()
    for dep in dependant.dependencies:
        roles = getattr(dep.call, _ATTR, None)
        if roles is not None:
            found.add(roles)
        found |= _roles_of(dep)
    return found


class PolicyError(PrivguardError):
    """A route declares no access policy, or more than one."""

    http_status = 500
    kind = "policy"


def iter_routes(app: FastAPI) -> Iterator[tuple[str, list[str], Dependant | None]]:
    """Every route of ``app`` as (path, methods, dependant or None for a plain route).

    Routers included with a prefix are walked through (FastAPI >= 0.16x keeps them as
    lazy included routers in ``app.routes``; older versions flatten them).
    """
    walk = getattr(fastapi.routing, "iter_route_contexts", None)
    for item in walk(app.routes) if walk else app.routes:
        original = getattr(item, "original_route", item)
        path = str(getattr(item, "path", None) or getattr(original, "path", ""))
        methods = sorted(getattr(item, "methods", None) or ["GET"])
        dependant = None
        if isinstance(original, APIRoute):
            dependant = getattr(item, "dependant", None) or original.dependant
        yield path, methods, dependant


def declared_policies(
    app: FastAPI, public_paths: Iterable[str] = ()
) -> dict[tuple[str, str], frozenset[str]]:
    """Every (method, path) of ``app`` with the roles allowed on it.

    ``public_paths`` are the plain routes FastAPI adds itself (the OpenAPI document and the
    docs pages). Raises :class:`PolicyError` naming every route without exactly one policy.
    """
    table: dict[tuple[str, str], frozenset[str]] = {}
    missing = []
    open_paths = set(public_paths)
    for path, methods, dependant in iter_routes(app):
        if dependant is not None:
            found = _roles_of(dependant)
            if len(found) != 1:
                missing.append(f"{','.join(methods)} {path}: {len(found)} policies")
                continue
            roles = found.pop()
        elif path in open_paths:
            roles = EVERYONE
        else:
            missing.append(f"{','.join(methods)} {path}: not an API route with a policy")
            continue
        for method in methods:
            table[(method, path)] = roles
    if missing:
        raise PolicyError(
            "some routes do not declare who may use them",
            problems=missing,
            fix="give each route exactly one requires(...) or public() dependency",
        )
    return table
