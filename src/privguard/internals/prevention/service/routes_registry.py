"""The registry's endpoints: thin views over ``prevention.registry``.

Attorneys submit numbers and see their own numbers, requests, history and receipts;
registrars work the queue; a facility's system fetches its signed snapshot; anyone fetches
the signed checkpoint and the public key, and checks a receipt.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import select

from privguard.internals.prevention.registry import history as H
from privguard.internals.prevention.registry import workflow as W
from privguard.internals.prevention.registry.api import Registry
from privguard.internals.prevention.registry.exports import make_snapshot
from privguard.internals.prevention.registry.models import Event, PrivilegedNumber
from privguard.internals.prevention.registry.models import Request as Req
from privguard.internals.prevention.registry.receipts import check_receipts
from privguard.internals.prevention.service.auth import Principal
from privguard.internals.prevention.service.deps import DbSession
from privguard.internals.prevention.service.errors import (
    AUTH_RESPONSES,
    CONFLICT_RESPONSES,
    NOT_FOUND_RESPONSES,
    Conflict,
    NotFound,
)
from privguard.internals.prevention.service.policy import public, requires
from privguard.internals.prevention.service.schemas_registry import (
    FacilityCode,
    HistoryOut,
    LedgerIndex,
    NumberOut,
    ReasonIn,
    ReceiptCheckOut,
    ReceiptIn,
    ReceiptLineOut,
    RequestId,
    RequestOut,
    SubmitIn,
    VendorName,
)

router = APIRouter(prefix="/v1/registry", tags=["registry"])
Attorney = Annotated[Principal, requires("attorney")]
Registrar = Annotated[Principal, requires("registrar", "admin")]
Facility = Annotated[Principal, requires("facility_system", "registrar", "admin")]
TEXT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {"schema": {"type": "string"}}}}
}
OPEN_STATES = ("submitted", "needs_review")


def _registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


def _attorney_id(me: Principal) -> int:
    if me.attorney_id is None:
        raise Conflict(
            "this account is not linked to an attorney or office record",
            where=f"user {me.username}",
            fix="ask an administrator for an account linked to your attorney record (POST "
            "/v1/users with its attorney_id), and sign in with that account",
        )
    return me.attorney_id


def _protect(request: Request, view: W.RequestView, me: Principal) -> None:
    """Numbers just verified: the vault quarantines their recordings at once (vault branch)."""
    if view.state == "verified":
        from privguard.internals.prevention.vault.service_hook import quarantine_registered

        quarantine_registered(request.app, view.numbers, me.actor)


def _out(view: W.RequestView) -> RequestOut:
    return RequestOut(
        id=view.id,
        attorney_id=view.attorney_id,
        numbers=list(view.numbers),
        state=view.state,  # type: ignore[arg-type]
        reason=view.reason,
        receipts=list(view.receipts),
    )


@router.post(
    "/requests",
    status_code=201,
    operation_id="submit_numbers",
    responses={**AUTH_RESPONSES, **CONFLICT_RESPONSES},
)
def submit(body: SubmitIn, me: Attorney, session: DbSession, request: Request) -> RequestOut:
    """Submit numbers to protect; a directory match or a registrar then verifies them."""
    view = W.submit(
        session,
        _registry(request).ledger,
        _attorney_id(me),
        body.numbers,
        actor=me.actor,
        facilities=body.facilities,
        effective_from=body.effective_from,
    )
    session.commit()
    _protect(request, view, me)
    return _out(view)


@router.get(
    "/requests", operation_id="my_requests", responses={**AUTH_RESPONSES, **CONFLICT_RESPONSES}
)
def my_requests(me: Attorney, session: DbSession) -> list[RequestOut]:
    """The attorney's own requests, with their state and the reason given."""
    rows = session.scalars(select(Req).where(Req.attorney_id == _attorney_id(me)).order_by(Req.id))
    return [_out(W._view(r)) for r in rows]


@router.get(
    "/numbers", operation_id="my_numbers", responses={**AUTH_RESPONSES, **CONFLICT_RESPONSES}
)
def my_numbers(me: Attorney, session: DbSession) -> list[NumberOut]:
    """The attorney's registrations, active and ended, with scope and dates."""
    rows = session.scalars(
        select(PrivilegedNumber)
        .where(PrivilegedNumber.attorney_id == _attorney_id(me))
        .order_by(PrivilegedNumber.id)
    )
    return [NumberOut.model_validate(r) for r in rows]


@router.get(
    "/history", operation_id="my_history", responses={**AUTH_RESPONSES, **CONFLICT_RESPONSES}
)
def my_history(me: Attorney, session: DbSession) -> list[HistoryOut]:
    """Every state change of the attorney's requests and numbers: who, what, when, why."""
    return [HistoryOut.model_validate(h) for h in H.history(session, _attorney_id(me))]


@router.get(
    "/receipts/{index}",
    operation_id="download_receipt",
    response_class=PlainTextResponse,
    responses={**TEXT, **AUTH_RESPONSES, **CONFLICT_RESPONSES, **NOT_FOUND_RESPONSES},
)
def download_receipt(
    index: LedgerIndex, me: Attorney, session: DbSession, request: Request
) -> PlainTextResponse:
    """One of the attorney's receipts (C2SP tlog-proof@v1), to keep and check offline."""
    event = session.get(Event, index)
    if event is None or event.attorney_id != _attorney_id(me):
        raise NotFound(f"you have no receipt {index}", where=f"receipt {index}")
    text = H.receipt(session, _registry(request).ledger, index)
    session.commit()
    name = f"privguard-receipt-{index}.txt"
    return PlainTextResponse(
        text, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/queue", operation_id="registrar_queue", responses=AUTH_RESPONSES)
def queue(me: Registrar, session: DbSession) -> list[RequestOut]:
    """Requests waiting for a registrar, oldest first."""
    rows = session.scalars(select(Req).where(Req.state.in_(OPEN_STATES)).order_by(Req.id))
    return [_out(W._view(r)) for r in rows]


def _open(session: DbSession, request_id: int) -> None:
    req = session.get(Req, request_id)
    if req is None:
        raise NotFound(
            f"there is no request {request_id}",
            where=f"request {request_id}",
            fix="give the id of a waiting request: GET /v1/registry/queue lists the requests "
            "waiting for a registrar",
        )
    if req.state not in OPEN_STATES:
        raise Conflict(
            f"request {request_id} is already {req.state}",
            where=f"request {request_id}",
            fix="the attorney submits a new request to change the numbers",
        )


@router.post(
    "/requests/{request_id}/approve",
    operation_id="approve_request",
    responses={**AUTH_RESPONSES, **NOT_FOUND_RESPONSES, **CONFLICT_RESPONSES},
)
def approve(
    request_id: RequestId, body: ReasonIn, me: Registrar, session: DbSession, request: Request
) -> RequestOut:
    """Verify a request by hand; ``reason`` says how (a call to the office, a letter...)."""
    _open(session, request_id)
    view = W.approve(
        session, _registry(request).ledger, request_id, actor=me.actor, reason=body.reason
    )
    session.commit()
    _protect(request, view, me)
    return _out(view)


@router.post(
    "/requests/{request_id}/reject",
    operation_id="reject_request",
    responses={**AUTH_RESPONSES, **NOT_FOUND_RESPONSES, **CONFLICT_RESPONSES},
)
def reject(
    request_id: RequestId, body: ReasonIn, me: Registrar, session: DbSession, request: Request
) -> RequestOut:
    """Reject a request; the reason is shown to the attorney."""
    _open(session, request_id)
    view = W.reject(
        session, _registry(request).ledger, request_id, actor=me.actor, reason=body.reason
    )
    session.commit()
    return _out(view)


@router.get(
    "/snapshot",
    operation_id="facility_snapshot",
    response_class=PlainTextResponse,
    responses={**TEXT, **AUTH_RESPONSES},
)
def snapshot(
    facility: FacilityCode,
    me: Facility,
    session: DbSession,
    request: Request,
    vendor: VendorName = "",
) -> PlainTextResponse:
    """A signed snapshot of the numbers protected at ``facility`` (issued and recorded now)."""
    reg = _registry(request)
    issued = make_snapshot(session, reg.ledger, reg.signer, facility, vendor=vendor)
    session.commit()
    return PlainTextResponse(issued.text)


@router.get(
    "/checkpoint",
    operation_id="registry_checkpoint",
    response_class=PlainTextResponse,
    responses=TEXT,
    dependencies=[public()],
)
def checkpoint(session: DbSession, request: Request) -> PlainTextResponse:
    """The registry log's signed checkpoint (C2SP tlog-checkpoint): size and root, no number."""
    signed = _registry(request).ledger.checkpoint(session)
    session.commit()
    return PlainTextResponse(signed.text)


@router.get(
    "/key",
    operation_id="registry_key",
    response_class=PlainTextResponse,
    responses=TEXT,
    dependencies=[public()],
)
def key(request: Request) -> PlainTextResponse:
    """The registry's public keys (C2SP vkeys, current first), to check receipts offline."""
    return PlainTextResponse("".join(f"{v.vkey}\n" for v in _registry(request).verifiers()))


@router.post("/verify-receipt", operation_id="verify_receipt", dependencies=[public()])
def verify_receipt(body: ReceiptIn, request: Request) -> ReceiptCheckOut:
    """Check a receipt against the registry's keys; says what it proves, or what is wrong."""
    report = check_receipts([("receipt", body.receipt)], _registry(request).verifiers())
    return ReceiptCheckOut(
        ok=report.ok,
        receipts=[ReceiptLineOut.model_validate(line) for line in report.receipts],
        registrations=list(report.registrations),
    )
