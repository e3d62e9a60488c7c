"""The registrar's pages: the verification queue with its evidence, approve or reject with a
reason, reconciliation against a facility's own list, and one number's history.

Evidence for a request: the attorney's record (bar number and state), the request's log
entries (a bar-directory check writes its match or miss there), the attorney's note and
documents, audit findings (``registry_invitations`` from ``import-audit``) and declared
private calls (``decision_candidates``, when the decision log is installed).
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import MetaData, Table, inspect, select
from sqlalchemy.orm import Session

from privguard.errors import PrivguardError
from privguard.internals.prevention.registry import diff as D
from privguard.internals.prevention.registry import workflow as W
from privguard.internals.prevention.registry.exports import active_set
from privguard.internals.prevention.registry.models import Attorney, Event, Invitation
from privguard.internals.prevention.registry.models import PrivilegedNumber as N
from privguard.internals.prevention.registry.models import Request as Req
from privguard.internals.prevention.service.auth import Principal, audit_event
from privguard.internals.prevention.service.deps import DbSession, access_log, client_ip
from privguard.internals.prevention.service.portal_auth import page
from privguard.internals.prevention.service.portal_models import Evidence
from privguard.internals.prevention.service.portal_web import render

router = APIRouter(prefix="/registrar", include_in_schema=False)
Registrar = Annotated[Principal, page("registrar", "admin")]
OPEN_STATES = ("submitted", "needs_review")
MAX_LIST = 20 * 1024 * 1024
RECONCILE = "registry.reconcile"  # the access-log action registry health reads back


def _numbers(req: Req) -> list[str]:
    return [n["number"] for n in json.loads(req.numbers)]


def _declarations(session: Session, numbers: list[str]) -> list[dict[str, Any]] | None:
    bind = session.get_bind()
    if "decision_candidates" not in inspect(bind).get_table_names():
        return None
    table = Table("decision_candidates", MetaData(), autoload_with=bind)
    rows = session.execute(select(table).where(table.c.number.in_(numbers))).mappings()
    return [dict(r) for r in rows]


def evidence(session: Session, req: Req) -> dict[str, Any]:
    """Everything a registrar weighs for one request."""
    numbers = _numbers(req)
    return {
        "attorney": session.get(Attorney, req.attorney_id),
        "events": list(
            session.scalars(
                select(Event).where(Event.request_id == req.id).order_by(Event.ledger_index)
            )
        ),
        "documents": list(session.scalars(select(Evidence).where(Evidence.request_id == req.id))),
        "findings": list(session.scalars(select(Invitation).where(Invitation.number.in_(numbers)))),
        "declarations": _declarations(session, numbers),
        "numbers": numbers,
    }


@router.get("")
def queue(request: Request, session: DbSession, me: Registrar) -> HTMLResponse:
    """Requests waiting for a registrar, oldest first, each with its evidence."""
    rows = list(
        session.scalars(select(Req).where(Req.state.in_(OPEN_STATES)).order_by(Req.id).limit(200))
    )
    items = [(r, evidence(session, r)) for r in rows]
    return render(request, "registrar_queue.html", items=items, done=request.query_params)


def _decide(
    request: Request, session: Session, me: Principal, request_id: int, reason: str, verb: str
) -> Response:
    req = session.get(Req, request_id) if 0 < request_id < 2**31 else None
    if req is None:
        return render(request, "not_found.html", 404, what=f"request {request_id}")
    if not reason.strip():
        errors = [(f"reason-{request_id}", f"Give a reason to {verb} request {request_id}.")]
        items = [(req, evidence(session, req))] if req.state in OPEN_STATES else []
        return render(request, "registrar_queue.html", 400, items=items, errors=errors, done={})
    act = W.approve if verb == "approve" else W.reject
    try:
        act(session, request.app.state.registry.ledger, request_id, actor=me.actor, reason=reason)
    except PrivguardError as exc:
        session.rollback()
        return render(
            request, "refused.html", 409, message=exc.message, where=exc.where, fix=exc.fix or ""
        )
    session.commit()
    return RedirectResponse(f"/registrar?{verb}d={request_id}", status_code=303)


@router.post("/requests/{request_id}/approve")
def approve(
    request_id: int,
    request: Request,
    session: DbSession,
    me: Registrar,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Verify a request by hand; the reason says how."""
    return _decide(request, session, me, request_id, reason, "approve")


@router.post("/requests/{request_id}/reject")
def reject(
    request_id: int,
    request: Request,
    session: DbSession,
    me: Registrar,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Reject a request; the attorney reads the reason."""
    return _decide(request, session, me, request_id, reason, "reject")


@router.get("/reconcile")
def reconcile_form(request: Request, me: Registrar) -> HTMLResponse:
    """Compare the registry's list for a facility with the facility's own list."""
    return render(request, "registrar_reconcile.html", form={}, today=dt.date.today())


@router.post("/reconcile")
async def reconcile(
    request: Request,
    session: DbSession,
    me: Registrar,
    facility: Annotated[str, Form(max_length=100)] = "",
    on: Annotated[str, Form(max_length=20)] = "",
    facility_list: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    """Every number the facility's list is missing, has extra, or holds differently."""
    form = {"facility": facility, "on": on}
    errors: list[tuple[str, str]] = []
    code = facility.strip().upper()
    if not code:
        errors.append(("facility", "Enter the facility's code, e.g. TX25."))
    try:
        day = dt.date.fromisoformat(on) if on else dt.date.today()
    except ValueError:
        errors.append(("on", "Write the date as YYYY-MM-DD."))
        day = dt.date.today()
    name = Path(facility_list.filename or "").name if facility_list else ""
    data = await facility_list.read(MAX_LIST + 1) if facility_list and name else b""
    if not data:
        errors.append(("facility_list", "Choose the facility's list (CSV or XLSX)."))
    elif len(data) > MAX_LIST:
        errors.append(("facility_list", "The list is over 20 MB."))
    result = None
    if not errors:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            try:
                theirs = D.from_facility_list(path, code, day)
            except PrivguardError as exc:
                errors.append(("facility_list", f"{exc.message}. {exc.fix or ''}".strip()))
            else:
                ours = D.from_entries(f"registry for {code}", active_set(session, code, day))
                result = D.compare(ours, theirs)
                detail = (
                    f"{code} against {name}: {len(result.missing)} missing, "
                    f"{len(result.extra)} extra, {len(result.changed)} changed"
                )
                audit_event(
                    RECONCILE,
                    actor=me.actor,
                    outcome="same" if result.same else "differs",
                    detail=detail,
                    ip=client_ip(request),
                    sink=access_log(request),
                )
    status = 400 if errors else 200
    return render(
        request,
        "registrar_reconcile.html",
        status,
        form=form,
        errors=errors,
        diff=result,
        today=dt.date.today(),
    )


@router.get("/numbers/{number}")
def number_history(number: str, request: Request, session: DbSession, me: Registrar) -> Response:
    """One number's registrations and every log entry about them."""
    rows = list(session.scalars(select(N).where(N.number == number[:20]).order_by(N.id)))
    if not rows:
        return render(request, "not_found.html", 404, what=f"registration of {number}")
    ids = [r.id for r in rows]
    events = list(
        session.scalars(select(Event).where(Event.number_id.in_(ids)).order_by(Event.ledger_index))
    )
    owners = {r.attorney_id: session.get(Attorney, r.attorney_id) for r in rows}
    return render(
        request, "registrar_number.html", number=number, rows=rows, events=events, owners=owners
    )
