"""The database killed during decisions (issue 15's fault, for real): a private PostgreSQL
server (initdb in a temp folder, its own port; never the shared one) is SIGKILLed,
postmaster and backends, while the service answers decisions, then started again.

While it is down nothing can be made durable: 0 record=true at all, so 0 for registered
numbers; the refusals are spilled and reach the log once the database is back; and
record=true resumes after recovery."""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from privguard.internals.prevention.settings import ServiceSettings
from service_helpers import post_decision, register_numbers, service_client

BENCH = Path(__file__).resolve().parents[1] / "bench" / "_private_pg.py"
REGISTERED = ["+15125550101", "+15125550102"]
UNREGISTERED = ["+17375550201", "+17375550202"]


def _private_pg() -> Any:
    spec = importlib.util.spec_from_file_location("bench_private_pg", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if module.pg_bin() is None:
        pytest.fail("PostgreSQL binaries missing: run scripts/services.sh")
    return module.PrivatePostgres()


def _one(client: Any, token: str, number: str) -> dict[str, Any]:
    answer = post_decision(client, token, number)
    if answer.status_code != 200:  # no answer: the platform's client treats it as record=false
        kind = answer.json().get("error")
        return {"record": False, "reason": f"HTTP {answer.status_code} {kind}", "number": number}
    return answer.json() | {"number": number}


@pytest.mark.services
@pytest.mark.slow
def test_postgresql_killed_mid_load_never_records_a_registered_number(tmp_path: Path) -> None:
    pg = _private_pg()
    try:
        settings = ServiceSettings(data_dir=tmp_path / "data", database_url=pg.url)
        token = register_numbers(settings, tmp_path, REGISTERED)
        calls = REGISTERED + UNREGISTERED
        # A request failing on the dead database must get the one error shape with 503
        # (checked below); raise_server_exceptions=False so a 500 shows as one here too.
        with service_client(pg.url, tmp_path / "data", raise_server_exceptions=False) as client:
            before = [_one(client, token, n) for n in calls * 3]
            assert sum(a["record"] for a in before) == len(UNREGISTERED) * 3

            # Killed mid-load: a timer kills the server while decisions keep coming.
            killer = threading.Timer(0.2, pg.kill)
            killer.start()
            down: list[dict[str, Any]] = []
            until = time.monotonic() + 3.0
            while time.monotonic() < until or killer.is_alive():
                down += [_one(client, token, n) for n in calls]
            killer.join()
            outage = down
            pg.start()

            after: list[dict[str, Any]] = []
            give_up = time.monotonic() + 60
            while not any(a["record"] for a in after[-4:]):
                assert time.monotonic() < give_up, after[-4:]
                after += [_one(client, token, n) for n in calls]
                time.sleep(0.1)

        everything = before + down + after
        # A request that failed on the dead database (the token's periodic check) is the one
        # error shape with 503 "database_unavailable", never a 500 "internal".
        failed = {a["reason"] for a in everything if a["reason"].startswith("HTTP")}
        assert failed <= {"HTTP 503 database_unavailable"}, failed
        assert not [a for a in everything if a["record"] and a["number"] in REGISTERED]
        # Made after the kill (the first refusal of an unregistered call onwards): none
        # was record=true, since nothing could be made durable.
        first = next(
            i for i, a in enumerate(outage) if a["number"] in UNREGISTERED and not a["record"]
        )
        assert not any(a["record"] for a in outage[first:]), outage[first:]
        refused = [a for a in outage[first:] if "decision_id" in a]
        assert refused, "no decision was answered during the outage"
        assert {a["reason"] for a in refused if a["number"] in UNREGISTERED} <= {
            "NOT_DURABLE",
            "TIMEOUT",
        }
        # The refusals made while it was down were spilled, then replayed into the log.
        engine = create_engine(pg.url)
        with engine.connect() as conn:
            ids = set(conn.scalars(text("SELECT decision_id FROM decisions")))
        engine.dispose()
        assert {a["decision_id"] for a in refused} <= ids
    finally:
        pg.stop()
