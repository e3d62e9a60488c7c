"""Speed work changes no output: a high-cardinality dump normalizes to the same bytes with
the layered number SQL as with the nested reference it replaced (issue #20)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from privguard.internals.audit.engines import connect
from privguard.internals.audit.normalize import api
from privguard.internals.audit.normalize.phones_sql import nested_numbers_sql

ingest_api = pytest.importorskip("privguard.internals.audit.ingest.api")


def _dump(folder: Path, calls: int = 1500) -> None:
    """Every call stored twice, in two number layouts, nearly every call to its own number."""
    rng = random.Random(20)
    folder.mkdir(parents=True)
    billing = ["call_id,facility,inmate_account,dialed_number,start_utc,duration_s,status"]
    recordings = ["seq,site,account,phone,call_start_utc,seconds,recorded"]
    odd = ["555-0100", "1-800-FLOWERS", "+44 20 7946 0958", "2.12555E+09", "unknown"]
    for i in range(calls):
        a, e, n = rng.randint(100, 999), rng.randint(100, 999), rng.randint(0, 9999)
        plain = f"({a}) {e}-{n:04d}" + (" x12" if i % 97 == 0 else "")
        plus = f"+1{a}{e}{n:04d}" if i % 50 else odd[i // 50 % len(odd)]
        start = f"2012-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00"
        billing.append(f"{i},TX07,{1000 + i % 300},{plain},{start},{60 + i % 900},completed")
        recordings.append(f"R{i},TX07,{1000 + i % 300},{plus},{start},{60 + i % 900},Y")
    (folder / "billing.csv").write_text("\n".join(billing) + "\n", encoding="utf-8")
    (folder / "recordings.csv").write_text("\n".join(recordings) + "\n", encoding="utf-8")


def test_layered_numbers_give_the_same_normalized_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _dump(tmp_path / "dump")
    outputs = []
    for name in ("layered", "nested"):
        if name == "nested":
            monkeypatch.setattr(api, "numbers_sql", nested_numbers_sql)
        work = tmp_path / name
        ex = connect()
        try:
            ingest_api.ingest(tmp_path / "dump", work, executor=ex)
            api.normalize(work, executor=ex)
        finally:
            ex.close()
        outputs.append((work / api.OUTPUT).read_bytes())
    assert len(outputs[0]) > 10_000
    assert outputs[0] == outputs[1]
