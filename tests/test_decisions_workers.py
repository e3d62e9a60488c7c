"""`privguard serve --workers 2`: two uvicorn workers, ONE decision writer (issue 15).

A real server in a subprocess: decisions answered by both workers land in one ledger
log whose tree verifies; with the writer killed every record=true is refused; and
record=true comes back once the writer is started again. Never a record=true for a
registered number."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from privguard.internals.prevention.db import make_engine, sessions, transaction
from privguard.internals.prevention.decisions.http import DECISIONS_ORIGIN, spill_path
from privguard.internals.prevention.decisions.log import LEDGER_LOG
from privguard.internals.prevention.decisions.writer import socket_path, writer_stats
from privguard.internals.prevention.ledger import Ledger, Signer
from privguard.internals.prevention.settings import ServiceSettings
from service_helpers import register_numbers

ROOT = Path(__file__).resolve().parents[1]
REGISTERED = ["+15125550101", "+15125550102", "+15125550103"]
UNREGISTERED = ["+17375550201", "+17375550202", "+17375550203"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _serve(settings: ServiceSettings, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), PRIVGUARD_WRITER_RESTART_S="4")
    config = log.with_name("service.toml")
    config.write_text(f"[service]\ndecision_timeout_ms = {settings.decision_timeout_ms}\n")
    cmd = [sys.executable, "-m", "privguard", "serve", "--data-dir", str(settings.data_dir),
           "--database-url", settings.url, "--port", str(port), "--workers", "2",
           "--config", str(config)]  # fmt: skip
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        give_up = time.monotonic() + 120
        while time.monotonic() < give_up:
            assert proc.poll() is None, log.read_text()[-3000:]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code < 500:
                    break
            time.sleep(0.3)
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _decide(port: int, token: str, number: str) -> dict[str, Any]:
    # A new connection per call, so the kernel hands calls to either worker.
    body = {"facility": "MAIN", "inmate_account": "A1", "dialed_number": number}
    answer = httpx.post(
        f"http://127.0.0.1:{port}/v1/decisions",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    got: dict[str, Any] = answer.json()
    got["number"] = number
    return got


def _burst(port: int, token: str, numbers: list[str]) -> list[dict[str, Any]]:
    with cf.ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda n: _decide(port, token, n), numbers))


def _record_true_registered(answers: list[dict[str, Any]]) -> int:
    return sum(1 for a in answers if a["record"] and a["number"] in REGISTERED)


@pytest.mark.slow
def test_two_workers_one_writer_one_ledger_and_fail_closed(db_url: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    # Generous deadline: outcomes are asserted, never the loaded machine's speed.
    settings = ServiceSettings(data_dir=data, database_url=db_url, decision_timeout_ms=20_000)
    token = register_numbers(settings, tmp_path, REGISTERED)
    port = _free_port()
    writer_socket = socket_path(data)
    with _serve(settings, port, tmp_path / "server.log"):
        # Wait until both workers loaded the registry (the first answers may be refusals).
        give_up = time.monotonic() + 60
        while _decide(port, token, REGISTERED[0])["reason"] != "REGISTERED_NUMBER":
            assert time.monotonic() < give_up
            time.sleep(0.2)
        answers = _burst(port, token, (REGISTERED + UNREGISTERED) * 20)
        stats = writer_stats(writer_socket)
        assert _record_true_registered(answers) == 0
        assert sum(a["record"] for a in answers) == len(UNREGISTERED) * 20, [
            a["reason"] for a in answers
        ]
        by_pid = stats["by_pid"]
        assert isinstance(by_pid, dict) and len(by_pid) == 2, stats  # both workers logged
        writer = int(stats["pid"])  # type: ignore[call-overload]

        # The writer killed: nothing can be made durable, so no record=true at all.
        os.kill(writer, signal.SIGKILL)
        time.sleep(0.3)
        down = _burst(port, token, (REGISTERED + UNREGISTERED) * 4)
        assert not any(a["record"] for a in down), down
        reasons = {a["reason"] for a in down if a["number"] in UNREGISTERED}
        assert reasons <= {"NOT_DURABLE", "TIMEOUT"}, reasons

        # Started again by serve: record=true resumes, never for a registered number.
        give_up = time.monotonic() + 60
        back: list[dict[str, Any]] = []
        while not any(a["record"] for a in back[-3:]):
            assert time.monotonic() < give_up, back[-3:]
            time.sleep(0.5)
            back += _burst(port, token, UNREGISTERED + REGISTERED[:1])
        assert int(writer_stats(writer_socket)["pid"]) != writer  # type: ignore[call-overload]
        assert _record_true_registered(down + back) == 0

    # One ledger log, consistent; every answer is in it (a refusal superseding a
    # record=true it could not make durable is logged too, by replaying the spill).
    engine = make_engine(settings.url)
    try:
        signer = Signer.load_or_create(settings.key_file, name=DECISIONS_ORIGIN)
        ledger = Ledger(log=LEDGER_LOG, signer=signer)
        with transaction(sessions(engine)) as s:
            ledger.checkpoint(s)
        with sessions(engine)() as s:
            report = ledger.verify(s, signer.verifiers())
            assert report.ok, report.problems
            size = ledger.size(s)
            from sqlalchemy import text

            ids = set(s.scalars(text("SELECT decision_id FROM decisions")))
    finally:
        engine.dispose()
    assert {a["decision_id"] for a in answers + back} <= ids
    assert size >= len(answers) + len(back)
    # The refusals made while the writer was down were spilled by the workers and
    # replayed into the log by the new writer: none is lost.
    assert {a["decision_id"] for a in down} <= ids
    assert not spill_path(settings).exists()
