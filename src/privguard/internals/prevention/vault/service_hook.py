"""The hook the service's registry routes call when numbers become protected."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from privguard.internals.prevention.vault.access import AccessContext

log = logging.getLogger(__name__)


def quarantine_registered(app: Any, numbers: Iterable[str], actor: str) -> list[str]:
    """Quarantine, at once, the recordings of calls to numbers just registered.

    Called after the registration committed; a failure here is logged loudly and does not
    undo the registration (reads check the registry again anyway, and refuse).
    """
    from privguard.internals.prevention.service.routes_vault import vault_of
    from privguard.internals.prevention.vault.protect import quarantine_numbers

    wanted = [n.split(";", 1)[0] for n in numbers]  # "+1512...;ext=12" -> the number
    if not wanted:
        return []
    # The registry acts, on behalf of whoever verified the numbers (an attorney's directory
    # match or a registrar): logged as the registry, with that person in the reason.
    ctx = AccessContext(
        "registrar:registry-hook", "registrar", "", f"registered by {actor}", "service"
    )
    try:
        return quarantine_numbers(vault_of(app), ctx, wanted)
    except Exception:
        log.exception("quarantine after registration failed for %d number(s)", len(wanted))
        return []
