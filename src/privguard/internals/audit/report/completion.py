"""How the report states completion: a count, what was inferred, or "unknown" (issue 11).

Never a false "0 completed": when no record states completion and nothing shows it, the
figure is "unknown"; when it was inferred (duration, billed minutes, a recording), the
report says how many were.
"""

from __future__ import annotations

from typing import Any


def _sub(key: str, s: dict[str, Any], what: str) -> str:
    v = s.get(key)
    return f'of which <b data-summary="{key}">{v:,}</b> {what}' if isinstance(v, int) else ""


def completion_known(s: dict[str, Any], prefix: str) -> bool:
    """False when no call of ``prefix`` (``calls``, ``privileged_calls``) has a known completion."""
    total, unknown = s.get(prefix), s.get(f"{prefix}_completion_unknown")
    return not (isinstance(total, int) and total > 0 and unknown == total)


def completion_sub(s: dict[str, Any], prefix: str) -> str:
    """ "of which N completed" with what was inferred and unknown, or "completion unknown"."""
    if not completion_known(s, prefix):
        return "completion unknown: no record states it or shows a duration or a recording"
    text = _sub(f"completed_{prefix}", s, "completed")
    inferred = s.get(f"{prefix}_completion_inferred")
    unknown = s.get(f"{prefix}_completion_unknown")
    if text and isinstance(inferred, int) and inferred:
        text += (
            f' (<b data-summary="{prefix}_completion_inferred">{inferred:,}</b> inferred from '
            "duration, billed minutes or a recording: no record states it)"
        )
    if text and isinstance(unknown, int) and unknown:
        text += f'; unknown for <b data-summary="{prefix}_completion_unknown">{unknown:,}</b>'
    return text


def recording_sub(s: dict[str, Any], key: str) -> str:
    """Under a recorded figure (``privileged_calls_recorded`` or ``registry_violations``): how
    many the records show, how many were inferred from the facility's practice and, for the
    recorded calls, for how many recording stays unknown (summaries before issue 11: "")."""
    inferred, shown = s.get(f"{key}_inferred"), s.get(f"{key}_shown")
    if not (isinstance(inferred, int) and isinstance(shown, int)):
        return ""
    text = (
        f'<b data-summary="{key}_shown">{shown:,}</b> shown recorded in the records, '
        f'<b data-summary="{key}_inferred">{inferred:,}</b> inferred from the facility\'s '
        "practice"
    )
    unknown = s.get("privileged_calls_recording_unknown")
    if key == "privileged_calls_recorded" and isinstance(unknown, int):
        text += (
            f'; <b data-summary="privileged_calls_recording_unknown">{unknown:,}</b> more unknown'
        )
    hidden = hidden_estimate(s)
    if key == "registry_violations" and hidden:
        text += (
            f"; about {hidden['estimate']:,} more probably hidden among calls of unknown "
            f"recording (an estimate, 95 % interval {hidden['low']:,} to {hidden['high']:,})"
        )
    return text


def hidden_estimate(s: dict[str, Any]) -> dict[str, Any] | None:
    """findings' estimate of the violations hidden among calls of unknown recording, when it
    estimated any calls (summaries before it: None)."""
    e = s.get("registry_violations_hidden_estimate")
    if not isinstance(e, dict) or not e.get("calls_estimated"):
        return None
    return e


def completed_cell(r: dict[str, Any]) -> str:
    """A table's "Completed" cell: the count, or "unknown", with what was inferred."""
    calls, done = r.get("calls", 0), r.get("completed", 0)
    unknown, inferred = r.get("completion_unknown", 0), r.get("completion_inferred", 0)
    if calls and unknown == calls:
        return "unknown"
    notes = [f"{n:,} {what}" for n, what in ((inferred, "inferred"), (unknown, "unknown")) if n]
    return f"{done:,}" + (f" ({'; '.join(notes)})" if notes else "")
