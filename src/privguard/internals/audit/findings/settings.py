"""Settings of the findings stage (see :mod:`privguard.internals.audit.settings`).

``[findings]`` keys, all optional::

    infer_recording = true          # infer "recorded" from a facility's demonstrated practice
    recording_practice_share = 0.99 # ... when it recorded at least this share of its stated calls
    recording_practice_calls = 100  # ... over at least this many stated calls

Where no record says whether a completed call was recorded, findings infers it was when the
call's facility recorded at least ``recording_practice_share`` of the completed calls of the
same kind (to a number on, or not on, the do-not-record list at the time) whose recording a
recorded flag, or a log of calls with recording links for some calls and none for others,
states, counted over at least ``recording_practice_calls`` such calls. With
100 stated calls all recorded, the facility's true share is above 97 % with 95 % confidence
(the rule of three); a facility that honours its list records few of the listed numbers'
calls, so no call to a listed number is inferred recorded there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from privguard.errors import Problems
from privguard.internals.audit.section import open_section

_KEYS = ("infer_recording", "recording_practice_share", "recording_practice_calls")


@dataclass(frozen=True)
class Settings:
    """Validated settings of the findings stage."""

    infer_recording: bool = True
    recording_practice_share: float = 0.99
    recording_practice_calls: int = 100


def parse(section: Any, problems: Problems) -> Settings:
    """Validate the ``[findings]`` section, adding every problem to ``problems``."""
    section = open_section(section, "[findings]", _KEYS, problems)
    if section is None:
        return Settings()
    values: dict[str, Any] = {}
    infer = section.get("infer_recording")
    if infer is not None:
        if isinstance(infer, bool):
            values["infer_recording"] = infer
        else:
            problems.add("[findings] infer_recording must be true or false")
    share = section.get("recording_practice_share")
    if share is not None:
        # Below 0.9 "the facility records every call" is no longer what the data shows.
        if isinstance(share, (int, float)) and not isinstance(share, bool) and 0.9 <= share <= 1:
            values["recording_practice_share"] = float(share)
        else:
            problems.add(
                "[findings] recording_practice_share must be a number from 0.9 to 1 "
                "(the share of stated calls a facility must have recorded)"
            )
    calls = section.get("recording_practice_calls")
    if calls is not None:
        if isinstance(calls, int) and not isinstance(calls, bool) and calls >= 10:
            values["recording_practice_calls"] = calls
        else:
            problems.add(
                "[findings] recording_practice_calls must be a whole number of at least 10"
            )
    return Settings(**values)
