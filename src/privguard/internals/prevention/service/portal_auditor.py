"""The auditor's pages: audit folders and their findings, registry health, the access log.

Findings are read from the audit's files (:mod:`portal_audit_files`), paged and faceted in
SQLite. Registry health and the access log are read from the ledger and the registry's
tables; the vault's anomalies appear when the vault is installed (:mod:`portal_vault`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from privguard.errors import PrivguardError
from privguard.internals.prevention.ledger import Ledger
from privguard.internals.prevention.registry.models import Attorney, Export, Imported
from privguard.internals.prevention.registry.models import PrivilegedNumber as N
from privguard.internals.prevention.registry.models import Request as Req
from privguard.internals.prevention.service import portal_audit_files as F
from privguard.internals.prevention.service import portal_vault
from privguard.internals.prevention.service.auth import ACCESS_LOG, Principal
from privguard.internals.prevention.service.deps import DbSession
from privguard.internals.prevention.service.portal_auth import page
from privguard.internals.prevention.service.portal_web import render

router = APIRouter(prefix="/auditor", include_in_schema=False)
Auditor = Annotated[Principal, page("auditor", "admin")]
PageNo = Annotated[int, Query(ge=0, le=10_000_000)]
Facet = Annotated[str, Query(max_length=300)]
RECONCILE = "registry.reconcile"


def _folder(request: Request, n: int) -> F.AuditFolder | None:
    folders = F.configured(request.app.state.settings)
    return folders[n] if 0 <= n < len(folders) else None


@router.get("")
def audits(request: Request, me: Auditor) -> HTMLResponse:
    """The audit folders configured for this service, with their headline."""
    items = [(f, F.summary(f)) for f in F.configured(request.app.state.settings)]
    return render(request, "auditor_audits.html", items=items, env=F.ENV)


@router.get("/audits/{n}")
def audit(
    n: int,
    request: Request,
    me: Auditor,
    facility: Facet = "",
    month: Facet = "",
    attorney: Facet = "",
    number: Facet = "",
    page: PageNo = 0,
) -> Response:
    """One audit: its summary, calls per month, and the privileged calls, faceted and paged."""
    folder = _folder(request, n)
    if folder is None:
        return render(request, "not_found.html", 404, what=f"audit folder {n}")
    filters = {"facility": facility, "month": month, "attorney": attorney, "number": number}
    try:
        with F.findings_db(folder) as con:
            facets = F.facets(con, filters)
            rows, total = F.calls_page(con, filters, page)
            months = F.by_month(con)
    except PrivguardError as exc:
        return render(
            request, "refused.html", 404, message=exc.message, where=exc.where, fix=exc.fix or ""
        )
    top = max((m[1] for m in months), default=1)
    return render(
        request,
        "auditor_audit.html",
        folder=folder,
        summary=F.summary(folder),
        facets=facets,
        filters=filters,
        rows=rows,
        total=total,
        page=page,
        pages=(total + F.PAGE - 1) // F.PAGE,
        months=months,
        top=top,
    )


@router.get("/audits/{n}/calls/{call_id}")
def call(n: int, call_id: str, request: Request, me: Auditor) -> Response:
    """One privileged call and the source rows (provenance) it was built from."""
    folder = _folder(request, n)
    found = None
    if folder is not None and len(call_id) <= 40:
        with F.findings_db(folder) as con:
            found = F.call(con, call_id)
    if found is None or folder is None:
        return render(request, "not_found.html", 404, what=f"call {call_id}")
    return render(request, "auditor_call.html", folder=folder, call=found)


@router.get("/audits/{n}/numbers")
def numbers(n: int, request: Request, me: Auditor, page: PageNo = 0) -> Response:
    """The audit's numbers (numbers.parquet), a page at a time."""
    folder = _folder(request, n)
    if folder is None:
        return render(request, "not_found.html", 404, what=f"audit folder {n}")
    rows, total = F.numbers_page(folder, page)
    columns = list(rows[0]) if rows else []
    return render(
        request,
        "auditor_numbers.html",
        folder=folder,
        rows=rows,
        columns=columns,
        total=total,
        page=page,
        pages=(total + F.PAGE - 1) // F.PAGE,
    )


def health_facts(session: Session, request: Request) -> dict[str, Any]:
    """Registry size, log root, last checkpoint, snapshots and the last reconciliation."""
    ledger: Ledger = request.app.state.registry.ledger
    access: Ledger = request.app.state.access.ledger
    size = ledger.size(session)
    last_reconcile = None
    asize = access.size(session)
    # The latest reconciliation is an access-log entry; look back over the recent ones only.
    for entry in access.entries(session, max(asize - 5000, 0), asize):
        if entry.action == RECONCILE:
            last_reconcile = entry
    return {
        "active": session.scalar(select(func.count()).where(N.status == "active")) or 0,
        "ended": session.scalar(select(func.count()).where(N.status != "active")) or 0,
        "attorneys": session.scalar(select(func.count()).select_from(Attorney)) or 0,
        "open_requests": session.scalar(
            select(func.count()).where(Req.state.in_(("submitted", "needs_review")))
        )
        or 0,
        "size": size,
        "root": ledger.root(session).hex() if size else "",
        "checkpoint": ledger.latest_checkpoint(session),
        "exports": list(session.scalars(select(Export).order_by(Export.id.desc()).limit(20))),
        "imported": session.scalars(select(Imported).order_by(Imported.id.desc()).limit(1)).first(),
        "reconcile": last_reconcile,
        "access_size": asize,
    }


@router.get("/health")
def health(request: Request, session: DbSession, me: Auditor) -> HTMLResponse:
    """Registry health: size, root, last checkpoint, last snapshots and reconciliation."""
    return render(request, "auditor_health.html", h=health_facts(session, request))


@router.get("/access")
def access_log(
    request: Request,
    session: DbSession,
    me: Auditor,
    page: PageNo = 0,
) -> HTMLResponse:
    """The ledger's access log, newest first (every sign-in, refusal and vault access), and
    the vault's anomalies when the vault is installed."""
    ledger: Ledger = request.app.state.access.ledger
    size = ledger.size(session)
    stop = max(size - page * F.PAGE, 0)
    entries = list(ledger.entries(session, max(stop - F.PAGE, 0), stop))[::-1]
    return render(
        request,
        "auditor_access.html",
        entries=entries,
        size=size,
        page=page,
        pages=(size + F.PAGE - 1) // F.PAGE,
        anomalies=portal_vault.anomalies(session),
        log=ACCESS_LOG,
    )
