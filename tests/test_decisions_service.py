"""The service's checker is fed by the service's own registry (issue 15, goal 4).

A number approved through the registry reaches ``POST /v1/decisions`` on its own: the
refresh polls the registry log's size and cuts a signed snapshot only when it changed.
The test asserts the outcome within a generous bound; ``bench/decisions_http.py``
measures how fast it happens.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from privguard.internals.prevention.db import transaction
from privguard.internals.prevention.decisions import Reason, SnapshotRejected
from privguard.internals.prevention.decisions.live import RegistrySource
from privguard.internals.prevention.decisions.snapshot import registry_verifier
from privguard.internals.prevention.registry import workflow as W
from service_helpers import add_user, bearer, service_client, token_for

LAWYER, FAMILY = "+15125550100", "+15125550199"
PATIENCE_S = 15.0  # the outcome is asserted, not the latency


def _decide(client: TestClient, gate: dict[str, str], number: str) -> dict[str, Any]:
    body = {"facility": "MAIN-JAIL", "inmate_account": "A1", "dialed_number": number}
    r = client.post("/v1/decisions", json=body, headers=gate)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def _register(client: TestClient, number: str, bar: str = "1") -> None:
    """An attorney submits ``number`` and a registrar approves it, over HTTP."""
    reg = client.app.state.registry  # type: ignore[attr-defined]
    with transaction(reg.factory) as s:
        aid = W.add_attorney(
            s, reg.ledger, f"Jane Doe {bar}", actor="registrar:test", bar_number=bar
        )
    jane = bearer(token_for(client, add_user(client, "attorney", f"jane{bar}", attorney_id=aid)))
    registrar = bearer(token_for(client, add_user(client, "registrar", f"registrar{bar}")))
    r = client.post("/v1/registry/requests", headers=jane, json={"numbers": [number]})
    assert r.status_code == 201, r.text
    ok = client.post(
        f"/v1/registry/requests/{r.json()['id']}/approve",
        headers=registrar,
        json={"reason": "called the office"},
    )
    assert ok.status_code == 200, ok.text


def _until_refused(client: TestClient, gate: dict[str, str], number: str) -> dict[str, Any]:
    give_up = time.monotonic() + PATIENCE_S
    answer = _decide(client, gate, number)
    while answer["record"] and time.monotonic() < give_up:
        time.sleep(0.05)
        answer = _decide(client, gate, number)
    return answer


def test_a_registration_reaches_the_decisions_on_its_own(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path) as client:
        app: Any = client.app
        gate = bearer(token_for(client, add_user(client, "facility_system")))
        before = _decide(client, gate, LAWYER)
        assert (before["record"], before["reason"]) == (
            True,
            Reason.NOT_REGISTERED_RECORDING_ALLOWED,
        )
        _register(client, LAWYER)
        with transaction(app.state.registry.factory) as s:
            size = app.state.registry.ledger.size(s)
        after = _until_refused(client, gate, LAWYER)
        assert (after["record"], after["reason"]) == (False, Reason.REGISTERED_NUMBER)
        assert after["entry"]["number"] == LAWYER
        assert after["checkpoint"]["size"] == size
        other = _decide(client, gate, FAMILY)
        assert (other["record"], other["reason"]) == (True, Reason.NOT_REGISTERED_RECORDING_ALLOWED)
        assert other["checkpoint"] == after["checkpoint"]

        # An unchanged registry is polled, not rebuilt: decisions write no registry entry.
        builds = app.state.decision_source.builds
        for _ in range(5):
            _decide(client, gate, FAMILY)
            time.sleep(0.1)
        assert app.state.decision_source.builds == builds


def test_a_registration_is_visible_to_decisions_within_one_second(
    db_url: str, tmp_path: Path, record_property: Any
) -> None:
    """Issue 15's goal, asserted on the mechanism, not on this machine's speed.

    The mechanism, twice: a registry change committed by the service refreshes its
    checker before the response is sent (so the next decision already refuses), and a
    change made elsewhere is picked up by the poll every ``interval_s`` (at most 0.5 s):
    right after the commit a fresh source cuts a snapshot with the number. Neither
    assertion depends on how fast the machine is.
    """
    with service_client(db_url, tmp_path) as client:
        app: Any = client.app
        reg = app.state.registry
        gate = bearer(token_for(client, add_user(client, "facility_system")))
        assert app.state.decision_checker.interval_s <= 0.5
        assert _decide(client, gate, LAWYER)["record"] is True
        app.state.decision_checker.stop()  # no poll: only the notification can refresh
        _register(client, LAWYER)
        # Notified: the approval's commit refreshed the checker before its response.
        assert LAWYER in app.state.decision_checker.state.entries
        first = _decide(client, gate, LAWYER)
        assert (first["record"], first["reason"]) == (False, Reason.REGISTERED_NUMBER)
        # Polled: a change made elsewhere is cut by the next poll (a fresh source here).
        probe = RegistrySource(reg.factory, reg.ledger, reg.signer, lambda: None)
        verify = registry_verifier([reg.signer.verifier()])
        t0 = time.monotonic()
        fresh = verify(probe(), None, dt.datetime.now(dt.UTC)).state
        build_ms = (time.monotonic() - t0) * 1000
        assert LAWYER in fresh.entries
        record_property("snapshot_build_ms", round(build_ms, 1))
        print(f"refused at the first decision after the response; build {build_ms:.0f} ms")


def test_a_corrupted_delivery_fails_closed_until_a_good_one(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path) as client:
        app: Any = client.app
        gate = bearer(token_for(client, add_user(client, "facility_system")))
        _register(client, LAWYER)
        assert _until_refused(client, gate, LAWYER)["reason"] == Reason.REGISTERED_NUMBER
        checker = app.state.decision_checker
        checker.stop()  # no background refresh: the test controls every delivery
        good = app.state.decision_source()
        bad = good.replace(LAWYER.encode(), b"+15125550101")  # the lawyer taken off
        with pytest.raises(SnapshotRejected):
            checker.load(bad)
        for number in (LAWYER, FAMILY, "+15125550101"):
            refused = _decide(client, gate, number)
            assert (refused["record"], refused["reason"]) == (False, Reason.BAD_SIGNATURE)
        assert checker.refresh() is True  # the registry's own snapshot again
        assert _decide(client, gate, FAMILY)["record"] is True
        assert _decide(client, gate, LAWYER)["reason"] == Reason.REGISTERED_NUMBER


def test_a_number_scoped_to_one_facility_is_protected_everywhere(
    db_url: str, tmp_path: Path
) -> None:
    """The snapshot carries no scope per entry: the gate errs towards not recording."""
    with service_client(db_url, tmp_path) as client:
        app: Any = client.app
        reg = app.state.registry
        gate = bearer(token_for(client, add_user(client, "facility_system")))
        with transaction(reg.factory) as s:
            aid = W.add_attorney(s, reg.ledger, "Jane Doe", actor="registrar:test")
            req = W.submit(
                s, reg.ledger, aid, [LAWYER], actor="registrar:test", facilities=["OTHER-JAIL"]
            )
            W.approve(s, reg.ledger, req.id, actor="registrar:test", reason="called")
        assert _until_refused(client, gate, LAWYER)["reason"] == Reason.REGISTERED_NUMBER
