"""Anonymous endpoints about the service itself."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from privguard import __version__
from privguard.internals.prevention.db import DatabaseError
from privguard.internals.prevention.service.deps import DbSession
from privguard.internals.prevention.service.policy import public
from privguard.internals.prevention.service.schemas import Health

router = APIRouter(prefix="/v1", tags=["service"])


@router.get("/health", operation_id="health", dependencies=[public()])
def health(session: DbSession) -> Health:
    """Whether the service and its database answer (no sign-in needed)."""
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        raise DatabaseError(
            "the database does not answer", fix="check that the database server is running"
        ) from None
    return Health(status="ok", version=__version__)
