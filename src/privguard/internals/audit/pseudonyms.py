"""The keyed-pseudonym macro in SQL, for every stage that writes pseudonyms.

``pg_hmac(m)`` is HMAC-SHA256 under the case key, built from DuckDB's ``sha256`` with the
definition ``H((k xor opad) || H((k xor ipad) || m))``; the key pads are bound as statement
parameters so the key never appears in SQL text (which is logged). The identify stage (its
review sheet) and the report stage (report, letters, exports) both use it, so it lives
here, below both, and imports flow one way.
"""

from __future__ import annotations

from privguard.internals.audit.engines.base import Executor
from privguard.internals.audit.sql import quote_literal
from privguard.internals.common.keys import DIGITS, PREFIXES, pads


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
    """SQL expression: the pseudonym of ``expr`` (NULL stays NULL), as
    :func:`privguard.internals.common.keys.pseudonym`."""
    prefix = quote_literal(f"{PREFIXES[kind]}-")
    label = quote_literal(f"{kind}:")
    value = f"CAST({expr} AS VARCHAR)"
    return (
        f"CASE WHEN {value} IS NULL THEN NULL "
        f"ELSE {prefix} || substr(pg_hmac({label} || {value}), 1, {DIGITS}) END"
    )


def drop_key_sql() -> list[str]:
    """SQL forgetting ``pg_hmac`` and its key (a shared engine outlives a stage)."""
    return ["DROP MACRO IF EXISTS pg_hmac", "DROP TABLE IF EXISTS pg_key"]


def install(executor: Executor, key: bytes) -> None:
    """Make ``pg_hmac`` available on ``executor`` for the given key."""
    ipad, opad = pads(key)
    executor.execute(key_table_sql(), [ipad, opad])
    executor.execute(hmac_macro_sql())


def uninstall(executor: Executor) -> None:
    """Forget the key on ``executor``."""
    for stmt in drop_key_sql():
        executor.execute(stmt)
