"""The local fallback: the embeddable checker over a signed snapshot, on a loopback port.

A phone platform asks privguard's service at call setup (``POST /v1/decisions``). When the
service cannot be reached, the proxy asks this small process on its own host instead
(``privguard decisions serve-local``; integrations/kamailio/kamailio.cfg does). It answers
the same request with the same JSON, decided by a :class:`~.checker.Checker` over the
registry snapshot file (verified with the registry's public key, re-read when it changes),
so a registered number is still recognised while the service is down.

It never allows a recording: a ``record: true`` must be durable in the service's decision
log before a call is recorded, and this process has no such log. Its would-be
``record: true`` answers are turned into ``record: false`` with reason ``NOT_DURABLE``
(the checker's own reason is in ``checked_reason``). Every answer is logged (decision id,
reason, Call-ID; never the number). Fail closed as the checker does: no snapshot, a bad or
expired one, any error: ``record: false`` with the reason.

The server binds loopback by default; with ``token`` set, requests must carry it as a
bearer token (compared in constant time).
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from privguard.errors import InputError
from privguard.internals.prevention.decisions.checker import Checker
from privguard.internals.prevention.decisions.decide import Reason
from privguard.internals.prevention.decisions.snapshot import registry_verifier
from privguard.internals.prevention.registry.receipts import load_verifiers

log = logging.getLogger(__name__)
PATH = "/v1/decisions"
MAX_BODY = 4096
_FIELDS = {"facility": 100, "inmate_account": 100, "dialed_number": 64, "call_id": 200}


@dataclass
class LocalGate:
    """A running local fallback: its server, checker and address."""

    server: ThreadingHTTPServer
    checker: Checker
    thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port it listens on (useful when started on port 0)."""
        return int(self.server.server_address[1])

    def stop(self) -> None:
        """Stop serving and the checker's refresh."""
        self.server.shutdown()
        self.server.server_close()
        self.checker.stop()


def answer(checker: Checker, body: dict[str, Any]) -> dict[str, Any]:
    """The fallback's answer to one decision request (never ``record: true``)."""
    for name, limit in _FIELDS.items():
        value = body.get(name, "")
        if not isinstance(value, str) or len(value) > limit:
            raise InputError(f"{name} must be a string of at most {limit} characters")
    if not body.get("facility"):
        raise InputError("facility is required")
    decision = checker.decide(
        body["facility"],
        body.get("inmate_account", ""),
        body.get("dialed_number", ""),
        body.get("private_call_declared") is True,
        call_id=body.get("call_id", ""),
    )
    checked = decision.reason
    if decision.record:
        decision = decision.refused(Reason.NOT_DURABLE)
    log.info(
        "local decision %s for call %r: %s (checker: %s)",
        decision.decision_id,
        decision.call_id,
        decision.reason,
        checked,
    )
    return decision.to_dict() | {"source": "local-fallback", "checked_reason": checked}


def _handler(checker: Checker, token: str | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "privguard-local"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s " + format, self.client_address[0], *args)

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/v1/health":
                state = checker.state
                self._send(200, {"status": "ok", "loaded": state is not None})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            if self.path != PATH:
                self._send(404, {"error": "not found"})
                return
            if token is not None:
                given = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
                if not hmac.compare_digest(given.encode(), token.encode()):
                    self._send(401, {"error": "a valid bearer token is required"})
                    return
            size = int(self.headers.get("Content-Length") or 0)
            if not 0 < size <= MAX_BODY:
                self._send(400, {"error": f"a JSON body of 1 to {MAX_BODY} bytes is required"})
                return
            try:
                body = json.loads(self.rfile.read(size))
                if not isinstance(body, dict):
                    raise InputError("the body must be a JSON object")
                self._send(200, answer(checker, body))
            except (ValueError, InputError) as exc:
                self._send(400, {"error": str(getattr(exc, "message", exc))})

    return Handler


def serve_local(
    snapshot: Path,
    key: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8751,
    token: str | None = None,
    interval_s: float = 1.0,
    background: bool = False,
) -> LocalGate:
    """Serve the fallback gate over ``snapshot`` (checked with ``key``: a vkey or a file
    of them). Blocks until interrupted, unless ``background`` (then returns at once)."""
    snapshot = Path(snapshot)
    verifier = registry_verifier(load_verifiers(key), where=str(snapshot))

    def source() -> bytes:
        return snapshot.read_bytes()

    checker = Checker(verifier, source=source, interval_s=interval_s, timeout_s=None).start()
    if checker.state is None:
        log.error(
            "the snapshot %s did not load (%s): every answer is record=false until it does",
            snapshot,
            checker.fault or "unreadable",
        )
    server = ThreadingHTTPServer((host, port), _handler(checker, token))
    server.daemon_threads = True
    gate = LocalGate(server, checker)
    log.info("local decision fallback on http://%s:%d%s", host, gate.port, PATH)
    if background:
        gate.thread = threading.Thread(target=server.serve_forever, daemon=True)
        gate.thread.start()
        return gate
    try:
        server.serve_forever()
    finally:
        gate.stop()
    return gate
