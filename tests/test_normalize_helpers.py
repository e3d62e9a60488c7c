"""Fixtures that follow the ingest contract exactly: WORK/ingested/<id>.parquet + report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from privguard.internals.audit import schema

_INT = {"table_id": pa.int32(), "src_row": pa.int64()}


def write_ingested(work: Path, tables: list[dict[str, Any]]) -> Path:
    """Write tables ``{"file", "table", "rows": [dict], "tz_hint", "duration_unit"}``."""
    (work / "ingested").mkdir(parents=True, exist_ok=True)
    report_tables = []
    for table_id, t in enumerate(tables):
        rows = t["rows"]
        cols: dict[str, pa.Array] = {}
        for name in schema.INGESTED_COLUMNS:
            if name == "table_id":
                values: list[Any] = [table_id] * len(rows)
            elif name == "src_row":
                values = [r.get("src_row", i + 1) for i, r in enumerate(rows)]
            elif name == "src_file":
                values = [t["file"]] * len(rows)
            elif name == "src_table":
                values = [t.get("table", Path(t["file"]).stem)] * len(rows)
            elif name == "src_sha256":
                values = ["0" * 64] * len(rows)
            elif name == "src_format":
                values = [t.get("format", "csv")] * len(rows)
            elif name in ("tz_hint", "duration_unit"):
                values = [t.get(name)] * len(rows)
            elif name == "extras":
                values = ["{}"] * len(rows)
            else:
                values = [None if r.get(name) is None else str(r[name]) for r in rows]
            cols[name] = pa.array(values, _INT.get(name, pa.string()))
        pq.write_table(pa.table(cols), work / "ingested" / f"{table_id}.parquet")
        report_tables.append(
            {
                "table_id": table_id,
                "file": t["file"],
                "table": t.get("table", Path(t["file"]).stem),
                "format": "csv",
                "sha256": "0" * 64,
                "rows_read": len(rows),
                "rows_accepted": len(rows),
                "rows_rejected": 0,
                "mapping": {},
                "hints": {"tz_hint": t.get("tz_hint"), "duration_unit": t.get("duration_unit")},
                "unmapped": [],
            }
        )
    total = sum(t["rows_read"] for t in report_tables)
    (work / "ingest_report.json").write_text(
        json.dumps(
            {
                "dump": "fixture",
                "tables": report_tables,
                "totals": {"rows_read": total, "rows_accepted": total, "rows_rejected": 0},
            }
        )
    )
    return work
