"""A service worker's decision log: every decision handed to the one writer process.

:class:`RemoteDecisionLog` answers like :class:`~.log.DecisionLog` (same ``submit`` and
``submit_async``, same refusals) but its background thread does not commit: it sends each
batch to the service's writer (:mod:`.writer`) over its Unix socket, and a receiving
thread settles every decision when the writer acknowledges it.

Fail closed:

* a ``record=True`` is returned only after the writer's ack that its batch committed;
* no ack before the decision's deadline -> ``record=False`` (``TIMEOUT``);
* the writer down, or the connection lost while waiting -> ``record=False``
  (``NOT_DURABLE``) for every ``record=True`` in flight and every new one, until a
  connection succeeds again (tried at most every ``retry_s``);
* a ``record=False`` the writer did not acknowledge as committed goes to the shared spill
  file (fsynced), which the writer replays once it commits again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from pathlib import Path

from privguard.internals.prevention.decisions.log import DecisionLog, _Item

log = logging.getLogger(__name__)


class RemoteDecisionLog(DecisionLog):
    """The worker's side of the single decision writer (see the module doc)."""

    def __init__(
        self,
        path: Path,
        key: bytes,
        spill: Path,
        *,
        retry_s: float = 0.1,
        max_batch: int = 512,
        queue_size: int = 20_000,
    ) -> None:
        super().__init__(None, key, spill, max_batch=max_batch, queue_size=queue_size)  # type: ignore[arg-type]
        self._path = Path(path)
        self._retry = retry_s
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._gen = 0  # one number per connection: a lost connection fails only its items
        self._waiting: dict[int, tuple[int, _Item]] = {}
        self._next = 0
        self._failed_at = -1e9

    def write(self, batch: list[_Item]) -> bool:
        """Send ``batch`` to the writer; its acks settle the items (module doc)."""
        with self._lock:
            sock, gen = self._connected()
            lines = []
            for it in batch:
                self._next += 1
                self._waiting[self._next] = (gen, it)
                message = (
                    {"i": self._next, "b": True}
                    if it.barrier
                    else {"i": self._next, "row": it.row, "number": it.number}
                )
                lines.append(json.dumps(message, separators=(",", ":")) + "\n")
        if sock is None:
            self._lost(gen, "the decision writer is not reachable")
            return False
        try:
            sock.sendall("".join(lines).encode())
        except OSError as exc:
            self._lost(gen, f"sending to the decision writer failed: {exc}")
            return False
        return True

    def close(self) -> None:
        """Wait (a few seconds at most) for the writer's acks, then disconnect."""
        if self._thread is not None:
            self.flush(timeout=5)
        super().close()
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def stats(self, timeout: float = 5.0) -> dict[str, object]:
        """The writer's pid and decisions received by worker pid (one round trip, tests)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(self._path))
            sock.sendall(b'{"i":1,"stats":true}\n')
            with sock.makefile("rb") as fh:
                answer: dict[str, object] = json.loads(fh.readline())
        return answer

    # -- the connection ------------------------------------------------------------------

    def _connected(self) -> tuple[socket.socket | None, int]:
        # Under self._lock. A failed connect is not retried for retry_s: a writer that is
        # down costs each decision nothing but its refusal.
        if self._sock is not None:
            return self._sock, self._gen
        self._gen += 1
        now = time.monotonic()
        if now - self._failed_at < self._retry:
            return None, self._gen
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(1.0)
            sock.connect(str(self._path))
            sock.settimeout(None)
        except OSError as exc:
            sock.close()
            self._failed_at = now
            log.error("decision writer unreachable at %s: %s", self._path, exc)
            return None, self._gen
        self._sock = sock
        threading.Thread(
            target=self._receive, args=(sock, self._gen), name="decision-acks", daemon=True
        ).start()
        return sock, self._gen

    def _receive(self, sock: socket.socket, gen: int) -> None:
        try:
            with sock.makefile("rb") as lines:
                for line in lines:
                    message = json.loads(line)
                    with self._lock:
                        found = self._waiting.pop(int(message["i"]), None)
                    if found is not None:
                        self._settle(found[1], bool(message["ok"]))
        except (OSError, ValueError) as exc:
            log.error("decision writer connection broken: %s", exc)
        self._lost(gen, "the decision writer closed the connection")

    def _lost(self, gen: int, why: str) -> None:
        with self._lock:
            if self._gen == gen and self._sock is not None:
                with contextlib.suppress(OSError):
                    self._sock.close()
                self._sock = None
                self._failed_at = time.monotonic()
            ours = [k for k, (g, _) in self._waiting.items() if g == gen]
            items = [self._waiting.pop(k)[1] for k in ours]
        if items:
            log.error("%s: %d decisions not acknowledged", why, len(items))
        for it in items:
            self._settle(it, False)

    def _settle(self, it: _Item, ok: bool) -> None:
        if it.barrier:
            it.done.set()  # type: ignore[union-attr]
        elif it.done is not None:
            it.ok = ok
            it.done.set()
        elif not ok:  # a record=False not known to be committed: keep it in the spill file
            self._write_spill([it])
