"""The phone stack's library parts without the stack (issue 18): pcap decoding, the spool
hand-off into the vault with its alarms, the local fallback gate, and their commands."""

from __future__ import annotations

import datetime as dt
import json
import struct
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy import Engine, select

from privguard.cli import main
from privguard.errors import InputError
from privguard.internals.common.keys import hmac_hex
from privguard.internals.prevention import db
from privguard.internals.prevention.decisions.decide import new_decision_id
from privguard.internals.prevention.decisions.local import serve_local
from privguard.internals.prevention.decisions.models import DecisionRow
from privguard.internals.prevention.ledger import Signer
from privguard.internals.prevention.registry.snapshots import (
    Snapshot,
    SnapshotEntry,
    sign_snapshot,
)
from privguard.internals.prevention.vault.models import Access, Recording
from privguard.internals.prevention.vault.pcap import PCMA, PCMU, TABLES, decode_pcap, to_wav
from privguard.internals.prevention.vault.spool import ingest_spool
from vault_helpers import DECISIONS_KEY, FACILITY, INVESTIGATOR, make_vault

RATE = 8000
FAMILY, LAWYER = "+15125550199", "+15125550100"


def _encode(samples: np.ndarray, pt: int) -> bytes:
    """G.711 by nearest code (the tables are the decoder; this is only for fixtures)."""
    table = TABLES[pt].astype(np.int32)
    return (
        np.abs(samples.astype(np.int32)[:, None] - table[None, :])
        .argmin(1)
        .astype(np.uint8)
        .tobytes()
    )


def _tone(freq: float, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (12000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def _frame(src: tuple[int, int], dst: tuple[int, int], payload: bytes) -> bytes:
    udp = struct.pack(">HHHH", src[1], dst[1], 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([127, 0, 0, src[0]]), bytes([127, 0, 0, dst[0]]))  # fmt: skip
    return b"\x00" * 12 + b"\x08\x00" + ip + udp


def _pcap(path: Path, legs: list[tuple[float, int, int]], extra: list[bytes] = ()) -> None:  # type: ignore[assignment]
    """A pcap of RTP legs (freq, payload type, ssrc), 20 ms packets, plus raw frames."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    packets = []
    for n, (freq, pt, ssrc) in enumerate(legs):
        audio = _encode(_tone(freq, 1.0), pt)
        for i in range(0, len(audio), 160):
            rtp = struct.pack(">BBHII", 0x80, pt, i // 160, 1000 + i, ssrc) + audio[i : i + 160]
            packets.append((1_700_000_000 + i / RATE, _frame((n + 1, 4000 + n), (9, 5000), rtp)))
    packets += [(1_700_000_000.5, f) for f in extra]
    for when, frame in sorted(packets, key=lambda p: p[0]):
        sec, usec = int(when), int(round((when % 1) * 1e6))
        out.append(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))


def _dominant(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x.astype(float)))
    return float(np.fft.rfftfreq(len(x), 1 / RATE)[spectrum.argmax()])


def test_a_pcap_decodes_to_one_channel_per_direction(tmp_path: Path) -> None:
    rtcp = _frame((1, 4001), (9, 5001), bytes([0x80, 200]) + b"\x00" * 26)
    _pcap(tmp_path / "c.pcap", [(440, PCMU, 1), (1000, PCMA, 2)], [rtcp])
    audio = decode_pcap(tmp_path / "c.pcap")
    assert audio.packets == 100 and audio.skipped == {"not RTP": 1}
    assert [round(_dominant(ch)) for ch in audio.channels] == [440, 1000]
    assert abs(audio.seconds - 1.0) < 0.01
    wav = to_wav(audio)
    assert wav[:4] == b"RIFF" and len(wav) == 44 + 2 * 2 * len(audio.channels[0])
    (tmp_path / "x.pcap").write_bytes(b"not a capture")
    with pytest.raises(InputError, match="not a pcap"):
        decode_pcap(tmp_path / "x.pcap")


def _decision(vault: object, number: str, call_id: str, record: bool = True) -> str:
    did = new_decision_id()
    with db.transaction(vault.factory) as s:  # type: ignore[attr-defined]
        s.add(
            DecisionRow(
                decision_id=did, at=dt.datetime.now(dt.UTC), facility=FACILITY,
                number_hmac=hmac_hex(DECISIONS_KEY, "number:" + number), account_hmac="",
                record=record, reason="NOT_REGISTERED_RECORDING_ALLOWED" if record else
                "REGISTERED_NUMBER", private_call_declared=False, entry_ref="",
                checkpoint_size=None, checkpoint_root="", supersedes="", ledger_index=None,
                call_id=call_id,
            )
        )  # fmt: skip
    return did


def _spool_call(spool: Path, call_id: str, meta: str) -> Path:
    """A finished call as rtpengine leaves it: pcaps/<call>-<rand>.pcap and its metadata."""
    for sub in ("pcaps", "metadata", "tmp"):
        (spool / sub).mkdir(parents=True, exist_ok=True)
    pcap = spool / "pcaps" / f"{call_id}-0123456789abcdef.pcap"
    _pcap(pcap, [(440, PCMU, 1), (1000, PCMU, 2)])
    text = f"{pcap}\n\n\nTimestamp started ms: 1\n\ncall start time: x\n\n\n{meta}\n"
    path = spool / "metadata" / f"rtpengine-meta-{call_id}-0123456789abcdef.txt"
    path.write_text(text)
    return path


def test_the_spool_hand_off_stores_only_under_record_true_and_alarms_otherwise(
    db: Engine, tmp_path: Path
) -> None:
    vault = make_vault(db, tmp_path / "vault")
    spool = tmp_path / "spool"
    good = _decision(vault, FAMILY, "call-good")
    refused = _decision(vault, LAWYER, "call-lawyer", record=False)
    other_call = _decision(vault, FAMILY, "call-first")

    def meta(did: str, number: str) -> str:
        return f"privguard-decision:{did}|account:A1|number:{number}|facility:{FACILITY}"

    _spool_call(spool, "call-good", meta(good, FAMILY))
    _spool_call(spool, "call-lawyer", meta(refused, LAWYER))  # record:false
    _spool_call(spool, "call-other", meta(other_call, FAMILY))  # another call's decision
    _spool_call(spool, "call-none", "no decision named here")
    (spool / "tmp" / "rtpengine-meta-live-0123456789abcdef.tmp").write_text("in progress")

    report = ingest_spool(vault, spool)

    assert len(report.stored) == 1 and report.waiting == 1
    assert sorted(a.split(":", 1)[0] for a in report.alarms) == sorted(
        f"rtpengine-meta-call-{c}-0123456789abcdef.txt" for c in ("lawyer", "other", "none")
    )
    assert any("another call" in a for a in report.alarms)
    assert any("names no decision" in a for a in report.alarms)
    # Stored: the spool's copy is gone; refused: kept aside, owner-only, never deleted.
    assert sorted(p.name for p in (spool / "pcaps").iterdir()) == []
    held = sorted(p.name for p in (spool / "refused").iterdir())
    assert len(held) == 6 and all((spool / "refused" / n).stat().st_mode & 0o077 == 0 for n in held)
    with vault.factory() as s:
        row = s.scalars(select(Recording)).one()
        alarms = s.scalars(select(Access).where(Access.outcome == "alarm")).all()
    assert (row.decision_id, row.recording_ref) == (good, "sip-call-id:call-good")
    assert len(alarms) == 3
    content = vault.read(INVESTIGATOR, row.id)
    wav = tmp_path / "back.wav"
    wav.write_bytes(content.data)
    import wave

    with wave.open(str(wav)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    assert [round(_dominant(data[i::2])) for i in (0, 1)] == [440, 1000]


def _snapshot(tmp_path: Path) -> tuple[Path, str]:
    signer = Signer.generate("privguard/registry")
    issued = dt.datetime.now(dt.UTC).replace(microsecond=0)
    snap = Snapshot(
        origin=signer.name, facility=FACILITY, vendor="test", issued=issued,
        effective=issued.date(), not_after=issued + dt.timedelta(days=1), tree_size=1,
        root=b"\x01" * 32, previous_size=0, previous_root=None, proof=(),
        entries=(SnapshotEntry(LAWYER, "", issued.date() - dt.timedelta(days=1), None, 1),),
        sha256="", verified=True,
    )  # fmt: skip
    path = tmp_path / "main.snapshot"
    path.write_text(sign_snapshot(snap, signer))
    return path, str(signer.verifier())


def test_the_local_fallback_knows_registered_numbers_and_never_allows_recording(
    tmp_path: Path,
) -> None:
    path, vkey = _snapshot(tmp_path)
    token = "s3cret-token"
    gate = serve_local(path, vkey, port=0, token=token, background=True)
    try:
        url = f"http://127.0.0.1:{gate.port}/v1/decisions"
        auth = {"Authorization": f"Bearer {token}"}
        body = {"facility": FACILITY, "inmate_account": "A1", "call_id": "c1"}
        lawyer = httpx.post(url, json=body | {"dialed_number": LAWYER}, headers=auth).json()
        family = httpx.post(url, json=body | {"dialed_number": FAMILY}, headers=auth).json()
        assert (lawyer["record"], lawyer["reason"]) == (False, "REGISTERED_NUMBER")
        assert (family["record"], family["reason"]) == (False, "NOT_DURABLE")
        assert family["checked_reason"] == "NOT_REGISTERED_RECORDING_ALLOWED"
        assert family["call_id"] == "c1" and family["source"] == "local-fallback"
        assert httpx.post(url, json=body | {"dialed_number": FAMILY}).status_code == 401
        bad = httpx.post(url, content=b"[1]", headers=auth)
        assert bad.status_code == 400 and "JSON object" in bad.json()["error"]
        # A tampered snapshot is refused; the gate then fails closed with the reason.
        path.write_text(path.read_text().replace(LAWYER, "+15125550101"))
        gate.checker.refresh()
        after = httpx.post(url, json=body | {"dialed_number": FAMILY}, headers=auth).json()
        assert after["record"] is False and after["reason"] == "BAD_SIGNATURE"
    finally:
        gate.stop()


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out + out.err


def test_the_commands_name_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(
        ["vault", "ingest-spool", str(tmp_path), "--role", "facility_system",
         "--data-dir", str(tmp_path / "d")],
        capsys,
    )  # fmt: skip
    assert code == 2 and "not a recording spool" in out and "--recording-dir" in out, out
    snap = tmp_path / "s.snapshot"
    snap.write_text("x")
    code, out = _run(
        ["decisions", "serve-local", "--snapshot", str(snap), "--key", "bogus"], capsys
    )
    assert code == 2 and "neither a verifier key nor a file" in out, out


def test_ingest_spool_exits_3_on_an_alarm(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = ["--data-dir", str(tmp_path / "d"), "--database-url", db_url]
    _spool_call(tmp_path / "spool", "call-x", "privguard-decision:nope|number:" + FAMILY)
    code, out = _run(
        ["vault", "ingest-spool", str(tmp_path / "spool"), "--role", "facility_system", *d], capsys
    )
    assert code == 3 and "ALARM: 1 recording(s)" in out and "no durable record:true" in out, out


def test_serve_local_answers_as_a_process(tmp_path: Path) -> None:
    """The command itself, as the proxy's host runs it."""
    path, vkey = _snapshot(tmp_path)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = Path(__file__).resolve().parents[1] / "src"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from privguard.cli import main; main()", "decisions",
         "serve-local", "--snapshot", str(path), "--key", vkey, "--port", str(port)],
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        done = threading.Event()
        answer: dict[str, object] = {}

        def ask() -> None:
            while not done.is_set():
                try:
                    r = httpx.post(
                        f"http://127.0.0.1:{port}/v1/decisions",
                        json={"facility": FACILITY, "dialed_number": LAWYER},
                        timeout=2,
                    )
                    answer.update(json.loads(r.text))
                    return
                except httpx.TransportError:
                    done.wait(0.2)

        t = threading.Thread(target=ask)
        t.start()
        t.join(60)
        done.set()
        assert answer.get("reason") == "REGISTERED_NUMBER", answer
    finally:
        proc.terminate()
        proc.wait(10)
