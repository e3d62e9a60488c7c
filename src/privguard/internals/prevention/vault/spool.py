"""The recording hand-off: a media relay's spool of finished calls, into the vault (issue 18).

rtpengine (``--recording-method=pcap``) writes each recorded call as
``<spool>/pcaps/<call-id>-<random>.pcap`` and, once the call is over, a metadata file
``<spool>/metadata/rtpengine-meta-<call-id>-<random>.txt`` whose first line is the pcap's
path and whose last block is the metadata string the proxy gave when it started the
recording. privguard's Kamailio configuration (``integrations/kamailio/``) gives
``privguard-decision:<id>|account:<inmate>|number:<dialed>|facility:<code>``.

:func:`ingest_spool` takes every finished call (a metadata file; a call still running has
its metadata in ``<spool>/tmp`` and is left alone), decodes the pcap to a WAV
(:mod:`.pcap`) and stores it with :meth:`.Vault.store`, which accepts it only under a
durable ``record: true`` decision taken for that facility, number and Call-ID. Then:

* stored: the spool's pcap and metadata are deleted (the vault holds the only copy, now
  encrypted);
* refused (no decision named, no such durable record:true, another call's or number's
  decision, a decision already used): an **alarm**. The vault's access log keeps it
  (outcome ``alarm``), it is logged at ERROR and counted, and the files are moved, never
  deleted, to ``<spool>/refused/`` (mode 0600) for whoever investigates how a call was
  recorded without a decision allowing it.

A metadata file that cannot be read, or names a pcap outside the spool, is an alarm too.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from privguard.errors import InputError, PrivguardError
from privguard.internals.prevention import db
from privguard.internals.prevention.vault.access import AccessContext, AccessRefused
from privguard.internals.prevention.vault.pcap import decode_pcap, to_wav
from privguard.internals.prevention.vault.vault import Vault

log = logging.getLogger(__name__)
TAG = "privguard-decision"  # the metadata key naming the decision
_META = re.compile(r"^rtpengine-meta-(?P<call>.+)-[0-9a-f]{16}\.txt$")
SPOOL_CONTEXT = AccessContext(
    "facility_system:recording-spool", "facility_system", "", "recording hand-off", "spool"
)


@dataclass(frozen=True)
class SpoolCall:
    """One finished call of the spool, as its metadata file describes it."""

    meta: Path
    pcap: Path | None
    call_id: str
    fields: dict[str, str]  # the proxy's metadata: privguard-decision, account, number...


@dataclass
class SpoolReport:
    """What one pass over the spool did."""

    stored: list[str] = field(default_factory=list)  # recording ids
    alarms: list[str] = field(default_factory=list)  # one line per refused call
    waiting: int = 0  # calls still in progress (metadata in tmp/)


def read_meta(meta: Path, spool: Path) -> SpoolCall:
    """Parse one rtpengine metadata file (see the module doc)."""
    text = meta.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    pcap = None
    if lines and lines[0].strip():
        named = Path(lines[0].strip())
        inside = (spool / "pcaps").resolve()
        if named.resolve().parent == inside:
            pcap = named.resolve()
        else:
            raise InputError(
                "the metadata names a pcap outside the spool",
                where=f"{meta}: line 1",
                fix=f"recordings are taken only from {inside}",
            )
    fields: dict[str, str] = {}
    for line in reversed(lines):
        if TAG + ":" in line:
            for part in line.strip().split("|"):
                key, _, value = part.partition(":")
                fields[key.strip()] = value.strip()
            break
    found = _META.match(meta.name)
    call_id = found["call"] if found else ""
    return SpoolCall(meta, pcap, call_id, fields)


def ingest_spool(vault: Vault, spool: Path, ctx: AccessContext = SPOOL_CONTEXT) -> SpoolReport:
    """Store every finished call of ``spool`` in ``vault``, or refuse it with an alarm."""
    spool = Path(spool)
    if not (spool / "metadata").is_dir():
        raise InputError(
            "not a recording spool (no metadata folder)",
            where=str(spool),
            fix="give the folder rtpengine records to (its --recording-dir, the folder that "
            "holds 'metadata' and 'pcaps')",
        )
    report = SpoolReport(waiting=len(list((spool / "tmp").glob("*.tmp"))))
    for meta in sorted((spool / "metadata").glob("*.txt")):
        try:
            call = read_meta(meta, spool)
        except (OSError, PrivguardError) as exc:
            why = exc.message if isinstance(exc, PrivguardError) else str(exc)
            _alarm(vault, ctx, report, spool, meta, None, f"unreadable metadata: {why}")
            continue
        try:
            report.stored.append(_store(vault, ctx, call))
        except AccessRefused as exc:  # the vault has logged it as an alarm already
            _alarm(None, ctx, report, spool, meta, call.pcap, exc.message)
            continue
        except PrivguardError as exc:
            _alarm(vault, ctx, report, spool, meta, call.pcap, exc.message)
            continue
        for done in (call.pcap, meta):
            if done is not None:
                done.unlink(missing_ok=True)
    return report


def _store(vault: Vault, ctx: AccessContext, call: SpoolCall) -> str:
    if call.pcap is None or not call.pcap.is_file():
        raise InputError("the recording's pcap is missing", where=str(call.meta))
    if not call.fields.get(TAG):
        raise InputError("the recording names no decision", where=str(call.meta))
    audio = decode_pcap(call.pcap)
    f = call.fields
    stored = vault.store(
        ctx,
        f[TAG],
        to_wav(audio),
        facility=f.get("facility", ""),
        inmate_account=f.get("account", ""),
        dialed_number=f.get("number", "") or "unknown",
        started_at=dt.datetime.fromtimestamp(audio.started or call.pcap.stat().st_mtime, dt.UTC),
        duration_s=round(audio.seconds),
        recording_ref=f"sip-call-id:{call.call_id}",
        media_type="audio/wav",
        call_id=call.call_id,
    )
    log.info("recording of call %s stored as %s", call.call_id, stored.id)
    return stored.id


def _alarm(
    vault: Vault | None,
    ctx: AccessContext,
    report: SpoolReport,
    spool: Path,
    meta: Path,
    pcap: Path | None,
    why: str,
) -> None:
    """Count, log, keep in the vault's access log (unless ``vault`` is None: it did) and
    move the files aside."""
    report.alarms.append(f"{meta.name}: {why}")
    if vault is not None:
        with db.transaction(vault.factory) as session:
            vault.log.record(session, ctx, "store", f"spool:{meta.name}", "alarm", detail=why)
    log.error("ALARM: a recording was refused by the vault (%s): %s", meta.name, why)
    held = spool / "refused"
    held.mkdir(mode=0o700, exist_ok=True)
    for item in (pcap, meta):
        if item is not None and item.exists():
            target = held / item.name
            item.replace(target)
            os.chmod(target, 0o600)
