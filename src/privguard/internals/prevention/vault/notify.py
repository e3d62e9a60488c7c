"""The attorney is told: a purge queues a letter with the certificate for each attorney
whose registered number the purged calls went to.

Letters go to ``<data_dir>/vault/outbox/`` (one text file per attorney and purge, never
overwritten) for whoever sends the registry's mail; privguard sends nothing by itself.
A letter names the attorney's own numbers, the count and UTC dates of the calls and the
certificate, never content.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from privguard.internals.prevention.registry.models import Attorney, PrivilegedNumber
from privguard.internals.prevention.vault.models import Recording


def queue_letters(
    session: Session, outbox: Path, cert_id: str, ids: Sequence[str], certificate: str, vkey: str
) -> list[Path]:
    """Write one letter per attorney concerned; returns the files written."""
    calls: dict[str, list[dt.datetime]] = defaultdict(list)
    for number, started in session.execute(
        select(Recording.dialed_number, Recording.started_at).where(Recording.id.in_(list(ids)))
    ):
        calls[number].append(started)
    owners: dict[int, set[str]] = defaultdict(set)
    for number, attorney_id in session.execute(
        select(PrivilegedNumber.number, PrivilegedNumber.attorney_id).where(
            PrivilegedNumber.number.in_(sorted(calls))
        )
    ):
        owners[attorney_id].add(number)
    written = []
    outbox.mkdir(parents=True, exist_ok=True)
    for attorney_id, numbers in sorted(owners.items()):
        att = session.get(Attorney, attorney_id)
        if att is None:
            continue
        lines = [
            f"To: {att.name}" + (f" <{att.contact}>" if att.contact else ""),
            f"Subject: recordings of calls to your number(s) were destroyed ({cert_id})",
            "",
            "Recordings of calls from a facility to your registered number(s) were found in",
            "the recording vault and destroyed by cryptographic erase:",
        ]
        for number in sorted(numbers):
            days = ", ".join(sorted({f"{t:%Y-%m-%d}" for t in calls[number]}))
            lines.append(f"  {number}: {len(calls[number])} call(s) on {days} (UTC)")
        lines += [
            "",
            "The signed purge certificate follows. Check it offline with:",
            f"  privguard vault verify-certificate certificate.txt --key '{vkey}'",
            "It lists the backups that hold copies and must be destroyed too.",
            "",
            certificate,
        ]
        path = outbox / f"{cert_id}-attorney-{attorney_id}.txt"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines))
        written.append(path)
    return written
