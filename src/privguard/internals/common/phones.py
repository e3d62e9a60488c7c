"""Phone numbers to E.164: the libphonenumber fallback, run on distinct values only.

The vectorized North American fast path runs inside the engine (see
``phones_sql``); this module handles whatever it cannot, one *distinct* raw
value at a time, and is also used for the few numbers in directories.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers.geodata.locale import LOCALE_DATA

# A number a spreadsheet stored as a float ("5125550101.0").
_FLOAT_TAIL = re.compile(r"^(\d{7,15})\.0+$")
# A number a spreadsheet wrote in scientific notation ("2.12555E+09", "2.125550100e+09").
_SCI = re.compile(r"^(\d)(?:\.(\d*))?E\+?(\d{1,2})$", re.IGNORECASE)

# Why a number is not a valid phone number: the reason in ``number_status`` after
# "invalid: ", and the words a report reader sees. The fast path in the engine
# (audit/normalize/phones_sql.py) gives the NANP reasons, this module the others.
REASONS: dict[str, str] = {
    "empty": "no number written",
    "no digits": "text with no digits",
    "digits lost to scientific notation": "digits lost by a spreadsheet",
    "area code starts with 0 or 1": "area code starts with 0 or 1",
    "area code is an N11 service code": "N11 area code",
    "exchange starts with 0 or 1": "exchange starts with 0 or 1",
    "exchange is an N11 service code": "N11 exchange",
    "local number without area code": "local number without area code",
    "too short": "too short",
    "too long": "too long",
    "wrong length": "wrong length for its country",
    "unknown country code": "unknown country code",
    "not a phone number": "not a phone number",
    "not a valid number": "no such number",
    "country not recognized": "country not recognized",
}
_PARSE_REASONS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    phonenumbers.NumberParseException.NOT_A_NUMBER: "not a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
    phonenumbers.NumberParseException.TOO_LONG: "too long",
}
_LENGTH_REASONS = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    phonenumbers.ValidationResult.TOO_SHORT: "too short",
    phonenumbers.ValidationResult.TOO_LONG: "too long",
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "local number without area code",
    phonenumbers.ValidationResult.INVALID_LENGTH: "wrong length",
}
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
    sci = _SCI.match(text)
    if sci:
        whole, frac, exp = sci.group(1), sci.group(2) or "", int(sci.group(3))
        if len(frac) < exp or frac[exp:].strip("0"):
            return Number(None, None, "invalid: digits lost to scientific notation")
        text = whole + frac[:exp]
    ext = None
    m = _EXT.search(text)
    if m:
        ext, text = m.group(1), text[: m.start()]
    if not any(ch.isdigit() for ch in text):
        return Number(None, ext, "invalid: no digits")
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        return Number(
            None, ext, f"invalid: {_PARSE_REASONS.get(exc.error_type, 'not a phone number')}"
        )
    if parsed.extension and not ext:
        ext = parsed.extension
    if not phonenumbers.is_valid_number(parsed):
        possible = phonenumbers.is_possible_number_with_reason(parsed)
        reason = _LENGTH_REASONS.get(possible, "not a valid number")
        return Number(None, ext, f"invalid: {reason}")
    return Number(
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), ext, "valid"
    )


def reason_label(status: str | None) -> str:
    """The plain words for a ``number_status`` that is not ``valid`` ("N11 area code ...")."""
    reason = (status or "invalid: empty").removeprefix("invalid: ")
    return REASONS.get(reason, reason)


def split_numbers(cell: str | None) -> list[str]:
    """Split a directory cell that holds several numbers ("512-555-0101; cell (512) 555 0199")."""
    if not cell:
        return []
    parts = re.split(
        r"\s*(?:[;/|\n]|,(?!\s*(?:ext|x)\b)|\bor\b)\s*", str(cell), flags=re.IGNORECASE
    )
    return [p for p in (s.strip() for s in parts) if any(ch.isdigit() for ch in p)]


# Names people write for a country that libphonenumber's own names (every language it
# ships) do not cover: ISO alpha-3 codes and everyday names.
_COUNTRY_ALIASES = {
    "usa": "US",
    "us": "US",
    "u s": "US",
    "u s a": "US",
    "united states of america": "US",
    "america": "US",
    "uk": "GB",
    "u k": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "gbr": "GB",
    "can": "CA",
    "mex": "MX",
    "fra": "FR",
    "deu": "DE",
    "jpn": "JP",
    "chn": "CN",
    "hkg": "HK",
    "korea": "KR",
    "republic of korea": "KR",
    "russia": "RU",
    "holland": "NL",
    "the netherlands": "NL",
}


def _country_key(text: str) -> str:
    """Lowercase, accents and punctuation dropped: ``"Côte-d'Ivoire "`` -> ``"cote d ivoire"``."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[\W_]+", " ", plain.lower()).strip()


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Every country name libphonenumber knows, in every language, to its region code."""
    names: dict[str, str] = {}
    for region, by_lang in LOCALE_DATA.items():
        if region not in phonenumbers.SUPPORTED_REGIONS:
            continue
        for lang in sorted(by_lang, key=lambda x: x != "aa"):  # English ("aa") first
            name = by_lang[lang]
            if name.startswith("*"):
                name = by_lang.get(name[1:], "")
            if name and not name.startswith("*"):
                names.setdefault(_country_key(name), region)
        names.setdefault(region.lower(), region)
    names.update(_COUNTRY_ALIASES)
    return names


@lru_cache(maxsize=4096)
def country_region(text: str | None) -> str | None:
    """The region code (``GB``) for a country as a directory writes it, or None if unknown.

    Reads English and other names libphonenumber ships ("UNITED KINGDOM", "Royaume-Uni"),
    ISO codes ("GB", "GBR", "UK") and calling codes ("44", "+44"). A blank cell or a name
    not recognized gives None: the caller decides what an unknown country means.
    """
    if text is None or not str(text).strip():
        return None
    key = _country_key(str(text))
    if key.isdigit():
        region = phonenumbers.region_code_for_country_code(int(key))
        return None if region == phonenumbers.UNKNOWN_REGION else region
    return _country_names().get(key)
