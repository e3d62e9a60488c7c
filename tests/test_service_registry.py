"""The registry through the service: submit, queue, approve/reject, receipts, snapshot."""

from __future__ import annotations

import base64
from pathlib import Path

from fastapi.testclient import TestClient

from privguard.internals.prevention.db import transaction
from privguard.internals.prevention.registry import workflow as W
from privguard.internals.prevention.registry.api import ORIGIN
from service_helpers import add_user, bearer, service_client, token_for

NUMBER = "+1 (512) 555-0100"
E164 = "+15125550100"


def _attorney(client: TestClient, name: str) -> dict[str, str]:
    """An attorney record in the registry and a user linked to it; returns auth headers."""
    reg = client.app.state.registry  # type: ignore[attr-defined]
    with transaction(reg.factory) as s:
        aid = W.add_attorney(
            s, reg.ledger, name, actor="registrar:test", bar_number="123", bar_state="TX"
        )
    return bearer(
        token_for(client, add_user(client, "attorney", name.split()[0].lower(), attorney_id=aid))
    )


def _forge(receipt: str) -> str:
    """The receipt with its entry's number changed (the entry travels base64 in `extra`)."""
    lines = receipt.splitlines(keepends=True)
    i = next(n for n, line in enumerate(lines) if line.startswith("extra "))
    data = base64.b64decode(lines[i].removeprefix("extra ").strip())
    assert E164.encode() in data
    lines[i] = (
        "extra " + base64.b64encode(data.replace(E164.encode(), b"+15125550199")).decode() + "\n"
    )
    return "".join(lines)


def test_submit_approve_and_the_attorneys_view(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path) as client:
        jane = _attorney(client, "Jane Doe")
        other = _attorney(client, "Otto Other")
        registrar = bearer(token_for(client, add_user(client, "registrar")))
        gate = bearer(token_for(client, add_user(client, "facility_system")))

        r = client.post(
            "/v1/registry/requests", headers=jane, json={"numbers": [NUMBER, "512 555 0101 ext 7"]}
        )
        assert r.status_code == 201, r.text
        req = r.json()
        assert req["state"] == "submitted" and req["numbers"] == [E164, "+15125550101;ext=7"]
        assert [q["id"] for q in client.get("/v1/registry/queue", headers=registrar).json()] == [
            req["id"]
        ]
        assert client.get("/v1/registry/queue", headers=jane).status_code == 403

        r = client.post(
            f"/v1/registry/requests/{req['id']}/approve",
            headers=registrar,
            json={"reason": "called the office"},
        )
        assert r.status_code == 200 and r.json()["state"] == "verified"
        assert len(r.json()["receipts"]) == 2
        again = client.post(
            f"/v1/registry/requests/{req['id']}/approve", headers=registrar, json={"reason": "x"}
        )
        assert again.status_code == 409 and again.json()["error"] == "conflict"
        assert (
            client.post(
                "/v1/registry/requests/999/reject", headers=registrar, json={"reason": "x"}
            ).status_code
            == 404
        )
        assert client.get("/v1/registry/queue", headers=registrar).json() == []

        numbers = client.get("/v1/registry/numbers", headers=jane).json()
        assert [(n["number"], n["extension"], n["status"]) for n in numbers] == [
            (E164, "", "active"),
            ("+15125550101", "7", "active"),
        ]
        assert client.get("/v1/registry/numbers", headers=other).json() == []
        history = client.get("/v1/registry/history", headers=jane).json()
        actions = [h["action"] for h in history]
        assert "request.submitted" in actions and actions.count("number.registered") == 2
        registered = next(h for h in history if h["action"] == "number.registered")
        assert (
            registered["actor"] == "registrar:registrar-user"
            and registered["reason"] == "called the office"
        )

        r = client.get(f"/v1/registry/receipts/{registered['index']}", headers=jane)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        assert "attachment" in r.headers["content-disposition"]
        receipt = r.text
        assert (
            client.get(f"/v1/registry/receipts/{registered['index']}", headers=other).status_code
            == 404
        )

        check = client.post("/v1/registry/verify-receipt", json={"receipt": receipt}).json()
        assert check["ok"] is True and E164 in check["receipts"][0]["summary"]
        forged = _forge(receipt)
        bad = client.post("/v1/registry/verify-receipt", json={"receipt": forged}).json()
        assert bad["ok"] is False and bad["receipts"][0]["problems"]

        cp = client.get("/v1/registry/checkpoint")
        assert cp.status_code == 200 and cp.text.splitlines()[0] == ORIGIN
        assert E164 not in cp.text and "5550100" not in cp.text
        assert client.get("/v1/registry/key").text.startswith(ORIGIN + "+")

        snap = client.get("/v1/registry/snapshot", params={"facility": "MAIN-JAIL"}, headers=gate)
        assert snap.status_code == 200 and E164 in snap.text
        assert snap.text.startswith("privguard registry snapshot v1")
        assert (
            client.get(
                "/v1/registry/snapshot", params={"facility": "MAIN-JAIL"}, headers=jane
            ).status_code
            == 403
        )


def test_reject_shows_the_reason_to_the_attorney(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path) as client:
        jane = _attorney(client, "Jane Doe")
        registrar = bearer(token_for(client, add_user(client, "registrar")))
        rid = client.post(
            "/v1/registry/requests",
            headers=jane,
            json={"numbers": [NUMBER], "facilities": ["main-jail"]},
        ).json()["id"]
        r = client.post(
            f"/v1/registry/requests/{rid}/reject",
            headers=registrar,
            json={"reason": "not the bar number on file"},
        )
        assert r.status_code == 200
        mine = client.get("/v1/registry/requests", headers=jane).json()
        assert [(q["state"], q["reason"]) for q in mine] == [
            ("rejected", "not the bar number on file")
        ]
        assert client.get("/v1/registry/numbers", headers=jane).json() == []


def test_bad_numbers_and_unlinked_accounts_are_clear_errors(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path) as client:
        jane = _attorney(client, "Jane Doe")
        r = client.post("/v1/registry/requests", headers=jane, json={"numbers": ["call me maybe"]})
        assert r.status_code == 400 and r.json()["error"] == "bad_input"
        assert "call me maybe" in r.json()["message"] and r.json()["fix"]
        loose = bearer(token_for(client, add_user(client, "attorney", "loose")))
        r = client.post("/v1/registry/requests", headers=loose, json={"numbers": [NUMBER]})
        assert r.status_code == 409 and "not linked" in r.json()["message"]
        r = client.post("/v1/registry/requests", headers=jane, json={"numbers": []})
        assert r.status_code == 422
