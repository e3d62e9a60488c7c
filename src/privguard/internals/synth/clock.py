"""Time zones without per-row Python: hourly offset tables built once per zone."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

# The leak ran December 2011 to spring 2014; the tables cover 2011-2015 with margin.
TABLE_START = int(dt.datetime(2011, 1, 1, tzinfo=dt.UTC).timestamp())
TABLE_HOURS = 5 * 366 * 24
PERIOD_START = dt.date(2011, 12, 1)
PERIOD_END = dt.date(2014, 5, 1)  # exclusive
ZONES: tuple[str, ...] = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
)


@lru_cache(maxsize=16)
def offset_table(zone: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Per UTC hour since TABLE_START: UTC offset in seconds and an index into abbreviations."""
    tz = ZoneInfo(zone)
    offsets = np.empty(TABLE_HOURS, dtype=np.int64)
    abbr_idx = np.empty(TABLE_HOURS, dtype=np.int8)
    abbrs: list[str] = []
    # Transitions fall on whole UTC hours, so one sample per hour is exact.
    base = dt.datetime.fromtimestamp(TABLE_START, dt.UTC)
    step = 24  # sample daily, then refine the few days that contain a transition
    prev = None
    for h in range(0, TABLE_HOURS, step):
        local = (base + dt.timedelta(hours=h)).astimezone(tz)
        off = int(local.utcoffset().total_seconds())  # type: ignore[union-attr]
        name = local.tzname() or zone
        if name not in abbrs:
            abbrs.append(name)
        key = (off, abbrs.index(name))
        if prev is not None and key != prev:
            for hh in range(h - step, h):
                lo = (base + dt.timedelta(hours=hh)).astimezone(tz)
                nm = lo.tzname() or zone
                if nm not in abbrs:
                    abbrs.append(nm)
                offsets[hh] = int(lo.utcoffset().total_seconds())  # type: ignore[union-attr]
                abbr_idx[hh] = abbrs.index(nm)
            offsets[h : h + step] = key[0]
            abbr_idx[h : h + step] = key[1]
        else:
            offsets[h : h + step] = key[0]
            abbr_idx[h : h + step] = key[1]
        prev = key
    return offsets, abbr_idx, tuple(abbrs)


def _hours(utc_s: np.ndarray) -> np.ndarray:
    hours: np.ndarray = np.clip((utc_s - TABLE_START) // 3600, 0, TABLE_HOURS - 1)
    return hours


def utc_offsets(utc_s: np.ndarray, zone_idx: np.ndarray) -> np.ndarray:
    """UTC offset in seconds for each (UTC epoch seconds, index into ZONES)."""
    out = np.zeros(len(utc_s), dtype=np.int64)
    hours = _hours(utc_s)
    for z, zone in enumerate(ZONES):
        sel = zone_idx == z
        if sel.any():
            out[sel] = offset_table(zone)[0][hours[sel]]
    return out


def zone_abbreviations(utc_s: np.ndarray, zone_idx: np.ndarray) -> np.ndarray:
    """The zone abbreviation in force (CST, CDT, MST, ...) for each row, as an object array."""
    out = np.empty(len(utc_s), dtype=object)
    hours = _hours(utc_s)
    for z, zone in enumerate(ZONES):
        sel = zone_idx == z
        if sel.any():
            _, idx, names = offset_table(zone)
            out[sel] = np.asarray(names, dtype=object)[idx[hours[sel]]]
    return out


def local_to_utc(local_s: np.ndarray, zone_idx: np.ndarray) -> np.ndarray:
    """Wall-clock seconds (as if UTC) to UTC epoch seconds; gap times land just after the gap."""
    std = np.zeros(len(local_s), dtype=np.int64)
    for z, zone in enumerate(ZONES):
        # Standard offset = the smaller offset of the zone (winter).
        std[zone_idx == z] = int(offset_table(zone)[0].min())
    guess = local_s - std
    utc: np.ndarray = local_s - utc_offsets(guess - 3600, zone_idx)
    return utc


def epoch_day(d: dt.date) -> int:
    """Days since 1970-01-01."""
    return (d - dt.date(1970, 1, 1)).days
