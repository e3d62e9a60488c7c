"""Helpers shared by the service tests: an in-process client and users of every role."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from privguard.internals.prevention.db import transaction
from privguard.internals.prevention.decisions import (
    Checkpoint,
    RegistryEntry,
    Verified,
    build_state,
)
from privguard.internals.prevention.service import create_app
from privguard.internals.prevention.service.auth import create_user, issue_token
from privguard.internals.prevention.service.models import ROLES, User
from privguard.internals.prevention.settings import ServiceSettings

PASSWORD = "correct horse battery staple"


@contextmanager
def service_client(db_url: str, data_dir: Path, **kwargs: object) -> Iterator[TestClient]:
    """A started app (lifespan run: engine made and migrated) on ``db_url``."""
    # A generous decision deadline: tests assert outcomes, never the machine's speed (a
    # loaded machine's commit can exceed the 50 ms call-setup budget and fail closed).
    settings = ServiceSettings(data_dir=data_dir, database_url=db_url, decision_timeout_ms=30_000)
    app = create_app(settings)
    with TestClient(app, **kwargs) as client:  # type: ignore[arg-type]
        yield client


def add_user(client: TestClient, role: str, name: str | None = None, **kw: object) -> int:
    """A user of ``role`` (password PASSWORD) made through the library; returns its id."""
    with transaction(client.app.state.sessions) as session:  # type: ignore[attr-defined]
        user = create_user(session, name or f"{role}-user", role, password=PASSWORD, **kw)  # type: ignore[arg-type]
        return user.id


def token_for(client: TestClient, user_id: int, label: str = "test") -> str:
    """A fresh API token for an existing user."""
    with transaction(client.app.state.sessions) as session:  # type: ignore[attr-defined]
        issued = issue_token(session, session.get(User, user_id), label)  # type: ignore[arg-type]
        return issued.token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def users_of_every_role(client: TestClient) -> dict[str, int]:
    """One user per role: role -> user id."""
    return {role: add_user(client, role) for role in ROLES}


# The decision tests' registry: one lawyer's number registered, a family number not.
LAWYER, FAMILY = "+15125550100", "+15125550199"


def lawyer_verifier(data: bytes, last: object | None, now: dt.datetime) -> Verified:
    """A snapshot verifier that accepts anything and loads a registry of LAWYER alone."""
    state = build_state(
        [RegistryEntry(LAWYER, ref="registration 1")],
        Checkpoint(7, "ef" * 32),
        now + dt.timedelta(days=1),
    )
    return Verified(state, state.checkpoint)


def post_decision(client: Any, token: str, number: Any, **kw: Any) -> Any:
    """POST /v1/decisions for a call from account A1 at MAIN to ``number``."""
    body = {"facility": "MAIN", "inmate_account": "A1", "dialed_number": number} | kw
    return client.post("/v1/decisions", json=body, headers=bearer(token))


def register_numbers(settings: ServiceSettings, work: Path, numbers: list[str]) -> str:
    """Register ``numbers`` through the registry (a bar feed) in ``settings``' database,
    and return a new facility_system token (before any service runs on it)."""
    from privguard.internals.prevention.registry import api

    reg = api.Registry.open(settings)
    feed = work / "feed.csv"
    rows = [f"Attorney {i},B{i:07d},{n}" for i, n in enumerate(numbers)]
    feed.write_text("Name,Bar Number,Phone\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert api.feed(reg, feed, source="bar_feed").added == len(numbers)
    with transaction(reg.factory) as s:
        user = create_user(s, "switch", "facility_system", password="switch password 1")
        token = issue_token(s, user, "test").token
    reg.factory.kw["bind"].dispose()
    return token
