"""The service through an in-process client: errors, sign-in, tokens, users (SQLite and PG)."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from privguard.internals.prevention.db import transaction
from privguard.internals.prevention.service.models import Token, User
from service_helpers import PASSWORD, add_user, bearer, service_client, token_for

SHAPE = {"error", "message", "where", "fix", "problems"}


def test_health_needs_no_token(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path) as client:
        r = client.get("/v1/health")
        assert r.status_code == 200 and r.json()["status"] == "ok"


def test_framework_errors_have_the_one_shape(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path) as client:
        r = client.get("/v1/nothing-here")
        assert r.status_code == 404 and set(r.json()) == SHAPE
        assert r.json()["error"] == "not_found"
        r = client.put("/v1/me")
        assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"
        assert r.headers["allow"] == "GET"
        r = client.post("/v1/session", json={"username": "a b", "password": "hunter2-secret"})
        assert r.status_code == 422 and set(r.json()) == SHAPE
        assert r.json()["error"] == "invalid_request"
        assert any(p.startswith("body.username") for p in r.json()["problems"])
        assert "hunter2-secret" not in r.text  # input is never echoed
        r = client.post(
            "/v1/session", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert r.status_code == 422 and set(r.json()) == SHAPE
        r = client.get("/v1/me")
        assert r.status_code == 401 and r.json()["error"] == "unauthenticated"
        assert r.headers["www-authenticate"] == "Bearer"
        r = client.get("/v1/users/abc", headers=bearer("x"))
        assert r.status_code == 401  # who you are is settled before what you sent


def test_an_unexpected_fault_is_a_500_without_its_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with service_client(
        f"sqlite:///{tmp_path / 'x.db'}", tmp_path, raise_server_exceptions=False
    ) as client:

        @client.app.get("/v1/boom")  # type: ignore[attr-defined]
        def boom() -> None:
            raise RuntimeError("secret internal detail")

        with caplog.at_level(logging.ERROR):
            r = client.get("/v1/boom")
        assert r.status_code == 500 and set(r.json()) == SHAPE
        assert r.json()["error"] == "internal"
        assert "secret internal detail" not in r.text and "Traceback" not in r.text
        incident = r.json()["where"].removeprefix("incident ")
        assert any(incident in rec.getMessage() and rec.exc_info for rec in caplog.records)


def test_openapi_documents_the_error_shape(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path) as client:
        spec = client.get("/openapi.json").json()
        assert set(spec["components"]["schemas"]["ErrorBody"]["required"]) == SHAPE
        assert "HTTPValidationError" not in spec["components"]["schemas"]
        me = spec["paths"]["/v1/me"]["get"]
        assert {"401", "403", "422", "500"} <= set(me["responses"])
        assert me["security"] == [{"HTTPBearer": []}]
        assert "security" not in spec["paths"]["/v1/health"]["get"]
        ref = me["responses"]["403"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorBody")


def test_password_sign_in_me_and_sign_out(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        service_client(db_url, tmp_path) as client,
        caplog.at_level(logging.INFO, "privguard.access"),
    ):
        add_user(client, "attorney", "Jane.Doe", attorney_id=42)
        r = client.post("/v1/session", json={"username": "jane.doe", "password": PASSWORD})
        assert r.status_code == 201, r.text
        token = r.json()["token"]
        expires = datetime.fromisoformat(r.json()["details"]["expires_at"])
        assert timedelta(hours=11) < expires.replace(tzinfo=expires.tzinfo or UTC) - datetime.now(
            UTC
        )
        me = client.get("/v1/me", headers=bearer(token)).json()
        assert me["user"]["role"] == "attorney" and me["user"]["attorney_id"] == 42
        assert me["token"]["last_used_at"] is not None
        assert client.delete("/v1/session", headers=bearer(token)).status_code == 200
        assert client.get("/v1/me", headers=bearer(token)).status_code == 401
        events = [r.getMessage() for r in caplog.records if r.name == "privguard.access"]
        assert any(e.startswith("login ok actor=attorney:jane.doe") for e in events)
        assert any("authenticate failed" in e and "revoked token" in e for e in events)


def test_wrong_password_and_unknown_user_look_the_same(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        service_client(db_url, tmp_path) as client,
        caplog.at_level(logging.INFO, "privguard.access"),
    ):
        add_user(client, "registrar", "rita")
        bad = client.post("/v1/session", json={"username": "rita", "password": "wrong"})
        nobody = client.post("/v1/session", json={"username": "nobody", "password": "wrong"})
        assert bad.status_code == nobody.status_code == 401
        assert bad.json() == nobody.json()
        failed = [r for r in caplog.records if "login failed" in r.getMessage()]
        assert len(failed) == 2


def test_tokens_and_passwords_are_stored_hashed(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path) as client:
        uid = add_user(client, "auditor", "audrey")
        token = token_for(client, uid)
        with transaction(client.app.state.sessions) as s:  # type: ignore[attr-defined]
            user = s.get(User, uid)
            assert user is not None and user.password_hash is not None
            assert (
                user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
            )
            stored = s.scalars(select(Token.token_hash)).all()
            assert stored == [hashlib.sha256(token.encode()).hexdigest()]
            dump = " ".join(
                str(v) for row in s.execute(text("SELECT * FROM auth_tokens")) for v in row
            )
            assert token not in dump


def test_admin_manages_users_and_tokens(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        service_client(db_url, tmp_path) as client,
        caplog.at_level(logging.INFO, "privguard.access"),
    ):
        admin = bearer(token_for(client, add_user(client, "admin", "root")))
        r = client.post(
            "/v1/users", headers=admin, json={"username": "Gate-7", "role": "facility_system"}
        )
        assert r.status_code == 201 and r.json()["username"] == "gate-7"
        uid = r.json()["id"]
        dup = client.post(
            "/v1/users", headers=admin, json={"username": "gate-7", "role": "auditor"}
        )
        assert dup.status_code == 409 and dup.json()["error"] == "conflict"
        assert client.get(f"/v1/users/{uid}", headers=admin).json()["role"] == "facility_system"
        assert [u["username"] for u in client.get("/v1/users", headers=admin).json()] == [
            "root",
            "gate-7",
        ]
        # a facility's system has no password: it cannot sign in, only use tokens
        assert (
            client.post("/v1/session", json={"username": "gate-7", "password": "x"}).status_code
            == 401
        )
        r = client.post(
            f"/v1/users/{uid}/tokens", headers=admin, json={"label": "gate", "expires_in_days": 30}
        )
        assert r.status_code == 201
        gate, gate_id = r.json()["token"], r.json()["details"]["id"]
        assert client.get("/v1/me", headers=bearer(gate)).json()["user"]["username"] == "gate-7"
        listed = client.get(f"/v1/users/{uid}/tokens", headers=admin).json()
        assert [t["id"] for t in listed] == [gate_id] and "token" not in listed[0]
        r = client.delete(f"/v1/tokens/{gate_id}", headers=admin)
        assert r.status_code == 200 and r.json()["revoked_at"] is not None
        assert client.get("/v1/me", headers=bearer(gate)).status_code == 401
        assert client.delete("/v1/tokens/999999", headers=admin).status_code == 404
        assert (
            client.post("/v1/users/999999/tokens", headers=admin, json={"label": "x"}).status_code
            == 404
        )
        denied = client.get("/v1/users", headers=bearer(token_for(client, uid)))
        assert denied.status_code == 403 and denied.json()["error"] == "forbidden"
        events = [r.getMessage() for r in caplog.records if r.name == "privguard.access"]
        assert any(e.startswith("denied refused actor=facility_system:gate-7") for e in events)
        assert any(e.startswith("user.created ok actor=admin:root") for e in events)


def test_an_expired_token_is_refused(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path) as client:
        token = token_for(client, add_user(client, "auditor"))
        assert client.get("/v1/me", headers=bearer(token)).status_code == 200
        with transaction(client.app.state.sessions) as s:  # type: ignore[attr-defined]
            for record in s.scalars(select(Token)):
                record.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        assert client.get("/v1/me", headers=bearer(token)).status_code == 401


def test_a_deactivated_user_is_refused(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path) as client:
        uid = add_user(client, "registrar")
        token = token_for(client, uid)
        with transaction(client.app.state.sessions) as s:  # type: ignore[attr-defined]
            s.get(User, uid).active = False  # type: ignore[union-attr]
        assert client.get("/v1/me", headers=bearer(token)).status_code == 401
        r = client.post("/v1/session", json={"username": "registrar-user", "password": PASSWORD})
        assert r.status_code == 401


def test_security_events_are_entries_of_the_ledgers_access_log(db_url: str, tmp_path: Path) -> None:
    from privguard.internals.prevention.ledger import Ledger, Signer
    from privguard.internals.prevention.service.auth import ACCESS_LOG, ACCESS_ORIGIN

    with service_client(db_url, tmp_path) as client:
        uid = add_user(client, "auditor", "audrey")
        client.post("/v1/session", json={"username": "audrey", "password": "wrong"})
        client.post("/v1/session", json={"username": "audrey", "password": PASSWORD})
        client.get("/v1/users", headers=bearer(token_for(client, uid)))
        client.get("/v1/me", headers=bearer("not-a-token"))
        client.get("/v1/me")  # no token at all: anonymous, not an event
        signer = Signer.load_or_create(tmp_path / "keys" / "signing.key", name=ACCESS_ORIGIN)
        ledger = Ledger(log=ACCESS_LOG, signer=signer)
        with client.app.state.sessions() as s:  # type: ignore[attr-defined]
            got = [(e.action, e.reason, e.actor) for e in ledger.entries(s)]
            assert got == [
                ("login", "failed", "audrey"),
                ("login", "ok", "auditor:audrey"),
                ("denied", "refused", "auditor:audrey"),
                ("authenticate", "failed", "unknown"),
            ]
            assert ledger.verify(s, signer.verifier()).ok
