"""``POST /v1/decisions``: the same decision over HTTP, for platforms that cannot embed.

The route is included by the service's ``create_app``; only the ``facility_system`` role
may call it. It answers with the checker installed on the app (:func:`install`); until
one is installed every answer is ``record=false`` with ``NOTHING_LOADED``. The service's
lifespan installs one with :func:`start_registry_checker`: its source is the service's own
registry (:class:`~.live.RegistrySource`), polled every ``REFRESH_S`` seconds and refreshed at
once after this service commits a registry change (before that request's response), and
verified with the registry's public key. Every answer is
logged through the app's :class:`~.log.DecisionLog` (built on first use from the app's
database and a service HMAC key ``<data_dir>/keys/decisions.hmac``), so a ``record=true``
has been committed before the response is sent.
"""

from __future__ import annotations

import gc
import logging
import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from privguard.internals.common.keys import load_key
from privguard.internals.prevention.decisions.channel import ChannelDecisionLog
from privguard.internals.prevention.decisions.checker import Checker
from privguard.internals.prevention.decisions.decide import Reason
from privguard.internals.prevention.decisions.live import RegistrySource
from privguard.internals.prevention.decisions.log import LEDGER_LOG, DecisionLog
from privguard.internals.prevention.decisions.snapshot import (
    SnapshotRejected,
    SnapshotVerifier,
    registry_verifier,
)
from privguard.internals.prevention.decisions.state import Checkpoint
from privguard.internals.prevention.ledger import Ledger, Signer
from privguard.internals.prevention.ledger.store import CHANGED_LOGS
from privguard.internals.prevention.service.auth import Principal
from privguard.internals.prevention.service.errors import AUTH_RESPONSES
from privguard.internals.prevention.service.policy import requires
from privguard.internals.prevention.service.token_cache import TokenCache

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["decisions"])
DECISIONS_ORIGIN = "privguard/decisions"  # the key that signs the decisions log's heads
_LOCK = threading.Lock()
REFRESH_S = 0.25  # how often the service's checker polls its registry's log size


class DecisionRequest(BaseModel):
    """One call at setup."""

    facility: str = Field(min_length=1, max_length=100)
    inmate_account: str = Field(default="", max_length=100)
    dialed_number: str = Field(max_length=64)
    private_call_declared: bool | None = None
    call_id: str = Field(default="", max_length=200)  # the SIP Call-ID, kept with the decision


class DecisionAnswer(BaseModel):
    """The decision: record or not, why, and what it was based on."""

    record: bool
    reason: str
    decision_id: str
    facility: str
    at: str
    private_call_declared: bool
    call_id: str = ""
    entry: dict[str, Any] | None
    checkpoint: dict[str, Any] | None


def _nothing(data: bytes, last: object | None, now: object) -> Any:
    raise SnapshotRejected(
        "no registry snapshot source is configured", reason=Reason.NOTHING_LOADED
    )


def install(app: Any, verifier: SnapshotVerifier, **checker_kw: Any) -> Checker:
    """Give the app its checker (with the app's decision log); returns it, not started.

    A checker installed before is stopped: one source refreshes the app's decisions."""
    checker = Checker(verifier, log=decision_log(app), **checker_kw)
    with _LOCK:
        previous: Checker | None = getattr(app.state, "decision_checker", None)
        app.state.decision_checker = checker
    if previous is not None:
        previous.stop()
    return checker


def start_registry_checker(app: Any, *, interval_s: float = REFRESH_S, **kw: Any) -> Checker:
    """Install and start the checker fed by the app's own registry (``app.state.registry``).

    Its first snapshot is cut and loaded before this returns; then the registry's log size
    is polled every ``interval_s`` seconds and a new snapshot cut only when it changed.
    """
    registry = app.state.registry
    box: list[Checker] = []

    def held() -> Checkpoint | None:
        state = box[0].state if box else None
        return None if state is None else state.checkpoint

    source = RegistrySource(registry.factory, registry.ledger, registry.signer, held)
    verifier = registry_verifier([registry.signer.verifier()], where="the service's registry")
    kw.setdefault("timeout_s", app.state.settings.decision_timeout_ms / 1000)
    if getattr(app.state, "freeze_heap", False):  # a process of its own (service.app.serve)
        kw.setdefault("on_load", freeze_heap)
    checker = install(app, verifier, source=source, interval_s=interval_s, **kw)
    box.append(checker)
    app.state.decision_source = source
    _refresh_after_registry_commits(app, registry.ledger.log, checker)
    return checker.start()


def freeze_heap(state: object = None) -> None:
    """Move every object alive now out of the garbage collector's reach (``gc.freeze``).

    ``privguard serve`` calls it after each registry state is loaded (an app built with
    ``create_app(..., freeze_heap=True)``: never in a process that is not the service's
    own, such as a test run, whose objects would all be frozen). A full collection walks every
    tracked object: with 10,000 numbers the service holds ~170,000 (the state, the app,
    SQLAlchemy, pydantic), and one full collection took ~140 ms of CPU, during which no
    decision is answered (measured: issue 15's HTTP tail). Frozen, they are skipped by every
    collection; they are still freed by reference counting when dropped (a replaced state
    is), so only a reference cycle alive at the moment of freezing is kept for good: the
    young generations are collected first, so what is kept is what requests in flight held
    at that moment (a few objects per registry change).
    """
    gc.collect(1)
    gc.freeze()


def _refresh_after_registry_commits(app: Any, registry_log: str, checker: Checker) -> None:
    """A registry change committed by this service reaches its decisions before the
    response that made it is sent: the committing thread refreshes the checker (the poll
    still covers changes made by other processes, within ``interval_s``)."""

    def after_commit(session: Session) -> None:
        changed = session.info.pop(CHANGED_LOGS, None)
        # Only while it is the app's checker (a test may install another one).
        if changed and registry_log in changed and app.state.decision_checker is checker:
            checker.refresh()

    def after_rollback(session: Session) -> None:
        session.info.pop(CHANGED_LOGS, None)

    event.listen(app.state.sessions, "after_commit", after_commit)
    event.listen(app.state.sessions, "after_rollback", after_rollback)


async def connected(app: Any) -> None:
    """Wait until the app's decision log can make decisions durable (a channel to the
    service's writer process: connected), so the first calls are not refused meanwhile."""
    if not await decision_log(app).connected():
        log.error("the decision writer is not reachable: record=true is refused until it is")


async def shutdown(app: Any) -> None:
    """Stop the app's checker refresh and commit (or spill) its queued decisions."""
    with _LOCK:
        checker: Checker | None = getattr(app.state, "decision_checker", None)
        found: DecisionLog | None = getattr(app.state, "decision_log", None)
        app.state.decision_log = None
    if checker is not None:
        checker.stop()
    if found is not None:
        await found.aclose()


def decision_log(app: Any) -> DecisionLog:
    """The app's decision log, built and started on first use.

    Under ``privguard serve`` (``app.state.decision_writer`` set to the writer's socket)
    the app hands its decisions to the service's one writer process
    (:class:`~.channel.ChannelDecisionLog`); an app built without one (an embedding, the
    tests) writes them itself, from a thread."""
    with _LOCK:
        found: DecisionLog | None = getattr(app.state, "decision_log", None)
        if found is None:
            settings = app.state.settings
            writer = getattr(app.state, "decision_writer", None)
            if writer is not None:
                found = ChannelDecisionLog(writer, hmac_key(settings), spill_path(settings))
            else:
                found = new_decision_log(app.state.sessions, settings)
            app.state.decision_log = found.start()
        return found


def hmac_key(settings: Any) -> bytes:
    """The service's key for the decision log's keyed hashes (made on first use)."""
    data = settings.data_dir
    return load_key(data / "decisions", data / "keys" / "decisions.hmac")


def spill_path(settings: Any) -> Path:
    """The decision log's spill file (shared by the writer and the workers)."""
    return Path(settings.data_dir) / "decisions" / "spill.jsonl"


def new_decision_log(factory: sessionmaker[Session], settings: Any) -> DecisionLog:
    """A decision log writing to the service's database itself (not started)."""
    # Every decision is also an entry of the ledger's decisions log (numbers as keyed
    # hashes), which the compliance report recounts.
    signer = Signer.load_or_create(settings.key_file, name=DECISIONS_ORIGIN)
    return DecisionLog(
        factory,
        hmac_key(settings),
        spill_path(settings),
        ledger=Ledger(log=LEDGER_LOG, signer=signer),
    )


def checker(app: Any) -> Checker:
    """The app's checker (one refusing everything with NOTHING_LOADED if none installed)."""
    found: Checker | None = getattr(app.state, "decision_checker", None)
    if found is None:
        with _LOCK:
            found = getattr(app.state, "decision_checker", None)
        if found is None:
            found = install(app, _nothing)
    return found


GATE_ROLES = ("facility_system",)  # who may ask for decisions (both paths)
Gate = Annotated[Principal, requires(*GATE_ROLES)]


def token_cache(app: Any) -> TokenCache:
    """The app's cache of verified gate tokens (made on first use)."""
    found: TokenCache | None = getattr(app.state, "token_cache", None)
    if found is None:
        with _LOCK:
            found = getattr(app.state, "token_cache", None)
            if found is None:
                found = app.state.token_cache = TokenCache()
    return found


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value."""
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


@router.post(
    "/decisions",
    operation_id="decide",
    response_model=DecisionAnswer,
    responses=AUTH_RESPONSES,
)
async def post_decision(body: DecisionRequest, request: Request, caller: Gate) -> dict[str, Any]:
    """Whether this call may be recorded. ``record`` is true only when every check passed
    and the decision is durable; there is no override."""
    token = bearer_token(request.headers.get("authorization"))
    if token is not None:  # verified just now: the fast path may answer it for a while
        token_cache(request.app).put(token, caller)
    decision = await checker(request.app).decide_async(
        body.facility,
        body.inmate_account,
        body.dialed_number,
        body.private_call_declared,
        call_id=body.call_id,
    )
    return decision.to_dict()
