"""Keyed pseudonyms (HMAC-SHA256) for everything meant to leave the case team.

The same value always gets the same pseudonym under the same case key, so a reader
can follow one person across the report, the letters and the exports without
learning who it is. The key stays with the case: ``case.key`` next to the output
folder (or the configured ``key_file``), created on first use, never inside OUT and
never in the manifest.

The SQL form (:mod:`privguard.internals.audit.pseudonyms`, shared with the identify
stage's review sheet) uses DuckDB's ``sha256`` using the HMAC definition
``H((k xor opad) || H((k xor ipad) || m))``; the key pads are passed to the engine as
statement parameters so that the key never appears in SQL text (which is logged).
"""

from __future__ import annotations

from privguard.internals.audit.pseudonyms import install, pseudonym_sql, uninstall
from privguard.internals.common.keys import (
    KEY_BYTES,
    hmac_hex,
    key_path,
    load_key,
    pseudonym,
)

__all__ = [
    "KEY_BYTES",
    "hmac_hex",
    "install",
    "key_path",
    "load_key",
    "pseudonym",
    "pseudonym_sql",
    "uninstall",
]
