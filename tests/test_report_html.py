"""report.html: self-contained, offline, accessible, and showing summary.json's numbers.

The browser tests open the page in a real headless Chromium (marked services)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest

from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.schema import SUMMARY_INT_KEYS
from test_report_fixture import run_report

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


class Page(HTMLParser):
    """Collects what the tests look at: summary figures, URLs, SVGs, tables, headings."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, str] = {}
        self.urls: list[str] = []
        self.tags: list[str] = []
        self.svg_titles = 0
        self._stack: list[tuple[str, dict[str, str | None]]] = []
        self._text: dict[int, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        for name in ("src", "href", "srcset", "action", "data", "poster", "xlink:href"):
            if a.get(name):
                self.urls.append(str(a[name]))
        if "style" in a and "url(" in str(a["style"]):
            self.urls.append(str(a["style"]))
        self._stack.append((tag, a))
        self._text[len(self._stack)] = ""

    def handle_endtag(self, tag: str) -> None:
        if not self._stack:
            return
        depth = len(self._stack)
        name, attrs = self._stack.pop()
        text = self._text.pop(depth, "")
        if attrs.get("data-summary"):
            self.figures[str(attrs["data-summary"])] = text.strip()
        if name == "title" and self._stack and self._stack[-1][0] == "svg":
            self.svg_titles += 1
        if self._stack:
            self._text[len(self._stack)] = self._text.get(len(self._stack), "") + text

    def handle_data(self, data: str) -> None:
        if self._stack:
            self._text[len(self._stack)] += data


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


@pytest.fixture(scope="module")
def audit(tmp_path_factory) -> dict[str, Path]:
    paths, _ = run_report(tmp_path_factory.mktemp("html"))
    return paths


def _check_figures(page: Page, summary: dict) -> None:
    shown = {k: int(v.replace(",", "")) for k, v in page.figures.items()}
    expected = {k: summary[k] for k in (*SUMMARY_INT_KEYS, "completed_privileged_calls")}
    expected.pop("rows_read")  # shown in Table 1, not as a card
    expected.pop("rows_rejected")
    expected.pop("rows_set_aside")
    for key, value in expected.items():
        assert shown.get(key) == value, key
    for key, value in shown.items():  # anything else shown must be summary.json's too
        assert summary.get(key) == value, key


def test_html_is_self_contained_and_accessible(audit: dict[str, Path]) -> None:
    html = (AuditPaths(audit["out"]).report_html).read_text()
    page = parse(html)
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    assert all(u.startswith("#") for u in page.urls), page.urls
    assert "http://" not in html.split("<body")[0] and "@import" not in html
    assert page.tags.count("svg") == 3 and page.svg_titles == 3
    assert page.tags.count("caption") == page.tags.count("table") >= 8
    assert page.tags.count("h1") == 1 and page.tags.count("h2") >= 6
    assert "@media print" in html and "#E69F00" in html.upper() or "#e69f00" in html
    _check_figures(page, json.loads((AuditPaths(audit["out"]).summary).read_text()))


def test_html_escapes_data(audit: dict[str, Path]) -> None:
    html = (AuditPaths(audit["out"]).report_html).read_text()
    assert "=Evil Esq" in html  # an attorney name from the data, shown as text
    assert "<script" not in html.lower()


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (make services)")
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


class RecordingProxy:
    """A local TCP listener used as Chromium's proxy: records every connection attempt."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.requests.append(conn.recv(1024))
                except OSError:
                    self.requests.append(b"?")

    def close(self) -> None:
        self.sock.close()


# Chromium's own service traffic (clock check, component updater, sign-in) still goes out
# despite the flags; it is not the page's doing. Exact hosts only: a CDN such as
# fonts.googleapis.com must still count as a request made by the page.
BROWSER_HOSTS = {b"clients2.google.com", b"update.googleapis.com", b"accounts.google.com"}


def _host(request: bytes) -> bytes:
    target = request.split(b" ")[1] if request.count(b" ") >= 2 else b""
    target = target.split(b"://", 1)[-1]
    return target.split(b"/", 1)[0].split(b":", 1)[0]


def _open_via_proxy(tmp_path: Path, page: Path) -> tuple[str, list[bytes]]:
    proxy = RecordingProxy()
    try:
        res = _chromium(
            tmp_path, f"--proxy-server=http://127.0.0.1:{proxy.port}",
            "--proxy-bypass-list=<-loopback>", "--virtual-time-budget=3000",
            "--dump-dom", page.as_uri(),
        )  # fmt: skip
    finally:
        proxy.close()
    return res.stdout, [r for r in proxy.requests if _host(r) not in BROWSER_HOSTS]


@pytest.mark.services
def test_chromium_shows_summary_numbers_and_screenshot(audit, tmp_path: Path) -> None:
    res = _chromium(tmp_path, "--dump-dom", (AuditPaths(audit["out"]).report_html).as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    page = parse(res.stdout)
    _check_figures(page, json.loads((AuditPaths(audit["out"]).summary).read_text()))
    shot = tmp_path / "report.png"
    res = _chromium(
        tmp_path, f"--screenshot={shot}", "--window-size=1280,4000", "--hide-scrollbars",
        (AuditPaths(audit["out"]).report_html).as_uri(),
    )  # fmt: skip
    assert shot.exists() and shot.stat().st_size > 50_000, res.stderr[-2000:]
    keep = Path(__file__).parent.parent / ".pytest_cache" / "report_screenshot.png"
    keep.parent.mkdir(exist_ok=True)
    shutil.copy(shot, keep)  # for a person to look at after the run


@pytest.mark.services
def test_chromium_makes_no_network_requests(audit, tmp_path: Path) -> None:
    dom, requests = _open_via_proxy(tmp_path, AuditPaths(audit["out"]).report_html)
    assert "Recorded attorney-client calls" in dom
    assert requests == []


@pytest.mark.services
def test_network_probe_catches_a_remote_resource(tmp_path: Path) -> None:
    # The probe itself must be able to fail: a page loading one remote image is caught.
    probe = tmp_path / "probe.html"
    probe.write_text(
        '<!DOCTYPE html><html><body><img src="http://example.com/x.png"></body></html>'
    )
    _, requests = _open_via_proxy(tmp_path, probe)
    assert any(b"example.com" in r for r in requests)


def test_headline_is_summary_headline(audit: dict[str, Path]) -> None:
    html = (AuditPaths(audit["out"]).report_html).read_text()
    summary = json.loads((AuditPaths(audit["out"]).summary).read_text())
    assert f'data-summary-text="headline">{summary["headline"]}<' in html


def test_report_with_no_attorney_numbers(tmp_path: Path) -> None:
    """A journalist with no directory and no registry: no privileged calls, still a report."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from privguard.internals.audit.report.api import report
    from test_report_fixture import build_audit_out

    paths = build_audit_out(tmp_path)
    out = paths["out"]
    numbers = pq.read_table(AuditPaths(out).numbers)
    cls = numbers["classification"]
    keep = pc.if_else(pc.equal(cls, "candidate"), cls, "other")
    numbers = numbers.set_column(
        numbers.schema.get_field_index("classification"), "classification", keep
    )
    pq.write_table(numbers, AuditPaths(out).numbers)
    (AuditPaths(out).registry).unlink()
    summary = json.loads((AuditPaths(out).summary).read_text())
    for key in ("attorney_numbers", "privileged_calls", "completed_privileged_calls",
                "privileged_calls_recorded", "registry_violations"):  # fmt: skip
        summary[key] = 0
    (AuditPaths(out).summary).write_text(json.dumps(summary))
    result = report(out, inputs=[paths["dump"]], parameters={})
    assert result.letters == [] and not result.warnings
    page = parse((AuditPaths(out).report_html).read_text())
    _check_figures(page, summary)
    with open(AuditPaths(out).exports / "privileged_calls.csv") as fh:
        assert len(fh.readlines()) == 1  # the header only
