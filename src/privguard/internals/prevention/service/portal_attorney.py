"""The attorney's pages: their numbers and where each one holds, registering more with
evidence, the history of every change with its receipt, checking a receipt, and notices.

Thin views over ``prevention.registry`` (the same calls the JSON endpoints make).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from privguard.errors import PrivguardError
from privguard.internals.prevention.registry import history as H
from privguard.internals.prevention.registry import workflow as W
from privguard.internals.prevention.registry.models import ALL_FACILITIES, Event, Export
from privguard.internals.prevention.registry.models import PrivilegedNumber as N
from privguard.internals.prevention.registry.models import Request as Req
from privguard.internals.prevention.registry.receipts import check_receipts
from privguard.internals.prevention.service.auth import Principal, now
from privguard.internals.prevention.service.deps import DbSession
from privguard.internals.prevention.service.portal_auth import page
from privguard.internals.prevention.service.portal_models import Evidence
from privguard.internals.prevention.service.portal_web import render

router = APIRouter(prefix="/attorney", include_in_schema=False)
Attorney = Annotated[Principal, page("attorney")]
Text = Annotated[str, Form(max_length=20_000)]
MAX_DOCUMENT = 10 * 1024 * 1024
MAX_RECEIPT = 256 * 1024


@dataclass(frozen=True)
class Holding:
    """Where one registration stands at one facility."""

    facility: str
    state: str  # sent | waiting | out_of_scope
    text: str


def _unlinked(request: Request) -> HTMLResponse:
    return render(request, "attorney_unlinked.html", 409)


def _facilities(session: Session) -> list[str]:
    sent = session.scalars(select(Export.facility).distinct())
    return sorted({f.upper() for f in sent})


def holdings(session: Session, row: N, facilities: list[str]) -> list[Holding]:
    """Each known facility: in the last snapshot sent to it, waiting for the next, or out of
    the registration's scope. A facility is known once a snapshot was issued for it."""
    registered = session.scalar(
        select(func.min(Event.ledger_index)).where(
            Event.number_id == row.id, Event.action == "number.registered"
        )
    )
    out = []
    for code in facilities:
        if row.facilities != ALL_FACILITIES and code not in row.facilities.split(","):
            out.append(Holding(code, "out_of_scope", "Not in this registration's scope"))
            continue
        last = session.scalars(
            select(Export).where(Export.facility == code).order_by(Export.id.desc()).limit(1)
        ).first()
        if row.status != "active":
            out.append(Holding(code, "out_of_scope", f"Ended: {row.ended_reason}"))
        elif last is not None and registered is not None and last.tree_size > registered:
            when = f"{last.issued:%Y-%m-%d}, binding from {last.effective:%Y-%m-%d}"
            out.append(Holding(code, "sent", f"On the list sent {when}"))
        else:
            out.append(Holding(code, "waiting", "Registered; goes out with the next weekly list"))
    return out


@router.get("")
def numbers_page(request: Request, session: DbSession, me: Attorney) -> HTMLResponse:
    """The attorney's numbers, where each holds, and their requests."""
    if me.attorney_id is None:
        return _unlinked(request)
    rows = list(session.scalars(select(N).where(N.attorney_id == me.attorney_id).order_by(N.id)))
    facilities = _facilities(session)
    requests = [
        W._view(r)
        for r in session.scalars(
            select(Req).where(Req.attorney_id == me.attorney_id).order_by(Req.id.desc())
        )
    ]
    return render(
        request,
        "attorney_numbers.html",
        rows=[(r, holdings(session, r, facilities)) for r in rows],
        facilities=facilities,
        requests=requests,
        submitted=request.query_params.get("submitted"),
    )


@router.get("/history")
def history_page(request: Request, session: DbSession, me: Attorney) -> HTMLResponse:
    """Every change to the attorney's requests and numbers, each with its receipt."""
    if me.attorney_id is None:
        return _unlinked(request)
    number = request.query_params.get("number", "")
    items = H.history(session, me.attorney_id)
    if number.isdigit():
        items = [i for i in items if i.number_id == int(number)]
    return render(request, "attorney_history.html", items=items, number=number)


@router.get("/receipts/check")
def check_form(request: Request, me: Attorney) -> HTMLResponse:
    """Upload or paste a receipt to check it against the registry's keys."""
    return render(request, "attorney_check.html")


@router.get("/receipts/{index}")
def receipt(index: int, request: Request, session: DbSession, me: Attorney) -> Response:
    """Download one receipt (C2SP tlog-proof@v1) to keep."""
    event = session.get(Event, index) if 0 <= index < 2**62 else None
    if event is None or me.attorney_id is None or event.attorney_id != me.attorney_id:
        return render(request, "not_found.html", 404, what=f"receipt {index}")
    text = H.receipt(session, request.app.state.registry.ledger, index)
    session.commit()
    name = f"privguard-receipt-{index}.txt"
    return PlainTextResponse(
        text, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.post("/receipts/check")
async def check(
    request: Request,
    me: Attorney,
    receipt: Annotated[UploadFile | None, File()] = None,
    pasted: Text = "",
) -> HTMLResponse:
    """Say what a receipt proves, or what is wrong with it."""
    text = pasted
    if receipt is not None and receipt.filename:
        data = await receipt.read(MAX_RECEIPT + 1)
        if len(data) > MAX_RECEIPT:
            errors = [("receipt", "That file is too big to be a receipt (over 256 KB).")]
            return render(request, "attorney_check.html", 400, errors=errors)
        text = data.decode("utf-8", errors="replace")
    if not text.strip():
        errors = [("receipt", "Choose a receipt file, or paste a receipt's text.")]
        return render(request, "attorney_check.html", 400, errors=errors)
    report = check_receipts([("receipt", text)], request.app.state.registry.verifiers())
    return render(request, "attorney_check.html", report=report)


@router.get("/register")
def register_form(request: Request, me: Attorney) -> HTMLResponse:
    """Register numbers: which, where, from when, and how a registrar can check them."""
    if me.attorney_id is None:
        return _unlinked(request)
    return render(request, "attorney_register.html", form={}, today=dt.date.today())


def _save_document(request: Request, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    folder = Path(request.app.state.settings.data_dir) / "portal" / "evidence"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / digest
    if not target.exists():  # content-addressed: the same document is kept once
        target.write_bytes(data)
    return digest


@router.post("/register")
async def register(
    request: Request,
    session: DbSession,
    me: Attorney,
    numbers: Text = "",
    scope: Annotated[str, Form()] = "all",
    facilities: Text = "",
    effective_from: Annotated[str, Form(max_length=20)] = "",
    note: Text = "",
    document: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Submit the numbers; the request is then verified by a directory or a registrar."""
    if me.attorney_id is None:
        return _unlinked(request)
    form = {
        "numbers": numbers,
        "scope": scope,
        "facilities": facilities,
        "effective_from": effective_from,
        "note": note,
    }
    errors: list[tuple[str, str]] = []
    listed = [n.strip() for n in numbers.replace(";", "\n").splitlines() if n.strip()]
    if not listed:
        errors.append(("numbers", "Enter at least one phone number, one per line."))
    codes = [c.strip() for c in facilities.replace("\n", ",").split(",") if c.strip()]
    if scope == "listed" and not codes:
        errors.append(("facilities", "Name at least one facility, or choose every facility."))
    start = None
    if effective_from:
        try:
            start = dt.date.fromisoformat(effective_from)
        except ValueError:
            errors.append(("effective_from", "Write the date as YYYY-MM-DD, e.g. 2025-03-01."))
    data = await document.read(MAX_DOCUMENT + 1) if document and document.filename else b""
    if len(data) > MAX_DOCUMENT:
        errors.append(("document", "The document is over 10 MB; send a smaller scan."))
    if not errors:
        try:
            view = W.submit(
                session,
                request.app.state.registry.ledger,
                me.attorney_id,
                listed,
                actor=me.actor,
                facilities=codes if scope == "listed" else None,
                effective_from=start,
            )
        except PrivguardError as exc:
            session.rollback()
            errors.append(("numbers", f"{exc.message}. {exc.fix or ''}".strip()))
        else:
            if note.strip() or data:
                session.add(
                    Evidence(
                        request_id=view.id,
                        at=now(),
                        note=note.strip(),
                        filename=(document.filename or "")[:255] if data and document else "",
                        sha256=_save_document(request, data) if data else "",
                        size=len(data),
                    )
                )
            session.commit()
            return RedirectResponse(f"/attorney?submitted={view.id}", status_code=303)
    return render(
        request, "attorney_register.html", 400, form=form, errors=errors, today=dt.date.today()
    )


@router.get("/notices")
def notices(request: Request, session: DbSession, me: Attorney) -> HTMLResponse:
    """Notices of recorded calls to the attorney's numbers, with purge certificates."""
    from privguard.internals.prevention.service import portal_vault

    if me.attorney_id is None:
        return _unlinked(request)
    found = portal_vault.notices_for(session, me.attorney_id)
    return render(request, "attorney_notices.html", vault=found)


@router.get("/certificates/{purge_id}")
def purge_certificate(
    purge_id: str, request: Request, session: DbSession, me: Attorney
) -> Response:
    """A signed purge certificate for a recording of a call to one of the attorney's numbers."""
    from privguard.internals.prevention.service import portal_vault

    text = None
    if me.attorney_id is not None and len(purge_id) <= 40:
        text = portal_vault.certificate(session, me.attorney_id, purge_id)
    if text is None:
        return render(request, "not_found.html", 404, what=f"certificate {purge_id}")
    name = f"privguard-{purge_id}.txt"
    return PlainTextResponse(
        text, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
