"""Ingest against dumps made by REAL servers (MariaDB, PostgreSQL) and a real XLSX writer.

Awkward values go into the server through hex literals (so this test's own escaping cannot
mask a bug), come out through ``mariadb-dump`` / ``pg_dump``, are ingested, and are compared
with the values selected back from the server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from privguard.internals.audit.ingest.api import ingest

AWKWARD: list[str | None] = [
    "O'Brien",
    "back\\slash",
    "new\nline",
    "tab\tbed",
    'dou"ble',
    "",
    None,
    "ünïcødé ☎ 中文",
    "a),(b",
    "\\N",
    "NULL",
    "'",
    "\\",
    "x\r\ny",
    "),(",
    "ctrl\x1az",
    "comma, here",
    "\\n literal",
    "\\'",
    "''",
    "end\\",
    "emoji 😀",
]
_ESCAPE_STRINGS = "PGOPTIONS=-c standard_conforming_strings=off"
N_ROWS = 3000  # several INSERT statements / a long COPY block


def _value(i: int) -> str | None:
    return AWKWARD[i % len(AWKWARD)]


def _hex(v: str | None) -> str:
    return "NULL" if v is None else v.encode("utf-8").hex()


def _rows() -> list[tuple[int, str, str, str | None, str | None]]:
    return [
        (
            i + 1,
            f"555{i:07d}",
            f"2013-01-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00",
            _value(i),
            _value(i * 7 + 3),
        )
        for i in range(N_ROWS)
    ]


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (run `make services`)")


def _ingested(work: Path) -> dict[int, tuple[str, str, str | None, str | None, int]]:
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT extras, dialed_number, start, inmate_name, src_row, source_call_id "
        f"FROM read_parquet('{work}/ingested/*.parquet')"
    ).fetchall()
    out = {}
    for extras, number, start, name, src_row, call_id in rows:
        out[int(call_id)] = (number, start, name, json.loads(extras)["note"], src_row)
    return out


def _psql_rows(psql: list[str], db: str, query: str, sep: str = "|") -> str:
    """The rows of a query as the server returns them, unaligned, fields split by ``sep``."""
    return subprocess.run(
        [*psql, "-d", db, "-At", "-F", sep, "-c", query], check=True, capture_output=True
    ).stdout.decode()


@pytest.mark.services
@pytest.mark.parametrize(
    "options",
    [["--net-buffer-length=4096"], ["--skip-extended-insert", "--complete-insert"]],
    ids=["extended", "one-row-inserts"],
)
def test_mariadb_dump_roundtrip(tmp_path: Path, options: list[str]) -> None:
    _need("mariadb")
    _need("mariadb-dump")
    db = f"pg_ingest_{os.getpid()}"
    values = ",".join(
        f"({i},'{num}','{start}',"
        + ", ".join("NULL" if v is None else f"CONVERT(X'{_hex(v)}' USING utf8mb4)" for v in (a, b))
        + ")"
        for i, num, start, a, b in _rows()
    )
    script = (
        f"DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db} CHARACTER SET utf8mb4; USE {db};"
        "CREATE TABLE calls (id INT PRIMARY KEY, dialed_number VARCHAR(20), start DATETIME,"
        " inmate_name TEXT, note TEXT) CHARACTER SET utf8mb4;"
        f"INSERT INTO calls VALUES {values};"
    )
    try:
        subprocess.run(["mariadb", "-uroot"], input=script.encode(), check=True)
        dump = tmp_path / "dump"
        dump.mkdir()
        with open(dump / "calls.sql", "wb") as fh:
            subprocess.run(["mariadb-dump", "-uroot", *options, db], stdout=fh, check=True)
        back = subprocess.run(
            [
                "mariadb",
                "-uroot",
                "-N",
                "-B",
                db,
                "-e",
                "SELECT id, dialed_number, start, IFNULL(HEX(inmate_name),'NULL'),"
                " IFNULL(HEX(note),'NULL') FROM calls ORDER BY id",
            ],
            check=True,
            capture_output=True,
        ).stdout.decode()
    finally:
        subprocess.run(["mariadb", "-uroot", "-e", f"DROP DATABASE IF EXISTS {db}"], check=False)
    assert (dump / "calls.sql").read_bytes().count(b"INSERT INTO") > 1
    result = ingest(dump, tmp_path / "work")
    (table,) = result.tables
    assert table["format"] == "mysql_dump" and table["table"] == "calls"
    assert table["rows_read"] == N_ROWS == table["rows_accepted"]
    assert any("DROP TABLE" in w["warning"] for w in result.warnings)
    got = _ingested(tmp_path / "work")
    for line in back.strip("\n").split("\n"):
        i, num, start, h_name, h_note = line.split("\t")
        name = None if h_name == "NULL" else bytes.fromhex(h_name).decode()
        note = None if h_note == "NULL" else bytes.fromhex(h_note).decode()
        assert got[int(i)][:4] == (num, start, name, note), i
        assert got[int(i)][4] == int(i)  # dump order is primary-key order


@pytest.mark.services
@pytest.mark.parametrize(
    "options, server_env",
    [([], []), (["--inserts"], []), (["--inserts"], [_ESCAPE_STRINGS])],
    ids=["copy", "inserts", "inserts-escape-strings"],
)
def test_pg_dump_roundtrip(tmp_path: Path, options: list[str], server_env: list[str]) -> None:
    _need("pg_dump")
    db = f"pg_ingest_{os.getpid()}"
    psql = ["runuser", "-u", "postgres", "--", "psql", "-v", "ON_ERROR_STOP=1", "-q"]
    values = ",".join(
        f"({i},'{num}','{start}',"
        + ", ".join(
            "NULL" if v is None else f"convert_from('\\x{_hex(v)}'::bytea, 'UTF8')"
            for v in (a.replace("\x00", "") if a else a, b)
        )
        + ")"
        for i, num, start, a, b in _rows()
    )
    subprocess.run([*psql, "-c", f"DROP DATABASE IF EXISTS {db}"], check=True)
    subprocess.run(
        [*psql, "-c", f"CREATE DATABASE {db} ENCODING 'UTF8' TEMPLATE template0"], check=True
    )
    try:
        script = (
            "CREATE TABLE calls (id int PRIMARY KEY, dialed_number text, start timestamp,"
            f" inmate_name text, note text); INSERT INTO calls VALUES {values};"
        )
        subprocess.run([*psql, "-d", db], input=script.encode(), check=True)
        dump = tmp_path / "dump"
        dump.mkdir()
        dumped = subprocess.run(
            ["runuser", "-u", "postgres", "--", "env", *server_env, "pg_dump", *options, db],
            check=True,
            capture_output=True,
        ).stdout
        (dump / "calls.sql").write_bytes(dumped)
        back = _psql_rows(
            psql,
            db,
            "SELECT id, dialed_number, start, coalesce(encode(convert_to(inmate_name,'UTF8'),"
            "'hex'),'NULL'), coalesce(encode(convert_to(note,'UTF8'),'hex'),'NULL')"
            " FROM calls ORDER BY id",
            "\t",
        )
    finally:
        subprocess.run([*psql, "-c", f"DROP DATABASE IF EXISTS {db}"], check=False)
    assert (b"FROM stdin;" in dumped) == (not options)
    # With the setting off, pg_dump writes backslashes doubled inside plain '...' strings.
    assert (b"standard_conforming_strings = off" in dumped) == bool(server_env)
    result = ingest(dump, tmp_path / "work")
    (table,) = result.tables
    assert table["format"] == "pg_dump" and table["table"] == "calls"
    assert table["rows_read"] == N_ROWS == table["rows_accepted"]
    assert result.warnings  # SET, ALTER ... OWNER, etc. are listed, never executed
    got = _ingested(tmp_path / "work")
    for line in back.strip("\n").split("\n"):
        i, num, start, h_name, h_note = line.split("\t")
        name = None if h_name == "NULL" else bytes.fromhex(h_name).decode()
        note = None if h_note == "NULL" else bytes.fromhex(h_note).decode()
        assert got[int(i)][:4] == (num, start, name, note), i


# E'...' escape strings as hand-written dumps and other tools write them (pg_dump never does).
E_LITERALS = [
    r"E'O\'Brien\\n'",
    r"E'new\nline, tab\there'",
    r"e'octal \101\102 hex \x41\x4a unicode \u00e9\U0001F600'",
    r"E'quote '' and \\'",
    r"E'unknown \q escape'",
    r"'standard \n stays'",
    r"'CALLE'",
    r"E''",
]


@pytest.mark.services
def test_pg_escape_string_inserts_match_the_server(tmp_path: Path) -> None:
    """A dump with E'' literals: ingest reads each value exactly as PostgreSQL stores it."""
    _need("psql")
    db = f"pg_estr_{os.getpid()}"
    psql = ["runuser", "-u", "postgres", "--", "psql", "-v", "ON_ERROR_STOP=1", "-q"]
    body = "\n".join(
        f"INSERT INTO calls VALUES ({i + 1}, '555000{i:04d}', '2013-01-02 03:04:05', {lit});"
        for i, lit in enumerate(E_LITERALS)
    )
    text = f"CREATE TABLE calls (id int, dialed_number text, start text, note text);\n{body}\n"
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "calls.sql").write_text(text)
    subprocess.run([*psql, "-c", f"DROP DATABASE IF EXISTS {db}"], check=True)
    subprocess.run(
        [*psql, "-c", f"CREATE DATABASE {db} ENCODING 'UTF8' TEMPLATE template0"], check=True
    )
    try:
        subprocess.run([*psql, "-d", db], input=text.encode(), check=True)
        back = _psql_rows(
            psql, db, "SELECT id, encode(convert_to(note,'UTF8'),'hex') FROM calls ORDER BY id"
        )
    finally:
        subprocess.run([*psql, "-c", f"DROP DATABASE IF EXISTS {db}"], check=False)
    stored = {int(i): bytes.fromhex(h).decode() for i, h in (ln.split("|") for ln in back.split())}
    assert stored[1] == "O'Brien\\n" and stored[2].startswith("new\nline")  # the server's view
    result = ingest(dump, tmp_path / "work")
    (table,) = result.tables
    assert table["rows_read"] == len(E_LITERALS) == table["rows_accepted"]
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT source_call_id, extras FROM read_parquet('{tmp_path}/work/ingested/*.parquet')"
    ).fetchall()
    got = {int(i): json.loads(extras)["note"] for i, extras in rows}
    assert got == stored
