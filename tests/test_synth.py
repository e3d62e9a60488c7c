"""The synthetic leak: determinism, ground truth that points at real records, realism.

Every check reads the generated files with independent readers (csv, json, sqlite3,
openpyxl, pyarrow, zoneinfo, phonenumbers), never with synth's own code.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import re
import sqlite3
import subprocess
import sys
import zipfile
from collections import Counter, defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import openpyxl
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import privguard
from privguard.errors import InputError
from privguard.internals.common.phones import split_numbers, to_e164

ALL_FORMATS = {"csv", "tsv", "jsonl", "parquet", "xlsx", "sqlite", "mysql_dump", "pg_dump"}


@pytest.fixture(scope="module")
def leak(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "leak"
    privguard.synth(out, calls=12_000, seed=3)
    return out


def _meta(out: Path) -> dict:
    return json.loads((out / "synth.json").read_text())


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _raw(dump: Path, file: str) -> bytes:
    if ".zip/" in file:
        archive, member = file.split(".zip/", 1)
        return zipfile.ZipFile(dump / f"{archive}.zip").read(member)
    data = (dump / file).read_bytes()
    return gzip.decompress(data) if file.endswith(".gz") else data


def _records(dump: Path, t: dict) -> list[list[str]]:
    """The data records of one table, as lists of text fields, read independently."""
    fmt, file = t["format"], t["file"]
    if fmt in ("csv", "tsv", "jsonl"):
        enc = "latin-1" if t["encoding"] == "latin-1" else "utf-8-sig"
        text = _raw(dump, file).decode(enc)
        if fmt == "jsonl":
            out = []
            for line in text.splitlines():
                try:
                    out.append([str(v) for v in json.loads(line).values()])
                except json.JSONDecodeError:
                    out.append([line])
            return out
        first = text.split("\n", 1)[0]
        delim = max([",", ";", "|", "\t"], key=first.count)
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))[1:]
    if fmt == "parquet":
        cols = pq.read_table(dump / file).to_pydict().values()
        return [[str(v) for v in row] for row in zip(*cols, strict=True)]
    if fmt == "sqlite":
        con = sqlite3.connect(dump / file)
        rows = con.execute(f'SELECT * FROM "{t["table"]}" ORDER BY rowid').fetchall()
        con.close()
        return [[str(v) for v in r] for r in rows]
    if fmt == "xlsx":
        ws = openpyxl.load_workbook(dump / file, read_only=True)[t["table"]]
        return [[str(v) for v in r] for r in ws.iter_rows(min_row=2, values_only=True)]
    text = (dump / file).read_text("utf-8")
    if fmt == "pg_dump":
        m = re.search(rf"^COPY {t['table']} \(.*?\) FROM stdin;\n(.*?)^\\\.$", text, re.S | re.M)
        assert m, t
        return [line.split("\t") for line in m.group(1).splitlines()]
    # mysql: one row per "(...)" group of the table's INSERT statements
    stmts = re.findall(rf"^INSERT INTO `{t['table']}` VALUES (.*);$", text, re.M)
    return [
        re.findall(r"'((?:[^'\\]|\\.)*)'|(\d+)|NULL", row)
        for s in stmts
        for row in re.split(r"\),\(", s.strip("()"))
    ]


def _digits(field: str) -> str:
    d = re.sub(r"\D", "", field)
    return d[1:] if len(d) == 11 and d.startswith("1") else d


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, 5), (b, 5), (c, 6)):
        privguard.synth(out, calls=3000, seed=seed)
    ha, hb, hc = _hashes(a), _hashes(b), _hashes(c)
    assert ha == hb
    assert len(ha) > 30
    assert ha["truth/calls.parquet"] != hc["truth/calls.parquet"]
    assert sum(ha.get(k) != v for k, v in hc.items()) > len(hc) // 2


def test_every_source_row_is_in_the_truth(leak: Path) -> None:
    meta = _meta(leak)
    rows = pq.read_table(leak / "truth" / "rows.parquet").to_pydict()
    per_table: dict[tuple[str, str], list[int]] = defaultdict(list)
    for f, t, r in zip(rows["file"], rows["table"], rows["row"], strict=True):
        per_table[(f, t)].append(r)
    listed = {(t["file"], t["table"]): t for t in meta["tables"]}
    assert set(per_table) == set(listed)
    dump = leak / "dump"
    for key, rs in per_table.items():
        assert sorted(rs) == list(range(1, len(rs) + 1)), key
        assert listed[key]["rows"] == len(rs)
        # the table really holds that many records (header excluded, corrupt ones counted)
        assert len(_records(dump, listed[key])) == len(rs), key
    calls = pq.read_table(leak / "truth" / "calls.parquet")
    assert calls.num_rows == 12_000
    # a facility's tables hold only that facility's calls
    fac_of = dict(zip(calls["call_id"].to_pylist(), calls["facility"].to_pylist(), strict=True))
    for f, t, c in zip(rows["file"], rows["table"], rows["call_id"], strict=True):
        assert fac_of[c] == listed[(f, t)]["facility"], (f, t, c)
    assert set(rows["call_id"]) == set(calls["call_id"].to_pylist())
    copies = len(rows["call_id"]) / calls.num_rows
    assert 1.85 < copies < 2.25, copies
    assert meta["counts"]["rows"] == len(rows["call_id"])
    share = sum(rows["corrupt"]) / len(rows["corrupt"])
    assert 0.0005 < share < 0.006, share


def test_truth_rows_point_at_the_right_records(leak: Path) -> None:
    meta = _meta(leak)
    tables = {(t["file"], t["table"]): t for t in meta["tables"]}
    truth = pq.read_table(leak / "truth" / "rows.parquet")
    calls = pq.read_table(leak / "truth" / "calls.parquet").to_pydict()
    number_of = dict(zip(calls["call_id"], calls["number"], strict=True))
    rng = np.random.default_rng(0)
    checked = Counter()
    cache: dict[tuple[str, str], list[list[str]]] = {}
    for i in rng.choice(truth.num_rows, size=400, replace=False):
        r = truth.slice(int(i), 1).to_pylist()[0]
        if r["corrupt"]:
            continue
        key = (r["file"], r["table"])
        if key not in cache:
            cache[key] = _records(leak / "dump", tables[key])
        record = cache[key][r["row"] - 1]
        want = number_of[r["call_id"]][2:]  # E.164 without +1
        assert want in {_digits(str(f)) for f in record}, (key, r["row"], record, want)
        checked[tables[key]["format"]] += 1
    assert len(checked) >= 5, checked


def test_corrupt_rows_have_the_wrong_field_count(leak: Path) -> None:
    meta = _meta(leak)
    truth = pq.read_table(leak / "truth" / "rows.parquet").to_pydict()
    bad = Counter((f, t) for f, t, c in zip(truth["file"], truth["table"], truth["corrupt"],
                                            strict=True) if c)  # fmt: skip
    seen = 0
    for t in meta["tables"]:
        if t["format"] not in ("csv", "tsv"):
            continue
        text = _raw(leak / "dump", t["file"]).decode(
            "latin-1" if t["encoding"] == "latin-1" else "utf-8-sig"
        )
        first = text.split("\n", 1)[0]
        delim = max([",", ";", "|", "\t"], key=first.count)
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
        wrong = sum(len(r) != len(rows[0]) for r in rows[1:])
        assert wrong == bad[(t["file"], t["table"])], t["file"]
        seen += wrong
    assert seen > 0


def test_formats_encodings_archives_and_zones(leak: Path) -> None:
    meta = _meta(leak)
    tables = meta["tables"]
    assert {t["format"] for t in tables} == ALL_FORMATS
    files = [t["file"] for t in tables]
    assert any(".zip/" in f for f in files) and any(f.endswith(".gz") for f in files)
    assert {"latin-1", "utf-8-sig"} <= {t["encoding"] for t in tables}
    assert any(t["reexport_of"] for t in tables)
    assert 40 <= len(tables) <= 150
    local = [t for t in tables if t["zone"] != "UTC"]
    assert any(not t["zone_stated"] for t in local) and any(t["zone_stated"] for t in local)
    for f in meta["facilities"]:
        mine = [t for t in tables if t["facility"] == f["code"]]
        assert any(t["zone_stated"] for t in mine), f["code"]
        assert {t["zone"] for t in mine} <= {"UTC", f["zone"]}
    zones = {f["zone"] for f in meta["facilities"]}
    assert {"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
            "America/Los_Angeles"} <= zones  # fmt: skip
    raw = b"".join(_raw(leak / "dump", t["file"]) for t in tables if t["encoding"] == "latin-1")
    assert re.search(rb"[\xc0-\xff]", raw), "latin-1 tables should hold accented names"


def _truth_by_table(out: Path) -> tuple[dict[tuple[str, str], list[int]], dict[int, dt.datetime]]:
    truth = pq.read_table(out / "truth" / "rows.parquet").to_pydict()
    starts = pq.read_table(out / "truth" / "calls.parquet", columns=["call_id", "start_utc"])
    start_of = dict(zip(starts["call_id"].to_pylist(), starts["start_utc"].to_pylist(),
                        strict=True))  # fmt: skip
    by_table: dict[tuple[str, str], list[int]] = defaultdict(list)
    for f, t, c in zip(truth["file"], truth["table"], truth["call_id"], strict=True):
        by_table[(f, t)].append(c)
    return by_table, start_of


def test_typed_clocks_match_the_truth_with_dst(tmp_path: Path) -> None:
    """Parquet timestamps: tz=UTC ones equal the truth; naive local ones equal it in the zone."""
    out = tmp_path / "pq"
    privguard.synth(out, calls=4000, seed=8, formats=("parquet",), no_zone_share=1.0)
    by_table, start_of = _truth_by_table(out)
    offsets: set[float] = set()
    checked = Counter()
    for t in _meta(out)["tables"]:
        table = pq.read_table(out / "dump" / t["file"])
        ts = [f for f in table.schema if str(f.type).startswith("timestamp")]
        assert len(ts) == 1, t["file"]
        values = table[ts[0].name].to_pylist()
        for call_id, value in zip(by_table[(t["file"], t["table"])], values, strict=True):
            true = start_of[call_id]
            if t["zone"] == "UTC":
                assert ts[0].type.tz == "UTC"
                got = value.replace(tzinfo=None)
            else:
                assert ts[0].type.tz is None and not t["zone_stated"]
                off = true.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(t["zone"])).utcoffset()
                assert off is not None
                offsets.add(off.total_seconds())
                got = value - off
            assert abs((got - true).total_seconds()) <= 60, (t["file"], call_id)
            checked[t["zone"] == "UTC"] += 1
    assert checked[True] > 1000 and checked[False] > 1000
    assert len(offsets) >= 4, "local tables should span zones and standard/daylight time"


_ISO = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(Z|[+-]\d\d:\d\d)$")


def test_iso_times_with_offsets_match_the_truth(leak: Path) -> None:
    """Text tables that write ISO times with Z or an offset agree with the true UTC start."""
    by_table, start_of = _truth_by_table(leak)
    offsets: set[str] = set()
    checked = 0
    for t in _meta(leak)["tables"]:
        if t["format"] in ("parquet", "xlsx"):
            continue
        records = _records(leak / "dump", t)
        for call_id, record in zip(by_table[(t["file"], t["table"])], records, strict=True):
            for field in record:
                m = _ISO.match(str(field))
                if not m:
                    continue
                when = dt.datetime.fromisoformat(m.group(1) + m.group(2).replace("Z", "+00:00"))
                got = when.astimezone(dt.UTC).replace(tzinfo=None)
                assert abs((got - start_of[call_id]).total_seconds()) <= 60, (t["file"], field)
                offsets.add(m.group(2))
                checked += 1
    assert checked > 500
    assert len(offsets) >= 3, offsets


def test_numbers_are_valid_and_kinds_behave(leak: Path) -> None:
    numbers = pq.read_table(leak / "truth" / "numbers.parquet").to_pydict()
    for n in numbers["number"]:
        assert to_e164(n).e164 == n
    kind_of = dict(zip(numbers["number"], numbers["kind"], strict=True))
    calls = pq.read_table(leak / "truth" / "calls.parquet").to_pydict()
    fan_in: dict[str, set[int]] = defaultdict(set)
    facs: dict[str, set[str]] = defaultdict(set)
    for num, inmate, fac in zip(
        calls["number"], calls["inmate_id"], calls["facility"], strict=True
    ):
        fan_in[num].add(inmate)
        facs[num].add(fac)
    for num, kind in zip(calls["number"], calls["kind"], strict=True):
        assert kind_of[num] == kind
    by_kind: dict[str, list[int]] = defaultdict(list)
    for num, inm in fan_in.items():
        by_kind[kind_of[num]].append(len(inm))
    assert set(by_kind) == {"attorney", "public_defender", "family", "bail_bonds", "court",
                            "hotline", "other"}  # fmt: skip
    family_typical = float(np.median(by_kind["family"]))
    assert family_typical <= 2
    for confounder in ("bail_bonds", "court", "hotline", "public_defender"):
        assert max(by_kind[confounder]) >= 8 * family_typical, confounder
    assert any(len(facs[n]) >= 2 for n in fan_in if kind_of[n] == "attorney")
    assert max(by_kind["family"]) <= 3


def test_registry_directory_and_the_facility_that_ignored_the_registry(leak: Path) -> None:
    meta = _meta(leak)
    ignored = json.loads((leak / "truth" / "registry_ignored.json").read_text())["facility"]
    assert [f["code"] for f in meta["facilities"] if not f["applies_registry"]] == [ignored]
    numbers = pq.read_table(leak / "truth" / "numbers.parquet").to_pydict()
    info = {n: i for i, n in enumerate(numbers["number"])}
    with open(leak / "registry" / "do_not_record.csv", newline="") as fh:
        registry = list(csv.DictReader(fh))
    assert registry and all(numbers["in_registry"][info[to_e164(r["number"]).e164]]
                            for r in registry)  # fmt: skip
    assert sum(1 for r in registry if not r["date_removed"]) > 0.8 * len(registry)
    with open(leak / "directory" / "bar_directory.csv", newline="") as fh:
        bar = list(csv.DictReader(fh))
    listed = {to_e164(p).e164 for r in bar for p in split_numbers(r["phones"])}
    assert listed and all(numbers["kind"][info[n]] == "attorney" for n in listed)
    ws = openpyxl.load_workbook(leak / "directory" / "public_defenders.xlsx").active
    pds = {to_e164(p).e164 for (o, phones, *_) in ws.iter_rows(min_row=2, values_only=True)
           for p in split_numbers(phones)}  # fmt: skip
    assert pds and all(numbers["kind"][info[n]] == "public_defender" for n in pds)
    att = [i for i, k in enumerate(numbers["kind"]) if k == "attorney"]
    assert any(not numbers["in_directory"][i] and not numbers["in_registry"][i] for i in att)

    # Completed calls to numbers registered (for all facilities) at call time.
    calls = pq.read_table(leak / "truth" / "calls.parquet")
    calls = calls.filter(pc.field("completed"))
    stats: dict[bool, Counter[bool]] = {True: Counter(), False: Counter()}
    for num, fac, start, rec in zip(*(calls[c].to_pylist() for c in
                                      ("number", "facility", "start_utc", "recorded")), strict=True):  # fmt: skip
        i = info[num]
        frm, until = numbers["registered_from"][i], numbers["registered_until"][i]
        if frm is None or numbers["registry_facility"][i] is not None:
            continue
        day = start.date()
        # a day of margin for local dates at either edge
        if frm + dt.timedelta(days=1) <= day and (
            until is None or day < until - dt.timedelta(days=1)
        ):
            stats[fac == ignored][rec] += 1
    assert stats[True][True] > 0 and stats[True][False] == 0
    applied = stats[False]
    assert applied[False] > 0 and applied[True] / (applied[True] + applied[False]) < 0.1


def test_knobs(tmp_path: Path) -> None:
    r = privguard.synth(tmp_path / "k", calls=3000, seed=2, formats=("csv", "parquet"),
                        copies=3.0, corrupt_rate=0.0, no_zone_share=0.0)  # fmt: skip
    meta = _meta(tmp_path / "k")
    assert {t["format"] for t in meta["tables"]} == {"csv", "parquet"}
    assert 2.7 < r.rows / 3000 < 3.3
    assert r.corrupt_rows == 0
    assert all(t["zone_stated"] for t in meta["tables"] if t["format"] == "csv")
    r1 = privguard.synth(tmp_path / "one", calls=3000, seed=2, copies=1.0, no_zone_share=1.0)
    assert r1.rows / 3000 < 1.15
    meta1 = _meta(tmp_path / "one")
    assert not any(t["zone_stated"] for t in meta1["tables"] if t["zone"] != "UTC")


def test_bad_options_and_existing_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        privguard.synth(tmp_path / "x", calls=10, copies=9, formats=("csv", "docx"))
    assert len(err.value.problems) == 3
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        privguard.synth(tmp_path / "full", calls=500)
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


def test_cli(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "privguard", "synth"]
    bad = subprocess.run(
        [*cmd, str(tmp_path / "b"), "--calls", "5"], capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert "--calls must be at least 100 (got 5)" in bad.stderr and "Fix:" in bad.stderr
    ok = subprocess.run(
        [*cmd, str(tmp_path / "ok"), "--calls", "800", "--seed", "4", "--formats", "csv,jsonl"],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert "800 calls" in ok.stdout and "rows/s" in ok.stdout
    assert {t["format"] for t in _meta(tmp_path / "ok")["tables"]} == {"csv", "jsonl"}


@pytest.mark.services
def test_dumps_load_into_real_mariadb_and_postgresql(tmp_path: Path) -> None:
    import shutil

    if not shutil.which("mariadb") or not shutil.which("psql"):
        pytest.skip("mariadb/psql not installed (run `make services`)")
    out = tmp_path / "leak"
    privguard.synth(out, calls=6000, seed=9, corrupt_rate=0.0, formats=("mysql_dump", "pg_dump"))
    meta = _meta(out)
    psql = ["runuser", "-u", "postgres", "--", "psql", "-v", "ON_ERROR_STOP=1", "-q"]
    for i, file in enumerate(sorted({t["file"] for t in meta["tables"]})):
        mine = [t for t in meta["tables"] if t["file"] == file]
        db = f"pg_synth_test_{i}"
        sql = (out / "dump" / file).read_bytes()
        if mine[0]["format"] == "mysql_dump":
            subprocess.run(["mariadb", "-uroot", "-e", f"DROP DATABASE IF EXISTS {db}; "
                            f"CREATE DATABASE {db}"], check=True)  # fmt: skip
            try:
                subprocess.run(["mariadb", "-uroot", db], input=sql, check=True)
                for t in mine:
                    got = subprocess.run(
                        ["mariadb", "-uroot", "-N", db, "-e", f"SELECT COUNT(*) FROM `{t['table']}`"],
                        capture_output=True, check=True, text=True,
                    ).stdout  # fmt: skip
                    assert int(got) == t["rows"], t
            finally:
                subprocess.run(["mariadb", "-uroot", "-e", f"DROP DATABASE IF EXISTS {db}"])
        else:
            subprocess.run([*psql, "-c", f"DROP DATABASE IF EXISTS {db}"], check=True)
            subprocess.run([*psql, "-c", f"CREATE DATABASE {db} ENCODING 'UTF8' "
                            "TEMPLATE template0"], check=True)  # fmt: skip
            try:
                # Without ON_ERROR_STOP: the dump's "OWNER TO securus" fails on a server
                # without that role; the row counts below still catch any broken COPY.
                load = [a for a in psql if a not in ("-v", "ON_ERROR_STOP=1")]
                subprocess.run([*load, "-d", db], input=sql, check=True, capture_output=True)
                for t in mine:
                    got = subprocess.run(
                        [*psql, "-d", db, "-tAc", f"SELECT COUNT(*) FROM {t['table']}"],
                        capture_output=True, check=True, text=True,
                    ).stdout  # fmt: skip
                    assert int(got) == t["rows"], t
            finally:
                subprocess.run([*psql, "-c", f"DROP DATABASE IF EXISTS {db}"])


def test_zone_offsets_agree_with_zoneinfo() -> None:
    from privguard.internals.synth.clock import ZONES, local_to_utc, utc_offsets

    rng = np.random.default_rng(1)
    utc = rng.integers(1_320_000_000, 1_400_000_000, 3000)  # late 2011 to mid 2014
    zone = rng.integers(0, len(ZONES), 3000)
    got = utc_offsets(utc, zone)
    for t, z, off in zip(utc, zone, got, strict=True):
        local = dt.datetime.fromtimestamp(int(t), dt.UTC).astimezone(ZoneInfo(ZONES[z]))
        assert local.utcoffset() == dt.timedelta(seconds=int(off))
    back = local_to_utc(utc + got, zone)
    assert np.mean(back == utc) > 0.999  # only the repeated autumn hour is ambiguous


def test_zone_abbreviation_columns_follow_dst(leak: Path) -> None:
    """A zone column such as CST/CDT names the zone in force at the true start."""
    by_table, start_of = _truth_by_table(leak)
    abbrs = {"EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT"}
    seen: Counter[str] = Counter()
    for t in _meta(leak)["tables"]:
        if t["zone"] == "UTC" or t["format"] in ("parquet", "xlsx"):
            continue
        records = _records(leak / "dump", t)
        for call_id, record in zip(by_table[(t["file"], t["table"])], records, strict=True):
            for field in record:
                if field in abbrs:
                    true = start_of[call_id].replace(tzinfo=dt.UTC)
                    # up to a minute of clock skew: allow either side of a transition
                    names = {
                        (true + dt.timedelta(seconds=s)).astimezone(ZoneInfo(t["zone"])).tzname()
                        for s in (-60, 0, 60)
                    }
                    assert field in names, (t["file"], call_id, field)
                    seen[field] += 1
    assert len(seen) >= 2, seen


def test_reexports_repeat_rows_verbatim(leak: Path) -> None:
    by_table, _ = _truth_by_table(leak)
    tables = {(t["file"], t["table"]): t for t in _meta(leak)["tables"]}
    checked = 0
    for key, t in tables.items():
        if not t["reexport_of"]:
            continue
        original = next(k for k in tables if k[0] == t["reexport_of"])
        rows = {tuple(r) for r in _records(leak / "dump", tables[original])}
        copies = _records(leak / "dump", t)
        assert copies and all(tuple(r) in rows for r in copies), key
        assert set(by_table[key]) <= set(by_table[original])
        checked += 1
    assert checked >= 1
