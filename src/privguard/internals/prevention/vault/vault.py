"""The vault: recordings stored only against a durable decision, read only with a reason.

:class:`Vault` ties the parts together: the access log (:mod:`.access`), the sealed keys
(:mod:`.keys`), the blobs (:mod:`.blobs`) and the two questions it asks other parts
(:mod:`.lookup`). Every public method takes an :class:`~.access.AccessContext` and leaves
one access-log entry per attempt; a refusal is committed before it is raised, so the
refusal survives the failed request. Quarantine, purge and productions are in
:mod:`.protect` and :mod:`.production`; short-lived links in :mod:`.links`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from privguard.errors import InputError, IntegrityError
from privguard.internals.common.phones import to_e164
from privguard.internals.prevention import db
from privguard.internals.prevention.ledger import Ledger, Signer
from privguard.internals.prevention.settings import ServiceSettings
from privguard.internals.prevention.vault import blobs as B
from privguard.internals.prevention.vault.access import (
    ACCESS_LOG,
    ACCESS_ORIGIN,
    DEFAULT_POLICY,
    AccessContext,
    AccessLogger,
    AccessRefused,
    RolePolicy,
    bad_context,
    check_role,
    used_today,
    utcnow,
)
from privguard.internals.prevention.vault.keys import Escrow, FileKeyWrapper, KeyWrapper
from privguard.internals.prevention.vault.lookup import (
    Call,
    DecisionLookup,
    DecisionTable,
    PrivilegeOracle,
    RegistryOracle,
)
from privguard.internals.prevention.vault.models import Recording

log = logging.getLogger(__name__)
CERT_ORIGIN = "privguard/vault"  # the key name that signs purge certificates and manifests


@dataclass(frozen=True)
class Stored:
    """A recording as the vault stored it (metadata only)."""

    id: str
    decision_id: str
    sha256: str
    size: int
    state: str


@dataclass(frozen=True)
class Content:
    """A recording's plaintext, handed out after its access was logged."""

    id: str
    data: bytes
    sha256: str
    media_type: str
    access_index: int


def call_of(row: Recording) -> Call:
    """What the privilege oracle needs of a stored recording."""
    return Call(row.id, row.dialed_number, row.facility, row.started_at, row.recording_ref)


def e164(raw: str) -> str:
    """``raw`` as E.164, or InputError."""
    parsed = to_e164(raw)
    if parsed.e164 is None:
        raise InputError(
            f"not a phone number: {raw!r} ({parsed.status})",
            fix="write the number as +1 512 555 0100 or (512) 555-0100",
        )
    return parsed.e164


def secure_delete(session: Session) -> None:
    """On SQLite, zero freed cells so a dropped wrapped key leaves no copy in the file."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete=ON"))


def aware(t: dt.datetime) -> dt.datetime:
    """``t`` in UTC (naive times, as SQLite returns them, are UTC)."""
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


class Vault:
    """The recording vault (see the module doc). Build it with :meth:`open`."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        ledger: Ledger,
        wrapper: KeyWrapper,
        blobs: B.BlobStore,
        escrow: Escrow,
        signer: Signer,
        link_key: bytes,
        *,
        decisions: DecisionLookup | None = None,
        oracle: PrivilegeOracle | None = None,
        policy: Mapping[str, RolePolicy] = DEFAULT_POLICY,
        backups: tuple[str, ...] = (),
    ) -> None:
        self.factory = factory
        self.log = AccessLogger(ledger)
        self.ledger = ledger
        self.wrapper = wrapper
        self.blobs = blobs
        self.escrow = escrow
        self.signer = signer
        self.link_key = link_key
        self.decisions = decisions or DecisionTable()
        self.oracle = oracle or RegistryOracle()
        self.policy = policy
        self.backups = backups  # where copies of blobs and database live (for certificates)

    @classmethod
    def open(cls, settings: ServiceSettings, *, migrate: bool = True, **kw: Any) -> Vault:
        """The vault of ``settings`` on its own engine (migrated); see :meth:`build`."""
        engine: Engine = db.make_engine(settings.url)
        if migrate:
            db.upgrade(engine)
        return cls.build(db.sessions(engine), settings, **kw)

    @classmethod
    def build(cls, factory: sessionmaker[Session], settings: ServiceSettings, **kw: Any) -> Vault:
        """The vault of ``settings`` on ``factory`` (the service's): keys under
        ``<data_dir>/keys``, blobs under ``<data_dir>/vault``. Missing keys are created; a
        new escrow private key is left in ``keys/vault-escrow.key`` with a warning: it
        belongs offline, and once it is gone no quarantined recording opens here.
        """
        from privguard.internals.prevention.vault.keys import load_or_create_secret, write_secret

        keys = settings.data_dir / "keys"
        public, private = keys / "vault-escrow.pub", keys / "vault-escrow.key"
        if not public.exists():
            pub, priv = Escrow.generate()
            write_secret(private, priv)
            write_secret(public, pub)
            log.warning("created the escrow key %s: move it offline", private)
        decisions_key = keys / "decisions.hmac"
        signer = Signer.load_or_create(settings.key_file, name=ACCESS_ORIGIN)
        return cls(
            factory,
            Ledger(log=ACCESS_LOG, signer=signer),
            FileKeyWrapper(keys / "vault.kek"),
            B.BlobStore(settings.data_dir / "vault" / "blobs"),
            Escrow.load(public, private),
            signer.for_name(CERT_ORIGIN),
            load_or_create_secret(keys / "vault-links.key"),
            decisions=DecisionTable(_hex_key(decisions_key)),
            **kw,
        )

    # -- refusals and checks ---------------------------------------------------------------

    def refuse(
        self,
        ctx: AccessContext,
        action: str,
        obj: str,
        message: str,
        *,
        outcome: str = "refused",
        fix: str | None = None,
    ) -> NoReturn:
        """Log the refusal in its own transaction, then raise :class:`AccessRefused`."""
        with db.transaction(self.factory) as session:
            self.log.record(session, ctx, action, obj, outcome, detail=message)
        log.warning("vault %s %s by %s: %s", action, outcome, ctx.actor, message)
        raise AccessRefused(message, where=obj or None, fix=fix)

    def admit(self, ctx: AccessContext, action: str, obj: str, needs_case: bool = True) -> None:
        """Refuse (logged) a context without case or reason, or a role without the right."""
        bad = bad_context(ctx, needs_case)
        if bad is not None:
            self.refuse(ctx, action, obj, bad.message + ": " + "; ".join(bad.problems), fix=bad.fix)
        why = check_role(self.policy, ctx, action)
        if why is not None:
            may = sorted(r for r, p in self.policy.items() if action in p.actions)
            fix = (
                f"ask someone whose role may {action} ({', '.join(may) or 'none'}) to do it"
                if ctx.role in self.policy
                else f"give one of the roles: {', '.join(self.policy)}"
            )
            self.refuse(ctx, action, obj, why, fix=fix)

    def volume(self, session: Session, ctx: AccessContext, items: int) -> str:
        """ "ok", "flagged" (over the role's daily volume, allowed) or "refused"."""
        rp = self.policy[ctx.role]
        if used_today(session, ctx.actor, utcnow()) + items <= rp.daily_items:
            return "ok"
        return "flagged" if rp.over_limit == "flag" else "refused"

    # -- storing ---------------------------------------------------------------------------

    def store(
        self,
        ctx: AccessContext,
        decision_id: str,
        data: bytes,
        *,
        facility: str,
        inmate_account: str,
        dialed_number: str,
        started_at: dt.datetime,
        duration_s: int = 0,
        recording_ref: str = "",
        media_type: str = "application/octet-stream",
        call_id: str = "",
    ) -> Stored:
        """Encrypt and keep a recording made under ``decision_id``.

        Refused (and logged as an ``alarm``) unless ``decision_id`` is a durable
        ``record: true`` of the decision log, for this facility and number (and, when both
        name one, this ``call_id``), not used by another recording. A number privileged by now is stored straight into quarantine.
        """
        obj = f"decision:{decision_id}"
        self.admit(ctx, "store", obj, needs_case=False)
        number = e164(dialed_number)
        with self.factory() as session:
            ref = self.decisions.is_durable_record_true(session, decision_id)
            used = session.scalar(select(Recording.id).where(Recording.decision_id == decision_id))
        if ref is None:
            self.refuse(
                ctx, "store", obj, "no durable record:true decision has this id",
                outcome="alarm", fix="a call may be recorded only when the gate said record=true",
            )  # fmt: skip
        if used is not None:
            self.refuse(ctx, "store", obj, f"decision already used by {used}", outcome="alarm")
        if ref.facility.strip().upper() != facility.strip().upper():
            self.refuse(ctx, "store", obj, "the decision was for another facility", outcome="alarm")
        if not self.decisions.number_matches(ref, number):
            self.refuse(ctx, "store", obj, "the decision was for another number", outcome="alarm")
        if call_id and getattr(ref, "call_id", "") and ref.call_id != call_id:
            self.refuse(ctx, "store", obj, "the decision was for another call", outcome="alarm")
        rid = "rec_" + secrets.token_hex(12)
        aad = B.context(rid, decision_id)
        key, blob = B.encrypt(data, aad)
        rel = self.blobs.put(rid, blob)
        now = utcnow()
        row = Recording(
            id=rid,
            decision_id=decision_id,
            facility=facility.strip().upper(),
            inmate_account=inmate_account.strip(),
            dialed_number=number,
            started_at=aware(started_at),
            duration_s=duration_s,
            recording_ref=recording_ref,
            media_type=media_type,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            blob=rel,
            blob_sha256=hashlib.sha256(blob).hexdigest(),
            wrapped_key=self.wrapper.wrap(key, aad),
            kek_id=self.wrapper.key_id,
            state="stored",
            state_at=now,
            stored_at=now,
        )
        try:
            with db.transaction(self.factory) as session:
                why = self.oracle.reasons(session, [call_of(row)]).get(rid)
                if why:
                    self.seal_away(row, key, "quarantined", ",".join(why), now)
                session.add(row)
                self.log.record(
                    session, ctx, "store", rid, "ok", items=1,
                    extra={"decision_id": decision_id, "sha256": row.sha256, "state": row.state},
                )  # fmt: skip
        except BaseException:
            self.blobs.shred(rel)  # no row, no blob: never an orphan nobody can account for
            raise
        return Stored(rid, decision_id, row.sha256, row.size, row.state)

    def seal_away(
        self, row: Recording, key: bytes, state: str, reason: str, now: dt.datetime
    ) -> None:
        """Keep the data key only under the escrow (quarantine): no key here opens it."""
        row.escrow_key = self.escrow.seal(key)
        row.wrapped_key = None
        row.state, row.state_reason, row.state_at = state, reason, now

    def data_key(self, row: Recording) -> bytes:
        """The recording's data key (IntegrityError if its wrapping was tampered with)."""
        if row.wrapped_key is None:
            raise AccessRefused(f"the recording is {row.state}", where=row.id)
        return self.wrapper.unwrap(row.wrapped_key, B.context(row.id, row.decision_id))

    # -- reading ---------------------------------------------------------------------------

    def read(self, ctx: AccessContext, recording_id: str, action: str = "play") -> Content:
        """A recording's content, for ``action`` (play, download or export).

        Needs a role allowed to, a case number and a written reason, and stays within the
        role's daily volume. Never a quarantined, purged or privileged recording (one found
        privileged now is quarantined on the spot). Logged before it is returned.
        """
        if action not in ("play", "download", "export"):
            raise InputError(f"unknown action {action!r}", fix="use play, download or export")
        self.admit(ctx, action, recording_id)
        try:
            with db.transaction(self.factory) as session:
                secure_delete(session)
                row = session.get(Recording, recording_id)
                if row is None:
                    refusal = "no such recording"
                elif row.state != "stored":
                    refusal = f"the recording is {row.state}: it cannot be reached"
                elif why := self.oracle.reasons(session, [call_of(row)]).get(row.id):
                    self.seal_away(row, self.data_key(row), "quarantined", ",".join(why), utcnow())
                    self.log.record(
                        session, ctx, "quarantine", row.id, "ok", items=1,
                        detail="found privileged when read: " + ",".join(why),
                    )  # fmt: skip
                    refusal = "the recording is privileged: quarantined"
                else:
                    refusal = ""
                    outcome = self.volume(session, ctx, 1)
                    if outcome != "refused":
                        data = B.decrypt(self.data_key(row), self.blobs.get(row.blob),
                                         B.context(row.id, row.decision_id), row.id)  # fmt: skip
                        index = self.log.record(session, ctx, action, row.id, outcome, items=1)
                        return Content(row.id, data, row.sha256, row.media_type, index)
                    refusal = "over the role's daily volume"
        except IntegrityError as exc:  # tampered key or blob: the attempt is an alarm
            with db.transaction(self.factory) as session:
                self.log.record(session, ctx, action, recording_id, "alarm", detail=exc.message)
            raise
        if refusal.endswith("quarantined"):
            self.scrub()
        self.refuse(ctx, action, recording_id, refusal)

    def scrub(self) -> None:
        """After keys were dropped: let no old page keep them (SQLite WAL, PostgreSQL MVCC)."""
        engine = self.factory.kw["bind"]
        try:
            if engine.dialect.name == "sqlite":
                with engine.connect() as conn:
                    conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            elif engine.dialect.name == "postgresql":
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM vault_recordings"))
        except Exception as exc:  # best effort; the certificate says what was done
            log.warning("could not compact the database after dropping keys: %s", exc)


def _hex_key(path: Path) -> bytes | None:
    # The decision log's HMAC key, read as the log reads it (common.keys.load_key: hex
    # text); None while no decision was ever logged here.
    if not path.exists():
        return None
    return bytes.fromhex(path.read_text(encoding="ascii").strip())
