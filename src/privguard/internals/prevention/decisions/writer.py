"""The service's one decision-log writer, in a process of its own (``privguard serve``).

Whether the service answers in one process or in ``N`` uvicorn workers, ONE writer
commits every decision: :func:`run_writer` runs in a process of its own, owns the only
:class:`~.log.DecisionLog` of the service (its group commit: one transaction per batch,
the ledger's ``append_many``), and listens on a Unix socket. Each answering process's
:class:`~.channel.ChannelDecisionLog` sends it every decision and waits for its ack. The
commit's CPU (SQLAlchemy, the ledger's hashing) is then never spent under the answering
process's interpreter lock: beside it, the event loop's answers waited for the writer
thread (issue 15's HTTP tail).

The channel: newline-delimited JSON, both ways. A worker sends
``{"i": n, "row": {...}, "number": ...}`` per decision (``"b": true`` for a flush
barrier, ``"stats": true`` for the writer's counts) and the writer answers
``{"i": n, "ok": true|false}`` once the decision's batch has committed (``ok``) or failed;
the acks of one batch go out in one write per worker.
Every decision is acknowledged, ``record=False`` ones too, so a worker that loses the
writer knows which of its ``record=False`` decisions to spill (a ``record=True`` it was
waiting for is refused: ``NOT_DURABLE``). A decision the writer's queue has no room for
is answered ``ok: false`` at once (``record=False`` ones are spilled by the writer itself).
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import signal
import socket
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from privguard.internals.prevention.decisions.log import DecisionLog, _Item

log = logging.getLogger(__name__)

SOCKET_NAME = "writer.sock"  # under <data_dir>/decisions


def socket_path(data_dir: Path) -> Path:
    """Where the service's decision writer listens."""
    return Path(data_dir) / "decisions" / SOCKET_NAME


@dataclass
class _Peer:
    """One worker's connection: acks are gathered, then sent in one write (:meth:`flush`)."""

    sock: socket.socket
    pid: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    alive: bool = True
    outbox: list[bytes] = field(default_factory=list)

    def add(self, message: dict[str, Any]) -> None:
        data = (json.dumps(message, separators=(",", ":")) + "\n").encode()
        with self.lock:
            self.outbox.append(data)

    def flush(self) -> None:
        with self.lock:
            data, self.outbox = b"".join(self.outbox), []
            if not data or not self.alive:
                return
            try:
                self.sock.sendall(data)
            except OSError:
                self.alive = False

    def send(self, message: dict[str, Any]) -> None:
        self.add(message)
        self.flush()


class _Ack:
    """Set by the log's writer thread once the item's batch committed or failed."""

    def __init__(self, peer: _Peer, ident: int, item: _Item) -> None:
        self._peer, self._ident, self._item = peer, ident, item

    def set(self) -> None:
        self._peer.add({"i": self._ident, "ok": self._item.ok or self._item.barrier})


class DecisionWriter:
    """Serve ``decision_log`` to the workers on the Unix socket ``path`` (module doc)."""

    def __init__(self, decision_log: DecisionLog, path: Path) -> None:
        self.log = decision_log
        self.path = Path(path)
        self.counts: dict[int, int] = {}  # decisions received, by worker pid (stats)
        self._server: socket.socket | None = None
        self._stop = threading.Event()
        self._peers: list[_Peer] = []
        decision_log.on_batch = self._flush_acks  # one write of acks per batch and worker

    def _flush_acks(self) -> None:
        for peer in list(self._peers):
            peer.flush()

    def bind(self) -> DecisionWriter:
        """Listen on the socket (a stale socket file of a dead writer is replaced)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(self.path))
        os.chmod(self.path, 0o600)  # only the service's own user may log decisions
        server.listen(64)
        self._server = server
        return self

    def serve_forever(self) -> None:
        """Accept workers until :meth:`stop`; each connection is read by its own thread."""
        assert self._server is not None, "bind() first"
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                break
            creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            pid = struct.unpack("3i", creds)[0]
            peer = _Peer(conn, pid)
            self._peers.append(peer)
            threading.Thread(target=self._read, args=(peer,), daemon=True).start()

    def stop(self) -> None:
        """Stop accepting; queued decisions are committed by ``log.close()``."""
        self._stop.set()
        if self._server is not None:
            with contextlib.suppress(OSError):
                self._server.shutdown(socket.SHUT_RDWR)
            self._server.close()

    def _read(self, peer: _Peer) -> None:
        with peer.sock, peer.sock.makefile("rb") as lines:
            for line in lines:
                try:
                    self._handle(peer, json.loads(line))
                except Exception:  # a malformed line: that worker is cut off
                    log.exception("decision writer: bad message from worker %d", peer.pid)
                    break
        peer.alive = False
        with contextlib.suppress(ValueError):
            self._peers.remove(peer)

    def _handle(self, peer: _Peer, message: dict[str, Any]) -> None:
        ident = int(message.get("i", 0))
        if message.get("stats"):
            peer.send({"i": ident, "ok": True, "pid": os.getpid(), "by_pid": self.counts})
            return
        if message.get("b"):
            item = _Item({}, None, barrier=True)
        else:
            item = _Item(message["row"], message.get("number"))
            self.counts[peer.pid] = self.counts.get(peer.pid, 0) + 1
        item.done = _Ack(peer, ident, item)
        if not self.log.offer(item):
            if not item.row.get("record", False) and not item.barrier:
                self.log.spill([item])  # durable in the spill file: acknowledged
                item.ok = True
            item.done.set()
            peer.flush()


def run_writer(settings: Any, path: Path, *, log_level: int = logging.INFO) -> None:
    """The writer process: the service's one :class:`~.log.DecisionLog`, served on ``path``.

    Stops on SIGTERM or SIGINT after committing (or spilling) everything it received.
    """
    from privguard.internals.prevention.db import make_engine, sessions
    from privguard.internals.prevention.decisions.http import new_decision_log

    logging.basicConfig(level=log_level, format="%(levelname)s:     [writer] %(message)s")
    engine = make_engine(settings.url)
    decision_log = new_decision_log(sessions(engine), settings).start()
    writer = DecisionWriter(decision_log, path).bind()

    def stop(signum: int, frame: Any) -> None:
        writer.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    _freeze_when_warm(decision_log)
    log.info("decision writer %d listening on %s", os.getpid(), path)
    try:
        writer.serve_forever()
    finally:
        decision_log.close()
        engine.dispose()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def writer_stats(path: Path, timeout: float = 5.0) -> dict[str, object]:
    """The writer's pid and decisions received by worker pid (one round trip; tests)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(b'{"i":1,"stats":true}\n')
        with sock.makefile("rb") as fh:
            answer: dict[str, object] = json.loads(fh.readline())
    return answer


FREEZE_AFTER = (1, 50, 500)  # batches after which the writer's heap is frozen


def _freeze_when_warm(decision_log: DecisionLog) -> None:
    """Freeze the writer process's heap out of the garbage collector once it is warm.

    The objects a writer keeps (SQLAlchemy's compiled statements and pools, the ledger's
    caches) are made during its first batches. Unfrozen, one full collection of them took
    75-124 ms with no commit, so every record=true in flight waited that long (measured
    at 2,000 decisions/s: the run's p99.9 was 52 ms; the collections fell to under 1 ms
    once frozen). Only the writer's own process: never a test's, whose objects would all
    be kept."""
    flush = decision_log.on_batch
    batches = 0

    def after_batch() -> None:
        nonlocal batches
        if flush is not None:
            flush()
        batches += 1
        if batches in FREEZE_AFTER:
            gc.collect(1)
            gc.freeze()

    decision_log.on_batch = after_batch


class WriterProcess:
    """Runs :func:`run_writer` in a child process, and starts it again if it dies.

    ``privguard serve`` starts one before uvicorn (and its workers, if any). While the writer
    is down every worker refuses each ``record=True`` (``NOT_DURABLE``); a new writer is
    started ``restart_s`` seconds after the old one died (default 1 s, or
    ``$PRIVGUARD_WRITER_RESTART_S``: the tests lengthen it to observe the outage), and the
    workers reconnect.
    """

    def __init__(self, settings: Any, path: Path, *, restart_s: float | None = None) -> None:
        self.settings = settings
        self.path = Path(path)
        env = os.environ.get("PRIVGUARD_WRITER_RESTART_S")
        self.restart_s = restart_s if restart_s is not None else float(env or 1.0)
        self.restarts = 0
        self._proc: Any = None
        self._stop = threading.Event()
        self._watch: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        """The writer's process id (None when not running)."""
        return None if self._proc is None else self._proc.pid

    def start(self, wait_s: float = 60.0) -> WriterProcess:
        """Start the writer, wait until it accepts connections, then watch it."""
        self._spawn(wait_s)
        self._watch = threading.Thread(target=self._run, name="writer-watch", daemon=True)
        self._watch.start()
        return self

    def stop(self) -> None:
        """Stop the writer (it commits what it holds first) and stop watching it."""
        self._stop.set()
        proc = self._proc
        if proc is not None and proc.is_alive():
            proc.terminate()
            proc.join(30)
            if proc.is_alive():
                proc.kill()
                proc.join()

    def _spawn(self, wait_s: float) -> None:
        import multiprocessing
        import time

        ctx = multiprocessing.get_context("spawn")  # no fork of a process holding threads
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        proc = ctx.Process(
            target=run_writer, args=(self.settings, self.path), name="privguard-decision-writer"
        )
        proc.start()
        self._proc = proc
        give_up = time.monotonic() + wait_s
        while time.monotonic() < give_up:
            if not proc.is_alive():
                raise RuntimeError(f"the decision writer stopped at start (exit {proc.exitcode})")
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                try:
                    probe.connect(str(self.path))
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"the decision writer did not listen on {self.path} in {wait_s} s")

    def _run(self) -> None:
        while not self._stop.is_set():
            self._proc.join(0.2)
            if self._stop.is_set() or self._proc.is_alive():
                continue
            log.error(
                "decision writer %d died (exit %s): record=true is refused until it is back",
                self._proc.pid,
                self._proc.exitcode,
            )
            if self._stop.wait(self.restart_s):
                return
            try:
                self._spawn(60.0)
                self.restarts += 1
                log.warning("decision writer started again (pid %d)", self._proc.pid)
            except RuntimeError as exc:
                log.error("%s", exc)
