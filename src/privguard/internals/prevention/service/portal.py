"""The portal: server-rendered pages for attorneys, registrars and auditors (issue 17).

:func:`install` mounts the static files and every page router on the service's app; each
page declares its roles with :func:`portal_auth.page`, read by the same policy registry
and role matrix as the API.
"""

from __future__ import annotations

from fastapi import FastAPI

from privguard.internals.prevention.service import (
    portal_attorney,
    portal_auditor,
    portal_registrar,
    portal_signin,
    portal_web,
)


def install(app: FastAPI) -> list[str]:
    """Add the portal to ``app``; returns the plain paths (static files) that are public."""
    plain = portal_web.install(app)
    for module in (portal_signin, portal_attorney, portal_registrar, portal_auditor):
        app.include_router(module.router)
    return plain
