"""Bar and public-defender feeds, imported again and again, idempotently.

A feed is one list (``--feed``, by default its source) read with the audit's directory
reader. Importing it makes the feed's active numbers equal the list: a number new to the
list is registered, one still listed is left alone (a re-import of the same list appends
nothing to the ledger), and one that disappeared is *ended* with a reason naming the
file, never dropped. A number already protected by another registration is left to it.
A number several attorneys share (an office's main line) is one registration, owned by
the first row listing it; every holder's name, bar number and row stay in its evidence.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from privguard.errors import InputError
from privguard.internals.common.custody import sha256_file
from privguard.internals.common.lists.sources import load_directory
from privguard.internals.prevention.ledger import Ledger
from privguard.internals.prevention.registry.journal import canonical, record, today
from privguard.internals.prevention.registry.models import (
    ALL_FACILITIES,
    FEED_SOURCES,
    Attorney,
    PrivilegedNumber,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeedResult:
    """What one import of a feed changed."""

    feed: str
    file: str
    sha256: str
    listed: int  # distinct numbers in the file
    added: int
    unchanged: int
    ended: int
    held_elsewhere: int  # listed, but already protected by another registration
    attorneys_added: int
    ledger_entries: int
    shared: int = 0  # numbers listed by more than one holder


def _attorney_key(name: str | None, bar: str | None, state: str) -> tuple[str, str, str]:
    if bar:
        return ("bar", state, bar.strip().upper())
    return ("name", state, " ".join((name or "").lower().split()))


def import_feed(
    session: Session,
    ledger: Ledger,
    path: Path,
    *,
    source: str,
    actor: str,
    feed: str | None = None,
    bar_state: str = "",
    at: dt.datetime | None = None,
) -> FeedResult:
    """Make the feed's active numbers equal the list in ``path`` (see module doc)."""
    if source not in FEED_SOURCES:
        raise InputError(
            f"{source!r} is not a feed source", fix="one of: " + ", ".join(FEED_SOURCES)
        )
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", where=str(path), fix="check the path of the feed")
    feed = feed or source
    digest = sha256_file(path)
    table = load_directory(path)
    listed: dict[str, dict[str, object]] = {}
    holders: dict[str, list[dict[str, object]]] = {}
    for r in table.to_pylist():
        listed.setdefault(r["number"], r)  # the first row listing a number owns it
        holders.setdefault(r["number"], []).append(r)
    state = bar_state.strip().upper()
    start = today(at)
    before = ledger.size(session)

    attorneys: dict[tuple[str, str, str], int] = {}
    for a in session.execute(
        select(Attorney.id, Attorney.name, Attorney.bar_number, Attorney.bar_state)
    ):
        attorneys.setdefault(_attorney_key(a.name, a.bar_number, a.bar_state), a.id)
    active = {
        n: (i, f)
        for n, i, f in session.execute(
            select(PrivilegedNumber.number, PrivilegedNumber.id, PrivilegedNumber.feed).where(
                PrivilegedNumber.status == "active", PrivilegedNumber.extension == ""
            )
        )
    }
    added = unchanged = held = new_attorneys = ended = 0
    total = len(listed)
    for done, (number, r) in enumerate(listed.items(), 1):
        have = active.get(number)
        if have is not None:
            if have[1] == feed:
                unchanged += 1
            else:
                held += 1
            continue
        key = _attorney_key(r["attorney_name"], r["bar_number"], state)  # type: ignore[arg-type]
        att_id = attorneys.get(key)
        if att_id is None:
            name = str(r["attorney_name"] or f"unnamed ({path.name} {r['source_place']})")
            att = Attorney(
                kind="attorney",
                name=name,
                bar_number=str(r["bar_number"] or ""),
                bar_state=state,
                contact="",
                office_id=None,
            )
            session.add(att)
            record(
                session,
                ledger,
                "attorney",
                att,
                actor=actor,
                action="attorney.added",
                reason=f"listed in {feed} {path.name}",
                at=at,
            )
            att_id = attorneys[key] = att.id
            new_attorneys += 1
        row = PrivilegedNumber(
            number=number,
            extension="",
            attorney_id=att_id,
            facilities=ALL_FACILITIES,
            effective_from=start,
            effective_to=None,
            source=source,
            feed=feed,
            evidence=canonical(_evidence(source, path.name, digest, r, holders[number])),
            request_id=None,
            status="active",
            ended_reason="",
        )
        session.add(row)
        record(
            session,
            ledger,
            "number",
            row,
            actor=actor,
            action="number.registered",
            reason=f"listed in {feed} {path.name}",
            at=at,
        )
        added += 1
        if done % 10_000 == 0:
            log.info("feed %s: %d of %d numbers read", feed, done, total)
    gone = session.scalars(
        select(PrivilegedNumber)
        .where(PrivilegedNumber.feed == feed, PrivilegedNumber.status == "active")
        .order_by(PrivilegedNumber.id)
    ).all()
    for row in gone:
        if row.number in listed:
            continue
        row.status, row.effective_to = "ended", start
        row.ended_reason = f"no longer listed in {feed} {path.name} (sha256 {digest[:16]})"
        record(
            session,
            ledger,
            "number",
            row,
            actor=actor,
            action="number.ended",
            reason=row.ended_reason,
            at=at,
        )
        ended += 1
    entries = ledger.size(session) - before
    shared = sum(1 for rows in holders.values() if len(rows) > 1)
    log.info(
        "feed %s from %s: %d added, %d unchanged, %d ended, %d held elsewhere, %d shared",
        feed,
        path.name,
        added,
        unchanged,
        ended,
        held,
        shared,
    )
    return FeedResult(
        feed,
        path.name,
        digest,
        len(listed),
        added,
        unchanged,
        ended,
        held,
        new_attorneys,
        entries,
        shared,
    )


def _evidence(
    source: str, file: str, digest: str, r: dict[str, object], rows: list[dict[str, object]]
) -> dict[str, object]:
    """The registration's evidence; a shared number names every holder, in file order."""
    out: dict[str, object] = {
        "method": source,
        "file": file,
        "sha256": digest,
        "place": r["source_place"],
        "name": r["attorney_name"],
        "bar_number": r["bar_number"],
    }
    if len(rows) > 1:  # only then, so a single holder's evidence (and ledger leaf) is unchanged
        out["holders"] = [
            {"name": h["attorney_name"], "bar_number": h["bar_number"], "place": h["source_place"]}
            for h in rows
        ]
    return out
