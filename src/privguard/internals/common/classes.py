"""Number classes: how privguard names what a called number is, in both wings.

The audit writes them to ``numbers.parquet``; the registry reads them when it turns an
audit's attorney numbers into invitations to register.
"""

from __future__ import annotations

NUMBER_CLASSES: tuple[str, ...] = (
    "registered",  # on a do-not-record registry given to the audit
    "directory_attorney",  # listed in a bar or public-defender directory
    "confirmed",  # confirmed as an attorney's by a person in review
    "candidate",  # called in an attorney's pattern, not yet confirmed
    "other",
)
ATTORNEY_CLASSES: tuple[str, ...] = ("registered", "directory_attorney", "confirmed")

# How a privileged call's recording is known (``recorded_from`` in the audit's flags file),
# strongest first: shown by the records, or inferred from the facility's measured practice.
# The audit writes these words and the replay reads them, so they live here, once.
RECORDING_SOURCES: tuple[str, ...] = ("recording reference", "recorded flag", "facility practice")
INFERRED_BASIS = RECORDING_SOURCES[2]
