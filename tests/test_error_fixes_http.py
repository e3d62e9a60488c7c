"""Every fix an error message suggests works, part 5 (issue 13): the HTTP service.

A client of the service (a facility's switch, an attorney's browser, an investigator's
tool) gets one JSON error shape: ``error``, ``message``, ``where``, ``fix``, ``problems``.
The method of tests/test_error_fixes.py over HTTP, with the in-process client the service
tests use: send the smallest bad request, check the body names the place and says the
fix, apply that fix literally, send again, and require a 2xx answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from privguard.internals.prevention.db import transaction
from privguard.internals.prevention.decisions.http import install
from service_helpers import (
    LAWYER,
    PASSWORD,
    add_user,
    bearer,
    lawyer_verifier,
    service_client,
    token_for,
)

Send = Callable[[], Any]  # a request, sent again once the fix is applied
DECISION = {"facility": "MAIN", "inmate_account": "A1", "dialed_number": LAWYER}
WHY = {"case": "CR-2024-1", "reason": "bail hearing prep"}


@dataclass
class HttpCase:
    """``provoke`` sends the bad request and returns (its answer, how to send the fixed one
    given the error body); the fix's text must match ``says``, ``where`` must be named."""

    name: str
    provoke: Callable[[TestClient], tuple[Any, Callable[[dict[str, Any]], Any]]]
    status: int
    says: str
    where: str


def _no_token(c: TestClient) -> tuple[Any, Callable[[dict[str, Any]], Any]]:
    add_user(c, "facility_system", "switch")

    def fixed(body: dict[str, Any]) -> Any:
        # "send the header 'Authorization: Bearer <token>'; POST /v1/session gives one"
        login = c.post("/v1/session", json={"username": "switch", "password": PASSWORD})
        assert login.status_code == 201, login.text
        return c.post("/v1/decisions", json=DECISION, headers=bearer(login.json()["token"]))

    return c.post("/v1/decisions", json=DECISION), fixed


def _wrong_role(c: TestClient) -> tuple[Any, Callable[[dict[str, Any]], Any]]:
    attorney = token_for(c, add_user(c, "attorney"))
    switch = token_for(c, add_user(c, "facility_system"))

    def fixed(body: dict[str, Any]) -> Any:
        # "use an account with one of the roles: facility_system"
        return c.post("/v1/decisions", json=DECISION, headers=bearer(switch))

    return c.post("/v1/decisions", json=DECISION, headers=bearer(attorney)), fixed


def _not_json(c: TestClient) -> tuple[Any, Callable[[dict[str, Any]], Any]]:
    switch = bearer(token_for(c, add_user(c, "facility_system")))
    head = {**switch, "Content-Type": "application/json"}

    def fixed(body: dict[str, Any]) -> Any:
        return c.post("/v1/decisions", json=DECISION, headers=switch)  # "send the body as JSON"

    return c.post("/v1/decisions", content=b"facility=MAIN&dialed_number=5125550100",
                  headers=head), fixed  # fmt: skip


def _field_missing(c: TestClient) -> tuple[Any, Callable[[dict[str, Any]], Any]]:
    switch = bearer(token_for(c, add_user(c, "facility_system")))
    partial = {"facility": "MAIN", "inmate_account": "A1"}

    def fixed(body: dict[str, Any]) -> Any:
        # "correct each field listed (a missing one: add it)": body.dialed_number
        field = body["where"].removeprefix("body.")
        return c.post("/v1/decisions", json={**partial, field: LAWYER}, headers=switch)

    return c.post("/v1/decisions", json=partial, headers=switch), fixed


def _attorney_unlinked(c: TestClient) -> tuple[Any, Callable[[dict[str, Any]], Any]]:
    from privguard.internals.prevention.registry import workflow as W

    with transaction(c.app.state.sessions) as s:  # type: ignore[attr-defined]
        record = W.add_attorney(s, c.app.state.registry.ledger, "Jane Roe", actor="test")  # type: ignore[attr-defined]
    unlinked = token_for(c, add_user(c, "attorney", "jroe"))
    admin = bearer(token_for(c, add_user(c, "admin")))

    def fixed(body: dict[str, Any]) -> Any:
        # "ask an administrator for an account linked to your attorney record (POST
        # /v1/users with its attorney_id), and sign in with that account"
        made = c.post("/v1/users", headers=admin, json={"username": "jroe2", "role": "attorney",
                      "password": PASSWORD, "attorney_id": record})  # fmt: skip
        assert made.status_code == 201, made.text
        login = c.post("/v1/session", json={"username": "jroe2", "password": PASSWORD})
        return c.get("/v1/registry/numbers", headers=bearer(login.json()["token"]))

    return c.get("/v1/registry/numbers", headers=bearer(unlinked)), fixed


def _vault_fields_missing(c: TestClient) -> tuple[Any, Callable[[dict[str, Any]], Any]]:
    reader = bearer(token_for(c, add_user(c, "investigator")))
    query = {"inmate_account": "A100"}

    def fixed(body: dict[str, Any]) -> Any:
        # "correct each field listed (a missing one: add it)": body.case, body.reason
        assert body["where"] == "body.case, body.reason", body
        return c.post("/v1/vault/calls/query", json={**query, **WHY}, headers=reader)

    return c.post("/v1/vault/calls/query", json=query, headers=reader), fixed


def _vault_no_filter(c: TestClient) -> tuple[Any, Callable[[dict[str, Any]], Any]]:
    reader = bearer(token_for(c, add_user(c, "investigator")))

    def fixed(body: dict[str, Any]) -> Any:
        # "give an inmate account, a dialed number or dates to look for"
        return c.post("/v1/vault/calls/query", json={**WHY, "inmate_account": "A100"},
                      headers=reader)  # fmt: skip

    return c.post("/v1/vault/calls/query", json=WHY, headers=reader), fixed


def _vault_wrong_role(c: TestClient) -> tuple[Any, Callable[[dict[str, Any]], Any]]:
    registrar = bearer(token_for(c, add_user(c, "registrar")))
    reader = bearer(token_for(c, add_user(c, "investigator")))
    query = {**WHY, "inmate_account": "A100"}

    def fixed(body: dict[str, Any]) -> Any:
        # "use an account with one of the roles: auditor, investigator, ..."
        return c.post("/v1/vault/calls/query", json=query, headers=reader)

    return c.post("/v1/vault/calls/query", json=query, headers=registrar), fixed


# fmt: off
CASES = [
    HttpCase("decisions: no token", _no_token, 401, r"Authorization: Bearer .*POST /v1/session",
             "POST /v1/decisions"),
    HttpCase("decisions: role may not", _wrong_role, 403, r"roles: facility_system",
             "POST /v1/decisions"),
    HttpCase("decisions: body not JSON", _not_json, 422, r"send the body as JSON", "body"),
    HttpCase("decisions: field missing", _field_missing, 422, r"a missing one: add it",
             "body.dialed_number"),
    HttpCase("registry: account unlinked", _attorney_unlinked, 409,
             r"POST /v1/users with its attorney_id", "user jroe"),
    HttpCase("vault: case, reason missing", _vault_fields_missing, 422, r"a missing one: add it",
             "body.case"),
    HttpCase("vault: no filter", _vault_no_filter, 400, r"an inmate account, a dialed number",
             "a call-record query"),
    HttpCase("vault: role may not", _vault_wrong_role, 403, r"roles: .*investigator",
             "POST /v1/vault/calls/query"),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_services_suggested_fix_works(case: HttpCase, tmp_path: Path) -> None:
    with service_client(f"sqlite:///{tmp_path / 'p.db'}", tmp_path) as client:
        install(client.app, lawyer_verifier, timeout_s=5.0).load(b"snapshot")  # type: ignore[arg-type]
        answer, fixed = case.provoke(client)
        assert answer.status_code == case.status, answer.text
        body = answer.json()
        assert set(body) == {"error", "message", "where", "fix", "problems"}, body
        text = " ".join([body["message"], str(body["where"]), *body["problems"]])
        assert case.where in text, f"no place named: {body}"
        assert re.search(case.says, body["fix"] or ""), body
        assert "Traceback" not in answer.text
        again = fixed(body)
        assert 200 <= again.status_code < 300, again.text
