"""The vault's endpoints through the in-process client: roles, reasons, logs, certificates."""

from __future__ import annotations

from pathlib import Path

from privguard.internals.prevention.vault.service_hook import quarantine_registered
from service_helpers import bearer, service_client, token_for, users_of_every_role
from vault_helpers import T0, decide, register

WHY = {"case": "CR-2024-0042", "reason": "witness tampering inquiry"}


def test_vault_endpoints_end_to_end(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path) as client:
        users = users_of_every_role(client)
        h = {role: bearer(token_for(client, uid)) for role, uid in users.items()}
        from privguard.internals.prevention.service.routes_vault import vault_of

        vault = vault_of(client)  # type: ignore[arg-type]
        ids = []
        for number in ("+15125550100", "+15125550199"):
            did = decide(vault, number)
            params = {"decision_id": did, "facility": "TRAVIS", "inmate_account": "A1",
                      "dialed_number": number, "started_at": T0.isoformat()}  # fmt: skip
            r = client.post("/v1/vault/recordings", params=params, content=b"audio " + number.encode(),
                            headers=h["facility_system"])  # fmt: skip
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        priv, plain = ids
        r = client.post(f"/v1/vault/recordings/{plain}/access", json=WHY, headers=h["investigator"])
        assert r.status_code == 200 and r.content == b"audio +15125550199"
        r = client.post(f"/v1/vault/recordings/{plain}/access", json={"case": "C1", "reason": "x"},
                        headers=h["investigator"])  # fmt: skip
        assert r.status_code == 422 and r.json()["error"]
        r = client.post(f"/v1/vault/recordings/{plain}/access", json=WHY | {"action": "export"},
                        headers=h["investigator"])  # fmt: skip
        assert r.status_code == 403 and r.json()["error"] == "access_refused"
        # A registration quarantines at once; no reader reaches the recording afterwards.
        register(vault, "+15125550100", T0.date())
        assert quarantine_registered(client.app, ["+15125550100;ext=1"], "registrar:reg") == [priv]  # type: ignore[arg-type]
        for role in ("investigator", "prosecutor", "records_officer"):
            r = client.post(f"/v1/vault/recordings/{priv}/access", json=WHY, headers=h[role])
            assert r.status_code == 403, (role, r.text)
        # Links: bound to their user.
        r = client.post("/v1/vault/links", json=WHY | {"recording_id": plain},
                        headers=h["investigator"])  # fmt: skip
        token = r.json()["token"]
        r = client.post("/v1/vault/links/redeem", json={"token": token}, headers=h["prosecutor"])
        assert r.status_code == 403
        r = client.post("/v1/vault/links/redeem", json={"token": token}, headers=h["investigator"])
        assert r.status_code == 200
        r = client.post("/v1/vault/links/redeem", json={"token": token})
        assert r.status_code == 401
        r = client.post("/v1/vault/calls/query", json=WHY | {"inmate_account": "A1"},
                        headers=h["investigator"])  # fmt: skip
        assert r.json()["withheld"] == 1 and len(r.json()["rows"]) == 1
        r = client.post("/v1/vault/productions", json=WHY | {"inmate_account": "A1",
                        "start": "2024-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"},
                        headers=h["records_officer"])  # fmt: skip
        assert r.status_code == 200 and r.headers["X-Withheld"] == "1"
        assert r.content[:2] == b"PK"
        r = client.post("/v1/vault/purge", json=WHY | {"recording_ids": [priv],
                        "authority": "Order 2024-1"}, headers=h["admin"])  # fmt: skip
        assert r.status_code == 200 and "privguard purge certificate v1" in r.text
        cert = r.text
        r = client.post("/v1/vault/certificates/verify", json={"certificate": cert})
        assert r.json()["ok"] is True
        r = client.post(
            "/v1/vault/certificates/verify", json={"certificate": cert.replace("1", "2")}
        )
        assert r.json()["ok"] is False
        assert client.get("/v1/vault/key").text.startswith("privguard/vault+")
        r = client.get("/v1/vault/anomalies", params={"start": "2000-01-01T00:00:00Z",
                       "end": "2100-01-01T00:00:00Z"}, headers=h["auditor"])  # fmt: skip
        actors = {u["actor"]: u for u in r.json()["users"]}
        assert actors["investigator:investigator-user"]["refused"] >= 2
        assert actors["records_officer:records_officer-user"]["protected_attempts"] == 1


def test_a_registrar_approval_quarantines_recordings_at_once(db_url: str, tmp_path: Path) -> None:
    from privguard.internals.prevention.db import transaction
    from privguard.internals.prevention.registry import workflow as W
    from privguard.internals.prevention.service.routes_vault import vault_of
    from service_helpers import add_user
    from vault_helpers import INVESTIGATOR, store

    with service_client(db_url, tmp_path) as client:
        vault = vault_of(client)  # type: ignore[arg-type]
        rid = store(vault, "+15125550100")
        reg = client.app.state.registry  # type: ignore[attr-defined]
        with transaction(reg.factory) as s:
            aid = W.add_attorney(s, reg.ledger, "Jane Doe", actor="registrar:t", bar_number="1")
        jane = bearer(token_for(client, add_user(client, "attorney", "jane", attorney_id=aid)))
        registrar = bearer(token_for(client, add_user(client, "registrar")))
        req = client.post("/v1/registry/requests", headers=jane,
                          json={"numbers": ["512 555 0100"]}).json()  # fmt: skip
        assert vault.read(INVESTIGATOR, rid).data  # submitted, not yet verified: readable
        r = client.post(f"/v1/registry/requests/{req['id']}/approve", headers=registrar,
                        json={"reason": "called the office"})  # fmt: skip
        assert r.status_code == 200 and r.json()["state"] == "verified"
        with vault.factory() as s:
            from privguard.internals.prevention.vault.models import Recording

            row = s.get(Recording, rid)
            assert row is not None and row.state == "quarantined" and row.wrapped_key is None
