"""Exporter layout families: the same calls written by exporters privguard has not met
(issue 11, item 6).

``standard`` is the generator's own vocabulary (and changes nothing, so every existing leak
keeps its bytes). The others rewrite each system's layout after it is planned:

* ``terse``: short vendor codes (``ph``, ``ts``, ``secs``, ``rec``, ``loc``, ``ino``);
* ``abbreviated``: mainframe-style names (``DIAL_NBR``, ``STRT_DTTM``, ``REC_IND``);
* ``spanish``: Spanish headers (``numero_marcado``, ``fecha_inicio``, ``grabada``);
* ``generic``: every header ``col1..colN`` (header-blind: roles only from the values);
* ``split``: every textual start written as a date column and a time-of-day column;
* ``sparse``: fields missing: no completion status anywhere, no recorded flag where a
  recording reference exists, no inmate name.

A family draws from its own random stream, so its layouts are deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from privguard.internals.synth.layouts import Column, Layout

FAMILIES = ("standard", "terse", "abbreviated", "spanish", "generic", "split", "sparse")

# Header spellings per field kind (the part of Column.field before the colon).
_VOCAB: dict[str, dict[str, tuple[str, ...]]] = {
    "terse": {
        "srcid": ("id", "seq", "n"),
        "facility": ("loc", "fac", "st"),
        "account": ("ino", "acc", "pid"),
        "name": ("nm", "who"),
        "number": ("ph", "dst", "tn"),
        "start": ("ts", "dt", "t0"),
        "date": ("d", "dd"),
        "time": ("t", "hh"),
        "zone": ("z", "tzc"),
        "duration": ("len", "el", "tm"),
        "status": ("st2", "res", "cs"),
        "recorded": ("rec", "r", "rf"),
        "ref": ("lnk", "obj", "uri"),
        "extra": ("x", "aux", "misc"),
    },
    "abbreviated": {
        "srcid": ("CALL_SEQ_NBR", "REC_SEQ_NO"),
        "facility": ("FAC_CD", "SITE_CD", "INST_CD"),
        "account": ("INM_ACCT_NO", "INMT_NBR", "OFNDR_NO"),
        "name": ("INM_NM", "INMT_FULL_NM"),
        "number": ("DIAL_NBR", "DEST_TEL_NO", "CLD_PTY_NBR"),
        "start": ("STRT_DTTM", "CALL_BGN_TS", "CONN_DTTM"),
        "date": ("CALL_DT", "STRT_DT"),
        "time": ("CALL_TM", "STRT_TM"),
        "zone": ("TZ_CD", "TM_ZN"),
        "duration": ("DUR_QTY", "CALL_LEN_QTY", "ELAPSD_TM"),
        "status": ("CALL_STAT_CD", "DISP_CD", "CMPL_IND"),
        "recorded": ("REC_IND", "RCRD_FLG", "MON_IND"),
        "ref": ("REC_URI", "MEDIA_LOC_TXT", "AUD_FL_PTH"),
        "extra": ("AUX_TXT", "MISC_CD", "CHRG_AMT"),
    },
    "spanish": {
        "srcid": ("id_llamada", "secuencia"),
        "facility": ("centro", "establecimiento", "sede"),
        "account": ("cuenta_interno", "num_interno", "expediente"),
        "name": ("nombre_interno", "nombre"),
        "number": ("numero_marcado", "telefono_destino", "destino"),
        "start": ("fecha_hora_inicio", "inicio_llamada", "fecha_inicio"),
        "date": ("fecha", "fecha_llamada"),
        "time": ("hora", "hora_llamada"),
        "zone": ("huso_horario", "zona"),
        "duration": ("duracion", "segundos", "tiempo_conversacion"),
        "status": ("estado", "resultado", "estado_llamada"),
        "recorded": ("grabada", "grabacion_sn", "es_grabada"),
        "ref": ("enlace_grabacion", "ruta_audio", "archivo_audio"),
        "extra": ("importe", "tipo", "estacion"),
    },
}
_SQL_SAFE = str.maketrans({" ": "_", "(": "", ")": "", "?": "", "$": "", "#": ""})


def restyle(rng: np.random.Generator, layout: Layout, family: str) -> Layout:
    """``layout`` as an exporter of ``family`` writes it (``standard``: unchanged)."""
    if family == "standard":
        return layout
    cols = list(layout.columns)
    if family == "split":
        cols = _split(cols)
    elif family == "sparse":
        kinds = {c.field.partition(":")[0] for c in cols}
        drop = {"status", "name"} | ({"recorded"} if "ref" in kinds else set())
        cols = [c for c in cols if c.field.partition(":")[0] not in drop]
    elif family == "generic":
        cols = [Column(f"col{i}", c.field) for i, c in enumerate(cols, 1)]
    else:
        cols = _renamed(rng, cols, _VOCAB[family])
    if layout.fmt in ("sqlite", "mysql_dump", "pg_dump"):
        cols = [Column(c.header.translate(_SQL_SAFE).lower(), c.field) for c in cols]
    return replace(layout, columns=tuple(cols))


def _renamed(
    rng: np.random.Generator, cols: list[Column], vocab: dict[str, tuple[str, ...]]
) -> list[Column]:
    out: list[Column] = []
    taken: set[str] = set()
    for c in cols:
        words = vocab[c.field.partition(":")[0]]
        head = words[int(rng.integers(0, len(words)))]
        k = 2
        while head.lower() in taken:  # two extras in one table: keep headers distinct
            head = f"{words[0]}{k}"
            k += 1
        taken.add(head.lower())
        out.append(Column(head, c.field))
    return out


def _split(cols: list[Column]) -> list[Column]:
    """A textual start ``start:%fmt`` becomes a date column and a time column."""
    out: list[Column] = []
    for c in cols:
        kind, _, style = c.field.partition(":")
        if kind == "start" and style.startswith("%") and " " in style.replace("T", " "):
            date_fmt, _, time_fmt = style.replace("T", " ").partition(" ")
            out += [Column(f"{c.header}_date", f"date:{date_fmt}"),
                    Column(f"{c.header}_time", f"time:{time_fmt}")]  # fmt: skip
        else:
            out.append(c)
    return out
