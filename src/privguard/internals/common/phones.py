"""Phone numbers to E.164: the libphonenumber fallback, run on distinct values only.

The vectorized North American fast path runs inside the engine (see
``phones_sql``); this module handles whatever it cannot, one *distinct* raw
value at a time, and is also used for the few numbers in directories.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

# A number a spreadsheet stored as a float ("5125550101.0").
_FLOAT_TAIL = re.compile(r"^(\d{7,15})\.0+$")
_EXT = re.compile(r"(?:\s*(?:ext\.?|extension|x|#)\s*(\d{1,6}))\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Number:
    """One parsed number: E.164 (or None), the extension, and ``valid`` or ``invalid: why``."""

    e164: str | None
    extension: str | None
    status: str


@lru_cache(maxsize=200_000)
def to_e164(raw: str | None, default_region: str = "US") -> Number:
    """Parse one raw number as a person wrote it into E.164, keeping the reason when invalid."""
    if raw is None or not str(raw).strip():
        return Number(None, None, "invalid: empty")
    text = _FLOAT_TAIL.sub(r"\1", str(raw).strip())
    ext = None
    m = _EXT.search(text)
    if m:
        ext, text = m.group(1), text[: m.start()]
    if not any(ch.isdigit() for ch in text):
        return Number(None, ext, "invalid: no digits")
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        return Number(None, ext, f"invalid: {exc._msg.lower().rstrip('.')}")
    if parsed.extension and not ext:
        ext = parsed.extension
    if not phonenumbers.is_valid_number(parsed):
        reason = "not a valid number"
        if not phonenumbers.is_possible_number(parsed):
            reason = "wrong length"
        return Number(None, ext, f"invalid: {reason}")
    return Number(
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), ext, "valid"
    )


def split_numbers(cell: str | None) -> list[str]:
    """Split a directory cell that holds several numbers ("512-555-0101; cell (512) 555 0199")."""
    if not cell:
        return []
    parts = re.split(
        r"\s*(?:[;/|\n]|,(?!\s*(?:ext|x)\b)|\bor\b)\s*", str(cell), flags=re.IGNORECASE
    )
    return [p for p in (s.strip() for s in parts) if any(ch.isdigit() for ch in p)]
