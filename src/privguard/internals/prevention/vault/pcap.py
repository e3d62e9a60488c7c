"""A media relay's packet capture of one call, decoded to audio (issue 18).

rtpengine records a call as a pcap file of the RTP packets it relayed. :func:`decode_pcap`
reads that file (classic pcap; Ethernet, raw IP, Linux cooked or loopback framing; IPv4 and
IPv6; UDP), keeps the RTP packets whose payload is G.711 (PCMU, payload type 0, or PCMA,
8), and lays each direction of the call on a common timeline at 8 kHz: one channel per
direction (the first direction heard is channel 0), silence where a direction sent
nothing. :func:`to_wav` writes that as a 16-bit WAV, the form the vault keeps.

Everything else (RTCP, DTMF events, other codecs) is counted and skipped, never guessed
at. A file that is not a pcap is an :class:`~privguard.errors.InputError` naming it.
"""

from __future__ import annotations

import io
import struct
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from privguard.errors import InputError

RATE = 8000  # G.711's sample rate
PCMU, PCMA = 0, 8
_MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
_MAX_GAP_S = 600  # a timestamp jump beyond this is a new stream start, not silence


def _ulaw_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(u & 0x80, -magnitude, magnitude).astype(np.int16)


def _alaw_table() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    exponent = (a >> 4) & 0x07
    mantissa = a & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0)
    )
    return np.where(a & 0x80, magnitude, -magnitude).astype(np.int16)


TABLES = {PCMU: _ulaw_table(), PCMA: _alaw_table()}


@dataclass
class Audio:
    """A call's decoded audio: ``channels`` (one int16 array per direction, equal length)."""

    channels: list[np.ndarray]
    directions: list[str]  # "src -> dst" of each channel
    started: float  # the first decoded packet's capture time (Unix seconds)
    packets: int = 0  # RTP packets decoded
    skipped: dict[str, int] = field(default_factory=dict)  # what was not decoded, and why

    @property
    def seconds(self) -> float:
        """The length of the timeline."""
        return len(self.channels[0]) / RATE if self.channels else 0.0


def _frames(data: bytes, where: str) -> tuple[int, list[tuple[float, bytes]]]:
    if len(data) < 24 or data[:4] not in _MAGIC:
        raise InputError(
            "not a pcap file (no pcap header)",
            where=where,
            fix="give the .pcap file the media relay wrote (rtpengine --recording-method=pcap)",
        )
    order, unit = _MAGIC[data[:4]]
    (link,) = struct.unpack_from(order + "I", data, 20)
    out: list[tuple[float, bytes]] = []
    pos = 24
    while pos + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack_from(order + "IIII", data, pos)
        pos += 16
        if pos + incl > len(data):
            break  # a capture cut short while it was written: keep what is whole
        out.append((sec + frac * unit, data[pos : pos + incl]))
        pos += incl
    return link & 0xFFFF, out


def _udp(link: int, frame: bytes) -> tuple[str, str, bytes] | None:
    """(source, destination, UDP payload) of one frame, or None if it is not UDP."""
    if link == 1:  # Ethernet, possibly VLAN-tagged
        off, kind = 14, frame[12:14]
        while kind == b"\x81\x00" and len(frame) >= off + 4:
            kind, off = frame[off + 2 : off + 4], off + 4
        ip = frame[off:] if kind in (b"\x08\x00", b"\x86\xdd") else b""
    elif link in (101, 12, 14):  # raw IP
        ip = frame
    elif link == 113:  # Linux cooked capture
        ip = frame[16:]
    elif link == 0:  # BSD loopback
        ip = frame[4:]
    else:
        return None
    if len(ip) < 20:
        return None
    if ip[0] >> 4 == 4:
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 17:
            return None
        src, dst = ".".join(map(str, ip[12:16])), ".".join(map(str, ip[16:20]))
        udp = ip[ihl:]
    elif ip[0] >> 4 == 6 and len(ip) >= 48:
        if ip[6] != 17:
            return None
        src, dst = ip[8:24].hex(), ip[24:40].hex()
        udp = ip[40:]
    else:
        return None
    if len(udp) < 8:
        return None
    sport, dport = struct.unpack_from(">HH", udp, 0)
    return f"{src}:{sport}", f"{dst}:{dport}", udp[8:]


def _rtp(payload: bytes) -> tuple[int, int, int, bytes] | None:
    """(payload type, timestamp, ssrc, audio bytes) of an RTP packet, or None."""
    if len(payload) < 12 or payload[0] >> 6 != 2:
        return None
    pt = payload[1] & 0x7F
    if 72 <= pt <= 76:  # RTCP shares the port range: its types read as these
        return None
    cc = payload[0] & 0x0F
    off = 12 + 4 * cc
    if payload[0] & 0x10 and len(payload) >= off + 4:  # header extension
        off += 4 + 4 * struct.unpack_from(">H", payload, off + 2)[0]
    end = len(payload)
    if payload[0] & 0x20 and end > off:  # padding
        end -= payload[-1]
    if off > end:
        return None
    ts, ssrc = struct.unpack_from(">II", payload, 4)
    return pt, ts, ssrc, payload[off:end]


def decode_pcap(path: Path) -> Audio:
    """The G.711 audio of the RTP packets in ``path``, one channel per direction."""
    path = Path(path)
    link, frames = _frames(path.read_bytes(), str(path))
    skipped: dict[str, int] = {}
    # direction -> ssrc -> [(capture time, rtp timestamp, samples)]
    streams: dict[str, dict[int, list[tuple[float, int, np.ndarray]]]] = {}
    packets = 0
    for when, frame in frames:
        found = _udp(link, frame)
        rtp = _rtp(found[2]) if found is not None else None
        if found is None or rtp is None:
            skipped["not RTP"] = skipped.get("not RTP", 0) + 1
            continue
        pt, ts, ssrc, body = rtp
        if pt not in TABLES:
            key = f"payload type {pt}"
            skipped[key] = skipped.get(key, 0) + 1
            continue
        samples = TABLES[pt][np.frombuffer(body, dtype=np.uint8)]
        streams.setdefault(f"{found[0]} -> {found[1]}", {}).setdefault(ssrc, []).append(
            (when, ts, samples)
        )
        packets += 1
    if not streams:
        return Audio([], [], 0.0, 0, skipped)
    start = min(p[0] for by_ssrc in streams.values() for s in by_ssrc.values() for p in s)
    placed: list[list[tuple[int, np.ndarray]]] = []
    for by_ssrc in streams.values():
        parts = []
        for pkts in by_ssrc.values():
            first_when, first_ts = pkts[0][0], pkts[0][1]
            base = int(round((first_when - start) * RATE))
            for _when, ts, samples in pkts:
                delta = (ts - first_ts) & 0xFFFFFFFF
                if delta > _MAX_GAP_S * RATE:
                    continue  # behind the first packet (reordered) or wildly ahead
                parts.append((base + delta, samples))
        placed.append(parts)
    length = max(off + len(s) for parts in placed for off, s in parts)
    channels = []
    for parts in placed:
        track = np.zeros(length, dtype=np.int16)
        for off, samples in parts:
            track[off : off + len(samples)] = samples
        channels.append(track)
    return Audio(channels, list(streams), start, packets, skipped)


def to_wav(audio: Audio) -> bytes:
    """``audio`` as a 16-bit PCM WAV file at 8 kHz, one channel per direction."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(max(1, len(audio.channels)))
        out.setsampwidth(2)
        out.setframerate(RATE)
        if audio.channels:
            out.writeframes(np.stack(audio.channels, axis=1).astype("<i2").tobytes())
    return buf.getvalue()
