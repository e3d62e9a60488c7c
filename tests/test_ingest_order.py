"""The order of a dump's tables: natural order of their names, "calls_2" before "calls_10".

A table's place in that order is its ``table_id``: the order of the ingest report, of
``normalized.parquet``'s rows and of every output ordered by table. It was the names'
character order, which put "calls_10" between "calls_1" and "calls_2".
"""

from __future__ import annotations

import json
from pathlib import Path

from privguard.internals.audit.ingest.api import ingest
from privguard.internals.audit.ingest.discover import discover, natural_key
from privguard.internals.audit.normalize.api import _inputs

HEADER = "Facility,Inmate ID,Phone,Call Date,Call Time,Dur Sec\n"


def _dump(root: Path, names: list[str]) -> None:
    for k, name in enumerate(names):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(HEADER + f"F01,{100000 + k},312555{k:04d},2013-01-02,10:00:00,60\n")


def test_numbers_in_names_sort_by_value(tmp_path: Path) -> None:
    names = ["calls_10.csv", "calls_2.csv", "calls_1.csv", "a/b9/x.csv", "a/b10/x.csv", "a01.csv"]
    _dump(tmp_path / "dump", names)
    found, _, _ = discover(tmp_path / "dump", tmp_path / "scratch")
    assert [f.name for f in found] == [
        "a/b9/x.csv",
        "a/b10/x.csv",
        "a01.csv",
        "calls_1.csv",
        "calls_2.csv",
        "calls_10.csv",
    ]


def test_the_order_is_total() -> None:
    # Names equal but for leading zeros still have one order, the same everywhere.
    assert sorted(["a1", "a01", "a001"], key=natural_key) == ["a001", "a01", "a1"]
    assert natural_key("2") < natural_key("10") < natural_key("10a") < natural_key("b")


def test_table_ids_follow_the_natural_order(tmp_path: Path) -> None:
    names = [f"calls_{i}.csv" for i in range(12)]
    _dump(tmp_path / "dump", names)
    ingest(tmp_path / "dump", tmp_path / "work")
    report = json.loads((tmp_path / "work" / "ingest_report.json").read_text())
    assert [(t["table_id"], t["file"]) for t in report["tables"]] == list(enumerate(names))
    # normalize reads the ingested tables in table_id order too: 2 before 10.
    files, _ = _inputs(tmp_path / "work")
    assert [f.name for f in files] == [f"{i}.parquet" for i in range(12)]
