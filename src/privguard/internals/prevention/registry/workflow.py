"""The registration workflow: an attorney submits numbers; a directory or a registrar verifies
them, or a registrar rejects them with a reason. Every state change is a ledger entry the
attorney can see (:func:`history`) and, when it touches their numbers, a receipt they keep.

Functions take an open :class:`~sqlalchemy.orm.Session` (the caller owns the transaction)
and the registry's :class:`~privguard.internals.prevention.ledger.Ledger`, and return
frozen dataclasses.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from privguard.errors import InputError
from privguard.internals.common.custody import sha256_file
from privguard.internals.common.lists.sources import load_directory
from privguard.internals.common.phones import to_e164
from privguard.internals.prevention.ledger import Ledger
from privguard.internals.prevention.registry.history import receipt
from privguard.internals.prevention.registry.journal import canonical, record, today
from privguard.internals.prevention.registry.models import (
    ALL_FACILITIES,
    SOURCES,
    Attorney,
    PrivilegedNumber,
    Request,
)

_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class RequestView:
    """A registration request as its attorney sees it."""

    id: int
    attorney_id: int
    numbers: tuple[str, ...]  # E.164, with ";ext=N" when there is an extension
    state: str  # submitted | needs_review | verified | rejected
    reason: str
    receipts: tuple[str, ...] = ()  # tlog-proof@v1 texts of the numbers it registered


@dataclass(frozen=True)
class Directory:
    """A loaded bar or public-defender directory: number -> its rows (name, bar number, place)."""

    file: str
    sha256: str
    rows: dict[str, tuple[tuple[str, str, str], ...]]


def facilities_text(facilities: Iterable[str] | None) -> str:
    """``*`` for every facility, else the sorted, upper-cased codes joined by commas."""
    codes = sorted({f.strip().upper() for f in facilities or () if f and f.strip()})
    if any("," in c for c in codes):
        raise InputError("a facility code cannot contain a comma", fix="use codes like MAIN-JAIL")
    return ",".join(codes) or ALL_FACILITIES


def normalize(raw: str) -> tuple[str, str]:
    """One submitted number to (E.164, extension), normalized here and only here."""
    parsed = to_e164(raw)
    if parsed.e164 is None:
        raise InputError(
            f"{raw!r} is not a phone number privguard can register ({parsed.status})",
            fix="write the number as +1 512 555 0100 or (512) 555-0100, with 'ext 12' if any",
        )
    return parsed.e164, parsed.extension or ""


def add_attorney(
    session: Session,
    ledger: Ledger,
    name: str,
    *,
    actor: str,
    bar_number: str = "",
    bar_state: str = "",
    contact: str = "",
    kind: str = "attorney",
    office_id: int | None = None,
    reason: str = "account created",
    at: dt.datetime | None = None,
) -> int:
    """Create an attorney or office (``kind``); returns its id."""
    if not name.strip():
        raise InputError("an attorney needs a name", fix="give the name as on the bar roll")
    if kind not in ("attorney", "office"):
        raise InputError(f"kind {kind!r} is neither 'attorney' nor 'office'")
    row = Attorney(
        kind=kind,
        name=name.strip(),
        bar_number=bar_number.strip(),
        bar_state=bar_state.strip().upper(),
        contact=contact.strip(),
        office_id=office_id,
    )
    session.add(row)
    record(
        session, ledger, "attorney", row, actor=actor, action="attorney.added", reason=reason, at=at
    )
    return row.id


def submit(
    session: Session,
    ledger: Ledger,
    attorney_id: int,
    numbers: Sequence[str],
    *,
    actor: str,
    facilities: Iterable[str] | None = None,
    effective_from: dt.date | None = None,
    source: str = "self_registration",
    at: dt.datetime | None = None,
) -> RequestView:
    """An attorney (or staff on their behalf) submits numbers; the request starts ``submitted``."""
    if session.get(Attorney, attorney_id) is None:
        raise InputError(f"there is no attorney {attorney_id}", fix="add the attorney first")
    if source not in SOURCES:
        raise InputError(f"unknown source {source!r}", fix="one of: " + ", ".join(SOURCES))
    if not numbers:
        raise InputError("a request needs at least one number")
    parsed = list(dict.fromkeys(normalize(n) for n in numbers))
    req = Request(
        attorney_id=attorney_id,
        numbers=canonical([{"number": n, "extension": e} for n, e in parsed]),
        facilities=facilities_text(facilities),
        effective_from=effective_from or today(at),
        source=source,
        state="submitted",
        reason="",
    )
    session.add(req)
    where = "every facility" if req.facilities == ALL_FACILITIES else req.facilities
    record(
        session,
        ledger,
        "request",
        req,
        actor=actor,
        action="request.submitted",
        reason=f"{len(parsed)} number(s) submitted for {where}",
        at=at,
    )
    return _view(req)


def load_directory_index(path: Path) -> Directory:
    """Read a directory with the audit's reader (same column recognition) into an index."""
    table = load_directory(Path(path))
    rows: dict[str, list[tuple[str, str, str]]] = {}
    for r in table.to_pylist():
        rows.setdefault(r["number"], []).append(
            (r["attorney_name"] or "", r["bar_number"] or "", r["source_place"])
        )
    return Directory(
        Path(path).name, sha256_file(Path(path)), {k: tuple(v) for k, v in rows.items()}
    )


def _bar(value: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", value.upper()).lstrip("0")


def _same_person(att: Attorney, name: str, bar: str) -> bool:
    if att.bar_number and bar:
        return _bar(att.bar_number) == _bar(bar)
    mine, theirs = set(_WORD.findall(att.name.lower())), set(_WORD.findall(name.lower()))
    return bool(mine) and (mine <= theirs or theirs <= mine) and bool(theirs)


def auto_verify(
    session: Session,
    ledger: Ledger,
    request_id: int,
    directory: Directory,
    *,
    actor: str = "system:directory",
    at: dt.datetime | None = None,
) -> RequestView:
    """Verify a request against a directory: every number listed for this attorney.

    When one is not, the request goes to ``needs_review`` naming the numbers a registrar
    must check by hand; nothing is registered.
    """
    req = _open_request(session, request_id)
    att = session.get(Attorney, req.attorney_id)
    assert att is not None
    evidence: dict[str, dict[str, str]] = {}
    unmatched: list[str] = []
    for item in json.loads(req.numbers):
        hit = next(
            (r for r in directory.rows.get(item["number"], ()) if _same_person(att, r[0], r[1])),
            None,
        )
        if hit is None:
            unmatched.append(item["number"])
        else:
            evidence[item["number"]] = {
                "method": "directory",
                "file": directory.file,
                "sha256": directory.sha256,
                "place": hit[2],
                "name": hit[0],
                "bar_number": hit[1],
            }
    if unmatched:
        req.state = "needs_review"
        req.reason = f"not listed for this attorney in {directory.file}: " + ", ".join(unmatched)
        record(
            session,
            ledger,
            "request",
            req,
            actor=actor,
            action="request.needs_review",
            reason=req.reason,
            at=at,
        )
        return _view(req)
    return _accept(session, ledger, req, evidence, actor, f"listed in {directory.file}", at)


def approve(
    session: Session,
    ledger: Ledger,
    request_id: int,
    *,
    actor: str,
    reason: str,
    at: dt.datetime | None = None,
) -> RequestView:
    """A registrar verifies a request by hand (``reason`` says how: a call, a letter...)."""
    if not reason.strip():
        raise InputError("say how the numbers were verified", fix="--reason 'called the office'")
    req = _open_request(session, request_id)
    evidence = {
        item["number"]: {"method": "registrar", "by": actor, "how": reason.strip()}
        for item in json.loads(req.numbers)
    }
    return _accept(session, ledger, req, evidence, actor, reason.strip(), at)


def reject(
    session: Session,
    ledger: Ledger,
    request_id: int,
    *,
    actor: str,
    reason: str,
    at: dt.datetime | None = None,
) -> RequestView:
    """A registrar rejects a request; the reason is shown to the attorney."""
    if not reason.strip():
        raise InputError("a rejection needs a reason the attorney can read", fix="--reason ...")
    req = _open_request(session, request_id)
    req.state, req.reason = "rejected", reason.strip()
    record(
        session,
        ledger,
        "request",
        req,
        actor=actor,
        action="request.rejected",
        reason=req.reason,
        at=at,
    )
    return _view(req)


def end_number(
    session: Session,
    ledger: Ledger,
    number_id: int,
    *,
    actor: str,
    reason: str,
    effective_to: dt.date | None = None,
    at: dt.datetime | None = None,
) -> str:
    """End a registration (never delete it): it stays in the ledger with its dates.

    Returns the receipt of the ending entry.
    """
    row = session.get(PrivilegedNumber, number_id)
    if row is None or row.status != "active":
        raise InputError(
            f"there is no active registration {number_id}",
            fix="give the id of an active registration (its receipts name it: 'registration N')",
        )
    if not reason.strip():
        raise InputError("ending a registration needs a reason", fix="--reason 'line closed'")
    row.status, row.ended_reason = "ended", reason.strip()
    row.effective_to = effective_to or today(at)
    a = record(
        session,
        ledger,
        "number",
        row,
        actor=actor,
        action="number.ended",
        reason=row.ended_reason,
        at=at,
    )
    return receipt(session, ledger, a.index)


def _open_request(session: Session, request_id: int) -> Request:
    req = session.get(Request, request_id)
    if req is None:
        raise InputError(f"there is no registration request {request_id}")
    if req.state not in ("submitted", "needs_review"):
        raise InputError(
            f"request {request_id} is already {req.state}",
            fix="the attorney submits a new request to change the numbers",
        )
    return req


def _accept(
    session: Session,
    ledger: Ledger,
    req: Request,
    evidence: dict[str, dict[str, str]],
    actor: str,
    reason: str,
    at: dt.datetime | None,
) -> RequestView:
    req.state, req.reason = "verified", reason
    record(
        session,
        ledger,
        "request",
        req,
        actor=actor,
        action="request.verified",
        reason=reason,
        at=at,
    )
    start = max(req.effective_from, today(at))
    indices: list[int] = []
    for item in json.loads(req.numbers):
        taken = session.scalar(
            select(PrivilegedNumber).where(
                PrivilegedNumber.number == item["number"],
                PrivilegedNumber.extension == item["extension"],
                PrivilegedNumber.status == "active",
            )
        )
        if taken is not None:
            continue  # already protected; the history shows whose registration holds it
        row = PrivilegedNumber(
            number=item["number"],
            extension=item["extension"],
            attorney_id=req.attorney_id,
            facilities=req.facilities,
            effective_from=start,
            effective_to=None,
            source=req.source,
            feed="",
            evidence=canonical(evidence[item["number"]]),
            request_id=req.id,
            status="active",
            ended_reason="",
        )
        session.add(row)
        indices.append(
            record(
                session,
                ledger,
                "number",
                row,
                actor=actor,
                action="number.registered",
                reason=reason,
                at=at,
            ).index
        )
    return _view(req, tuple(receipt(session, ledger, i) for i in indices))


def _view(req: Request, receipts: tuple[str, ...] = ()) -> RequestView:
    numbers = tuple(
        n["number"] + (f";ext={n['extension']}" if n["extension"] else "")
        for n in json.loads(req.numbers)
    )
    return RequestView(req.id, req.attorney_id, numbers, req.state, req.reason, receipts)
