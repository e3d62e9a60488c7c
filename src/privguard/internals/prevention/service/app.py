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
            log.info("privguard service on %s", engine.url.render_as_string(hide_password=True))
            yield
        finally:
            decisions_http.shutdown(app)
            engine.dispose()

    app = FastAPI(
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
    # Outermost: an ordinary decision request is answered before routing (fastpath.py).
    app.add_middleware(decisions_fastpath.DecisionFastPath)
    docs = [*plain, *(p for p in (app.openapi_url, app.docs_url, app.redoc_url) if p)]
    docs.append(app.swagger_ui_oauth2_redirect_url or "")
    # Refuses to build an app with a route that forgot to say who may call it.
    app.state.policy = policy.declared_policies(app, docs)
    return app


class QuietDecisions(logging.Filter):
    """Drops uvicorn's access-log line of each answered ``POST /v1/decisions``.

    A jail's switch asks at every call setup: a line per decision would be thousands a
    second that say less than the decision log, where every decision is kept (in the
    ledger). Refused requests (401, 403, 422...) and every other route keep their line."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:  # client, method, path, version, status
            return not (args[1] == "POST" and args[2] == "/v1/decisions" and args[4] == 200)
        return True


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
    logging.getLogger("uvicorn.access").addFilter(QuietDecisions())
    return create_app(settings, decision_writer=Path(raw["decision_writer"]), freeze_heap=True)


def serve(settings: ServiceSettings, workers: int = 1, *, factory: str | None = None) -> None:
    """Run the service with uvicorn on ``settings.host``:``settings.port`` until stopped.

    The database is reached and migrated first, so a wrong URL or a stopped server is a
    :class:`DatabaseError` with its fix, not a failed startup inside uvicorn. uvicorn uses
    uvloop and httptools (dependencies) where they are installed.

    The process is the service's own, so it freezes its heap after each registry load
    (``create_app``'s ``freeze_heap``); a worker process does the same.

    ``workers`` > 1: that many uvicorn worker processes answer, and ONE decision writer
    process (started first, started again if it dies) commits every worker's decisions
    in groups; a worker's ``record=true`` waits for the writer's ack. ``factory`` is the
    workers' app factory as an import string (default :func:`worker_app`; the HTTP bench
    wraps it to inject its faults).
    """
    import uvicorn

    engine = make_engine(settings.url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    logging.getLogger("uvicorn.access").addFilter(QuietDecisions())
    if workers <= 1:
        app = create_app(settings, freeze_heap=True)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
        return
    from privguard.internals.prevention.decisions.http import hmac_key
    from privguard.internals.prevention.decisions.writer import WriterProcess, socket_path

    # Keys made once here, not raced by the workers on a fresh data dir.
    Signer.load_or_create(settings.key_file, name=registry_api.ORIGIN)
    hmac_key(settings)
    path = socket_path(settings.data_dir)
    writer = WriterProcess(settings, path).start()
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
    log.info("decision writer %s on %s; %d workers", writer.pid, path, workers)
    try:
        uvicorn.run(
            factory or f"{__name__}:worker_app",
            factory=True,
            workers=workers,
            host=settings.host,
            port=settings.port,
            log_level="info",
        )
    finally:
        writer.stop()
