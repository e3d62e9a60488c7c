"""The calls themselves, one time window at a time, fully vectorized."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from privguard.internals.synth.clock import local_to_utc, utc_offsets
from privguard.internals.synth.population import (
    K_ATT,
    K_BAIL,
    K_COURT,
    K_FAM,
    K_HOT,
    K_OTHER,
    K_PD,
    Population,
)

STATUSES: tuple[str, ...] = ("completed", "refused", "no_answer", "blocked")
_STATUS_P = np.array([0.80, 0.07, 0.09, 0.04])


def _profile(hours: dict[tuple[int, int], float]) -> np.ndarray:
    p = np.full(24, 0.0)
    for (a, b), w in hours.items():
        p[a:b] = w
    shares: np.ndarray = p / p.sum()
    return shares


# Local hour-of-day profiles (weekday, weekend) and the weight of weekend days per kind.
_Hours = dict[tuple[int, int], float]
_DAY: _Hours = {(7, 9): 1, (9, 12): 3, (12, 14): 2.5, (14, 17): 3, (17, 20): 1.5, (20, 23): 0.6}
_EVENING: _Hours = {(7, 12): 1, (12, 17): 1.5, (17, 22): 4, (22, 23): 1.5}
_BUSINESS: _Hours = {(8, 9): 1, (9, 12): 4, (12, 13): 2, (13, 17): 4, (17, 18): 1}
_ANY: _Hours = {(0, 6): 0.5, (6, 9): 1, (9, 22): 2, (22, 24): 1}
_PROFILES: dict[int, tuple[_Hours, _Hours, float]] = {
    K_ATT: (_BUSINESS, _DAY, 0.06),
    K_PD: (_BUSINESS, _BUSINESS, 0.03),
    K_FAM: (_EVENING, _EVENING, 1.4),
    K_BAIL: (_ANY, _ANY, 1.0),
    K_COURT: ({(8, 12): 3, (12, 13): 1, (13, 16): 3}, {(9, 10): 1}, 0.02),
    K_HOT: (_ANY, _ANY, 1.0),
    K_OTHER: (_DAY, _EVENING, 0.9),
}
HOUR_CDF = np.zeros((7, 2, 24))
WEEKEND_W = np.zeros(7)
for _k, (_wd, _we, _w) in _PROFILES.items():
    HOUR_CDF[_k, 0] = np.cumsum(_profile(_wd))
    HOUR_CDF[_k, 1] = np.cumsum(_profile(_we))
    WEEKEND_W[_k] = _w
# Median talk time in seconds per kind; jail calls are cut off at 20 minutes.
_MEDIAN_S = np.array([480.0, 360.0, 720.0, 120.0, 90.0, 240.0, 300.0])
MAX_CALL_S = 1200


@dataclass
class Calls:
    """One window of calls, sorted by true UTC start."""

    call_id: np.ndarray
    facility: np.ndarray
    zone: np.ndarray  # index into clock.ZONES
    inmate: np.ndarray
    number: np.ndarray
    kind: np.ndarray
    utc_s: np.ndarray  # epoch seconds
    offset_s: np.ndarray  # local UTC offset at the start
    duration_s: np.ndarray
    status: np.ndarray  # index into STATUSES
    recorded: np.ndarray

    def __len__(self) -> int:
        return len(self.call_id)


def generate(
    pop: Population,
    rng: np.random.Generator,
    day0: int,
    day1: int,
    n: int,
    first_id: int,
    override_rate: float,
) -> Calls:
    """``n`` calls whose local day falls in ``[day0, day1)``; ids start at ``first_id``."""
    w = pop.inmate_weight * ((pop.inmate_from < day1) & (pop.inmate_to > day0))
    if w.sum() == 0:
        w = pop.inmate_weight.copy()
    cw = np.cumsum(w)
    inmate = np.searchsorted(cw, rng.random(n) * cw[-1], side="right")
    inmate = np.minimum(inmate, len(cw) - 1)
    pick = np.searchsorted(pop.contact_key, inmate + rng.random(n), side="left")
    number = pop.contact_num[np.minimum(pick, len(pop.contact_num) - 1)]
    kind = pop.num_kind[number].astype(np.int64)
    fac = pop.inmate_fac[inmate].astype(np.int64)
    zone_of_fac = np.array([f.zone_idx for f in pop.facilities])
    zone = zone_of_fac[fac]

    day = rng.integers(day0, day1, size=n)
    for _ in range(4):  # thin weekends for kinds that rarely call on them
        weekend = ((day + 3) % 7) >= 5  # 1970-01-01 was a Thursday
        redo = weekend & (rng.random(n) > np.minimum(WEEKEND_W[kind], 1.0))
        if not redo.any():
            break
        day[redo] = rng.integers(day0, day1, size=int(redo.sum()))
    weekend = ((day + 3) % 7) >= 5
    cdf = HOUR_CDF[kind, weekend.astype(np.int64)]
    hour = (cdf < rng.random(n)[:, None]).sum(axis=1)
    local_s = day * 86400 + np.minimum(hour, 23) * 3600 + rng.integers(0, 3600, size=n)
    utc_s = local_to_utc(local_s, zone)

    status = np.searchsorted(np.cumsum(_STATUS_P), rng.random(n), side="right")
    status = np.minimum(status, 3)
    talk = rng.lognormal(np.log(_MEDIAN_S[kind]), 0.8)
    dur = np.minimum(np.maximum(talk, 5), MAX_CALL_S).astype(np.int64)
    ring = np.where(rng.random(n) < 0.6, 0, rng.integers(3, 45, size=n))
    dur = np.where(status == 0, dur, ring)

    offset = utc_offsets(utc_s, zone)
    local_day = (utc_s + offset) // 86400
    rf, ru, rfac = pop.reg_from[number], pop.reg_until[number], pop.reg_fac[number]
    registered = (
        (rf >= 0) & (local_day >= rf) & ((ru < 0) | (local_day < ru)) & ((rfac < 0) | (rfac == fac))
    )
    applies = np.array([f.applies_registry for f in pop.facilities])[fac]
    override = rng.random(n) < override_rate
    recorded = (status == 0) & ~(registered & applies & ~override)

    order = np.argsort(utc_s, kind="stable")
    return Calls(
        call_id=first_id + np.arange(n, dtype=np.int64),
        facility=fac[order],
        zone=zone[order],
        inmate=inmate[order],
        number=number[order],
        kind=kind[order],
        utc_s=utc_s[order],
        offset_s=offset[order],
        duration_s=dur[order],
        status=status[order],
        recorded=recorded[order],
    )
