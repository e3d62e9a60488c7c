"""Keyed pseudonyms (HMAC-SHA256) for everything meant to leave the case team.

The same value always gets the same pseudonym under the same case key, so a reader
can follow one person across the report, the letters and the exports without
learning who it is. The key stays with the case: ``case.key`` next to the output
folder (or the configured ``key_file``), created on first use, never inside OUT and
never in the manifest.

The SQL form is built from DuckDB's ``sha256`` using the HMAC definition
``H((k xor opad) || H((k xor ipad) || m))``; the key pads are passed to the engine as
statement parameters so that the key never appears in SQL text (which is logged).
"""

from __future__ import annotations

from privguard.internals.audit.engines.base import Executor
from privguard.internals.audit.sql import quote_literal
from privguard.internals.common.keys import (
    DIGITS,
    KEY_BYTES,
    PREFIXES,
    hmac_hex,
    key_path,
    load_key,
    pads,
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


def key_table_sql() -> str:
    """SQL creating the one-row table holding the pads (values bound as parameters)."""
    return "CREATE OR REPLACE TEMP TABLE pg_key AS SELECT unhex(?) AS ipad, unhex(?) AS opad"


def hmac_macro_sql() -> str:
    """SQL defining ``pg_hmac(m)``: HMAC-SHA256 of text ``m`` with the key in ``pg_key``."""
    return (
        "CREATE OR REPLACE TEMP MACRO pg_hmac(m) AS sha256("
        "(SELECT opad FROM pg_key) || unhex(sha256((SELECT ipad FROM pg_key) || encode(m))))"
    )


def pseudonym_sql(kind: str, expr: str) -> str:
    """SQL expression: the pseudonym of ``expr`` (NULL stays NULL), as :func:`pseudonym`."""
    prefix = quote_literal(f"{PREFIXES[kind]}-")
    label = quote_literal(f"{kind}:")
    value = f"CAST({expr} AS VARCHAR)"
    return (
        f"CASE WHEN {value} IS NULL THEN NULL "
        f"ELSE {prefix} || substr(pg_hmac({label} || {value}), 1, {DIGITS}) END"
    )


def install(executor: Executor, key: bytes) -> None:
    """Make ``pg_hmac`` available on ``executor`` for the given key."""
    ipad, opad = pads(key)
    executor.execute(key_table_sql(), [ipad, opad])
    executor.execute(hmac_macro_sql())


def uninstall(executor: Executor) -> None:
    """Forget the key on ``executor`` (a shared engine outlives the report stage)."""
    executor.execute("DROP MACRO IF EXISTS pg_hmac")
    executor.execute("DROP TABLE IF EXISTS pg_key")
