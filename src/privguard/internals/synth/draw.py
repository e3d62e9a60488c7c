"""Small vectorized drawing helpers for the population: numbers, names, contact keys."""

from __future__ import annotations

import re

import numpy as np

from privguard.internals.synth import places

# Exchanges libphonenumber accepts that are not N11, 555 or special-purpose codes.
EXCHANGES = np.array(
    [e for e in range(200, 1000) if e % 100 != 11 and e not in (555, 950, 958, 959, 976)]
)
# Share of an inmate's calls per kind, before renormalizing over the kinds the inmate has.
KIND_SHARE = np.array([0.08, 0.05, 0.60, 0.05, 0.03, 0.03, 0.16])


def county(name: str) -> str:
    m = re.match(r"^(.*?(?:County|Parish))", name)
    return m.group(1) if m else name.split(" ")[0]


def numbers(rng: np.random.Generator, area: np.ndarray) -> np.ndarray:
    """Random valid NANP numbers with the given area codes (no N11, 555 or special exchanges)."""
    ex = rng.choice(EXCHANGES, size=len(area))
    line = rng.integers(0, 10_000, size=len(area))
    out: np.ndarray = area.astype(np.int64) * 10_000_000 + ex * 10_000 + line
    return out


def area_for_states(rng: np.random.Generator, states: np.ndarray) -> np.ndarray:
    out = np.empty(len(states), dtype=np.int64)
    for st in np.unique(states):
        sel = states == st
        out[sel] = rng.choice(places.AREA_CODES[str(st)], size=int(sel.sum()))
    return out


def person(rng: np.random.Generator, n: int) -> np.ndarray:
    first = rng.choice(places.FIRST_NAMES, size=n)
    last = rng.choice(places.LAST_NAMES, size=n)
    return np.array([f"{f} {la}" for f, la in zip(first, last, strict=True)], dtype=object)


def ramp(cnt: np.ndarray) -> np.ndarray:
    """0..c-1 for each count c, concatenated."""
    total = int(cnt.sum())
    starts = np.repeat(np.cumsum(cnt) - cnt, cnt)
    out: np.ndarray = np.arange(total) - starts
    return out


def firm(rng: np.random.Generator, name: str) -> str:
    last = name.split(" ", 1)[1]
    return str(
        rng.choice(
            [f"Law Office of {name}", f"{last} & Associates", f"{last} Defense PLLC", "", "Solo"]
        )
    )


def dedupe(rng: np.random.Generator, d: np.ndarray) -> np.ndarray:
    """Redraw the line digits of later duplicates until every number is unique."""
    while True:
        _, first = np.unique(d, return_index=True)
        dup = np.setdiff1d(np.arange(len(d)), first)
        if len(dup) == 0:
            return d
        d[dup] = (d[dup] // 10_000) * 10_000 + rng.integers(0, 10_000, len(dup))


def contact_keys(
    rng: np.random.Generator, inm: np.ndarray, num: np.ndarray, kind: np.ndarray, n_inm: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted search keys so that one searchsorted picks a weighted contact per call."""
    order = np.lexsort((num, inm))
    inm, num = inm[order], num[order]
    keep = np.ones(len(inm), bool)
    keep[1:] = (inm[1:] != inm[:-1]) | (num[1:] != num[:-1])
    inm, num = inm[keep], num[keep]
    k = kind[num].astype(np.int64)
    per_kind = np.bincount(inm * 7 + k, minlength=n_inm * 7)
    w = KIND_SHARE[k] / per_kind[inm * 7 + k] * rng.lognormal(0.0, 0.7, len(inm))
    tot = np.bincount(inm, weights=w, minlength=n_inm)
    cum = np.cumsum(w)
    first = np.searchsorted(inm, np.arange(n_inm))
    before = np.concatenate([[0.0], cum])[first]
    within = (cum - before[inm]) / tot[inm]
    return inm + np.minimum(within, 1.0) - 1e-12, num.astype(np.int64)
