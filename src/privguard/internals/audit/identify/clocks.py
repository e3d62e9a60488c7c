"""Each facility's clock, for "weekday business hours" and for registry dates.

A zone named in the case file wins. Otherwise it is inferred from when the phones go
quiet at night: the middle of the longest quiet stretch is taken as local 03:00. Done
separately for winter (Dec-Feb) and summer (Jun-Aug): a one-hour shift between them means
the facility observes daylight saving time, so the US zone with that standard offset is
used; no shift gives a fixed offset (Arizona, Hawaii).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pyarrow as pa

from privguard.internals.audit.engines import Executor
from privguard.internals.audit.identify import sql as S
from privguard.internals.audit.identify.settings import Settings

log = logging.getLogger(__name__)

QUIET_CENTER_LOCAL = 3.0
# US zones by standard offset: (observes DST, does not).
_US_ZONES = {
    -4: ("America/Halifax", "America/Puerto_Rico"),
    -5: ("America/New_York", "America/Cancun"),
    -6: ("America/Chicago", "America/Regina"),
    -7: ("America/Denver", "America/Phoenix"),
    -8: ("America/Los_Angeles", "Etc/GMT+8"),
    -9: ("America/Anchorage", "Etc/GMT+9"),
    -10: ("America/Adak", "Pacific/Honolulu"),
}
SCHEMA = pa.schema(
    [
        ("facility", pa.string()),
        ("zone", pa.string()),
        ("offset_h", pa.int32()),
        ("source", pa.string()),
        ("description", pa.string()),
    ]
)


def infer_offset(hist: dict[int, int]) -> int | None:
    """Hours to add to UTC to get local time, from when a facility's phones go quiet.

    The longest run of hours with under a quarter of the average traffic is taken as the
    night (phones off, lights out), centered on local 03:00. Returns None when the day has
    no such run (calls spread evenly) or too few calls to tell.
    """
    total = sum(hist.values())
    if total < 200:
        return None
    quiet = [hist.get(h, 0) < 0.25 * total / 24 for h in range(24)]
    if all(quiet) or not any(quiet):
        return None
    best_len, best_start = 0, 0
    for start in range(24):
        if quiet[start] and not quiet[(start - 1) % 24]:
            length = 0
            while quiet[(start + length) % 24]:
                length += 1
            if length > best_len:
                best_len, best_start = length, start
    if best_len < 3:
        return None
    offset = round(QUIET_CENTER_LOCAL - (best_start + best_len / 2)) % 24
    return offset - 24 if offset > 12 else offset


@dataclass(frozen=True)
class Clock:
    """One facility's clock: an IANA zone, or a fixed offset from UTC when none is known."""

    zone: str | None
    offset_h: int
    source: str  # "case file" | "inferred" | "unknown"
    description: str


def infer_clock(winter: dict[int, int], summer: dict[int, int], year: dict[int, int]) -> Clock:
    """A facility's clock from its calls per UTC hour in winter, in summer and all year."""
    w, s = infer_offset(winter), infer_offset(summer)
    if w is not None and s is not None and s - w in (0, 1) and w in _US_ZONES:
        zone = _US_ZONES[w][0 if s == w + 1 else 1]
        dst = "with" if s == w + 1 else "without"
        return Clock(
            zone, w, "inferred", f"{zone} (inferred: UTC{w:+d} {dst} daylight saving time)"
        )
    y = infer_offset(year)
    if y is not None:
        return Clock(None, y, "inferred", f"UTC{y:+d} (inferred from the quiet night hours)")
    return Clock(None, 0, "unknown", "UTC (no zone given and none could be inferred)")


def facility_clocks(ex: Executor, settings: Settings) -> pa.Table:
    """One row per facility of ``id_calls``: zone, offset, source and a description."""
    hist: dict[str | None, dict[str, dict[int, int]]] = {}
    for fac, season, hour, n in ex.fetchall(S.hour_histogram()):
        per = hist.setdefault(fac, {"winter": {}, "summer": {}, "year": {}})
        for key in (season, "year"):
            if key in per:
                per[key][int(hour)] = per[key].get(int(hour), 0) + int(n)
    rows = []
    for fac in sorted(hist, key=lambda f: (f is None, f or "")):
        zone = settings.facility_timezones.get(fac) if fac is not None else None
        if zone:
            clock = Clock(zone, 0, "case file", f"{zone} (case file)")
        else:
            h = hist[fac]
            clock = infer_clock(h["winter"], h["summer"], h["year"])
        rows.append(
            {
                "facility": fac,
                "zone": clock.zone,
                "offset_h": clock.offset_h,
                "source": clock.source,
                "description": clock.description,
            }
        )
    log.info("facility clocks: %s", {r["facility"]: r["description"] for r in rows})
    return pa.Table.from_pylist(rows, schema=SCHEMA)
