"""Cheap canonicalization of a dialed number at call setup (no libphonenumber).

Registration parses every number fully (``common.phones.to_e164``) and stores E.164; at
call time the platform hands over whatever its switch dialed, and the gate only needs to
turn that into the same E.164 text to look it up. This module does that with string
operations only, so a decision stays within microseconds:

* ``+`` then 8 to 15 digits: international E.164 as dialed (``+1`` must have 11 digits);
* ``011`` then digits: the North American international prefix, becomes ``+``;
* 10 digits ``NXXNXXXXXX``: North American, becomes ``+1...``;
* 11 digits ``1NXXNXXXXXX``: North American with the trunk prefix, becomes ``+...``;
* an extension (``x``, ``ext``, ``extension``, ``#``, ``;ext=``) is cut off: a registered
  main line is protected whatever extension follows it;
* spaces, ``- . ( ) /`` are separators; anything else (letters, a second ``+``) makes the
  number unparseable, and an unparseable number is never recorded.
"""

from __future__ import annotations

import re

_EXT = re.compile(r"\s*(?:;\s*ext=|ext\.?|extension|x|#).*$", re.IGNORECASE | re.DOTALL)
_SEPARATORS = str.maketrans("", "", " -.()/\t")
_NANP_LEN = 11
_E164_MIN, _E164_MAX = 8, 15


def _nanp_ok(d: str) -> bool:
    # d is the 10 digits after the country code: area code and exchange start with 2-9.
    return d[0] >= "2" and d[3] >= "2"


def canonical(raw: object) -> str | None:
    """The E.164 text of a dialed number, or None when it cannot be read cheaply."""
    if not isinstance(raw, str):
        return None
    s = raw.strip()
    if not s or not s.isascii():
        return None
    if s[0] == "+" and s[1:].isdigit():  # already E.164: the common case, fastest path
        digits, plus = s[1:], True
    else:
        bare = s.translate(_SEPARATORS)
        # Only digits left (and a leading +): no extension to cut, so no regex needed.
        s = bare if bare.lstrip("+").isdigit() else _EXT.sub("", s).translate(_SEPARATORS)
        plus = s.startswith("+")
        digits = s[1:] if plus else s
        if not digits.isdigit():
            return None
        if not plus and digits.startswith("011"):
            digits, plus = digits[3:], True
    if plus:
        if not _E164_MIN <= len(digits) <= _E164_MAX:
            return None
        if digits[0] == "1" and (len(digits) != _NANP_LEN or not _nanp_ok(digits[1:])):
            return None
        if digits[0] == "0":
            return None
        return "+" + digits
    if len(digits) == _NANP_LEN - 1 and _nanp_ok(digits):
        return "+1" + digits
    if len(digits) == _NANP_LEN and digits[0] == "1" and _nanp_ok(digits[1:]):
        return "+" + digits
    return None
