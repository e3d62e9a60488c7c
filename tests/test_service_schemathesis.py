"""schemathesis against a real server: no 5xx, no response that breaks the OpenAPI spec.

A real uvicorn process (``privguard serve``) on a free port of 127.0.0.1, bootstrapped
with ``--create-admin`` so that schemathesis exercises the protected endpoints as an
administrator. Every check runs (``--checks all``). Signing out and revoking a token are
fuzzed in passes of their own, each with a token of its own, because fuzzing them revokes
the very token the pass authenticates with.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from privguard.internals.prevention.db import transaction
from privguard.internals.prevention.registry.api import Registry
from privguard.internals.prevention.registry.workflow import add_attorney
from privguard.internals.prevention.service.auth import create_user, issue_token
from privguard.internals.prevention.settings import ServiceSettings

SRC = Path(__file__).resolve().parents[1] / "src"
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
PRIVGUARD = [sys.executable, "-c", "from privguard.cli import main; main()"]
ENV = {**os.environ, "PYTHONPATH": str(SRC)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _admin_token(args: list[str]) -> str:
    out = subprocess.run(
        [*PRIVGUARD, "serve", *args, "--create-admin", "fuzzer"],
        env=ENV,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    found = re.search(r"^([A-Za-z0-9_-]{43})$", out, re.M)
    assert found, out
    return found[1]


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[tuple[str, list[str], Path]]:
    """A running ``privguard serve``; yields its base URL, its settings options, its log."""
    port = _free_port()
    args = ["--data-dir", str(tmp_path / "data"), "--database-url", db_url]
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*PRIVGUARD, "serve", *args, "--port", str(port)],
            env=ENV,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the server did not start:\n" + log.read_text()
            time.sleep(0.3)
        yield base, args, log
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _attorney_token(db_url: str, data_dir: Path) -> str:
    """A token of an attorney linked to a registry attorney record (made by the library)."""
    registry = Registry.open(ServiceSettings(data_dir=data_dir, database_url=db_url))
    try:
        with transaction(registry.factory) as s:
            aid = add_attorney(s, registry.ledger, "Fuzz Attorney", actor="registrar:test")
            user = create_user(s, "fuzz-attorney", "attorney", attorney_id=aid)
            return issue_token(s, user, "schemathesis").token
    finally:
        registry.factory.kw["bind"].dispose()


# A schema cannot say "a dialable phone number" nor "a recording this vault holds": a
# well-formed string that is not one is a 400 naming it, which is right, so those
# operations' positive cases may also get a 400.
CONFIG = "".join(
    f"""
[[operations]]
include-operation-id = "{op}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]
"""
    for op in ("submit_numbers", "vault_quarantine", "vault_purge")
)


def _run(base: str, token: str, cwd: Path, *select: str) -> subprocess.CompletedProcess[str]:
    (cwd / "schemathesis.toml").write_text(CONFIG, encoding="utf-8")
    cmd = [
        str(SCHEMATHESIS), "--config-file", str(cwd / "schemathesis.toml"),
        "run", f"{base}/openapi.json",
        "--checks", "all",
        "--max-examples", "25",
        "--seed", "1",
        "--workers", "1",
        "--generation-database", "none",
        "--no-color",
        "--header", f"Authorization: Bearer {token}",
        *select,
    ]  # fmt: skip
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_schemathesis_finds_nothing(
    server: tuple[str, list[str], Path], db_url: str, tmp_path: Path
) -> None:
    base, args, log = server
    attorney = _attorney_token(db_url, tmp_path / "data")
    passes = [  # (token, operations, how many at least)
        (
            _admin_token(args),
            ("--exclude-operation-id", "logout", "--exclude-operation-id", "revoke_token"),
            18,
        ),
        (attorney, ("--include-tag", "registry"), 10),  # the attorney's own endpoints
        (_admin_token(args), ("--include-operation-id", "revoke_token"), 1),
        (_admin_token(args), ("--include-operation-id", "logout"), 1),
    ]
    for token, select, least in passes:
        run = _run(base, token, tmp_path, *select)
        summary = run.stdout[-6000:]
        assert run.returncode == 0, f"{select}:\n{summary}\n{run.stderr[-2000:]}"
        tested = re.search(r"Tested: (\d+)", run.stdout)
        assert tested and int(tested[1]) >= least, summary
    server_log = log.read_text()
    assert "Traceback" not in server_log and " 500 " not in server_log, server_log[-4000:]
