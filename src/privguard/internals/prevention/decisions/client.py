"""A client for ``POST /v1/decisions`` that fails closed: no answer in time is no recording."""

from __future__ import annotations

import logging
from typing import Any

import httpx

log = logging.getLogger(__name__)


def ask(
    client: httpx.Client,
    facility: str,
    inmate_account: str,
    dialed_number: str,
    private_call_declared: bool | None = None,
    *,
    timeout_s: float = 0.25,
) -> dict[str, Any]:
    """The service's decision; ``record`` is False (with a reason) on any error or delay.

    ``client`` carries the base URL and the ``facility_system`` bearer token. Only a
    well-formed 200 answer whose ``record`` is literally ``true`` can allow a recording.
    """
    body = {
        "facility": facility,
        "inmate_account": inmate_account,
        "dialed_number": dialed_number,
        "private_call_declared": private_call_declared,
    }
    try:
        resp = client.post("/v1/decisions", json=body, timeout=timeout_s)
    except httpx.TimeoutException:
        return {"record": False, "reason": "TIMEOUT"}
    except httpx.HTTPError as exc:
        log.error("decision service unreachable: %s", exc)
        return {"record": False, "reason": "SERVICE_UNAVAILABLE"}
    try:
        answer = resp.json()
    except ValueError:
        answer = None
    if resp.status_code != 200 or not isinstance(answer, dict):
        return {"record": False, "reason": f"HTTP_{resp.status_code}", "error": answer}
    if answer.get("record") is not True:
        answer["record"] = False
    return answer
