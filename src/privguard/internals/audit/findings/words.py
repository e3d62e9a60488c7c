"""The headline's sentences, written from the summary's figures (no engine, no files).

:func:`headline` is the sentence ``summary.json`` carries; the phrases it is built from say
what was stated, inferred (and from which facility's practice) and unknown, never a false 0.
"""

from __future__ import annotations

from typing import Any


def _n(value: int) -> str:
    return f"{value:,}"


def completion_words(v: dict[str, Any], prefix: str = "privileged_calls") -> str:
    """How many calls completed, saying what was inferred and what is unknown: never a false 0.

    ``prefix`` picks the summary's keys: ``privileged_calls`` or ``calls``."""
    total = int(v.get(prefix, 0))
    done = int(v.get("completed_" + prefix, 0))
    inferred = int(v.get(f"{prefix}_completion_inferred", 0))
    unknown = int(v.get(f"{prefix}_completion_unknown", 0))
    if total and unknown == total:
        return "completion unknown: no record states it or shows a duration or recording"
    text = f"{_n(done)} completed"
    if inferred:
        text += (
            f"; completion of {_n(inferred)} inferred from their duration, billed minutes or "
            "recording, as no record states it"
        )
    if unknown:
        text += f"; unknown for {_n(unknown)}"
    return text


def _pct(recorded: int, stated: int) -> str:
    share = 100.0 * recorded / stated if stated else 0.0
    # Never round a short share up to "100.0 %".
    text = f"{share:.1f}" if recorded == stated or share < 99.95 else "99.9"
    return f"{text} %"


def practice_words(v: dict[str, Any], registered: bool) -> str:
    """The facilities whose practice made calls of one kind inferred recorded: "calls to
    numbers not on the do-not-record list: facility F recorded 99.8 % of the 1,234 completed
    calls whose recording the records state, facility G 100.0 % of 567", at most three."""
    rows = [
        r
        for r in v.get("recording_practice") or []
        if r["registered"] is registered and r["inferred_calls"]
    ]
    rows.sort(key=lambda r: (-r["inferred_calls"], r["facility"]))
    kind = (
        "calls to numbers on the do-not-record list at the time"
        if registered
        else "calls to numbers not on the do-not-record list"
    )
    named = [
        f"facility {r['facility'] or '(unknown)'} "
        + (
            f"recorded {_pct(r['recorded'], r['stated'])} of the {_n(r['stated'])} completed "
            "calls whose recording the records state"
            if i == 0
            else f"{_pct(r['recorded'], r['stated'])} of {_n(r['stated'])}"
        )
        for i, r in enumerate(rows[:3])
    ]
    extra = len(rows) - 3
    more = f", and {extra} more facilit{'y' if extra == 1 else 'ies'} likewise" if extra > 0 else ""
    return f"{kind}: {', '.join(named)}{more}"


def recording_words(v: dict[str, Any]) -> str:
    """How the recorded figures are known: shown, inferred (and why), unknown (a floor)."""
    text = ""
    inferred = int(v.get("privileged_calls_recorded_inferred", 0))
    if inferred:
        shown = int(v.get("privileged_calls_recorded_shown", 0))
        text += (
            f" Of the {_n(v['privileged_calls_recorded'])} recorded calls, {_n(shown)} were "
            f"shown recorded in the records; {_n(inferred)} more were inferred recorded: no "
            "record says whether they were, but each was completed and its facility records "
            "nearly every such call ("
            + "; ".join(
                practice_words(v, reg)
                for reg in (False, True)
                if any(
                    r["registered"] is reg and r["inferred_calls"]
                    for r in v.get("recording_practice") or []
                )
            )
            + ")."
        )
        vi = int(v.get("registry_violations_inferred", 0))
        if vi:
            text += (
                f" Of the {_n(v['registry_violations'])} violations, "
                f"{_n(v.get('registry_violations_shown', 0))} were shown recorded in the "
                f"records and {_n(vi)} were inferred recorded."
            )
    unknown = int(v.get("privileged_calls_recording_unknown", 0))
    if unknown:
        floor = " and the violations" if v.get("registered_calls_recording_unknown") else ""
        settle = ", nor does their facility's practice settle it" if inferred else ""
        text += (
            f" For {_n(unknown)} more calls to attorney numbers no record says whether they "
            f"were recorded{settle}, so the recorded figures{floor} are a floor."
        )
    return text


def hidden_words(v: dict[str, Any]) -> str:
    """The violations the calls of unknown recording probably hide: an estimate, said so."""
    e = v.get("registry_violations_hidden_estimate") or {}
    calls = int(e.get("calls_estimated") or 0)
    if not calls:
        return ""
    rows = e.get("by_facility") or []
    k = sum(int(r["recorded"]) for r in rows)
    n = sum(int(r["stated"]) for r in rows)
    text = (
        f" Of the {_n(calls)} completed calls to numbers on the list whose recording no record "
        f"states, about {_n(int(e['estimate']))} (95 % interval {_n(int(e['low']))} to "
        f"{_n(int(e['high']))}) were probably recorded too, at the rate their facilities "
        f"recorded the calls to listed numbers whose recording the records state ({_n(k)} of "
        f"{_n(n)}): an estimate, counted in no figure."
    )
    skipped = int(e.get("calls_not_estimated") or 0)
    if skipped:
        text += (
            f" {_n(skipped)} more such calls are not estimated: their facilities state the "
            "recording of too few calls to listed numbers."
        )
    refs = int(e.get("calls_in_reference_tables") or 0)
    if refs:
        text += (
            f" {_n(refs)} more such calls sit in tables of recording references that give "
            "none for them, so they were probably not recorded; they are not estimated."
        )
    incomplete = int(e.get("calls_completion_unknown") or 0)
    if incomplete:
        text += (
            f" For {_n(incomplete)} more calls to listed numbers no record says whether they "
            "were completed either; they are not estimated."
        )
    return text


def headline(v: dict[str, Any]) -> str:
    """The sentence a journalist would write, from the summary figures."""
    first = (v.get("first_call") or "?")[:10]
    last = (v.get("last_call") or "?")[:10]
    text = (
        f"{_n(v['calls'])} calls from {_n(v['inmates'])} inmates to {_n(v['unique_numbers'])} "
        f"numbers between {first} and {last}: {_n(v['privileged_calls'])} calls "
        f"({completion_words(v)}) went to {_n(v['attorney_numbers'])} "
        f"attorney numbers, and {_n(v['privileged_calls_recorded'])} of them were recorded"
    )
    if v["registry_violations"]:
        text += (
            f", {_n(v['registry_violations'])} of those although the number was on the "
            "do-not-record list at the time"
        )
        if v.get("registry_entries_undated"):
            text += (
                f" (the list gives no date added for {_n(v['registry_entries_undated'])} of its "
                "entries; those are taken as listed from the start, so their violations are "
                "only as sure as that)"
            )
    text += "." + recording_words(v) + hidden_words(v)
    missing = v.get("candidate_features_missing") or []
    if missing:
        text += (
            " No call in the dump has a completed duration, so numbers were judged as "
            "attorneys' without looking at how long their calls lasted."
        )
    if v["candidate_numbers"]:
        text += (
            f" A further {_n(v['candidate_numbers'])} numbers look like attorneys' from their "
            f"calls ({_n(v['candidate_calls'])} calls, {_n(v['candidate_calls_recorded'])} "
            "recorded) and await review."
        )
    return text
