"""A real phone stack on 127.0.0.1 for tests/test_phone_stack.py (issue 18).

Debian's Kamailio, rtpengine (userspace only: ``--table=-1``) and two baresip phones, with
privguard's service and its local fallback, each a process started here and stopped by its
PID. The inmate phone (A) plays a 440 Hz tone, the carrier gateway phone (B) answers every
number and plays 1000 Hz; each phone's ``sndfile`` module keeps what it heard. Nothing is
mocked: the calls are SIP through Kamailio with media through rtpengine.
"""

from __future__ import annotations

import json
import os
import queue
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
KAMAILIO_CFG = REPO / "integrations" / "kamailio" / "kamailio.cfg"
PRIVGUARD = [sys.executable, "-c", "from privguard.cli import main; main()"]
ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}
TONE_A, TONE_B = 440.0, 1000.0
FACILITY = "MAIN-JAIL"
BINARIES = ("kamailio", "rtpengine", "baresip", "sox")


def missing_binaries() -> list[str]:
    """The stack's programs not on PATH (scripts/phone.sh installs them)."""
    return [b for b in BINARIES if shutil.which(b) is None and not Path(f"/usr/sbin/{b}").exists()]


def free_port(kind: int = socket.SOCK_DGRAM, both: bool = True, pair: bool = False) -> int:
    """A port free on 127.0.0.1 for ``kind`` (UDP and TCP when ``both``; and the next
    port too when ``pair``)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if not both:
            return port
        try:
            for p in (port, port + 1) if pair else (port,):
                for k in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    with socket.socket(socket.AF_INET, k) as s:
                        s.bind(("127.0.0.1", p))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def port_block(size: int = 200) -> tuple[int, int]:
    """A block of UDP ports nobody holds now (media ports for rtpengine or a phone)."""
    for _ in range(100):
        low = random.randrange(20000, 60000 - size, 2)
        try:
            for p in range(low, low + size, 25):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.bind(("127.0.0.1", p))
            return low, low + size - 1
        except OSError:
            continue
    raise RuntimeError("no free port block")


def children_of(pid: int) -> list[int]:
    """The PIDs whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@dataclass
class Proc:
    """A started process, its log and the PIDs it forked (collected before stopping)."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    pids: set[int] = field(default_factory=set)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        """SIGTERM by PID (then SIGKILL), reaped; remembers every PID it had."""
        self.pids |= {self.pid, *children_of(self.pid)}
        if self.popen.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        deadline = time.monotonic() + 5
        while any(alive(p) for p in self.pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        for p in self.pids:  # a forked child that outlived its parent: by its own PID
            if alive(p):
                os.kill(p, signal.SIGKILL)


STARTED: list[Proc] = []  # every process started, in order: the fixture stops them all


def start(name: str, args: list[str], logdir: Path, **kw: object) -> Proc:
    """Start ``args`` with its output in ``logdir/name.log``; listed in STARTED at once, so
    a failure while waiting for it still stops it."""
    log = logdir / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, **kw)  # type: ignore[call-overload]
    proc = Proc(name, popen, log)
    STARTED.append(proc)
    return proc


def wait_for(check: object, what: str, proc: Proc | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():  # type: ignore[operator]
                return
        except (OSError, httpx.HTTPError, ValueError, KeyError):
            pass  # not up yet
        if proc is not None and proc.popen.poll() is not None:
            raise AssertionError(f"{proc.name} exited while waiting for {what}:\n{proc.text()}")
        if time.monotonic() > deadline:
            extra = proc.text()[-3000:] if proc is not None else ""
            raise AssertionError(f"timed out waiting for {what}\n{extra}")
        time.sleep(0.05)


def tcp_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True


def rtpengine_ping(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        s.sendto(b"c1 d7:command4:pinge", ("127.0.0.1", port))
        try:
            return b"pong" in s.recv(200)
        except TimeoutError:
            return False


def start_rtpengine(root: Path) -> tuple[Proc, int, Path]:
    spool = root / "spool"
    spool.mkdir()
    ng = free_port(both=False)
    low, high = port_block()
    proc = start(
        "rtpengine",
        ["rtpengine", "--table=-1", "--foreground", "--log-stderr", "--log-level=6",
         "--interface=127.0.0.1", f"--listen-ng=127.0.0.1:{ng}", f"--port-min={low}",
         f"--port-max={high}", "--delete-delay=0", f"--recording-dir={spool}",
         "--recording-method=pcap", "--recording-format=eth",
         f"--pidfile={root / 'rtpengine.pid'}"],
        root,
    )  # fmt: skip
    wait_for(lambda: rtpengine_ping(ng), "rtpengine's ng port", proc)
    return proc, ng, spool


def start_kamailio(
    root: Path, name: str, *, decision: str, fallback: str, token: str, gateway: int,
    rtpengine: int, mode: str,
) -> tuple[Proc, int]:  # fmt: skip
    """Kamailio with integrations/kamailio/kamailio.cfg, as a deployment installs it."""
    home = root / name
    home.mkdir()
    shutil.copy(KAMAILIO_CFG, home / "kamailio.cfg")
    local = home / "privguard-local.cfg"
    local.write_text(
        f'#!define FACILITY "{FACILITY}"\n'
        f'#!define DECISION_URL "{decision}"\n'
        f'#!define FALLBACK_URL "{fallback}"\n'
        f'#!define DECISION_TOKEN "{token}"\n'
        f'#!define GATEWAY_URI "sip:127.0.0.1:{gateway}"\n'
        f'#!define RTPENGINE_SOCK "udp:127.0.0.1:{rtpengine}"\n'
        f'#!define FAIL_MODE "{mode}"\n'
        "#!define HTTP_TIMEOUT_S 2\n"
    )
    local.chmod(0o600)
    port = free_port(both=False)
    proc = start(
        name,
        ["kamailio", "-f", str(home / "kamailio.cfg"), "-l", f"udp:127.0.0.1:{port}", "-DD", "-E",
         "-P", str(home / "kamailio.pid"), "-Y", str(home), "-w", str(home)],
        root,
    )  # fmt: skip
    wait_for(lambda: _sip_options(port), f"{name} to answer", proc)
    return proc, port


def _sip_options(port: int) -> bool:
    msg = (
        f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bK1\r\n"
        "From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: probe\r\n"
        "CSeq: 1 OPTIONS\r\nMax-Forwards: 5\r\nContent-Length: 0\r\n\r\n"
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(0.3)
        s.sendto(msg.encode(), ("127.0.0.1", port))
        try:
            return s.recv(2000).startswith(b"SIP/2.0 200")
        except TimeoutError:
            return False


def tone(path: Path, freq: float, seconds: int = 30) -> None:
    subprocess.run(
        ["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(path), "synth", str(seconds),
         "sine", str(freq), "vol", "0.5"],
        check=True,
    )  # fmt: skip


class Phone:
    """A baresip phone driven through its ctrl_tcp module (JSON netstrings)."""

    def __init__(self, root: Path, name: str, users: list[str], freq: float) -> None:
        self.name = name
        self.home = root / name
        self.ears = self.home / "heard"
        self.ears.mkdir(parents=True)
        tone(self.home / "tone.wav", freq)
        # One line per number it answers (baresip 1.0 has no catch-all account).
        (self.home / "accounts").write_text(
            "".join(
                f"<sip:{user}@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMU\n"
                for user in users
            )
        )
        for attempt in range(3):  # a port taken between our probe and baresip's bind: again
            self.sip = free_port(pair=True)  # baresip also binds SIP/TLS on the next port
            self.ctrl = free_port(socket.SOCK_STREAM, both=False)
            self._configure(name)
            self.proc = start(name, ["baresip", "-f", str(self.home)], root)
            try:
                wait_for(lambda: tcp_open(self.ctrl), f"{name}'s control port", self.proc)
                break
            except AssertionError:
                if attempt == 2 or "Address already in use" not in self.proc.text():
                    raise
                self.proc.stop()
        self.events: queue.Queue[dict[str, object]] = queue.Queue()
        self.sock = socket.create_connection(("127.0.0.1", self.ctrl), timeout=5)
        self.sock.settimeout(None)
        threading.Thread(target=self._read, daemon=True).start()

    def _configure(self, name: str) -> None:
        low, high = port_block(100)
        (self.home / "config").write_text(
            "\n".join([
                "poll_method epoll", f"sip_listen 127.0.0.1:{self.sip}",
                "call_local_timeout 20", f"audio_player aubridge,sink-{name}",
                f"audio_source aufile,{self.home / 'tone.wav'}",
                f"audio_alert aubridge,alert-{name}", f"rtp_ports {low}-{high}",
                "module_path /usr/lib/baresip/modules", "module g711.so", "module aufile.so",
                "module aubridge.so", "module sndfile.so", "module_tmp account.so",
                "module_app menu.so", "module_app ctrl_tcp.so",
                f"ctrl_tcp_listen 127.0.0.1:{self.ctrl}", f"snd_path {self.ears}", "",
            ])
        )  # fmt: skip

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b":" in buf:
                size, _, rest = buf.partition(b":")
                if not size.isdigit() or len(rest) < int(size) + 1:
                    break
                self.events.put(json.loads(rest[: int(size)]))
                buf = rest[int(size) + 1 :]

    def command(self, cmd: str, params: str = "") -> None:
        body = json.dumps({"command": cmd, "params": params, "token": cmd}).encode()
        self.sock.sendall(str(len(body)).encode() + b":" + body + b",")

    def wait_event(self, *types: str, timeout: float = 15.0) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.name}: no {types} event\n{self.proc.text()[-3000:]}")
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if event.get("type") in types:
                return event

    def drain(self) -> None:
        while not self.events.empty():
            self.events.get_nowait()

    def heard(self, since: set[Path]) -> Path | None:
        """The decoded-audio dump of the last call (new since ``since``)."""
        new = sorted(p for p in self.ears.glob("*-dec.wav") if p not in since)
        return new[-1] if new else None

    def stop(self) -> None:
        try:
            self.sock.close()
        finally:
            self.proc.stop()


def dominant(samples: np.ndarray, rate: int = 8000) -> float:
    """The strongest frequency in ``samples`` (Hz); 0 for silence."""
    x = samples.astype(float)
    if not len(x) or not np.abs(x).max():
        return 0.0
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[spectrum.argmax()])


def read_wav(path: Path) -> list[np.ndarray]:
    """A 16-bit WAV's channels."""
    with wave.open(str(path)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        n = w.getnchannels()
    return [data[i::n] for i in range(n)]
