"""How many registry violations the dump probably hides: an estimate, never a count.

A call to a number on the do-not-record list whose only rows sit in tables that cannot say
whether it was recorded (a billing table with no recorded flag, no recording reference) is
neither counted as a violation nor as a lawful call: ``registered_calls_recording_unknown``.
Where the same facility's calls to listed numbers *are* stated (a recorded flag, a log of
calls with recording references), the share of them that were recorded anyway (an
administrator's override, a list that did not reach the switch) says how many of the
unknown ones were probably recorded too, if the unknown calls are like the stated ones:
which table a call's row ended up in does not depend on whether it was recorded. That holds
only for calls whose rows all sit in tables that can say nothing of recording (no flag, no
reference column): a call shown without a reference in a table of recording references is
unknown *because* no reference was written for it, so it is left out of the estimate and
counted apart (``calls_in_reference_tables``).

Per facility, with ``k`` of ``n`` stated completed calls to listed numbers recorded and ``u``
completed calls to listed numbers of unknown recording, the hidden violations follow a
beta-binomial law: ``u`` draws at a rate whose belief after the stated calls is
Beta(k + 1/2, n - k + 1/2) (Jeffreys' prior, so a facility with no stated recording still
gets a small, honest upper bound). The facilities are independent, so the law of the total
is the convolution of theirs, computed exactly (each law cut where its tails fall below
1e-12); the estimate is its mean and the 95 % interval its 2.5th and 97.5th percentiles, in
whole calls (exact rather than a normal approximation, because at small counts the law is
skewed; ``tests/test_hidden_violations.py`` measures the coverage on draws of known truth).
Facilities with fewer than ``min_calls`` stated calls give no estimate: their unknown calls
are reported as not estimated. Calls whose completion is unknown are not estimated either
(the rate is measured on completed calls); they are counted apart too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

_TAIL = 1e-12  # each facility's law is cut where its tails hold less than this


def _beta_binomial(u: int, k: int, n: int) -> tuple[int, np.ndarray]:
    """The law of the recorded among ``u`` calls after ``k`` of ``n`` stated were: the first
    value it covers and the probabilities from there (tails under :data:`_TAIL` cut)."""
    a, b = k + 0.5, n - k + 0.5
    lg = np.vectorize(math.lgamma, otypes=[float])
    x = np.arange(u + 1, dtype=float)
    log_p = (
        math.lgamma(u + 1) - lg(x + 1) - lg(u - x + 1)
        + lg(x + a) + lg(u - x + b) - math.lgamma(u + a + b)
        - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
    )  # fmt: skip
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    keep = np.flatnonzero(p >= _TAIL)
    first, last = int(keep[0]), int(keep[-1])
    return first, p[first : last + 1]


def _percentile(first: int, p: np.ndarray, q: float) -> int:
    """The smallest whole count whose cumulative probability reaches ``q``."""
    cdf = np.cumsum(p) / p.sum()
    return first + int(np.searchsorted(cdf, q - 1e-12))


def estimate_hidden(
    practice: Iterable[Mapping[str, Any]],
    unknown: Mapping[str, int],
    min_calls: int,
    *,
    in_reference_tables: int = 0,
    completion_unknown: int = 0,
) -> dict[str, Any]:
    """The violations probably hidden among the calls of unknown recording.

    ``practice`` is the summary's ``recording_practice`` (facility, registered, stated,
    recorded); ``unknown`` the completed calls to listed numbers of unknown recording, per
    facility, whose rows all sit in tables that can say nothing of recording;
    ``in_reference_tables`` the others, which a table of recording references shows without
    one (never estimated: see ``sql.hidden_violations_query``); ``completion_unknown`` the
    calls to listed numbers whose completion is unknown too (never estimated).

    Returns ``estimate`` (rounded mean), ``low`` and ``high`` (the 95 % interval, whole
    calls), ``calls_estimated``, ``calls_not_estimated`` (too few stated calls at their
    facility), ``calls_in_reference_tables``, ``calls_completion_unknown`` and
    ``by_facility`` (facility, unknown, stated, recorded, estimate) for the facilities
    estimated."""
    stated = {
        str(r["facility"]): (int(r["recorded"]), int(r["stated"]))
        for r in practice
        if r.get("registered")
    }
    first, law = 0, np.ones(1)
    mean = 0.0
    estimated = skipped = 0
    rows = []
    for fac in sorted(unknown):
        u = int(unknown[fac])
        if u <= 0:
            continue
        k, n = stated.get(fac, (0, 0))
        if n < min_calls:
            skipped += u
            continue
        lo, p = _beta_binomial(u, k, n)
        m = u * (k + 0.5) / (n + 1)
        first, law, mean = first + lo, np.convolve(law, p), mean + m
        estimated += u
        rows.append(
            {"facility": fac, "unknown": u, "stated": n, "recorded": k, "estimate": round(m, 2)}
        )
    return {
        "estimate": round(mean),
        "low": _percentile(first, law, 0.025),
        "high": _percentile(first, law, 0.975),
        "calls_estimated": estimated,
        "calls_not_estimated": skipped,
        "calls_in_reference_tables": int(in_reference_tables),
        "calls_completion_unknown": int(completion_unknown),
        "by_facility": rows,
        "method": (
            "per facility, the share of its stated completed calls to listed numbers that were "
            "recorded, applied to its completed calls to listed numbers of unknown recording "
            "whose rows all sit in tables that say nothing of recording (beta-binomial, "
            "Jeffreys prior; 95 % interval: the 2.5th to 97.5th percentiles)"
        ),
    }
