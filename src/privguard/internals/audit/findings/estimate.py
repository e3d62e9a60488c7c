"""How many registry violations the dump probably hides: an estimate, never a count.

A call to a number on the do-not-record list whose only rows sit in tables that cannot say
whether it was recorded (a billing table with no recorded flag, no recording reference) is
neither counted as a violation nor as a lawful call: ``registered_calls_recording_unknown``.
Where the same facility's calls to listed numbers *are* stated (a recorded flag, a log of
calls with recording references), the share of them that were recorded anyway (an
administrator's override, a list that did not reach the switch) says how many of the
unknown ones were probably recorded too, if the unknown calls are like the stated ones:
which table a call's row ended up in does not depend on whether it was recorded.

Per facility, with ``k`` of ``n`` stated completed calls to listed numbers recorded and ``u``
completed calls to listed numbers of unknown recording, the hidden violations follow a
beta-binomial law: ``u`` draws at a rate whose belief after the stated calls is
Beta(k + 1/2, n - k + 1/2) (Jeffreys' prior, so a facility with no stated recording still
gets a small, honest upper bound). The estimate is the sum of the facilities' means; the
95 % interval is the normal approximation of the sum (mean ± 1.96 standard deviations, the
facilities independent), cut at 0 and at the calls that could be hidden, and widened to
whole calls. Facilities with fewer than ``min_calls`` stated calls give no estimate: their
unknown calls are reported as not estimated. Calls whose completion is unknown are not
estimated either (the rate is measured on completed calls).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

_Z95 = 1.959963984540054  # the standard normal's 97.5th percentile


def _beta_binomial(u: int, k: int, n: int) -> tuple[float, float]:
    """Mean and variance of the recorded among ``u`` calls, after ``k`` of ``n`` stated."""
    a, b = k + 0.5, n - k + 0.5
    mean = u * a / (a + b)
    var = u * a * b * (a + b + u) / ((a + b) ** 2 * (a + b + 1))
    return mean, var


def estimate_hidden(
    practice: Iterable[Mapping[str, Any]], unknown: Mapping[str, int], min_calls: int
) -> dict[str, Any]:
    """The violations probably hidden among the calls of unknown recording.

    ``practice`` is the summary's ``recording_practice`` (facility, registered, stated,
    recorded); ``unknown`` the completed calls to listed numbers of unknown recording, per
    facility. Returns ``estimate`` (rounded mean), ``low`` and ``high`` (the 95 % interval,
    whole calls), ``calls_estimated``, ``calls_not_estimated`` and ``by_facility`` (facility,
    unknown, stated, recorded, estimate) for the facilities estimated."""
    stated = {
        str(r["facility"]): (int(r["recorded"]), int(r["stated"]))
        for r in practice
        if r.get("registered")
    }
    mean = var = 0.0
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
        m, v = _beta_binomial(u, k, n)
        mean, var = mean + m, var + v
        estimated += u
        rows.append(
            {"facility": fac, "unknown": u, "stated": n, "recorded": k, "estimate": round(m, 2)}
        )
    sd = math.sqrt(var)
    low = max(0, math.floor(mean - _Z95 * sd))
    high = min(estimated, math.ceil(mean + _Z95 * sd))
    return {
        "estimate": round(mean),
        "low": low,
        "high": high,
        "calls_estimated": estimated,
        "calls_not_estimated": skipped,
        "by_facility": rows,
        "method": (
            "per facility, the share of its stated completed calls to listed numbers that were "
            "recorded, applied to its completed calls to listed numbers of unknown recording "
            "(beta-binomial, Jeffreys prior; 95 % normal interval)"
        ),
    }
