"""Turn a batch of rows into column values as one layout writes them (pyarrow, vectorized)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from privguard.internals.synth import places
from privguard.internals.synth.clock import ZONES, offset_table
from privguard.internals.synth.layouts import STATUS_VOCABS, YES_NO, Layout
from privguard.internals.synth.population import Population

_CALL_TYPES = pa.array(["Collect", "Debit", "Prepaid", "AdvancePay"])


@dataclass
class Rows:
    """The rows of one table chunk: per-copy values already applied (skew, jitter)."""

    call_id: np.ndarray
    facility: np.ndarray
    zone: np.ndarray
    inmate: np.ndarray
    number: np.ndarray
    utc_s: np.ndarray  # this copy's start, epoch seconds
    offset_s: np.ndarray
    duration_s: np.ndarray  # this copy's talk time in seconds
    status: np.ndarray
    recorded: np.ndarray
    source_id: np.ndarray

    def __len__(self) -> int:
        return len(self.call_id)


def _s(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def _pad(values: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(_s(values), width=width, padding="0")


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


class Formatter:
    """Per-population lookups, formatted once and reused for every chunk."""

    def __init__(self, pop: Population) -> None:
        self.pop = pop
        self._cache: dict[str, pa.Array] = {}
        self.fac_code = pa.array([f.code for f in pop.facilities])
        self.fac_name = pa.array([f.name for f in pop.facilities])
        # Zone abbreviations: index zone*2 + (offset is daylight time).
        names: list[str] = []
        self._std = np.zeros(len(ZONES), dtype=np.int64)
        for z, zone in enumerate(ZONES):
            offs, idx, abbrs = offset_table(zone)
            self._std[z] = offs.min()
            names += [abbrs[idx[offs.argmin()]], abbrs[idx[offs.argmax()]]]
        self.abbr = pa.array(names)

    def numbers(self, style: str) -> pa.Array:
        """Every population number written in one style, e.g. ``(512) 555-0134``."""
        key = "number:" + style
        if key not in self._cache:
            d = self.pop.num_digits
            a, e, ln = _s(d // 10**7), _pad((d // 10**4) % 1000, 3), _pad(d % 10**4, 4)
            self._cache[key] = {
                "e164": lambda: _join("+1", a, e, ln),
                "d10": lambda: _join(a, e, ln),
                "d11": lambda: _join("1", a, e, ln),
                "paren": lambda: _join("(", a, ") ", e, "-", ln),
                "dash": lambda: _join(a, "-", e, "-", ln),
                "dot": lambda: _join(a, ".", e, ".", ln),
            }[style]()
        return self._cache[key]

    def accounts(self, style: str) -> pa.Array:
        """Every inmate's account as one facility system spells it."""
        key = "account:" + style
        if key not in self._cache:
            acc = self.pop.inmate_account
            if style == "pad8":
                out = _pad(acc, 8)
            elif style == "plain":
                out = _s(acc)
            else:
                out = _join(self.fac_code.take(pa.array(self.pop.inmate_fac)), "-", _s(acc))
            self._cache[key] = out
        return self._cache[key]

    def names(self, style: str) -> pa.Array:
        """Every inmate's name: ``LAST, FIRST`` or ``First Last`` or upper case."""
        key = "name:" + style
        if key not in self._cache:
            first = pa.array(places.FIRST_NAMES).take(pa.array(self.pop.inmate_first))
            last = pa.array(places.LAST_NAMES).take(pa.array(self.pop.inmate_last))
            if style == "first_last":
                out = _join(first, " ", last)
            else:
                out = _join(last, ", ", first)
                if style == "upper":
                    out = pc.utf8_upper(out)
            self._cache[key] = out
        return self._cache[key]

    def column(self, layout: Layout, field: str, rows: Rows) -> pa.Array:
        """The values of one column for these rows (strings; typed for Parquet where noted)."""
        kind, _, style = field.partition(":")
        local = layout.clock == "local"
        wall = rows.utc_s + (rows.offset_s if local else 0)
        if kind == "srcid":
            return _s(rows.source_id)
        if kind == "facility":
            arr = self.fac_code if style == "code" else self.fac_name
            return arr.take(pa.array(rows.facility))
        if kind == "account":
            return self.accounts(style).take(pa.array(rows.inmate))
        if kind == "name":
            return self.names(style).take(pa.array(rows.inmate))
        if kind == "number":
            return self.numbers(style).take(pa.array(rows.number))
        if kind in ("start", "date", "time"):
            return self._time(kind, style, wall, rows, local)
        if kind == "zone":
            return self._zone(style, rows)
        if kind == "duration":
            return self._duration(style, rows.duration_s, layout.fmt == "parquet")
        if kind == "status":
            return pa.array(STATUS_VOCABS[int(style)]).take(pa.array(rows.status))
        if kind == "recorded":
            if style == "bool":
                return pa.array(rows.recorded)
            return pa.array(YES_NO[int(style)]).take(pa.array(rows.recorded.astype(np.int8)))
        if kind == "ref":
            code = self.fac_code.take(pa.array(rows.facility))
            sid = _s(rows.source_id)
            if style == "url":
                ref = _join("https://recordings.securetel.example/", code, "/", sid, ".wav")
            else:
                ref = _join("\\\\RECSRV01\\calls\\", code, "\\", sid, ".wav")
            return pc.if_else(pa.array(rows.recorded), ref, pa.scalar(None, pa.string()))
        return self._extra(style, rows)

    def _time(self, kind: str, style: str, wall: np.ndarray, rows: Rows, local: bool) -> pa.Array:
        ts = pa.array(wall, pa.timestamp("s"))
        if style == "typed":
            return ts if local else pa.array(wall, pa.timestamp("s", tz="UTC"))
        if style == "iso_z":
            return pc.strftime(ts, format="%Y-%m-%dT%H:%M:%SZ")
        if style == "iso_offset":
            off = rows.offset_s
            sign = np.where(off < 0, "-", "+")
            hhmm = np.abs(off) // 60
            suffix = _join(pa.array(sign), _pad(hhmm // 60, 2), ":", _pad(hhmm % 60, 2))
            return _join(pc.strftime(ts, format="%Y-%m-%dT%H:%M:%S"), suffix)
        return pc.strftime(ts, format=style)

    def _zone(self, style: str, rows: Rows) -> pa.Array:
        n = len(rows)
        if style == "utc":
            return pa.array(np.full(n, "UTC"))
        if style == "iana":
            return pa.array(ZONES).take(pa.array(rows.zone))
        if style == "offset":
            off = rows.offset_s // 60
            sign = pa.array(np.where(off < 0, "-", "+"))
            return _join(sign, _pad(np.abs(off) // 60, 2), _pad(np.abs(off) % 60, 2))
        dst = (rows.offset_s != self._std[rows.zone]).astype(np.int64)
        return self.abbr.take(pa.array(rows.zone * 2 + dst))

    def _duration(self, unit: str, d: np.ndarray, typed: bool) -> pa.Array:
        if unit == "minutes":
            m = (d + 59) // 60
            return pa.array(m, pa.int32()) if typed else _s(m)
        if unit == "seconds":
            return pa.array(d, pa.int32()) if typed else _s(d)
        return _join(_pad(d // 3600, 2), ":", _pad((d // 60) % 60, 2), ":", _pad(d % 60, 2))

    def _extra(self, style: str, rows: Rows) -> pa.Array:
        if style == "amount":
            cents = (rows.duration_s + 59) // 60 * 21 + np.where(rows.duration_s > 0, 150, 0)
            return _join(_s(cents // 100), ".", _pad(cents % 100, 2))
        if style == "call_type":
            return _CALL_TYPES.take(pa.array((rows.inmate * 7 + rows.number) % 4))
        pod = pa.array(list("ABCDEFGH")).take(pa.array(rows.inmate % 8))
        return _join("POD-", pod, "-", _pad(rows.call_id % 12 + 1, 2))
