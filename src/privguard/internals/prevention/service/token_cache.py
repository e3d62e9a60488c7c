"""A short-lived cache of verified API tokens, for the decisions hot path.

A facility's switch sends a decision request at every call setup with the same token;
looking it up in the database each time cost a pooled connection, a thread hop and a
query per call. :class:`TokenCache` keeps the :class:`~.auth.Principal` of a token the
full route verified (:func:`~.auth.authenticate`) for :data:`TOKEN_CACHE_S` seconds:

* keyed by HMAC-SHA256 of the token under a random key made at start, so the cache never
  holds a token, nor the SHA-256 the database looks tokens up by;
* never past the token's own expiry;
* a revocation made by this process (:func:`~.auth.revoke_token`) empties the cache at
  once; one made by another process (a second service, the command line) is honoured
  within :data:`TOKEN_CACHE_S` seconds. That is the documented bound on how long a
  revoked token can still ask for decisions; every other route checks the database on
  each request.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from privguard.internals.prevention.service.auth import Principal, revocations

TOKEN_CACHE_S = 1.0
_MAX = 4096  # tokens held at once; past it the cache starts again (it is only a cache)


class TokenCache:
    """Principals of recently verified tokens (see the module doc)."""

    def __init__(
        self,
        ttl_s: float = TOKEN_CACHE_S,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._key = os.urandom(32)
        self._ttl = ttl_s
        self._monotonic = monotonic
        self._clock = clock
        self._lock = threading.Lock()
        self._items: dict[bytes, tuple[float, Principal]] = {}
        self._generation = revocations()
        self._inflight: dict[bytes, asyncio.Future[Principal | None]] = {}

    def _id(self, token: str) -> bytes:
        return hmac.new(self._key, token.encode("utf-8"), hashlib.sha256).digest()

    def get(self, token: str) -> Principal | None:
        """The principal of ``token`` if it was verified less than the time to live ago."""
        key = self._id(token)
        with self._lock:
            if self._generation != revocations():
                self._items.clear()
                self._generation = revocations()
            found = self._items.get(key)
            if found is None:
                return None
            if self._monotonic() >= found[0]:
                del self._items[key]
                return None
            return found[1]

    def put(self, token: str, principal: Principal) -> None:
        """Remember that ``token`` stands for ``principal`` (just verified)."""
        until = self._monotonic() + self._ttl
        if principal.expires_at is not None:
            left = (principal.expires_at - self._clock()).total_seconds()
            until = min(until, self._monotonic() + left)
        key = self._id(token)
        with self._lock:
            if len(self._items) >= _MAX:
                self._items.clear()
            self._items[key] = (until, principal)

    async def verify(
        self, token: str, lookup: Callable[[str], Principal | None]
    ) -> Principal | None:
        """The cached principal of ``token``, else ``lookup(token)`` (a database check) run
        in a thread and cached. However many requests carry the token when its entry
        expires, one lookup runs; the others await it (on the event loop's thread only)."""
        found = self.get(token)
        if found is not None:
            return found
        key = self._id(token)
        pending = self._inflight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(asyncio.to_thread(lookup, token))
            self._inflight[key] = pending
            pending.add_done_callback(lambda _done: self._inflight.pop(key, None))
        principal = await asyncio.shield(pending)
        if principal is not None:
            self.put(token, principal)
        return principal

    def clear(self) -> None:
        """Forget every token."""
        with self._lock:
            self._items.clear()
