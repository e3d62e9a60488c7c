"""The vault's endpoints: thin views over ``prevention.vault``, behind the role policy.

Every call names its case and reason in the body; the vault logs each attempt, refused
ones included, to the ledger's access log with the caller (``role:username``) and their
address. Content is only ever returned to a signed-in caller: links are tokens redeemed by
the user they were issued to, never URLs that work alone.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from privguard.internals.prevention.service.auth import Principal
from privguard.internals.prevention.service.deps import client_ip
from privguard.internals.prevention.service.errors import AUTH_RESPONSES
from privguard.internals.prevention.service.policy import public, requires
from privguard.internals.prevention.vault import AccessContext, Vault

router = APIRouter(prefix="/v1/vault", tags=["vault"])
READERS = ("investigator", "prosecutor", "records_officer")
BINARY: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "The content."}
}
Text = Annotated[str, Field(max_length=2000)]


def vault_of(where: Request | FastAPI | Any) -> Vault:
    """The app's vault (``where``: a request, the app, or a test client), built on first use
    on the app's database and data directory."""
    app = where if isinstance(where, FastAPI) else where.app
    found: Vault | None = getattr(app.state, "vault", None)
    if found is None:
        found = Vault.build(app.state.sessions, app.state.settings)
        app.state.vault = found
    return found


def _ctx(me: Principal, request: Request, case: str = "", reason: str = "") -> AccessContext:
    return AccessContext(me.actor, me.role, case, reason, client_ip(request) or "unknown")


class Purpose(BaseModel):
    """Why: the case number and a written reason (both logged with the access)."""

    case: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=10, max_length=2000)


class AccessIn(Purpose):
    action: Literal["play", "download", "export"] = "play"


class LinkIn(Purpose):
    recording_id: str = Field(max_length=40)
    action: Literal["play", "download"] = "play"
    seconds: int = Field(default=300, ge=1, le=900)


class LinkOut(BaseModel):
    token: str
    expires_in: int


class RedeemIn(BaseModel):
    token: str = Field(max_length=4000)


class QueryIn(Purpose):
    inmate_account: str | None = Field(default=None, max_length=100)
    number: str | None = Field(default=None, max_length=40)
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    limit: int = Field(default=1000, ge=1, le=100_000)


class QueryOut(BaseModel):
    rows: list[dict[str, Any]]
    withheld: int


class ProductionIn(Purpose):
    inmate_account: str = Field(min_length=1, max_length=100)
    start: dt.datetime
    end: dt.datetime


class QuarantineIn(BaseModel):
    numbers: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        min_length=1, max_length=10_000
    )
    reason: str = Field(min_length=1, max_length=2000)


class QuarantineOut(BaseModel):
    quarantined: list[str]


class PurgeIn(Purpose):
    recording_ids: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        min_length=1, max_length=10_000
    )
    authority: str = Field(min_length=1, max_length=500)
    backups: list[Text] = Field(default_factory=list, max_length=100)


class CertificateIn(BaseModel):
    certificate: str = Field(min_length=1, max_length=5_000_000)


class CertificateOut(BaseModel):
    ok: bool
    fields: dict[str, Any] | None = None
    problem: str | None = None


@router.post("/recordings", status_code=201, operation_id="vault_store", responses=AUTH_RESPONSES)
async def store(
    request: Request,
    decision_id: Annotated[str, Query(max_length=40)],
    facility: Annotated[str, Query(max_length=100)],
    inmate_account: Annotated[str, Query(max_length=100)],
    dialed_number: Annotated[str, Query(max_length=40)],
    started_at: dt.datetime,
    me: Annotated[Principal, requires("facility_system")],
    recording_ref: Annotated[str, Query(max_length=300)] = "",
) -> dict[str, Any]:
    """Store a recording (the request body, raw bytes) made under a record=true decision."""
    data = await request.body()
    s = await run_in_threadpool(  # encryption, fsync and commit: off the event loop
        vault_of(request).store, _ctx(me, request), decision_id, data, facility=facility,
        inmate_account=inmate_account, dialed_number=dialed_number, started_at=started_at,
        recording_ref=recording_ref,
    )  # fmt: skip
    return {"id": s.id, "sha256": s.sha256, "size": s.size, "state": s.state}


@router.post(
    "/recordings/{recording_id}/access",
    operation_id="vault_access",
    response_class=Response,
    responses={**BINARY, **AUTH_RESPONSES},
)
def access(
    recording_id: Annotated[str, PathParam(max_length=40)],
    body: AccessIn,
    request: Request,
    me: Annotated[Principal, requires(*READERS)],
) -> Response:
    """A recording's content, for a case and a reason (logged before it is sent)."""
    c = vault_of(request).read(_ctx(me, request, body.case, body.reason), recording_id, body.action)
    return Response(c.data, media_type=c.media_type, headers={"X-Content-SHA256": c.sha256})


@router.post("/links", operation_id="vault_link", responses=AUTH_RESPONSES)
def link(body: LinkIn, request: Request, me: Annotated[Principal, requires(*READERS)]) -> LinkOut:
    """A short-lived token for one recording, bound to you, the case and the reason."""
    from privguard.internals.prevention.vault.records import issue_link

    ctx = _ctx(me, request, body.case, body.reason)
    token = issue_link(vault_of(request), ctx, body.recording_id, body.action, body.seconds)
    return LinkOut(token=token, expires_in=body.seconds)


@router.post(
    "/links/redeem",
    operation_id="vault_redeem",
    response_class=Response,
    responses={**BINARY, **AUTH_RESPONSES},
)
def redeem(
    body: RedeemIn, request: Request, me: Annotated[Principal, requires(*READERS)]
) -> Response:
    """The content behind a token issued to you (signed in); refused for anyone else."""
    from privguard.internals.prevention.vault.records import redeem_link

    c = redeem_link(vault_of(request), body.token, me.actor, client_ip(request) or "unknown")
    return Response(c.data, media_type=c.media_type, headers={"X-Content-SHA256": c.sha256})


@router.post("/calls/query", operation_id="vault_query_calls", responses=AUTH_RESPONSES)
def query_calls(
    body: QueryIn, request: Request, me: Annotated[Principal, requires(*READERS, "auditor")]
) -> QueryOut:
    """Call records (no content); privileged calls' records are withheld but from auditors."""
    from privguard.internals.prevention.vault.records import query_calls as run

    r = run(vault_of(request), _ctx(me, request, body.case, body.reason),
            inmate_account=body.inmate_account, number=body.number, start=body.start,
            end=body.end, limit=body.limit)  # fmt: skip
    return QueryOut(rows=r.rows, withheld=r.withheld)


@router.post(
    "/productions",
    operation_id="vault_produce",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "The package."},
               **AUTH_RESPONSES},
)  # fmt: skip
def produce(
    body: ProductionIn, request: Request, me: Annotated[Principal, requires("records_officer")]
) -> Response:
    """All non-privileged calls of an inmate in a range, as a zip with a hashed manifest."""
    from privguard.internals.prevention.vault.production import produce as run

    ctx = _ctx(me, request, body.case, body.reason)
    with tempfile.TemporaryDirectory() as tmp:  # decrypted content never stays on the server
        p = run(vault_of(request), ctx, body.inmate_account, body.start, body.end,
                Path(tmp) / "production", zip_package=True)  # fmt: skip
        assert p.zip_path is not None
        data = p.zip_path.read_bytes()
    headers = {
        "Content-Disposition": f'attachment; filename="{p.production_id}.zip"',
        "X-Included": str(p.included),
        "X-Withheld": str(p.withheld),
        "X-Manifest-SHA256": p.manifest_sha256,
    }
    return Response(data, media_type="application/zip", headers=headers)


@router.post("/quarantine", operation_id="vault_quarantine", responses=AUTH_RESPONSES)
def quarantine(
    body: QuarantineIn, request: Request, me: Annotated[Principal, requires("registrar", "admin")]
) -> QuarantineOut:
    """Quarantine every recording of a call to these numbers, at once."""
    from privguard.internals.prevention.vault.protect import quarantine_numbers

    ctx = _ctx(me, request, reason=body.reason)
    return QuarantineOut(quarantined=quarantine_numbers(vault_of(request), ctx, body.numbers))


@router.post(
    "/purge",
    operation_id="vault_purge",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}, "description": "The certificate."},
               **AUTH_RESPONSES},
)  # fmt: skip
def purge(
    body: PurgeIn, request: Request, me: Annotated[Principal, requires("admin")]
) -> PlainTextResponse:
    """Crypto-shred recordings; the answer is the signed purge certificate (for the attorney)."""
    from privguard.internals.prevention.vault.protect import purge as run

    text = run(vault_of(request), _ctx(me, request, body.case, body.reason), body.recording_ids,
               authority=body.authority, backups=body.backups)  # fmt: skip
    return PlainTextResponse(text)


@router.get("/anomalies", operation_id="vault_anomalies", responses=AUTH_RESPONSES)
def anomalies(
    start: dt.datetime,
    end: dt.datetime,
    request: Request,
    me: Annotated[Principal, requires("auditor", "admin")],
    bulk_per_hour: Annotated[int, Query(ge=1, le=100_000)] = 20,
) -> dict[str, Any]:
    """Unusual access per user over [start, end): bulk, off-hours, protected items."""
    from privguard.internals.prevention.vault.anomalies import anomaly_report

    ctx = _ctx(me, request)
    return anomaly_report(vault_of(request), ctx, start, end, bulk_per_hour=bulk_per_hour).to_dict()


@router.get(
    "/key", operation_id="vault_key", response_class=PlainTextResponse, dependencies=[public()]
)
def key(request: Request) -> PlainTextResponse:
    """The vkey that checks purge certificates and production manifests, offline."""
    return PlainTextResponse(str(vault_of(request).signer.verifier()) + "\n")


@router.post("/certificates/verify", operation_id="vault_verify_certificate",
             dependencies=[public()])  # fmt: skip
def verify_certificate(body: CertificateIn, request: Request) -> CertificateOut:
    """Check a purge certificate against this vault's key (anyone may; it is public)."""
    from privguard.errors import IntegrityError
    from privguard.internals.prevention.ledger import LedgerError
    from privguard.internals.prevention.vault.certificate import verify_certificate as run

    try:
        check = run(body.certificate, vault_of(request).signer.verifiers())
    except (IntegrityError, LedgerError) as exc:
        return CertificateOut(ok=False, problem=exc.message)
    return CertificateOut(ok=True, fields=check.fields)
