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
from privguard.internals.prevention.service.models import User
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


def _attorney(c: TestClient) -> tuple[dict[str, str], dict[str, str]]:
    """(an attorney linked to a record, a registrar): their bearer headers."""
    from privguard.internals.prevention.registry import workflow as W

    with transaction(c.app.state.sessions) as s:  # type: ignore[attr-defined]
        record = W.add_attorney(s, c.app.state.registry.ledger, "Jane Roe", actor="test")  # type: ignore[attr-defined]
    lawyer = bearer(token_for(c, add_user(c, "attorney", "jroe", attorney_id=record)))
    return lawyer, bearer(token_for(c, add_user(c, "registrar")))


def _submit_not_a_number(c: TestClient) -> tuple[Any, Callable[[dict[str, Any]], Any]]:
    lawyer, _ = _attorney(c)

    def fixed(body: dict[str, Any]) -> Any:
        # "write the number as +1 512 555 0100 or (512) 555-0100, with 'ext 12' if any"
        return c.post("/v1/registry/requests", json={"numbers": ["+1 512 555 0100"]},
                      headers=lawyer)  # fmt: skip

    return c.post("/v1/registry/requests", json={"numbers": ["call me"]}, headers=lawyer), fixed


def _approve_twice(c: TestClient) -> tuple[Any, Callable[[dict[str, Any]], Any]]:
    lawyer, registrar = _attorney(c)
    sent = c.post("/v1/registry/requests", json={"numbers": [LAWYER]}, headers=lawyer).json()
    how = {"reason": "called the office"}
    first = c.post(f"/v1/registry/requests/{sent['id']}/approve", json=how, headers=registrar)
    assert first.status_code == 200, first.text

    def fixed(body: dict[str, Any]) -> Any:
        # "the attorney submits a new request to change the numbers" (then it is approved)
        again = c.post("/v1/registry/requests", json={"numbers": ["+15125550101"]},
                       headers=lawyer).json()  # fmt: skip
        return c.post(f"/v1/registry/requests/{again['id']}/approve", json=how, headers=registrar)

    return c.post(f"/v1/registry/requests/{sent['id']}/approve", json=how,
                  headers=registrar), fixed  # fmt: skip


def _no_such_request(c: TestClient) -> tuple[Any, Callable[[dict[str, Any]], Any]]:
    lawyer, registrar = _attorney(c)
    c.post("/v1/registry/requests", json={"numbers": [LAWYER]}, headers=lawyer)
    how = {"reason": "called the office"}

    def fixed(body: dict[str, Any]) -> Any:
        # "GET /v1/registry/queue lists the requests waiting"
        waiting = c.get("/v1/registry/queue", headers=registrar).json()
        return c.post(f"/v1/registry/requests/{waiting[0]['id']}/approve", json=how,
                      headers=registrar)  # fmt: skip

    return c.post("/v1/registry/requests/7/approve", json=how, headers=registrar), fixed


def _wrong_password(c: TestClient) -> tuple[Any, Callable[[dict[str, Any]], Any]]:
    user = add_user(c, "investigator", "ilee")
    admin = bearer(token_for(c, add_user(c, "admin")))

    def fixed(body: dict[str, Any]) -> Any:
        # "... an administrator gives the account a new token (POST /v1/users/{id}/tokens)"
        issued = c.post(f"/v1/users/{user}/tokens", json={"label": "lost password"},
                        headers=admin)  # fmt: skip
        assert issued.status_code == 201, issued.text
        return c.get("/v1/me", headers=bearer(issued.json()["token"]))

    return c.post("/v1/session", json={"username": "ilee", "password": "wrong password"}), fixed


def _revoked_token(c: TestClient) -> tuple[Any, Callable[[dict[str, Any]], Any]]:
    add_user(c, "investigator", "ilee")
    login = c.post("/v1/session", json={"username": "ilee", "password": PASSWORD})
    old = bearer(login.json()["token"])
    assert c.delete("/v1/session", headers=old).status_code == 200  # signed out: revoked

    def fixed(body: dict[str, Any]) -> Any:
        # "sign in again (POST /v1/session) ..."
        again = c.post("/v1/session", json={"username": "ilee", "password": PASSWORD})
        return c.get("/v1/me", headers=bearer(again.json()["token"]))

    return c.get("/v1/me", headers=old), fixed


def _username_taken(c: TestClient) -> tuple[Any, Callable[[dict[str, Any]], Any]]:
    add_user(c, "facility_system", "switch")
    admin = bearer(token_for(c, add_user(c, "admin")))
    user = {"username": "switch", "role": "facility_system", "password": PASSWORD}

    def fixed(body: dict[str, Any]) -> Any:
        return c.post("/v1/users", json={**user, "username": "switch-2"}, headers=admin)

    return c.post("/v1/users", json=user, headers=admin), fixed


def _mistyped_path(c: TestClient) -> tuple[Any, Callable[[dict[str, Any]], Any]]:
    lawyer, _ = _attorney(c)

    def fixed(body: dict[str, Any]) -> Any:
        # "... paths near it: /v1/registry/numbers, ..."
        near = re.search(r"paths near it: (\S+?)[,;. ]", body["fix"])
        assert near, body
        return c.get(near.group(1), headers=lawyer)

    return c.get("/v1/registry/numbrs", headers=lawyer), fixed


def _wrong_method(c: TestClient) -> tuple[Any, Callable[[dict[str, Any]], Any]]:
    add_user(c, "investigator", "ilee")
    login = {"username": "ilee", "password": PASSWORD}

    def fixed(body: dict[str, Any]) -> Any:
        # "use one of the methods this address accepts: DELETE, POST"
        listed = re.search(r"accepts: ([A-Z, ]+)", body["fix"])
        assert listed and "POST" in listed.group(1), body
        return c.request("POST", "/v1/session", json=login)

    return c.put("/v1/session", json=login), fixed


def _link_to_no_record(c: TestClient) -> tuple[Any, Callable[[dict[str, Any]], Any]]:
    _attorney(c)  # Jane Roe's record, id 1
    admin = bearer(token_for(c, add_user(c, "admin")))
    user = {"username": "jroe2", "role": "attorney", "password": PASSWORD, "attorney_id": 999}

    def fixed(body: dict[str, Any]) -> Any:
        # "give the id of an attorney or office record: 1 (Jane Roe)"
        listed = re.search(r"record: (\d+) \(Jane Roe\)", body["fix"])
        assert listed, body
        made = c.post("/v1/users", json={**user, "attorney_id": int(listed.group(1))},
                      headers=admin)  # fmt: skip
        assert made.status_code == 201, made.text
        login = c.post("/v1/session", json={"username": "jroe2", "password": PASSWORD})
        return c.post("/v1/registry/requests", json={"numbers": [LAWYER]},
                      headers=bearer(login.json()["token"]))  # fmt: skip

    return c.post("/v1/users", json=user, headers=admin), fixed


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
    HttpCase("registry: not a number", _submit_not_a_number, 400, r"\+1 512 555 0100",
             "'call me'"),
    HttpCase("registry: approved already", _approve_twice, 409, r"submits a new request",
             "request 1"),
    HttpCase("registry: no such request", _no_such_request, 404,
             r"GET /v1/registry/queue lists", "request 7"),
    HttpCase("auth: wrong password", _wrong_password, 401, r"POST /v1/users/\{id\}/tokens",
             "username"),
    HttpCase("auth: token revoked", _revoked_token, 401, r"sign in again \(POST /v1/session\)",
             "GET /v1/me"),
    HttpCase("auth: username taken", _username_taken, 409, r"choose another username",
             "'switch'"),
    HttpCase("path mistyped", _mistyped_path, 404, r"paths near it: /v1/registry/numbers",
             "/v1/registry/numbrs"),
    HttpCase("method not accepted", _wrong_method, 405, r"accepts: .*POST", "/v1/session"),
    HttpCase("users: no such attorney record", _link_to_no_record, 404,
             r"record: 1 \(Jane Roe\)", "body.attorney_id"),
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


def test_the_registrar_pages_fix_for_a_decided_request_works(tmp_path: Path) -> None:
    """The registrar's page (HTML, not JSON) says who acts on a request decided already."""
    from portal_helpers import BASE, add_attorney_user, csrf_in, sign_in_staff
    from privguard.internals.prevention.registry import workflow as W

    with service_client(f"sqlite:///{tmp_path / 'p.db'}", tmp_path, base_url=BASE) as c:
        ada = add_attorney_user(c)
        rita = add_user(c, "registrar", "rita")

        def submitted(number: str) -> int:
            with transaction(c.app.state.sessions) as s:  # type: ignore[attr-defined]
                aid = s.get(User, ada).attorney_id  # type: ignore[union-attr]
                return W.submit(s, c.app.state.registry.ledger, aid, [number], actor="ada").id  # type: ignore[attr-defined]

        def approve(request_id: int) -> Any:
            token = csrf_in(c.get("/registrar").text)
            return c.post(f"/registrar/requests/{request_id}/approve", follow_redirects=False,
                          data={"csrf": token, "reason": "called the office"})  # fmt: skip

        first = submitted(LAWYER)
        assert sign_in_staff(c, "rita", rita).status_code == 303
        assert approve(first).status_code == 303
        again = approve(first)
        assert again.status_code == 409, again.text
        assert f"request {first} is already verified" in again.text  # the place
        assert "the attorney submits a new request" in again.text, again.text
        assert approve(submitted("+15125550101")).status_code == 303  # the fix, applied


def test_the_auditor_pages_fix_for_an_audit_without_exports_works(tmp_path: Path) -> None:
    """An auditor opens a configured audit folder that holds no findings.db yet."""
    from portal_helpers import BASE, sign_in_staff
    from privguard.internals.prevention.service import create_app
    from privguard.internals.prevention.settings import ServiceSettings
    from test_error_fixes import _audit, _dump, _run

    _dump(tmp_path)
    (tmp_path / "out").mkdir()
    settings = ServiceSettings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'p.db'}",
                               extra={"audit_dirs": [str(tmp_path / "out")]})  # fmt: skip
    with TestClient(create_app(settings), base_url=BASE) as c:
        ida = add_user(c, "auditor", "ida")
        assert sign_in_staff(c, "ida", ida).status_code == 303
        page = c.get("/auditor/audits/0")
        assert page.status_code == 404, page.text
        assert str(tmp_path / "out") in page.text, page.text  # the place
        assert "run the audit with its exports (privguard audit ... --out DIR)" in page.text
        done = _run(_audit(tmp_path))  # the fix, applied: the audit writes its exports there
        assert done.exit_code == 0, done.output
        assert c.get("/auditor/audits/0").status_code == 200
