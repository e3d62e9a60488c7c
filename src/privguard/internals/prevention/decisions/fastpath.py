"""The hot path of ``POST /v1/decisions``: answered before the app's ASGI stack.

A platform asks for a decision at every call setup. Through FastAPI each one went through
the routing table (every route of the service and the portal), the dependency solver, two
thread-pool hops (a database session and the token lookup) and response validation:
about 2 ms of CPU before the decision itself. :func:`answer`, called by the service app
before its middleware (``service.app.ServiceApp``), answers the ordinary request itself,
and only that one:

* ``POST /v1/decisions`` with ``Content-Type: application/json`` and a body of at most
  :data:`MAX_BODY` bytes that validates as :class:`~.http.DecisionRequest`;
* a bearer token of a role in :data:`~.http.GATE_ROLES`, valid in the database less
  than ``TOKEN_CACHE_S`` ago (:mod:`~privguard.internals.prevention.service.token_cache`:
  one lookup in a thread when the entry is missing or expired, shared by the requests
  that carry the token meanwhile).

Everything else (another path, no token, an unknown, expired or revoked token, another
role, a body that does not validate) goes to the app unchanged, its body replayed, and
the route there answers it: the same decision, or the one error shape, with refusals
audited. Both paths decide with the same call
(:meth:`~.checker.Checker.decide_async`, logged, a ``record=true`` durable before it is
sent), so they give the same answers; ``tests/test_decisions_fastpath.py`` compares them.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import to_json
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from privguard.internals.prevention.decisions import http
from privguard.internals.prevention.service.auth import Principal, authenticate

PATH = "/v1/decisions"
MAX_BODY = 4096  # a decision request is ~100 bytes; anything larger takes the full route


def is_decision(scope: Scope) -> bool:
    """Whether ``scope`` is a request the fast path may answer (``POST /v1/decisions``)."""
    return bool(scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "POST")


async def answer(app: Any, scope: Scope, receive: Receive, send: Send, full: ASGIApp) -> None:
    """Answer the decision request ``scope`` for ``app``, or hand it to ``full`` unchanged.

    ``app`` is the service (its state holds the checker and the token cache); ``full`` is
    its whole ASGI stack (middleware, routing, the one error shape). The service calls
    this before any of that stack (``service.app.ServiceApp``): each layer it skips cost
    CPU on every call setup."""
    received: list[Message] = []
    body = await _read(receive, received)
    found = None if body is None else await _answer(scope, body, app)
    if found is None:
        await full(scope, _replay(received, receive), send)
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(found)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": found})


async def _read(receive: Receive, received: list[Message]) -> bytes | None:
    # The whole body, or None when it is too large or the client went away (the app
    # then reads what was received, replayed, and whatever follows).
    chunks, size = [], 0
    while True:
        message = await receive()
        received.append(message)
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(received: list[Message], receive: Receive) -> Receive:
    pending = list(received)

    async def again() -> Message:
        return pending.pop(0) if pending else await receive()

    return again


def _lookup(app: Any, token: str) -> Principal | None:
    # A token not cached: checked in the database like the full route does. A refusal is
    # not audited here, nor a database fault answered: the request goes on to the route,
    # which audits and refuses it, or answers the fault in the one error shape.
    try:
        with app.state.sessions() as session:
            return authenticate(session, token)
    except Exception:
        return None


async def _answer(scope: Scope, body: bytes, app: Any) -> bytes | None:
    """The response body, or None to let the full route answer."""
    authorization = content_type = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"content-type":
            content_type = value
    if content_type is None or not content_type.startswith(b"application/json"):
        return None
    token = http.bearer_token(authorization)
    if token is None:
        return None
    caller = await http.token_cache(app).verify(token, lambda t: _lookup(app, t))
    if caller is None or caller.role not in http.GATE_ROLES:
        return None
    try:
        request = http.DecisionRequest.model_validate_json(body)
    except (ValueError, ValidationError):  # the route gives the 422 in the one error shape
        return None
    decision = await http.checker(app).decide_async(
        request.facility,
        request.inmate_account,
        request.dialed_number,
        request.private_call_declared,
        call_id=request.call_id,
    )
    # pydantic-core's encoder: the same compact UTF-8 JSON as json.dumps(...,
    # separators=(",", ":"), ensure_ascii=False), in ~2 us instead of ~12 us.
    return to_json(decision.to_dict())
