"""The HTML report at 800 px wide (issue 13: "a table's right-hand columns are cut off").

Opened in headless Chromium (Debian's, through Playwright), every table either fits the
viewport, or sits in a horizontally scrollable container inside the viewport, and
scrolling that container to its end brings the table's last column fully into view."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from privguard.internals.audit.paths import AuditPaths
from test_report_fixture import run_report

pytestmark = pytest.mark.services

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]

# For each table: its box, its scrollable ancestor (if any) and, once that is scrolled to
# its end, where the last cell of the widest row ends.
PROBE = """() => {
  const vw = document.documentElement.clientWidth;
  return Array.from(document.querySelectorAll('table')).map((t, i) => {
    let box = null;
    for (let e = t.parentElement; e && e !== document.body; e = e.parentElement) {
      const o = getComputedStyle(e).overflowX;
      if (o === 'auto' || o === 'scroll') { box = e; break; }
    }
    const caption = (t.caption && t.caption.textContent || t.id || ('table ' + i)).slice(0, 70);
    const rows = Array.from(t.rows);
    const widest = rows.reduce((a, r) => r.cells.length > a.cells.length ? r : a, rows[0]);
    const last = widest.cells[widest.cells.length - 1];
    const out = {caption, vw, right: t.getBoundingClientRect().right, box: !!box};
    if (box) {
      box.scrollLeft = box.scrollWidth;
      const b = box.getBoundingClientRect();
      out.boxLeft = b.left; out.boxRight = b.right;
      out.lastLeft = last.getBoundingClientRect().left;
      out.lastRight = last.getBoundingClientRect().right;
      box.scrollLeft = 0;
    }
    return out;
  });
}"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    paths, _ = run_report(tmp_path_factory.mktemp("responsive"))
    return AuditPaths(paths["out"]).report_html


@pytest.fixture
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        pytest.skip("chromium is not installed (make services)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def _check(browser: Any, report: Path) -> None:
    page = browser.new_page(viewport={"width": 800, "height": 1000})
    page.goto(report.as_uri())
    tables = page.evaluate(PROBE)
    assert len(tables) >= 5
    width = page.evaluate("document.documentElement.clientWidth")
    # The page itself does not scroll sideways: a cut-off column could not be reached.
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    for t in tables:
        if t["right"] <= width + 0.5:
            continue  # fits as it is
        assert t["box"], f"{t['caption']!r} runs past the right edge with nothing to scroll it"
        assert t["boxRight"] <= width + 0.5, f"{t['caption']!r}: its scroll box overflows"
        # Scrolled to the end, the last column is within the box: every column is reachable.
        assert t["lastRight"] <= t["boxRight"] + 0.5, t
        assert t["lastLeft"] >= t["boxLeft"] - 0.5, t


def test_no_table_is_cut_off_at_800_px(report: Path, browser: Any) -> None:
    _check(browser, report)


def test_the_check_catches_a_table_without_its_scroll_box(
    report: Path, browser: Any, tmp_path: Path
) -> None:
    """The same page without the scroll boxes' rule: a wide table is caught."""
    html = report.read_text(encoding="utf-8").replace(".scroll { overflow-x: auto; }", "")
    html = html.replace(
        "<body>", "<body><table><tr>" + "<td>wide-column-text</td>" * 60 + "</tr></table>", 1
    )
    broken = tmp_path / "report.html"
    broken.write_text(html, encoding="utf-8")
    with pytest.raises(AssertionError):
        _check(browser, broken)
