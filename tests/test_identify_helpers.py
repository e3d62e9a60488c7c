"""Builders of small call tables that follow the ``OUT/calls.parquet`` contract exactly.

The population is built so that the pattern features matter: attorneys (business hours,
many clients, real conversations), bail bonds (any hour, short), court clerks (business
hours, short), hotlines (any hour), families (one caller, evenings and weekends).
No tests live here; the identify and findings tests import these builders.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.schema import CALL_COLUMNS

# Local offsets of the fixture facilities (standard time; the fixture has no DST).
FACILITIES = {"JAIL_A": -6, "JAIL_B": -5}
START = dt.datetime(2013, 1, 7)  # a Monday


@dataclass
class Population:
    """The calls built and the true kind of every number."""

    rows: list[dict[str, object]] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)


def _number(i: int, exchange: int) -> str:
    return f"+1512{exchange:03d}{i:04d}"


def _local(rng: random.Random, business: bool, days: int = 120) -> tuple[dt.datetime, bool]:
    """A local wall-clock time within phone hours (07:00-23:00); business or any time."""
    while True:
        day = START + dt.timedelta(days=rng.randrange(days))
        weekday = day.weekday() < 5
        if business and not weekday:
            continue
        hour = rng.uniform(8.5, 17.0) if business else rng.uniform(7.0, 23.0)
        return day + dt.timedelta(hours=hour), weekday


def build(seed: int = 1, scale: int = 1) -> Population:
    """A population of inmates and numbers; ``scale`` multiplies the number of families."""
    rng = random.Random(seed)
    pop = Population()
    inmates = [(fac, f"{fac[-1]}{i:05d}") for fac in FACILITIES for i in range(150)]

    def call(number: str, who: tuple[str, str], business: bool, dur: tuple[int, int]) -> None:
        local, _ = _local(rng, business)
        fac, acct = who
        completed = rng.random() > 0.15
        pop.rows.append(
            {
                "facility": fac,
                "inmate_account": acct,
                "dialed_number": number,
                "start_utc": local - dt.timedelta(hours=FACILITIES[fac]),
                "duration_s": rng.randint(*dur) if completed else 0,
                "completed": completed,
                "recorded": rng.random() > 0.1,
            }
        )

    for i in range(20):  # attorneys: 0-9 directory, 10-14 registry, 15-19 in no list
        number = _number(i, 200)
        pop.kinds[number] = "attorney"
        for who in rng.sample(inmates, rng.randint(5, 14)):
            for _ in range(rng.randint(1, 4)):
                call(number, who, rng.random() < 0.92, (240, 1200))
    for i in range(3):
        number = _number(i, 300)
        pop.kinds[number] = "bail_bonds"
        for who in rng.sample(inmates, 40):
            for _ in range(rng.randint(1, 3)):
                call(number, who, False, (30, 150))
    for i in range(2):
        number = _number(i, 400)
        pop.kinds[number] = "court"
        for who in rng.sample(inmates, 60):
            call(number, who, True, (20, 100))
    for i in range(2):
        number = _number(i, 500)
        pop.kinds[number] = "hotline"
        for who in rng.sample(inmates, 50):
            call(number, who, False, (180, 900))
    for i in range(250 * scale):
        number = _number(i, 600 + i // 10000)
        pop.kinds[number] = "family"
        callers = rng.sample(inmates, 1 if rng.random() < 0.8 else 2)
        for _ in range(rng.randint(3, 30)):
            call(number, rng.choice(callers), False, (300, 900))
    rng.shuffle(pop.rows)
    return pop


def attorney_numbers(pop: Population) -> dict[str, list[str]]:
    """Attorney numbers split into those in the directory, the registry and neither."""
    atty = sorted(n for n, k in pop.kinds.items() if k == "attorney")
    return {"directory": atty[:10], "registry": atty[10:15], "unlisted": atty[15:]}


def write_calls(pop: Population, out: Path) -> Path:
    """Write the audit's calls.parquet under ``out`` with exactly the contract's columns."""
    AuditPaths(out).restricted.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(
        [
            {
                "call_id": i + 1,
                "inmate_name": None,
                "duration_rounded": False,
                "recording_ref": None,
                "merge_rule": "single",
                "n_sources": 1,
                "sources": [{"file": "calls.csv", "table": "calls", "row": i + 1}],
                **r,
            }
            for i, r in enumerate(pop.rows)
        ]
    )
    con = duckdb.connect()
    con.register("t", table)
    path = AuditPaths(out).calls
    cols = ", ".join(f'"{c}"' for c in CALL_COLUMNS)
    con.execute(
        f"COPY (SELECT call_id::BIGINT AS call_id, facility, inmate_account, inmate_name::VARCHAR "
        f"AS inmate_name, dialed_number, 'valid' AS number_status, "
        f"start_utc::TIMESTAMP AS start_utc, "
        f"duration_s::INTEGER AS duration_s, duration_rounded, completed, 'status' AS completed_from, recorded, "
        f"recording_ref::VARCHAR AS recording_ref, merge_rule, n_sources::INTEGER AS n_sources, "
        f"sources FROM t) TO '{path}' (FORMAT parquet)"
    )
    got = [r[0] for r in con.execute(f"DESCRIBE SELECT {cols} FROM '{path}'").fetchall()]
    con.close()
    assert tuple(got) == CALL_COLUMNS
    return path
