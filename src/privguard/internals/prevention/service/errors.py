"""One JSON error shape for every error the service returns, and its OpenAPI description.

Whatever goes wrong, a client gets :meth:`PrivguardError.to_dict`:
``{"error", "message", "where", "fix", "problems"}`` with the error's ``http_status``.
FastAPI's own 404, 405 and 422 (request validation) are mapped into the same shape, and an
unexpected exception becomes a 500 with an incident number that is also in the log, never
a traceback.
"""

from __future__ import annotations

import difflib
import logging
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from privguard.errors import PrivguardError
from privguard.internals.prevention.db import DatabaseError

log = logging.getLogger(__name__)


class Unauthenticated(PrivguardError):
    """No token, or a token that is unknown, expired or revoked."""

    http_status = 401
    kind = "unauthenticated"


class Forbidden(PrivguardError):
    """A valid token whose role may not do this."""

    http_status = 403
    kind = "forbidden"


class NotFound(PrivguardError):
    """The thing the path (or an id in the body) names does not exist."""

    http_status = 404
    kind = "not_found"


class Conflict(PrivguardError):
    """The request clashes with what is stored (a username already taken...)."""

    http_status = 409
    kind = "conflict"


class ErrorBody(BaseModel):
    """The one shape of every error response."""

    error: str = Field(description="A short machine-readable kind, e.g. `forbidden`.")
    message: str = Field(description="What went wrong, for a person.")
    where: str | None = Field(description="The field, file or place the error is about.")
    fix: str | None = Field(description="What to do about it.")
    problems: list[str] = Field(description="Every problem, when several were found at once.")


def error_doc(text: str) -> dict[str, Any]:
    """An OpenAPI response of the one error shape, JSON even on a route that serves text."""
    # Not `model=`: FastAPI would document it in the route's own media type (text/plain on
    # the routes that serve receipts and checkpoints). ErrorBody is added by install().
    schema = {"$ref": "#/components/schemas/ErrorBody"}
    return {"description": text, "content": {"application/json": {"schema": schema}}}


# Responses every route may give; routes add AUTH_RESPONSES when they need a token.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: error_doc("The body cannot be read (not UTF-8 text, or not the declared type)."),
    422: error_doc("The request does not match the schema; `problems` lists each field."),
    500: error_doc(
        "An unexpected fault; the incident number in `where` is also in the server log."
    ),
    503: error_doc("The database cannot be reached."),
}
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: error_doc("No valid token: send `Authorization: Bearer <token>`."),
    403: error_doc("The token's role may not use this endpoint."),
}
NOT_FOUND_RESPONSES: dict[int | str, dict[str, Any]] = {404: error_doc("Nothing has that id.")}
CONFLICT_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: error_doc("The request clashes with what is stored.")
}


def error_response(exc: PrivguardError, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON response for ``exc``: its ``to_dict()`` with its ``http_status``."""
    return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers)


_HTTP_KINDS = {
    400: (
        PrivguardError,
        "the request body cannot be read",
        "send JSON as UTF-8 text with 'Content-Type: application/json'",
    ),
    404: (NotFound, "there is nothing at this address", "check the path against /docs"),
    405: (
        PrivguardError,
        "this address does not accept that method",
        "use one of the methods in the Allow header",
    ),
}


async def _on_privguard(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PrivguardError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
    body = exc.to_dict()
    # An error raised with no place of its own is about the request: name the endpoint.
    body["where"] = body["where"] or f"{request.method} {request.url.path}"
    return JSONResponse(body, status_code=exc.http_status, headers=headers)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    cls, message, fix = _HTTP_KINDS.get(exc.status_code, (PrivguardError, str(exc.detail), None))
    if exc.status_code == 404 and (near := near_paths(request)):
        fix = f"check the path against /docs; paths near it: {', '.join(near)}"
    if exc.status_code == 405 and (methods := allowed_methods(request)):
        fix = f"use one of the methods this address accepts: {', '.join(methods)}"
    err = cls(message, where=request.url.path, fix=fix)
    err.http_status = exc.status_code
    headers = dict(exc.headers or {})
    if exc.status_code == 400:
        err.kind = "unreadable_body"
    if exc.status_code == 405:
        err.kind = "method_not_allowed"
        # Starlette names only the first route that matched the path; a path served by
        # several routes (GET and POST in two views) allows the methods of all of them.
        headers["Allow"] = ", ".join(allowed_methods(request))
    return error_response(err, headers)


def near_paths(request: Request, n: int = 3) -> list[str]:
    """Up to ``n`` paths some route serves that look like the request's (a mistyped one)."""
    table = getattr(request.app.state, "policy", {})
    paths = sorted({path for _method, path in table})
    return difflib.get_close_matches(request.url.path, paths, n=n, cutoff=0.75)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app serves at the request's path."""
    table = getattr(request.app.state, "policy", {})
    found = {
        method
        for method, path in table
        if compile_path(path)[0].match(request.url.path) is not None
    }
    return sorted(found)


async def _on_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems, places = [], []
    for item in exc.errors():
        place = ".".join(str(p) for p in item.get("loc", ()))
        places.append(place)
        # The message only: the input is never echoed, it may be a password.
        problems.append(f"{place}: {item.get('msg', 'not valid')}")
    if any(item.get("type") == "json_invalid" for item in exc.errors()):
        err = PrivguardError(
            "the request body is not valid JSON",
            where="body",
            fix='send the body as JSON in UTF-8, e.g. {"facility": "MAIN", ...}, '
            "with 'Content-Type: application/json'",
            problems=problems,
        )
    else:
        err = PrivguardError(
            "the request is not valid",
            where=", ".join(dict.fromkeys(places)) or None,
            fix="correct each field listed (a missing one: add it); /docs describes every field",
            problems=problems,
        )
    err.kind = "invalid_request"
    err.http_status = 422
    return error_response(err)


async def _on_database_down(request: Request, exc: Exception) -> JSONResponse:
    # The database refused or dropped the connection (killed, restarting, out of
    # connections): the one error shape with 503, so a client retries and a decision
    # client fails closed, and the connection stays open. Left to the catch-all it was a
    # 500 "internal" that Starlette re-raised, and uvicorn then closed the connection.
    log.warning("%s %s: the database is unavailable: %s", request.method, request.url.path, exc)
    err = DatabaseError(
        "the database is unavailable",
        where=request.url.path,
        fix="try again in a moment; decisions answer record=false until it is back",
    )
    return error_response(err, {"Retry-After": "1"})


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    incident = secrets.token_hex(6)
    log.error("incident %s: %s %s failed", incident, request.method, request.url.path, exc_info=exc)
    err = PrivguardError(
        "the service failed unexpectedly; nothing about the fault is shown here",
        where=f"incident {incident}",
        fix="try again; if it persists, give the incident number to the administrator",
    )
    err.kind = "internal"
    return JSONResponse(err.to_dict(), status_code=500)


def install(app: FastAPI) -> None:
    """Map every kind of error onto the one shape, and describe it in the OpenAPI document."""

    def openapi() -> dict[str, Any]:
        spec: dict[str, Any] = FastAPI.openapi(app)
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault("ErrorBody", ErrorBody.model_json_schema())
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_exception_handler(PrivguardError, _on_privguard)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_validation)
    for unavailable in (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError):
        app.add_exception_handler(unavailable, _on_database_down)
    app.add_exception_handler(Exception, _on_unexpected)
