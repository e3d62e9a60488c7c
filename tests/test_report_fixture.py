"""A small, realistic audit output folder following the stage contracts (ARCHITECTURE.md).

Used by the report, letters, exports, custody and privacy tests until the upstream
stages land; the summary is computed here in plain Python, independently of the
report's SQL.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.schema import ATTORNEY_CLASSES, SUMMARY_INT_KEYS

TABLES = [
    ("site_a/calls_2013.csv", "calls_2013", "America/Chicago", "inferred"),
    ("site_b/export.xlsx", "Sheet1", "America/New_York", "mapping"),
    ("billing/all.parquet", "all", "UTC", "header"),
]
FACILITY_TABLES = {"FAC_A": [0, 2], "FAC_B": [1, 2], "FAC_C": [2]}
NAMES = [
    "José Núñez", "=HYPERLINK(\"http://evil.example\",\"x\")", "@SUM(A1:A9)", "O'Brien, Pat",
    "Mary Smith", "John Doe", "Li Wei", "Ana Gómez", "Tom Brown", "Kim Park", "-2+3", "Zoë Adler",
]  # fmt: skip
# number, classification, attorney_name, registered_from, registered_until, score
NUMBERS = [
    ("+15125550101", "registered", "Law Office of Jane Roe", "2013-03-01", None, None),
    ("+15125550102", "directory_attorney", "Law Office of Jane Roe", None, None, None),
    ("+17135550103", "directory_attorney", "=Evil Esq", None, None, None),
    (
        "+12145550104",
        "registered",
        "Travis County Public Defender",
        "2013-01-01",
        "2013-09-01",
        None,
    ),
    ("+15125550105", "confirmed", "Sam Lee", None, None, None),
    ("+15125550201", "candidate", None, None, None, 0.83),
    ("+15125550202", "candidate", None, None, None, 0.61),
] + [(f"+1512555{3000 + i:04d}", "other", None, None, None, 0.05) for i in range(10)]
# number, registered_from, registered_until, facility (None = all)
REGISTRY = [
    ("+15125550101", "2013-03-01", None, None),
    ("+12145550104", "2013-01-01", "2013-09-01", "FAC_B"),
    ("+19995550000", "2012-01-01", None, None),  # registered, never called
]


def _registered(number: str, facility: str, day: dt.date) -> bool:
    for num, start, until, fac in REGISTRY:
        if num != number or (fac is not None and fac != facility):
            continue
        if day >= dt.date.fromisoformat(start) and (
            until is None or day < dt.date.fromisoformat(until)
        ):
            return True
    return False


def build_audit_out(root: Path, *, n_calls: int = 600, seed: int = 7) -> dict[str, Path]:
    """Write ``root/dump`` (inputs), ``root/out`` (audit outputs) and return the paths."""
    rng = random.Random(seed)
    out, dump = root / "out", root / "dump"
    (AuditPaths(out).work).mkdir(parents=True)
    (AuditPaths(out).findings).mkdir()
    AuditPaths(out).shareable.mkdir()
    dump.mkdir(parents=True)
    for i, (file, _table, _zone, _how) in enumerate(TABLES):
        (dump / file).parent.mkdir(parents=True, exist_ok=True)
        (dump / file).write_bytes(f"table {i} raw bytes\n".encode() * (i + 3))
    (root / "registry.csv").write_text(
        "number,added,removed,facility\n"
        + "".join(f"{n},{a},{r or ''},{f or ''}\n" for n, a, r, f in REGISTRY)
    )
    inmates = [(f"FAC_{'ABC'[i % 3]}", f"{1000 + i}", NAMES[i % len(NAMES)]) for i in range(24)]
    weights = [30, 10, 8, 12, 6, 15, 9] + [5] * 10
    calls = []
    rows_in = 0
    start0 = dt.datetime(2013, 1, 1, 8, 0)
    for cid in range(1, n_calls + 1):
        facility, account, name = rng.choice(inmates)
        number = rng.choices([n[0] for n in NUMBERS], weights)[0]
        start = start0 + dt.timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        completed = rng.random() < 0.8
        copies = rng.choice([1, 1, 2])
        rows_in += copies
        tables = [TABLES[t] for t in FACILITY_TABLES[facility]][:copies]
        sources = [{"file": t[0], "table": t[1], "row": cid * 3 + k} for k, t in enumerate(tables)]
        ref = f"https://rec.example.com/r/{cid}.wav" if rng.random() < 0.7 else None
        if cid == 5:
            ref = "+SUM(1,2)"
        calls.append(
            {
                "call_id": cid,
                "facility": facility,
                "inmate_account": account,
                "inmate_name": name,
                "dialed_number": number if cid % 97 else None,
                "number_status": "valid"
                if cid % 97
                else "invalid: area code is an N11 service code",
                "start_utc": start,
                "duration_s": rng.randrange(30, 900) if completed else 0,
                "duration_rounded": False,
                "completed": completed,
                "completed_from": "status",
                "recorded": ref is not None,
                "recording_ref": ref,
                "merge_rule": "single" if len(sources) == 1 else "same_call_id",
                "n_sources": len(sources),
                "sources": sources,
            }
        )
    src_type = pa.list_(
        pa.struct([("file", pa.string()), ("table", pa.string()), ("row", pa.int64())])
    )
    schema = pa.schema(
        [
            ("call_id", pa.int64()), ("facility", pa.string()), ("inmate_account", pa.string()),
            ("inmate_name", pa.string()), ("dialed_number", pa.string()),
            ("number_status", pa.string()), ("start_utc", pa.timestamp("us")), ("duration_s", pa.int32()),
            ("duration_rounded", pa.bool_()), ("completed", pa.bool_()), ("completed_from", pa.string()), ("recorded", pa.bool_()),
            ("recording_ref", pa.string()), ("merge_rule", pa.string()), ("n_sources", pa.int32()),
            ("sources", src_type),
        ]
    )  # fmt: skip
    pq.write_table(pa.Table.from_pylist(calls, schema=schema), AuditPaths(out).calls)
    called = {c["dialed_number"] for c in calls if c["dialed_number"]}
    numbers = [
        {
            "number": n,
            "classification": cls,
            "evidence": {
                "registered": f"registered {reg} in registry.csv row 2",
                "directory_attorney": f"in bar directory bar_directory.csv row 12: {name}",
                "confirmed": "confirmed by review",
                "candidate": f"call pattern score {score}: 9 inmates, 3 facilities",
                "other": "no attorney evidence",
            }[cls],
            "registered_from": dt.date.fromisoformat(reg) if reg else None,
            "registered_until": dt.date.fromisoformat(until) if until else None,
            "attorney_name": name,
            "evidence_file": "registry.csv" if reg else None,
            "score": score,
        }
        for n, cls, name, reg, until, score in NUMBERS
        if n in called
    ]
    pq.write_table(pa.Table.from_pylist(numbers), AuditPaths(out).numbers)
    pq.write_table(
        pa.Table.from_pylist(
            [
                {
                    "number": n,
                    "registered_from": dt.date.fromisoformat(a),
                    "registered_until": dt.date.fromisoformat(r) if r else None,
                    "facility": f,
                    "source_file": "registry.csv",
                    "source_row": i + 2,
                }
                for i, (n, a, r, f) in enumerate(REGISTRY)
            ]
        ),
        AuditPaths(out).registry,
    )
    attorney = {n for n, cls, *_ in NUMBERS if cls in ATTORNEY_CLASSES}
    priv = [c for c in calls if c["dialed_number"] in attorney]
    viol = [
        c
        for c in priv
        if c["recorded"] and _registered(c["dialed_number"], c["facility"], c["start_utc"].date())
    ]
    # What findings leaves for the report: each privileged call's registry status.
    pq.write_table(
        pa.Table.from_pylist(
            [
                {
                    "call_id": c["call_id"],
                    "registered_at_call": _registered(
                        c["dialed_number"], c["facility"], c["start_utc"].date()
                    ),
                    "registry_violation": c in viol,
                    "recorded": c["recorded"],
                    "recorded_from": "recorded flag" if c["recorded"] is not None else None,
                }
                for c in sorted(priv, key=lambda c: c["call_id"])
            ]
        ),
        AuditPaths(out).flags,
    )
    rejected = 9
    summary = {
        "rows_read": rows_in + rejected,
        "rows_rejected": rejected,
        "files_unread": 0,
        "bytes_unread": 0,
        "rows_set_aside": 0,
        "calls": len(calls),
        "calls_to_invalid_numbers": sum(1 for c in calls if c["dialed_number"] is None),
        "invalid_number_reasons": {
            "area code is an N11 service code": sum(1 for c in calls if c["dialed_number"] is None)
        },
        "unique_numbers": len(called),
        "inmates": len({(c["facility"], c["inmate_account"]) for c in calls}),
        "attorney_numbers": len(attorney & called),
        "privileged_calls": len(priv),
        "completed_privileged_calls": sum(c["completed"] for c in priv),
        "privileged_calls_recorded": sum(c["recorded"] for c in priv),
        "privileged_calls_recorded_shown": sum(c["recorded"] for c in priv),
        "privileged_calls_recorded_inferred": 0,
        "privileged_calls_recording_unknown": 0,
        "registry_violations": len(viol),
        "registry_violations_shown": len(viol),
        "registry_violations_inferred": 0,
        "candidate_numbers": sum(1 for n in numbers if n["classification"] == "candidate"),
        "first_call": min(c["start_utc"] for c in calls).isoformat(),
        "last_call": max(c["start_utc"] for c in calls).isoformat(),
    }
    assert set(SUMMARY_INT_KEYS) <= set(summary)
    summary["headline"] = (
        f"{summary['privileged_calls_recorded']:,} recorded calls to "
        f"{summary['attorney_numbers']} attorney numbers among {summary['calls']:,} calls"
    )
    (AuditPaths(out).summary).write_text(json.dumps(summary, indent=2))
    with open(AuditPaths(out).privileged_calls, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["call_id", "number", "recorded"])
        w.writerows([c["call_id"], c["dialed_number"], c["recorded"]] for c in priv)
    merged = Counter(c["merge_rule"] for c in calls)
    (AuditPaths(out).dedupe_report).write_text(
        json.dumps({"rows_in": rows_in, "calls_out": len(calls), "clusters": dict(merged)})
    )
    (AuditPaths(out).work / "normalize_report.json").write_text(
        json.dumps(
            {
                "tables": [
                    {
                        "table_id": i,
                        "file": f,
                        "table": t,
                        "zone": z,
                        "method": how,
                        "evidence": "212 calls matched, 97% aligned; runner-up America/Denver 2%"
                        if how == "inferred"
                        else f"from the {how}",
                        "confidence": 0.97 if how == "inferred" else 1.0,
                        "warnings": [],
                    }
                    for i, (f, t, z, how) in enumerate(TABLES)
                ]
            }
        )
    )
    (AuditPaths(out).work / "ingest_report.json").write_text(
        json.dumps(
            {
                "dump": "dump",
                "tables": [
                    {"table_id": i, "file": f, "table": t} for i, (f, t, *_) in enumerate(TABLES)
                ],
                "totals": {"rows_read": summary["rows_read"], "rows_rejected": rejected},
            }
        )
    )
    return {"out": out, "dump": dump, "registry": root / "registry.csv", "root": root}


def test_fixture_follows_contracts(tmp_path: Path, engine) -> None:
    paths = build_audit_out(tmp_path)
    cols = [
        r[0] for r in engine.fetchall(f"DESCRIBE SELECT * FROM '{AuditPaths(paths['out']).calls}'")
    ]
    from privguard.internals.audit.schema import CALL_COLUMNS

    assert tuple(cols) == CALL_COLUMNS
    summary = json.loads((AuditPaths(paths["out"]).summary).read_text())
    assert summary["registry_violations"] > 0
    assert summary["privileged_calls_recorded"] > summary["registry_violations"]


def run_report(root: Path, **kwargs) -> tuple[dict[str, Path], object]:
    """Build the fixture audit folder under ``root`` and run the report stage on it."""
    from privguard.internals.audit.report.api import report

    paths = build_audit_out(root)
    result = report(
        paths["out"],
        inputs=[paths["dump"], paths["registry"]],
        parameters={"command": ["audit", "dump", "--out", "out"], "settings": {}},
        **kwargs,
    )
    return paths, result
