"""Pseudonymization: SQL and Python HMACs agree, the key stays with the case, and no
clear inmate name or non-attorney number reaches a shareable output."""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import stat
from pathlib import Path

import openpyxl
import pypdfium2 as pdfium
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privguard.errors import InputError, Problems
from privguard.internals.audit.engines import connect
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.report import privacy
from privguard.internals.audit.report.settings import Settings, parse
from privguard.internals.audit.sql import quote_literal
from test_report_fixture import NAMES, NUMBERS, run_report

_EX = connect()
_KEY = bytes(range(7, 39))
privacy.install(_EX, _KEY)


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=0, max_size=40).filter(lambda s: "\x00" not in s))
def test_sql_and_python_hmac_agree(value: str) -> None:
    got = _EX.fetchall(f"SELECT pg_hmac({quote_literal(value)})")[0][0]
    assert got == hmac.new(_KEY, value.encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("kind", ["name", "account", "number"])
def test_sql_and_python_pseudonyms_agree(kind: str) -> None:
    values = ["José Núñez", "=cmd", "1001", "+15125550123", "O'Brien"]
    rows = ", ".join(f"({quote_literal(v)})" for v in values)
    sql = f"SELECT {privacy.pseudonym_sql(kind, 'v')} FROM (VALUES {rows}) t(v)"
    assert [r[0] for r in _EX.fetchall(sql)] == [privacy.pseudonym(_KEY, kind, v) for v in values]
    assert _EX.fetchall(f"SELECT {privacy.pseudonym_sql(kind, 'NULL')}") == [(None,)]


def test_long_key_is_hashed_like_python_hmac() -> None:
    ex = connect()
    key = b"x" * 100  # longer than the SHA-256 block: HMAC hashes it first
    privacy.install(ex, key)
    assert ex.fetchall("SELECT pg_hmac('abc')")[0][0] == privacy.hmac_hex(key, "abc")


def test_domains_are_separated() -> None:
    assert privacy.pseudonym(_KEY, "name", "1001") != privacy.pseudonym(_KEY, "account", "1001")


def test_key_created_once_private_and_outside_out(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    key = privacy.load_key(out)
    path = tmp_path / "case.key"
    assert path.exists() and len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert privacy.load_key(out) == key  # same key on the next run


def test_key_inside_out_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(InputError) as info:
        privacy.load_key(out, out / "secret" / "case.key")
    assert "inside the output folder" in info.value.render()
    assert not (out / "secret" / "case.key").exists()


def test_bad_key_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "k.key"
    bad.write_text("not hex at all")
    with pytest.raises(InputError) as info:
        privacy.load_key(tmp_path / "out", bad)
    assert str(bad) in info.value.render()


def test_settings_parse() -> None:
    problems = Problems()
    assert parse(None, problems) == Settings()
    s = parse({"pseudonymize": False, "key_file": "k/case.key"}, problems)
    assert s == Settings(False, Path("k/case.key"))
    assert not problems.items
    parse({"pseudonymize": "yes", "key_file": 3, "colour": 1}, problems)
    assert len(problems.items) == 3


def _shareable_text(out: Path) -> str:
    """All text of every shareable output: report, letters, exports."""
    parts = [(AuditPaths(out).report_html).read_text()]
    for pdf in [AuditPaths(out).report_pdf, *sorted((AuditPaths(out).letters).glob("*.pdf"))]:
        doc = pdfium.PdfDocument(str(pdf))
        parts += [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    exports = AuditPaths(out).exports
    parts += [p.read_text() for p in exports.glob("*.csv")]
    wb = openpyxl.load_workbook(exports / "findings.xlsx")
    parts += [str(c.value) for ws in wb for row in ws.iter_rows() for c in row]
    con = sqlite3.connect(exports / "findings.db")
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'"):
        parts += [repr(r) for r in con.execute(f'SELECT * FROM "{name}"')]
    return "\n".join(parts)


def test_no_clear_identities_in_shareable_outputs(tmp_path: Path) -> None:
    paths, result = run_report(tmp_path)
    text = _shareable_text(paths["out"])
    for name in NAMES:
        assert name not in text, name
    others = [n for n, cls, *_ in NUMBERS if cls in ("other", "candidate")]
    for number in others:
        assert number not in text, number
    # Attorney numbers are the subject: they stay clear.
    assert "+15125550101" in text
    key = (tmp_path / "case.key").read_text().strip()
    manifest = (paths["out"] / "manifest.json").read_text()
    assert key not in manifest and key not in text
    assert not list(paths["out"].rglob("*.key"))
    assert privacy.pseudonym(bytes.fromhex(key), "name", "José Núñez") in text


def test_privacy_off_shows_names_and_says_so(tmp_path: Path) -> None:
    paths, result = run_report(tmp_path, settings=Settings(pseudonymize=False))
    html = (AuditPaths(paths["out"]).report_html).read_text()
    assert "Privacy protection is OFF" in html
    assert not (tmp_path / "case.key").exists()
    assert "José Núñez" in (AuditPaths(paths["out"]).exports / "privileged_calls.csv").read_text()


def test_shared_executor_forgets_the_key(tmp_path: Path) -> None:
    from privguard.internals.audit.report.api import report
    from test_report_fixture import build_audit_out

    paths = build_audit_out(tmp_path)
    ex = connect()
    report(paths["out"], inputs=[], parameters={}, executor=ex)
    assert ex.fetchall("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'pg_key'") == [(0,)]
    macros = "SELECT count(*) FROM duckdb_functions() WHERE function_name = 'pg_hmac'"
    assert ex.fetchall(macros) == [(0,)]
    ex.close()
