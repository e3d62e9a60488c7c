"""Call records and links: the 2015 leak was call records with a download link on each.

* :func:`query_calls` and :func:`export_calls`: call records (no content) go through the
  same admitted, reason-bearing, volume-limited and logged access as recordings. Records
  of privileged or quarantined calls are withheld from every role but the auditor's.
* :func:`issue_link` / :func:`redeem_link`: a playback or download link is a token that
  works only for the user it was issued to (who must still sign in), for its case and
  reason, and for a few minutes (HMAC-SHA256 under a key outside the database). There is
  no link that works without authentication.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from privguard.errors import InputError
from privguard.internals.prevention import db
from privguard.internals.prevention.vault.access import AccessContext
from privguard.internals.prevention.vault.models import Recording
from privguard.internals.prevention.vault.vault import Content, Vault, aware, call_of, e164

MAX_LINK_SECONDS = 900
SEES_PRIVILEGED = ("auditor",)  # oversight sees that privileged calls exist, never content
COLUMNS = ("id", "started_utc", "facility", "inmate_account", "dialed_number", "duration_s",
           "state", "sha256")  # fmt: skip


@dataclass(frozen=True)
class CallRecords:
    """The call records a query returned, and how many it withheld."""

    rows: list[dict[str, Any]]
    withheld: int


def _describe(inmate: str | None, number: str | None, start: object, end: object) -> str:
    parts = [f"inmate:{inmate}" if inmate else "", f"number:{number}" if number else ""]
    parts += [f"from:{start}" if start else "", f"to:{end}" if end else ""]
    return " ".join(p for p in parts if p) or "all"


def query_calls(
    vault: Vault,
    ctx: AccessContext,
    *,
    inmate_account: str | None = None,
    number: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    limit: int = 1000,
    action: str = "query",
) -> CallRecords:
    """Call records matching the filters (at least one), logged with their count."""
    num = e164(number) if number else None
    what = _describe(inmate_account, num, start, end)
    vault.admit(ctx, action, what)
    if not (inmate_account or num or start or end):
        raise InputError(
            "a call-record query needs a filter",
            fix="give an inmate account, a dialed number or dates to look for",
        )
    stmt = select(Recording).order_by(Recording.started_at, Recording.id).limit(max(1, limit))
    if inmate_account:
        stmt = stmt.where(Recording.inmate_account == inmate_account.strip())
    if num:
        stmt = stmt.where(Recording.dialed_number == num)
    if start:
        stmt = stmt.where(Recording.started_at >= aware(start))
    if end:
        stmt = stmt.where(Recording.started_at < aware(end))
    with db.transaction(vault.factory) as session:
        found = session.scalars(stmt).all()
        privileged = vault.oracle.reasons(session, [call_of(r) for r in found])
        rows, withheld = [], 0
        for r in found:
            hidden = r.state != "stored" or r.id in privileged
            if hidden and ctx.role not in SEES_PRIVILEGED:
                withheld += 1
                continue
            rows.append({
                "id": r.id, "started_utc": f"{aware(r.started_at):%Y-%m-%dT%H:%M:%SZ}",
                "facility": r.facility, "inmate_account": r.inmate_account,
                "dialed_number": r.dialed_number, "duration_s": r.duration_s,
                "state": "privileged" if hidden and r.state == "stored" else r.state,
                "sha256": r.sha256,
            })  # fmt: skip
        outcome = vault.volume(session, ctx, len(rows))
        if outcome != "refused":
            vault.log.record(session, ctx, action, what, outcome, items=len(rows),
                             detail=f"withheld {withheld}")  # fmt: skip
            return CallRecords(rows, withheld)
    vault.refuse(ctx, action, what, f"{len(rows)} call records: over the daily volume")


def export_calls(vault: Vault, ctx: AccessContext, out: Path, **filters: Any) -> CallRecords:
    """:func:`query_calls` (as an ``export``) written to a new CSV file ``out``."""
    out = Path(out)
    if out.exists():
        raise InputError(
            "the export file already exists; privguard never writes over a file",
            where=str(out),
            fix="give --out a file name that does not exist yet",
        )
    result = query_calls(vault, ctx, action="export", **filters)
    with out.open("x", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, COLUMNS)
        writer.writeheader()
        writer.writerows(result.rows)
    return result


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_link(
    vault: Vault, ctx: AccessContext, recording_id: str, action: str = "play", seconds: int = 300
) -> str:
    """A token for ``recording_id`` bound to ``ctx`` (user, role, case, reason), expiring."""
    if action not in ("play", "download"):
        raise InputError(f"links are for play or download, not {action!r}")
    if not 0 < seconds <= MAX_LINK_SECONDS:
        raise InputError(f"a link lives 1 to {MAX_LINK_SECONDS} seconds", where="seconds")
    vault.admit(ctx, action, recording_id)
    vault.admit(ctx, "link", recording_id)
    claims = {"r": recording_id, "a": action, "u": ctx.actor, "o": ctx.role, "c": ctx.case,
              "w": ctx.reason, "e": int(time.time()) + seconds}  # fmt: skip
    body = _b64(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
    sig = _b64(hmac.new(vault.link_key, body.encode(), hashlib.sha256).digest())
    with db.transaction(vault.factory) as session:
        vault.log.record(session, ctx, "link", recording_id, "ok", detail=f"{action} {seconds}s")
    return f"{body}.{sig}"


def redeem_link(vault: Vault, token: str, actor: str, source: str = "unknown") -> Content:
    """The recording behind ``token`` for the signed-in ``actor`` it was issued to."""
    ctx = AccessContext(actor, "unknown", source=source)
    body, _, sig = token.partition(".")
    try:
        good = hmac.compare_digest(
            _unb64(sig), hmac.new(vault.link_key, body.encode(), hashlib.sha256).digest()
        )
        claims = json.loads(_unb64(body)) if good else {}
    except (ValueError, TypeError):
        good, claims = False, {}
    if not good:
        vault.refuse(ctx, "link", "token", "the link is not valid")
    ctx = AccessContext(actor, claims["o"], claims["c"], claims["w"], source)
    if claims["u"] != actor:
        vault.refuse(ctx, "link", claims["r"], "the link was issued to another user")
    if claims["e"] < time.time():
        vault.refuse(ctx, "link", claims["r"], "the link has expired")
    return vault.read(ctx, claims["r"], claims["a"])
