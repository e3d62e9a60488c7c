"""The service's app factory and runner: one FastAPI app for the whole prevention wing.

``create_app(settings)`` builds the app; the database engine is made and migrated to every
Alembic head when the app starts (its lifespan), the decision checker fed by the registry
is started, and both are stopped when it stops. Every route
declares its access policy (``policy.py``), every error has one JSON shape (``errors.py``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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


def create_app(settings: ServiceSettings) -> FastAPI:
    """The service for ``settings``; the database is opened and migrated at startup."""

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


def serve(settings: ServiceSettings) -> None:
    """Run the service with uvicorn on ``settings.host``:``settings.port`` until stopped.

    The database is reached and migrated first, so a wrong URL or a stopped server is a
    :class:`DatabaseError` with its fix, not a failed startup inside uvicorn. uvicorn uses
    uvloop and httptools (dependencies) where they are installed.
    """
    import uvicorn

    engine = make_engine(settings.url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    logging.getLogger("uvicorn.access").addFilter(QuietDecisions())
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
