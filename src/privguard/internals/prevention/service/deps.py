"""Per-request dependencies: the database session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session


def db_session(request: Request) -> Iterator[Session]:
    """A session for one request; endpoints commit their own writes, the rest is rolled back."""
    with request.app.state.sessions() as session:
        yield session


DbSession = Annotated[Session, Depends(db_session)]


def access_log(request: Request) -> Any:
    """The app's :class:`auth.AccessLog` (the ledger's access log)."""
    return request.app.state.access


def client_ip(request: Request) -> str | None:
    """The peer address, for the access log."""
    return request.client.host if request.client else None
