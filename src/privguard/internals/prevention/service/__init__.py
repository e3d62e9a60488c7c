"""The FastAPI service of the prevention wing: registry, decisions, vault, portal.

Small modules, datasette's way: ``app.py`` builds the app, ``errors.py`` gives every error
one JSON shape, ``auth.py`` knows who is calling, ``policy.py`` declares who may call each
route, ``routes_*.py`` are thin views over the library, ``models.py`` holds the service's
own tables (users, tokens).
"""

from __future__ import annotations

from privguard.internals.prevention.service.app import create_app, serve

__all__ = ["create_app", "serve"]
