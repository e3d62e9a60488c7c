"""A private PostgreSQL server, to be killed on purpose (issue 15: "the database killed").

Never the shared server that scripts/services.sh started: this one is made by ``initdb``
in a temporary folder, listens on its own port (and a socket in that folder), and is
killed with SIGKILL, the postmaster and every backend at once, as a crash or an OOM kill
would, then started again (crash recovery from its WAL). The Debian binaries live in
/usr/lib/postgresql/<version>/bin. As root, the server runs as the ``postgres`` user
(PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def pg_bin() -> Path | None:
    """The newest Debian PostgreSQL bin folder, or None when PostgreSQL is not installed."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts[-3])
    return found[-1].parent if found else None


class PrivatePostgres:
    """initdb + pg_ctl start on a free port; :meth:`kill` and :meth:`start` at will."""

    def __init__(self, root: Path | None = None) -> None:
        binaries = pg_bin()
        if binaries is None:
            raise RuntimeError("PostgreSQL is not installed (run scripts/services.sh)")
        self.bin = binaries
        self.root = Path(root or tempfile.mkdtemp(prefix="privguard-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.url = f"postgresql+psycopg://privguard@127.0.0.1:{self.port}/privguard"
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "privguard", "--auth=trust",
                  "-E", "UTF8", "--no-sync")  # fmt: skip
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "privguard",
                  "privguard")  # fmt: skip

    def _run(self, tool: str, *args: str) -> None:
        cmd = [*self._as, str(self.bin / tool), *args]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        """Start the server (after a kill: crash recovery) and wait until it answers."""
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=on"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"),
                  "-w", "-t", "120", "start")  # fmt: skip

    def postmaster_pid(self) -> int | None:
        """The running postmaster's pid, from postmaster.pid."""
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None

    def kill(self) -> int:
        """SIGKILL the postmaster and all its backends; returns how many were killed."""
        pid = self.postmaster_pid()
        if pid is None:
            return 0
        victims = [pid, *_children(pid)]
        for victim in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        give_up = time.monotonic() + 30
        while any(_alive(v) for v in victims) and time.monotonic() < give_up:
            time.sleep(0.05)
        return len(victims)

    def stop(self) -> None:
        """Stop it for good and remove its folder."""
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"
