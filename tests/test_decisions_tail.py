"""What keeps the HTTP decisions' tail short (issue 15, goal p99 <= 5 ms at 2,000/s).

The latency itself is measured by ``bench/decisions_http.py``, never here; these tests pin
the mechanisms the service process relies on: its heap frozen out of the garbage collector
after each registry load (a full collection of the unfrozen heap took ~140 ms).
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from privguard.internals.prevention.decisions import http as decisions_http
from privguard.internals.prevention.service import app as service_app
from privguard.internals.prevention.settings import ServiceSettings


def test_freeze_heap_moves_the_live_objects_out_of_the_collectors_reach() -> None:
    try:
        gc.unfreeze()
        assert gc.get_freeze_count() == 0
        decisions_http.freeze_heap()
        assert gc.get_freeze_count() > 1000  # every object alive: the modules, at least
    finally:
        gc.unfreeze()  # not in a test process: its objects must stay collectable


def _app(db_url: str, data: Path, **kw: Any) -> Any:
    settings = ServiceSettings(data_dir=data, database_url=db_url, decision_timeout_ms=30_000)
    return service_app.create_app(settings, **kw)


@pytest.mark.parametrize("own_process", [True, False])
def test_the_service_process_freezes_its_heap_after_each_registry_load(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_process: bool
) -> None:
    calls: list[object] = []
    monkeypatch.setattr(decisions_http, "freeze_heap", calls.append)
    with TestClient(_app(db_url, tmp_path, freeze_heap=own_process)) as client:
        app: Any = client.app
        assert app.state.decision_checker.state is not None  # the first load, at startup
        assert len(calls) == (1 if own_process else 0)
        checker = app.state.decision_checker
        checker.load(app.state.decision_source())  # a registry load, as the refresh makes
        assert len(calls) == (2 if own_process else 0)
        if own_process:
            assert calls[-1] is checker.state


def test_serve_runs_an_app_that_freezes_its_heap(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    ran: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: ran.append(app))
    settings = ServiceSettings(data_dir=tmp_path, database_url=db_url)
    service_app.serve(settings)
    assert ran and ran[0].state.freeze_heap is True


def test_the_writer_process_freezes_its_heap_once_warm_and_still_sends_its_acks(
    tmp_path: Path,
) -> None:
    from privguard.internals.prevention.decisions import writer
    from privguard.internals.prevention.decisions.log import DecisionLog

    flushed: list[int] = []
    log = DecisionLog(None, b"k" * 32, tmp_path / "spill.jsonl")  # type: ignore[arg-type]
    log.on_batch = lambda: flushed.append(1)
    try:
        gc.unfreeze()
        writer._freeze_when_warm(log)
        assert log.on_batch is not None
        for batch in range(1, writer.FREEZE_AFTER[1] + 1):
            log.on_batch()
            frozen = gc.get_freeze_count()
            if batch == 1:
                assert frozen > 1000  # after the first batch
                gc.unfreeze()
            elif batch < writer.FREEZE_AFTER[1]:
                assert frozen == 0  # not after every batch
        assert gc.get_freeze_count() > 1000  # and again once warmer
        assert len(flushed) == writer.FREEZE_AFTER[1]  # the acks went out after every batch
    finally:
        gc.unfreeze()
