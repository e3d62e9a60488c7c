"""The portal's frame: templates, static files, security headers and the two page errors.

Pages are Jinja2 templates rendered on the server (autoescaped); the one stylesheet and
the one small script are served from ``/static`` by the service itself, so a page makes
no request anywhere else (the Content-Security-Policy says so to the browser too).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from privguard import __version__
from privguard.internals.prevention.service.portal_auth import PageRefused, SignInNeeded

HERE = Path(__file__).parent
STATIC = "/static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
HOME = {
    "attorney": "/attorney",
    "registrar": "/registrar",
    "auditor": "/auditor",
    "admin": "/registrar",
}
NAV = {
    "attorney": [
        ("/attorney", "My numbers"),
        ("/attorney/register", "Register numbers"),
        ("/attorney/receipts/check", "Check a receipt"),
        ("/attorney/notices", "Notices"),
    ],
    "registrar": [("/registrar", "Verification queue"), ("/registrar/reconcile", "Reconcile")],
    "auditor": [
        ("/auditor", "Audits"),
        ("/auditor/health", "Registry health"),
        ("/auditor/access", "Access log"),
    ],
}
NAV["admin"] = NAV["registrar"] + NAV["auditor"]


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render template ``name`` with the signed-in user, the CSRF token and the nav."""
    principal = getattr(request.state, "principal", None)
    role = principal.role if principal else None

    def query(**changes: Any) -> str:
        # The current query string with some parameters changed (pagers, facet links).
        params = dict(request.query_params) | {k: str(v) for k, v in changes.items()}
        return urlencode({k: v for k, v in params.items() if v not in ("", "0") or k != "page"})

    values: dict[str, Any] = {
        "query": query,
        "request": request,
        "me": principal,
        "csrf": getattr(request.state, "csrf", ""),
        "nav": NAV.get(role or "", []),
        "path": request.url.path,
        "version": __version__,
    }
    html = env.get_template(name).render(values | context)
    return HTMLResponse(html, status_code=status)


def install(app: FastAPI) -> list[str]:
    """Mount the static files, the page error handlers and the headers; returns the plain
    (non-API) paths the policy should treat as public."""
    app.mount(STATIC, StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/sign-in?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(PageRefused)
    async def _refused(request: Request, exc: PageRefused) -> Response:
        return render(request, "refused.html", 403, message=exc.message, fix=exc.fix)

    app.add_middleware(PageHeaders)
    return [STATIC]


class PageHeaders:
    """Security headers on every page (not on /v1): a plain ASGI middleware.

    Starlette's ``@app.middleware("http")`` wraps every request, /v1 included, in a
    BaseHTTPMiddleware that re-streams the body; on ``POST /v1/decisions`` that cost about
    a third of the request. This one only adds headers to the pages' response start.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else "/v1/"
        if path.startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        extra = {k.lower().encode(): v.encode() for k, v in HEADERS.items()}
        if not path.startswith(STATIC):
            extra[b"cache-control"] = b"no-store"

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                have = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in extra.items() if k not in have
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
