"""The service's app factory and runner: one FastAPI app for the whole prevention wing.

``create_app(settings)`` builds the app; the database engine is made and migrated to every
Alembic head when the app starts (its lifespan), the decision checker fed by the registry
is started, and both are stopped when it stops. Every route
declares its access policy (``policy.py``), every error has one JSON shape (``errors.py``).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from privguard import __version__
from privguard.internals.prevention.db import make_engine, sessions, upgrade
from privguard.internals.prevention.decisions import fastpath as decisions_fastpath
from privguard.internals.prevention.decisions import http as decisions_http
from privguard.internals.prevention.ledger import Ledger, Signer
from privguard.internals.prevention.registry import api as registry_api
from privguard.internals.prevention.service import (
    errors,
    policy,
    portal,
    routes_auth,
    routes_meta,
    routes_registry,
    routes_vault,
)
from privguard.internals.prevention.service.auth import ACCESS_LOG, ACCESS_ORIGIN, AccessLog
from privguard.internals.prevention.settings import ServiceSettings

log = logging.getLogger(__name__)

DESCRIPTION = """\
The privguard registry service: privileged attorney numbers, the decisions and the vault.

**Sign-in.** Send `Authorization: Bearer <token>`. `POST /v1/session` exchanges a username
and password for a token; an administrator issues long-lived tokens to systems.

**Errors.** Every error, whatever its status, is one JSON object:
`{"error": kind, "message": what went wrong, "where": the place, "fix": what to do,
"problems": [every problem when several were found]}`.
"""


def create_app(
    settings: ServiceSettings, *, decision_writer: Path | None = None, freeze_heap: bool = False
) -> FastAPI:
    """The service for ``settings``; the database is opened and migrated at startup.

    ``decision_writer``: the Unix socket of the service's one decision writer (a worker of
    ``privguard serve --workers N``); None: this process logs its decisions itself.
    ``freeze_heap``: the process is the service's own (:func:`serve`): its heap is frozen
    out of the garbage collector after each registry state loads
    (:func:`~privguard.internals.prevention.decisions.http.freeze_heap`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.url)
        try:
            upgrade(engine)
            app.state.engine = engine
            app.state.sessions = sessions(engine)
            signer = Signer.load_or_create(settings.key_file, name=registry_api.ORIGIN)
            access = Signer.load_or_create(settings.key_file, name=ACCESS_ORIGIN)
            app.state.access = AccessLog(app.state.sessions, Ledger(log=ACCESS_LOG, signer=access))
            app.state.registry = registry_api.Registry(
                app.state.sessions, Ledger(log=registry_api.LOG, signer=signer), signer, settings
            )
            # Decisions answer from the registry's own signed snapshots, refreshed in the
            # background (a registry change reaches them within about a second).
            decisions_http.start_registry_checker(app)
            await decisions_http.connected(app)
            log.info("privguard service on %s", engine.url.render_as_string(hide_password=True))
            yield
        finally:
            await decisions_http.shutdown(app)
            engine.dispose()

    app = ServiceApp(
        title="privguard",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=errors.COMMON_RESPONSES,
    )
    app.state.settings = settings
    app.state.decision_writer = decision_writer
    app.state.freeze_heap = freeze_heap
    errors.install(app)
    app.include_router(routes_meta.router)
    app.include_router(routes_auth.router)
    app.include_router(routes_registry.router)
    app.include_router(decisions_http.router)
    app.include_router(routes_vault.router)
    plain = portal.install(app)  # the server-rendered pages (issue 17)
    docs = [*plain, *(p for p in (app.openapi_url, app.docs_url, app.redoc_url) if p)]
    docs.append(app.swagger_ui_oauth2_redirect_url or "")
    # Refuses to build an app with a route that forgot to say who may call it.
    app.state.policy = policy.declared_policies(app, docs)
    return app


class ServiceApp(FastAPI):
    """The service's FastAPI app, with the decisions hot path in front of all of it.

    An ordinary ``POST /v1/decisions`` is answered by
    :func:`~privguard.internals.prevention.decisions.fastpath.answer` before FastAPI's
    middleware and routing (each layer cost CPU on every call setup); anything it does not
    take goes through the whole app. Every request that reaches the app gets an access-log
    line on ``privguard.http``; an answered decision gets none (a jail's switch asks at
    every call setup, and the decision log keeps each one, in the ledger), and uvicorn's
    own access log is off (:func:`serve`), because it built a log record per request
    even for the lines a filter dropped.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self  # what Starlette sets; the fast path reads the app's state
        if decisions_fastpath.is_decision(scope):
            await decisions_fastpath.answer(self, scope, receive, send, self._logged)
        else:
            await self._logged(scope, receive, send)

    async def _logged(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The whole app, with an access line for the response (uvicorn's format:
        client - "METHOD /path HTTP/1.1" status)."""

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and ACCESS.isEnabledFor(logging.INFO):
                client = scope.get("client")
                path = scope.get("path", "")
                if scope.get("query_string"):
                    path += "?" + scope["query_string"].decode("latin-1")
                ACCESS.info(
                    '%s - "%s %s HTTP/%s" %d',
                    f"{client[0]}:{client[1]}" if client else "-",
                    scope.get("method", ""),
                    path,
                    scope.get("http_version", "1.1"),
                    message["status"],
                )
            await send(message)

        await super().__call__(scope, receive, sending)


ACCESS = logging.getLogger("privguard.http")


def _log_access_lines() -> None:
    """Print ``privguard.http``'s access lines as uvicorn printed its own (stderr)."""
    if not ACCESS.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        ACCESS.addHandler(handler)
        ACCESS.setLevel(logging.INFO)
        ACCESS.propagate = False


SETTINGS_ENV = "PRIVGUARD_WORKER_SETTINGS"  # the settings a worker process rebuilds


def worker_app() -> FastAPI:
    """The app of one ``privguard serve --workers N`` worker (uvicorn's factory).

    Its settings come from the parent through :data:`SETTINGS_ENV`; its decisions go to
    the parent's one decision writer (``decisions/writer.py``)."""
    raw = json.loads(os.environ[SETTINGS_ENV])
    settings = ServiceSettings(
        data_dir=Path(raw["data_dir"]),
        database_url=raw["database_url"],
        signing_key_file=Path(raw["signing_key_file"]) if raw["signing_key_file"] else None,
        host=raw["host"],
        port=raw["port"],
        decision_timeout_ms=raw["decision_timeout_ms"],
    )
    _log_access_lines()
    return create_app(settings, decision_writer=Path(raw["decision_writer"]), freeze_heap=True)


def serve(settings: ServiceSettings, workers: int = 1, *, factory: str | None = None) -> None:
    """Run the service with uvicorn on ``settings.host``:``settings.port`` until stopped.

    The database is reached and migrated first, so a wrong URL or a stopped server is a
    :class:`DatabaseError` with its fix, not a failed startup inside uvicorn. uvicorn uses
    uvloop and httptools (dependencies) where they are installed.

    The process is the service's own, so it freezes its heap after each registry load
    (``create_app``'s ``freeze_heap``); a worker process does the same.

    ONE decision writer process (started first, started again if it dies) commits every
    decision in groups; a ``record=true`` waits for the writer's ack. The answering
    process holds no writer thread, so the commit's CPU never holds its interpreter lock
    (``decisions/writer.py``). ``workers`` > 1: that many uvicorn worker processes answer,
    all through the one writer. ``factory`` is the workers' app factory as an import
    string (default :func:`worker_app`; the HTTP bench wraps it to inject its faults).
    """
    import uvicorn

    engine = make_engine(settings.url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    _log_access_lines()
    from privguard.internals.prevention.decisions.http import hmac_key
    from privguard.internals.prevention.decisions.writer import WriterProcess, socket_path

    # Keys made once here, not raced by the writer and the workers on a fresh data dir.
    Signer.load_or_create(settings.key_file, name=registry_api.ORIGIN)
    hmac_key(settings)
    path = socket_path(settings.data_dir)
    writer = WriterProcess(settings, path).start()
    log.info("decision writer %s on %s; %d worker(s)", writer.pid, path, max(workers, 1))
    try:
        if workers <= 1:
            app = create_app(settings, decision_writer=path, freeze_heap=True)
            uvicorn.run(
                app, host=settings.host, port=settings.port, log_level="info", access_log=False
            )
            return
        os.environ[SETTINGS_ENV] = json.dumps(
            {
                "data_dir": str(settings.data_dir),
                "database_url": settings.database_url,
                "signing_key_file": str(settings.signing_key_file or ""),
                "host": settings.host,
                "port": settings.port,
                "decision_timeout_ms": settings.decision_timeout_ms,
                "decision_writer": str(path),
            }
        )
        uvicorn.run(
            factory or f"{__name__}:worker_app",
            factory=True,
            workers=workers,
            host=settings.host,
            port=settings.port,
            log_level="info",
            access_log=False,
        )
    finally:
        writer.stop()
