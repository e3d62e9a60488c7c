"""The hot path of POST /v1/decisions answers like the full route, and only when it may.

The fast path (decisions/fastpath.py) answers ordinary requests before FastAPI's routing;
a body it does not take (here: over its size limit, padded with an ignored field) goes to
the full route. Both must give the same decision. Tokens are cached for TOKEN_CACHE_S:
a revocation made by the service is honoured at once, one made behind its back within
that time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from privguard.internals.prevention.db import transaction
from privguard.internals.prevention.decisions import (
    Reason,
    fastpath,
)
from privguard.internals.prevention.decisions.fastpath import MAX_BODY
from privguard.internals.prevention.decisions.http import install
from privguard.internals.prevention.service.auth import Principal, revoke_token
from privguard.internals.prevention.service.models import Token
from privguard.internals.prevention.service.token_cache import TokenCache
from service_helpers import (
    FAMILY,
    add_user,
    bearer,
    lawyer_verifier,
    post_decision,
    service_client,
    token_for,
)

PAD = {"padding": "x" * (MAX_BODY + 1)}  # an ignored field: the full route answers


def _same(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    assert a["decision_id"] != b["decision_id"]
    drop = {"decision_id", "at"}
    assert {k: v for k, v in a.items() if k not in drop} == {
        k: v for k, v in b.items() if k not in drop
    }
    return a


def test_both_paths_give_the_same_answers(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered: list[bool] = []  # by the fast path (True) or left to the route (False)
    real = fastpath._answer

    async def spy(scope: Any, body: bytes, app: Any) -> bytes | None:
        out = await real(scope, body, app)
        answered.append(out is not None)
        return out

    monkeypatch.setattr(fastpath, "_answer", spy)
    with service_client(db_url, tmp_path) as client:
        token = token_for(client, add_user(client, "facility_system"))
        install(client.app, lawyer_verifier, timeout_s=30.0).load(b"snapshot")
        cases: list[tuple[Any, dict[str, Any], tuple[bool, str]]] = [
            (FAMILY, {}, (True, Reason.NOT_REGISTERED_RECORDING_ALLOWED)),
            ("(512) 555-0100", {}, (False, Reason.REGISTERED_NUMBER)),
            (FAMILY, {"private_call_declared": True}, (False, Reason.PRIVATE_CALL_DECLARED)),
            ("not a number", {}, (False, Reason.UNPARSEABLE_NUMBER)),
            # The SIP Call-ID the proxy sends must survive either path: the vault matches
            # a recording to its decision by it.
            (
                FAMILY,
                {"call_id": "a84b4c76e66710@pc33"},
                (True, Reason.NOT_REGISTERED_RECORDING_ALLOWED),
            ),
        ]
        for number, extra, expected in cases:
            fast = post_decision(client, token, number, **extra)
            full = post_decision(client, token, number, **extra, **PAD)
            assert fast.status_code == full.status_code == 200, (fast.text, full.text)
            assert fast.headers["content-type"] == full.headers["content-type"]
            answer = _same(fast.json(), full.json())
            assert (answer["record"], answer["reason"]) == expected
            assert answer.get("call_id", "") == extra.get("call_id", "")
        assert answered == [True] * len(cases)  # the padded bodies never reached it
        # What the fast path does not take, the route refuses in the one error shape.
        for body, status in (({"facility": "MAIN"}, 422), ({"dialed_number": 5}, 422)):
            r = client.post("/v1/decisions", json=body, headers=bearer(token))
            assert r.status_code == status and r.json()["error"] == "invalid_request"
        r = client.post("/v1/decisions", content=b"{", headers=bearer(token) | _json())
        assert r.status_code in (400, 422) and r.json()["error"]
        other = token_for(client, add_user(client, "registrar"))
        assert post_decision(client, other, FAMILY).status_code == 403  # even once it was verified
        assert post_decision(client, other, FAMILY).status_code == 403
        assert post_decision(client, "no such token", FAMILY).status_code == 401


def _json() -> dict[str, str]:
    return {"content-type": "application/json"}


def test_a_revoked_token_is_refused(db_url: str, tmp_path: Path) -> None:
    with service_client(db_url, tmp_path) as client:
        app: Any = client.app
        gate = add_user(client, "facility_system")
        token = token_for(client, gate)
        assert post_decision(client, token, FAMILY).status_code == 200  # cached now
        # Revoked through the service: refused on the next request.
        assert client.delete("/v1/session", headers=bearer(token)).status_code in (200, 204)
        assert post_decision(client, token, FAMILY).status_code == 401
        # Revoked behind the service's back (another process): within the cache's time.
        second = token_for(client, gate)
        assert post_decision(client, second, FAMILY).status_code == 200
        with transaction(app.state.sessions) as s:
            s.execute(update(Token).values(revoked_at=dt.datetime.now(dt.UTC)))
        app.state.token_cache.clear()  # what TOKEN_CACHE_S seconds do (tested below)
        assert post_decision(client, second, FAMILY).status_code == 401


def _principal(role: str = "facility_system", expires: dt.datetime | None = None) -> Principal:
    return Principal(1, "gate", role, None, 1, expires)


def test_the_token_cache_forgets_in_time() -> None:
    now = [100.0]
    clock = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cache = TokenCache(1.0, monotonic=lambda: now[0], clock=lambda: clock)
    cache.put("secret", _principal())
    assert cache.get("secret") == _principal() and cache.get("other") is None
    assert b"secret" not in repr(cache.__dict__).encode()  # keyed by HMAC, not the token
    now[0] += 0.99
    assert cache.get("secret") is not None
    now[0] += 0.02
    assert cache.get("secret") is None
    # Never past the token's own expiry.
    cache.put("soon", _principal(expires=clock + dt.timedelta(seconds=0.2)))
    now[0] += 0.3
    assert cache.get("soon") is None
    # A revocation in this process empties it at once.
    cache.put("secret", _principal())
    revoke_token(_OneTokenSession(), 1)  # type: ignore[arg-type]
    assert cache.get("secret") is None


class _OneTokenSession:
    """Just enough of a session for revoke_token: one token row, not revoked."""

    class _Row:
        revoked_at = None

    def get(self, *a: object) -> object:
        return self._Row()


def test_one_lookup_however_many_requests_wait() -> None:
    calls: list[str] = []
    gate = threading.Event()

    def lookup(token: str) -> Principal | None:
        calls.append(token)
        gate.wait(5)
        return _principal() if token == "good" else None

    async def many() -> list[Principal | None]:
        cache = TokenCache(1.0)
        waiting = [asyncio.ensure_future(cache.verify("good", lookup)) for _ in range(20)]
        await asyncio.sleep(0.05)
        gate.set()
        found = await asyncio.gather(*waiting)
        assert await cache.verify("good", lookup) == _principal()  # cached now
        assert await cache.verify("bad", lookup) is None
        return found

    found = asyncio.run(many())
    assert found == [_principal()] * 20
    assert calls == ["good", "bad"]


def test_access_lines_for_what_the_app_answers_none_for_answered_decisions(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # uvicorn's own access log is off (it built a record per request even for the lines a
    # filter dropped); the app logs every request that reaches it, and no answered decision.
    import logging

    with (
        caplog.at_level(logging.INFO, "privguard.http"),
        service_client(db_url, tmp_path) as client,
    ):
        token = token_for(client, add_user(client, "facility_system"))
        install(client.app, lawyer_verifier, timeout_s=30.0).load(b"snapshot")
        assert post_decision(client, token, FAMILY).status_code == 200
        assert client.get("/v1/health?verbose=1").status_code == 200
        assert post_decision(client, "no such token", FAMILY).status_code == 401
    lines = [r.getMessage() for r in caplog.records if r.name == "privguard.http"]
    assert len(lines) == 2, lines
    assert lines[0].endswith('"GET /v1/health?verbose=1 HTTP/1.1" 200'), lines
    assert lines[1].endswith('"POST /v1/decisions HTTP/1.1" 401'), lines
