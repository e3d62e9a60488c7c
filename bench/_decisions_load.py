"""The load generators of bench/decisions_http.py: an open-loop Python one and wrk.

:func:`drive` is open-loop: requests are due at fixed times (``rate`` per second) on a pool
of keep-alive connections, and each latency is measured from the time the request was
due, so a server that falls behind shows it (no coordinated omission). It runs on uvloop
when installed, to leave the cores to the server. Half the calls dial a registered
number, half an unregistered one; ``record=true`` for a registered number must never
happen.

:func:`wrk_run` runs Debian's ``wrk`` (closed loop: each connection sends its next
request when the answer came, after a pause that paces it to the rate asked) with a Lua
script that POSTs the same mix and counts ``record=true`` answers for registered numbers
(dialed from facility ``R``; the answer names its facility). It is the generator that
costs the server's cores least; its latency is from the send, not from a due time.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

FACILITY = "MAIN-JAIL"


def number(i: int) -> str:  # as bench/registry.py: +1 512 2xx xxxx
    return f"+1{512 + i // 800_000}{200 + (i // 10_000) % 80:03d}{i % 10_000:04d}"


def unregistered(i: int) -> str:
    return f"+1737{200 + (i // 10_000) % 80:03d}{i % 10_000:04d}"


def run_loop(coro: Any) -> Any:
    """asyncio.run on uvloop when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


class Conn:
    """One keep-alive HTTP/1.1 connection (hand-rolled: the generator must be cheap)."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.r: asyncio.StreamReader | None = None
        self.w: asyncio.StreamWriter | None = None

    async def post(
        self, path: str, body: dict[str, Any], token: str | None = None
    ) -> tuple[int, Any]:
        if self.w is None:
            self.r, self.w = await asyncio.open_connection("127.0.0.1", self.port)
        data = json.dumps(body).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: gate\r\nAuthorization: Bearer {token or self.token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n")  # fmt: skip
        try:
            self.w.write(head.encode() + data)
            assert self.r is not None
            header = await self.r.readuntil(b"\r\n\r\n")
            status = int(header[9:12])
            length = 0
            for line in header.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            payload = await self.r.readexactly(length)
            return status, json.loads(payload) if length else None
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.w.close()
            self.w = None
            raise


def percentile(sorted_ms: list[float], q: float) -> float | None:
    if not sorted_ms:
        return None
    return round(sorted_ms[min(len(sorted_ms) - 1, int(q * len(sorted_ms)))], 2)


async def drive(port: int, token: str, rate: float, seconds: float, numbers: int,
                conns: int, faults: Any = None) -> dict[str, Any]:  # fmt: skip
    total = int(rate * seconds)
    due: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    rows: list[
        tuple[float, float, bool, int, bool | None, str]
    ] = []  # due, latency, registered, status, record, reason
    errors: Counter[str] = Counter()

    async def worker() -> None:
        conn = Conn(port, token)
        while (job := await due.get()) is not None:
            i, at = job
            registered = i % 2 == 0
            dialed = number((i // 2) % numbers) if registered else unregistered(i // 2)
            body = {"facility": FACILITY, "inmate_account": f"A{i % 500}", "dialed_number": dialed}
            try:
                status, answer = await conn.post("/v1/decisions", body)
            except Exception as exc:
                errors[type(exc).__name__] += 1
                continue
            done = time.perf_counter()
            ok = status == 200 and isinstance(answer, dict)
            rec = answer.get("record") if ok else None
            reason = str(answer.get("reason")) if ok else f"HTTP_{status}"
            rows.append((at, (done - at) * 1000, registered, status, rec, reason))

    tasks = [asyncio.create_task(worker()) for _ in range(conns)]
    t0 = time.perf_counter() + 0.05
    fault_task = asyncio.create_task(faults(t0)) if faults else None
    sent = 0
    while sent < total:
        now = time.perf_counter()
        upto = min(total, int((now - t0) * rate) + 1) if now >= t0 else 0
        for i in range(sent, upto):
            due.put_nowait((i, t0 + i / rate))
        sent = max(sent, upto)
        await asyncio.sleep(0.0005)
    for _ in tasks:
        due.put_nowait(None)
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t0
    fault_report = await fault_task if fault_task else None
    return {
        "t0": t0,
        "rows": rows,
        "errors": dict(errors),
        "elapsed": elapsed,
        "faults": fault_report,
    }


def summarize(rows: list[Any], errors: dict[str, int], elapsed: float) -> dict[str, Any]:
    lat = sorted(r[1] for r in rows)
    return {
        "answers": len(rows),
        "achieved_per_s": round(len(rows) / elapsed, 1),
        "p50_ms": percentile(lat, 0.50),
        "p99_ms": percentile(lat, 0.99),
        "p99_9_ms": percentile(lat, 0.999),
        "max_ms": round(lat[-1], 2) if lat else None,
        "errors": sum(errors.values()) + sum(1 for r in rows if r[3] != 200),
        "error_kinds": errors,
        "record_true_registered": sum(1 for r in rows if r[2] and r[4] is True),
        "record_true_unregistered": sum(1 for r in rows if not r[2] and r[4] is True),
        "reasons": dict(Counter(r[5] for r in rows)),
    }


_LUA = """
local i = 0
local numbers = %(numbers)d
local pace = %(pace_ms)f
local threads = {}
local function registered(k)
  return string.format("+1%%d%%03d%%04d", 512 + math.floor(k / 800000),
    200 + math.floor(k / 10000) %% 80, k %% 10000)
end
local function other(k)
  return string.format("+1737%%03d%%04d", 200 + math.floor(k / 10000) %% 80, k %% 10000)
end
local headers = {["Authorization"] = "Bearer %(token)s", ["Content-Type"] = "application/json"}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  bad, trues, answers, first_id = 0, 0, 0, 0
end
-- Registered numbers are dialed from facility R, the others from facility U: the answer
-- names its facility, so a record=true for a registered number is counted without
-- matching answers to requests.
request = function()
  i = i + 1
  local k = math.floor(i / 2)
  local reg = (i %% 2 == 0)
  local dialed = reg and registered(k %% numbers) or other(k)
  local body = '{"facility":"' .. (reg and "R" or "U") .. '","inmate_account":"A' ..
    (i %% 500) .. '","dialed_number":"' .. dialed .. '"}'
  return wrk.format("POST", "/v1/decisions", headers, body)
end
response = function(status, headers, body)
  answers = answers + 1
  if string.find(body, '"record":true', 1, true) then
    trues = trues + 1
    if string.find(body, '"facility":"R"', 1, true) then bad = bad + 1 end
  end
end
if pace > 0 then
  delay = function() return pace end
end
done = function(summary, latency, requests)
  local e = summary.errors
  local b, t, a = 0, 0, 0
  for _, th in ipairs(threads) do
    b, t, a = b + th:get("bad"), t + th:get("trues"), a + th:get("answers")
  end
  io.write(string.format(
    "WRK {\\"requests\\":%%d,\\"seconds\\":%%f,\\"p50_ms\\":%%f,\\"p99_ms\\":%%f," ..
    "\\"p99_9_ms\\":%%f,\\"max_ms\\":%%f,\\"non_2xx\\":%%d,\\"socket_errors\\":%%d," ..
    "\\"answers\\":%%d,\\"record_true\\":%%d,\\"record_true_registered\\":%%d}\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, latency:percentile(99.9) / 1e3, latency.max / 1e3,
    e.status, e.connect + e.read + e.write + e.timeout, a, t, b))
end
"""


def wrk_run(port: int, token: str, numbers: int, seconds: float, conns: int,
            rate: float = 0, threads: int = 1) -> dict[str, Any]:  # fmt: skip
    """wrk against POST /v1/decisions (see the module doc): as fast as it answers
    (``rate`` 0), or each connection pacing its requests to make ``rate`` per second in all
    (wrk's ``delay()``: still closed loop, so a stalled server is not offered more)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return {"skipped": "wrk is not installed (Debian: apt-get install wrk)"}
    pace_ms = 1000.0 * conns / rate if rate else 0.0
    script = _LUA % {"numbers": numbers, "token": token, "pace_ms": pace_ms}
    with tempfile.TemporaryDirectory() as tmp:
        lua = Path(tmp) / "decide.lua"
        lua.write_text(script, encoding="utf-8")
        cmd = [wrk, f"-t{threads}", f"-c{conns}", f"-d{int(seconds)}s", "--timeout", "10s",
               "-s", str(lua), f"http://127.0.0.1:{port}/v1/decisions"]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    found = re.search(r"^WRK (\{.*\})$", done.stdout, re.MULTILINE)
    if found is None:
        return {"failed": (done.stdout + done.stderr)[-500:]}
    out: dict[str, Any] = json.loads(found.group(1))
    out["per_s"] = round(out["requests"] / out["seconds"], 1)
    out |= {"offered_per_s": rate or None, "connections": conns, "threads": threads}
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in out.items()}
