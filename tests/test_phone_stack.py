"""Proof on a real phone stack: a registered number is never recorded (issue 18).

Kamailio (integrations/kamailio/kamailio.cfg) asks privguard's service at every INVITE;
rtpengine relays the media and records only under a record:true decision, from the 200
OK; two baresip phones place and answer real calls on 127.0.0.1 (tests/phone_stack.py).
Checked: audio both ways on every connected call; a registered number leaves no recording
anywhere; another number's recording, through the spool hand-off into the vault, decodes
to the two test tones; a number registered while the stack runs is not recorded on its
next call, one second later; with the service down the fallback is asked, and with both
down FAIL_MODE refuse answers 503 and FAIL_MODE unrecorded connects unrecorded; a
recording without a durable record:true decision is refused with an alarm; every process
is stopped by its PID. scripts/phone.sh installs the packages (`make services`).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from phone_stack import (
    ENV,
    FACILITY,
    PRIVGUARD,
    STARTED,
    TONE_A,
    TONE_B,
    Phone,
    Proc,
    alive,
    dominant,
    free_port,
    missing_binaries,
    read_wav,
    start,
    start_kamailio,
    start_rtpengine,
    wait_for,
)
from privguard.internals.prevention.db import transaction
from privguard.internals.prevention.ledger import Signer
from privguard.internals.prevention.registry import workflow as W
from privguard.internals.prevention.registry.api import ORIGIN as REGISTRY_ORIGIN
from privguard.internals.prevention.registry.api import Registry
from privguard.internals.prevention.registry.api import snapshot as cut_snapshot
from privguard.internals.prevention.service.auth import create_user, issue_token
from privguard.internals.prevention.settings import ServiceSettings
from privguard.internals.prevention.vault import AccessContext, Vault
from privguard.internals.prevention.vault.models import Recording
from privguard.internals.prevention.vault.spool import ingest_spool

pytestmark = [pytest.mark.services, pytest.mark.slow]

LAWYER = "+15125550100"  # registered before the stack starts
FAMILY = "+15125550199"  # never registered: recorded
LATE = "+15125550142"  # registered while the stack runs
OTHER = "+15125550177"  # for the fail-closed calls
TALK_S = 1.5  # seconds of conversation per call
GOOD = 15.0  # Hz: how close a dominant frequency must be to its tone


@dataclass
class Stack:
    root: Path
    settings: ServiceSettings
    registry: Registry
    attorney: int
    service: Proc
    fallback: Proc
    rtpengine: Proc
    spool: Path
    refuse: tuple[Proc, int]  # kamailio with FAIL_MODE refuse, its SIP port
    unrecorded: tuple[Proc, int]  # kamailio with FAIL_MODE unrecorded
    inmate: Phone
    gateway: Phone

    def register(self, number: str) -> None:
        reg = self.registry
        with transaction(reg.factory) as s:
            req = W.submit(s, reg.ledger, self.attorney, [number], actor="attorney:test")
            W.approve(s, reg.ledger, req.id, actor="registrar:test", reason="called the office")


@dataclass
class Call:
    call_id: str
    closed: str  # baresip's CALL_CLOSED reason
    established: bool
    inmate_heard: Path | None
    gateway_heard: Path | None


def _free_http_port() -> int:
    import socket

    return free_port(socket.SOCK_STREAM, both=False)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if missing := missing_binaries():
        pytest.fail(f"the phone stack needs {missing}: run scripts/phone.sh (make services)")
    root = tmp_path_factory.mktemp("phone")
    data = root / "data"
    settings = ServiceSettings(
        data_dir=data, database_url=f"sqlite:///{data}/privguard.db", decision_timeout_ms=5000
    )
    # The registry's signing key first: the fallback is started with its public half.
    vkey = str(Signer.load_or_create(settings.key_file, name=REGISTRY_ORIGIN).verifier())
    snap = root / "main.snapshot"  # cut below; the fallback fails closed until it appears
    STARTED.clear()
    phones: list[Phone] = []
    registry: Registry | None = None
    try:
        # The slow starters first (the service imports for seconds); the rest meanwhile.
        port = _free_http_port()
        service = start(
            "service",
            [*PRIVGUARD, "serve", "--data-dir", str(data), "--database-url",
             settings.database_url or "", "--port", str(port)],
            root, env=ENV,
        )  # fmt: skip
        local_port = _free_http_port()
        fallback = start(
            "fallback",
            [*PRIVGUARD, "decisions", "serve-local", "--snapshot", str(snap), "--key", vkey,
             "--port", str(local_port)],
            root, env=ENV,
        )  # fmt: skip
        rtpengine, ng, spool = start_rtpengine(root)
        inmate = Phone(root, "inmate", ["inmate-1001"], TONE_A)
        phones.append(inmate)
        gateway = Phone(root, "gateway", [LAWYER, FAMILY, LATE, OTHER], TONE_B)
        phones.append(gateway)
        wait_for(
            lambda: httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200,
            "the decision service",
            service,
            timeout=90,
        )
        registry = Registry.open(settings)  # migrated by the service already
        with transaction(registry.factory) as s:
            attorney = W.add_attorney(s, registry.ledger, "Jane Doe", actor="registrar:test")
            token = issue_token(s, create_user(s, "kamailio", "facility_system"), "gate").token
            req = W.submit(s, registry.ledger, attorney, [LAWYER], actor="attorney:test")
            W.approve(s, registry.ledger, req.id, actor="registrar:test", reason="called")
        # The fallback's snapshot, binding from today: it holds LAWYER only.
        cut_snapshot(registry, FACILITY, snap, effective=dt.date.today(), valid_days=2)
        urls = {
            "decision": f"http://127.0.0.1:{port}/v1/decisions",
            "fallback": f"http://127.0.0.1:{local_port}/v1/decisions",
        }
        kams = {}
        for mode in ("refuse", "unrecorded"):
            kams[mode] = start_kamailio(
                root, f"kamailio-{mode}", token=token, gateway=gateway.sip, rtpengine=ng,
                mode=mode, **urls,
            )  # fmt: skip
        wait_for(
            lambda: httpx.get(f"http://127.0.0.1:{local_port}/v1/health", timeout=1).json()[
                "loaded"
            ],
            "the local fallback",
            fallback,
            timeout=60,
        )
        yield Stack(
            root, settings, registry, attorney, service, fallback, rtpengine, spool,
            kams["refuse"], kams["unrecorded"], inmate, gateway,
        )  # fmt: skip
    finally:
        for phone in phones:
            phone.sock.close()
        started = list(STARTED)
        for proc in reversed(started):
            proc.stop()
        if registry is not None:
            registry.factory.kw["bind"].dispose()
        left = [(p.name, pid) for p in started for pid in p.pids if alive(pid)]
        assert not left, f"processes still running after the test: {left}"


def _call(stack: Stack, number: str, kamailio: tuple[Proc, int]) -> Call:
    inmate, gateway = stack.inmate, stack.gateway
    before = set(inmate.ears.glob("*")) | set(gateway.ears.glob("*"))
    inmate.drain()
    gateway.drain()
    inmate.command("dial", f"sip:{number}@127.0.0.1:{kamailio[1]}")
    first = inmate.wait_event("CALL_ESTABLISHED", "CALL_CLOSED")
    call_id = str(first.get("id", ""))
    established = first["type"] == "CALL_ESTABLISHED"
    if established:
        time.sleep(TALK_S)
        inmate.command("hangup")
        closed = inmate.wait_event("CALL_CLOSED")
    else:
        closed = first
    if established:
        gateway.wait_event("CALL_CLOSED")
    time.sleep(0.3)  # the phones close their dump files
    return Call(
        call_id or str(closed.get("id", "")),
        str(closed.get("param", "")),
        established,
        inmate.heard(before),
        gateway.heard(before),
    )


def _both_ways(call: Call) -> None:
    assert call.established, call.closed
    assert call.inmate_heard is not None and call.gateway_heard is not None
    inmate = read_wav(call.inmate_heard)[0]
    gateway = read_wav(call.gateway_heard)[0]
    assert abs(dominant(inmate) - TONE_B) < GOOD, "the inmate did not hear the gateway's tone"
    assert abs(dominant(gateway) - TONE_A) < GOOD, "the gateway did not hear the inmate's tone"


def _spool_files(stack: Stack, call_id: str) -> list[Path]:
    """Every file the recorder holds for ``call_id`` (pcaps, metadata, in progress or not)."""
    return [p for p in stack.spool.rglob("*") if p.is_file() and call_id in p.name]


def _decision(kamailio: Proc, call_id: str) -> tuple[str, str]:
    """(decision id, record) the gate logged for ``call_id``."""
    found = re.search(rf"call {re.escape(call_id)} decision (\w+) record=(\w+)", kamailio.text())
    assert found, f"no decision logged for {call_id}:\n{kamailio.text()[-2000:]}"
    return found[1], found[2]


def _recordings(stack: Stack) -> int:
    with stack.registry.factory() as s:
        return int(s.scalar(select(func.count()).select_from(Recording)) or 0)


def _recording_files(stack: Stack) -> list[Path]:
    """Every recording file anywhere under the stack's folders but the phones' own ears."""
    return [
        p
        for p in stack.root.rglob("*")
        if p.is_file()
        and p.suffix in (".pcap", ".wav")
        and "heard" not in p.parts
        and p.name != "tone.wav"
    ]


def test_the_gate_on_a_real_phone_stack(stack: Stack) -> None:
    kam, _ = stack.refuse

    # 1. A registered number: audio both ways, and no recording anywhere on disk.
    call = _call(stack, LAWYER, stack.refuse)
    _both_ways(call)
    did_lawyer, record = _decision(kam, call.call_id)
    assert record == "false"
    assert _spool_files(stack, call.call_id) == []
    assert _recording_files(stack) == []
    vault = Vault.open(stack.settings, migrate=False)  # after a decision made its HMAC key

    # 2. Another number: recorded from the answer, handed off into the vault.
    call = _call(stack, FAMILY, stack.refuse)
    _both_ways(call)
    did_family, record = _decision(kam, call.call_id)
    assert record == "true"
    wait_for(lambda: list((stack.spool / "metadata").glob("*.txt")), "the recording's metadata")
    # A copy of it claiming the registered call's (record:false) decision: the vault must
    # refuse it and raise an alarm.
    meta = next((stack.spool / "metadata").glob("*.txt"))
    text = meta.read_text()
    pcap = Path(text.splitlines()[0])
    copy = pcap.with_name("forged-0123456789abcdef.pcap")
    copy.write_bytes(pcap.read_bytes())
    forged = meta.with_name("rtpengine-meta-forged-0123456789abcdef.txt")
    forged.write_text(text.replace(str(pcap), str(copy)).replace(did_family, did_lawyer))
    report = ingest_spool(vault, stack.spool)
    assert len(report.stored) == 1 and len(report.alarms) == 1, report
    assert "no durable record:true decision" in report.alarms[0]
    assert (stack.spool / "refused" / forged.name).exists()
    assert _spool_files(stack, call.call_id) == []  # the vault holds the only copy now
    content = vault.read(
        AccessContext("investigator:test", "investigator", "CR-18", "check the test recording"),
        report.stored[0],
    )
    wav = stack.root / "from-vault.wav"
    wav.write_bytes(content.data)
    heard = sorted(dominant(ch) for ch in read_wav(wav))
    wav.unlink()
    assert len(heard) == 2
    assert abs(heard[0] - TONE_A) < GOOD and abs(heard[1] - TONE_B) < GOOD, heard
    with vault.factory() as s:
        row = s.get(Recording, report.stored[0])
        assert row is not None and row.decision_id == did_family
        assert row.recording_ref == f"sip-call-id:{call.call_id}"

    # 3. A number registered while the stack runs is not recorded on its next call, 1 s on.
    stack.register(LATE)
    time.sleep(1.0)
    call = _call(stack, LATE, stack.refuse)
    _both_ways(call)
    assert _decision(kam, call.call_id)[1] == "false"
    assert _spool_files(stack, call.call_id) == []

    # 4. The service down: the local fallback decides; the call connects unrecorded.
    stack.service.stop()
    call = _call(stack, OTHER, stack.refuse)
    _both_ways(call)
    assert f"call {call.call_id} fallback decision" in kam.text()
    assert _spool_files(stack, call.call_id) == []

    # 5. The fallback down too: FAIL_MODE refuse answers 503 ...
    stack.fallback.stop()
    call = _call(stack, OTHER, stack.refuse)
    assert not call.established and "503" in call.closed, call.closed
    # ... and FAIL_MODE unrecorded connects the call, unrecorded.
    call = _call(stack, OTHER, stack.unrecorded)
    _both_ways(call)
    assert f"no decision for {call.call_id}" in stack.unrecorded[0].text()
    assert _spool_files(stack, call.call_id) == []

    assert _recordings(stack) == 1
    assert [p for p in _recording_files(stack) if "refused" not in p.parts] == []
