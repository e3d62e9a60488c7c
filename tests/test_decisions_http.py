"""POST /v1/decisions on the service, and the client helper that fails closed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from privguard.internals.prevention.db import POOL_OVERFLOW, transaction
from privguard.internals.prevention.decisions import (
    Reason,
)
from privguard.internals.prevention.decisions.client import ask
from privguard.internals.prevention.decisions.http import install
from privguard.internals.prevention.decisions.models import DecisionRow
from privguard.internals.prevention.ledger.tables import entries as ledger_entries
from service_helpers import (
    FAMILY,
    LAWYER,
    add_user,
    bearer,
    lawyer_verifier,
    post_decision,
    service_client,
    token_for,
)


def test_the_service_decides_and_logs_before_answering(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path) as client:
        token = token_for(client, add_user(client, "facility_system"))
        first = post_decision(client, token, FAMILY)  # the service's own (empty) registry
        assert first.status_code == 200
        assert (first.json()["record"], first.json()["checkpoint"]["size"]) == (True, 0)
        checker = install(client.app, lawyer_verifier, timeout_s=5.0)
        nothing = post_decision(client, token, FAMILY).json()
        assert (nothing["record"], nothing["reason"]) == (False, Reason.NOTHING_LOADED)
        checker.load(b"snapshot")
        ok = post_decision(client, token, "(512) 555-0199").json()
        assert (ok["record"], ok["checkpoint"]) == (True, {"size": 7, "root": "ef" * 32})
        with transaction(client.app.state.sessions) as s:  # type: ignore[attr-defined]
            ids = set(s.scalars(select(DecisionRow.decision_id).where(DecisionRow.record)))
        assert ok["decision_id"] in ids  # durable before the answer
        no = post_decision(client, token, LAWYER, private_call_declared=True).json()
        assert (no["record"], no["reason"], no["entry"]["ref"]) == (
            False,
            Reason.REGISTERED_NUMBER,
            "registration 1",
        )
        # Each decision is also on the ledger's decisions log, its number keyed-hashed.
        client.app.state.decision_log.flush()  # type: ignore[attr-defined]
        with transaction(client.app.state.sessions) as s:  # type: ignore[attr-defined]
            rows = s.scalars(select(DecisionRow).order_by(DecisionRow.ledger_index)).all()
            entries = s.execute(
                select(ledger_entries.c.payload).where(ledger_entries.c.log == "decisions")
            ).all()
        assert [r.ledger_index for r in rows] == list(range(len(rows))) and len(rows) >= 3
        assert len(entries) == len(rows)
        assert all(LAWYER not in e.payload and "5125550100" not in e.payload for e in entries)


def test_only_the_facility_system_role_may_ask(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path) as client:
        token = token_for(client, add_user(client, "registrar"))
        refused = post_decision(client, token, FAMILY)
        assert refused.status_code == 403 and refused.json()["error"]
        assert client.post("/v1/decisions", json={}).status_code == 401


def test_the_client_helper_answers_false_on_every_failure(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path) as client:
        token = token_for(client, add_user(client, "facility_system"))
        install(client.app, lawyer_verifier, timeout_s=5.0).load(b"snapshot")
        client.headers.update(bearer(token))
        assert ask(client, "MAIN", "A1", FAMILY)["record"] is True
        assert ask(client, "MAIN", "A1", LAWYER)["record"] is False
        client.headers.update(bearer("wrong"))
        assert ask(client, "MAIN", "A1", FAMILY) | {"error": None} == {
            "record": False,
            "reason": "HTTP_401",
            "error": None,
        }

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    def odd(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"record": "yes"})

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    for handler, reason in ((slow, "TIMEOUT"), (down, "SERVICE_UNAVAILABLE")):
        c = httpx.Client(base_url="http://gate", transport=httpx.MockTransport(handler))
        assert ask(c, "MAIN", "A1", FAMILY) == {"record": False, "reason": reason}
    c = httpx.Client(base_url="http://gate", transport=httpx.MockTransport(odd))
    assert ask(c, "MAIN", "A1", FAMILY)["record"] is False  # only a literal true records


def test_more_callers_than_pooled_connections_all_get_durable_answers(
    db_url: str, tmp_path: Path
) -> None:
    """More callers at once than the pool holds connections: every answer is still durable."""
    import asyncio

    with service_client(db_url, tmp_path) as client:
        token = token_for(client, add_user(client, "facility_system"))
        install(client.app, lawyer_verifier, timeout_s=60.0).load(b"snapshot")
        callers = POOL_OVERFLOW + 30  # more than the pool holds (10 kept + the overflow)

        async def many() -> list[Any]:
            transport = httpx.ASGITransport(app=client.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                body = {"facility": "MAIN", "inmate_account": "A1", "dialed_number": FAMILY}
                calls = [
                    c.post("/v1/decisions", json=body, headers=bearer(token))
                    for _ in range(callers)
                ]
                return [r.json() for r in await asyncio.gather(*calls)]

        answers = asyncio.run(many())
        assert [a["reason"] for a in answers] == [Reason.NOT_REGISTERED_RECORDING_ALLOWED] * callers
