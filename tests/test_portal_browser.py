"""Each role's main path in a real browser (Debian's Chromium, driven by Playwright) against a
real uvicorn server, on SQLite and PostgreSQL; axe-core checks every page.

Never a downloaded browser: Chromium is /usr/bin/chromium (scripts/services.sh installs it)
and axe-core comes from npm into the gitignored node_modules (package.json). Screenshots go
to a temporary folder, or to $PRIVGUARD_SCREENSHOTS when set (docs/screenshots was made so).
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from privguard.internals.prevention.registry import workflow as W
from privguard.internals.prevention.registry.api import Registry
from privguard.internals.prevention.service.auth import create_user
from privguard.internals.prevention.settings import ServiceSettings
from service_helpers import PASSWORD
from test_portal_pages import make_audit

pytestmark = pytest.mark.services
ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER = """
import sys, uvicorn
from pathlib import Path
from privguard.internals.prevention.service import create_app
from privguard.internals.prevention.settings import ServiceSettings
data, url, port, audit = sys.argv[1:5]
settings = ServiceSettings(data_dir=Path(data), database_url=url, extra={"audit_dirs": [audit]})
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(port), log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seed(settings: ServiceSettings) -> None:
    reg = Registry.open(settings)
    with reg.transaction() as session:
        aid = W.add_attorney(
            session,
            reg.ledger,
            "Ada Lovelace",
            actor="admin:seed",
            bar_number="TX123",
            bar_state="TX",
            contact="ada@example.org",
        )
        create_user(session, "ada", "attorney", password=PASSWORD, attorney_id=aid)
        for name, role in (("rita", "registrar"), ("aud", "auditor")):
            create_user(session, name, role, password=PASSWORD)
    reg.factory.kw["bind"].dispose()


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A real uvicorn server on a free loopback port; its base URL."""
    if not Path(CHROMIUM).exists() or not AXE.exists():
        pytest.fail("Chromium or axe-core is missing: run `make services` (scripts/services.sh)")
    data = tmp_path / "data"
    audit = make_audit(tmp_path / "audit-2013")
    _seed(ServiceSettings(data_dir=data, database_url=db_url))
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(data), db_url, str(port), str(audit)], env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("the server did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


class Walk:
    """One person's visit: every request checked to stay on the server, every page axe'd."""

    def __init__(self, browser: Any, base: str, shots: Path, who: str) -> None:
        # bypass_csp: only so the test can inject axe; the pages themselves never need it.
        self.context = browser.new_context(base_url=base, bypass_csp=True)
        self.page = self.context.new_page()
        self.base, self.shots, self.who = base, shots, who
        self.offsite: list[str] = []
        self.page.on(
            "request",
            lambda r: None if r.url.startswith((base, "data:")) else self.offsite.append(r.url),
        )
        self.n = 0

    def check(self, name: str) -> None:
        """Screenshot the page and assert axe finds no serious or critical violation."""
        self.n += 1
        self.page.screenshot(path=str(self.shots / f"{self.who}-{self.n:02d}-{name}.png"))
        self.page.add_script_tag(path=str(AXE))
        result = self.page.evaluate(
            "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
        )
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert bad == [], f"{self.who} {name} {self.page.url}"
        assert self.offsite == [], "the portal made a request off the server"

    def sign_in(self, username: str) -> None:
        self.page.goto("/sign-in")
        self.check("sign-in")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()

    def code(self) -> None:
        """Read the key off the enrolment page, as a person's app would, and type a code."""
        key = self.page.locator("#totp-secret").inner_text()
        secret = base64.b32decode(key + "=" * (-len(key) % 8))
        self.check("code")
        code = TOTP(secret, 6, SHA1(), 30).generate(time.time()).decode()
        self.page.get_by_label("6-digit code").fill(code)
        self.page.get_by_role("button", name="Continue").click()


def _shots(tmp_path: Path) -> Path:
    target = Path(os.environ.get("PRIVGUARD_SCREENSHOTS") or tmp_path / "shots")
    target.mkdir(parents=True, exist_ok=True)
    return target


def test_each_role_walks_its_main_path(server: str, browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    shots = _shots(tmp_path)
    # The attorney registers a number.
    ada = Walk(browser, server, shots, "attorney")
    ada.sign_in("ada")
    expect(ada.page.get_by_role("heading", level=1)).to_have_text("My protected numbers")
    ada.page.get_by_role("link", name="Register numbers").first.click()
    ada.check("register-form")
    ada.page.get_by_label("Phone numbers, one per line").fill("not a number")
    ada.page.get_by_role("button", name="Register").click()
    expect(ada.page.get_by_role("alert")).to_contain_text("There is a problem")
    ada.check("register-error")
    ada.page.get_by_label("Phone numbers, one per line").fill("(512) 555-0134\n512 555 0135")
    ada.page.get_by_label("How can a registrar check these numbers are yours?").fill(
        "Both lines are on our letterhead; call the front desk."
    )
    ada.page.get_by_role("button", name="Register").click()
    expect(ada.page.get_by_role("status")).to_contain_text("was received")
    expect(ada.page.locator("table").last).to_contain_text("Submitted")
    ada.check("numbers-submitted")

    # The registrar signs in with a code and approves it.
    rita = Walk(browser, server, shots, "registrar")
    rita.sign_in("rita")
    rita.code()
    expect(rita.page.get_by_role("heading", level=1)).to_have_text("Verification queue")
    expect(rita.page.get_by_role("main")).to_contain_text("Both lines are on our letterhead")
    rita.check("queue")
    rita.page.get_by_label("How you verified request 1").fill("Called the front desk")
    rita.page.get_by_role("button", name="Approve request 1").click()
    expect(rita.page.get_by_role("status")).to_contain_text("Request 1 approved")
    rita.page.get_by_role("link", name="Reconcile", exact=True).click()
    rita.page.get_by_label("Facility code").fill("TX25")
    listed = tmp_path / "tx25.csv"
    listed.write_text(
        "number,attorney_name,date_added,date_removed,facility\n"
        "512-555-0134,Ada Lovelace,2020-01-01,,TX25\n"
    )
    rita.page.get_by_label("The facility's list (CSV or XLSX)").set_input_files(str(listed))
    rita.page.get_by_role("button", name="Compare").click()
    expect(rita.page.get_by_role("main")).to_contain_text("1 missing")
    rita.check("reconcile")
    rita.page.get_by_role("link", name="+15125550135").click()
    expect(rita.page.get_by_role("heading", level=1)).to_have_text("History of +15125550135")
    rita.check("number-history")

    # The attorney sees the registration and checks a receipt.
    ada.page.goto("/attorney")
    expect(ada.page.locator("table").last).to_contain_text("Verified")
    expect(ada.page.locator("table").first).to_contain_text("+15125550134")
    ada.check("numbers-verified")
    ada.page.get_by_role("link", name="History and receipts").first.click()
    with ada.page.expect_download() as got:
        ada.page.get_by_role("link", name="Receipt").last.click()
    receipt = tmp_path / "receipt.txt"
    got.value.save_as(receipt)
    ada.check("history")
    ada.page.get_by_role("link", name="Check a receipt").first.click()
    ada.page.get_by_label("Receipt file").set_input_files(str(receipt))
    ada.page.get_by_role("button", name="Check the receipt").click()
    expect(ada.page.get_by_role("status")).to_contain_text("The receipt is valid")
    ada.check("receipt-checked")
    ada.page.get_by_role("link", name="Notices").click()
    ada.check("notices")

    # The auditor browses findings down to a call's source rows, health and the access log.
    aud = Walk(browser, server, shots, "auditor")
    aud.sign_in("aud")
    aud.code()
    expect(aud.page.get_by_role("main")).to_contain_text("120 privileged calls found")
    aud.check("audits")
    aud.page.get_by_role("link", name="audit-2013").click()
    aud.page.get_by_label("Attorney").select_option("Ada Lovelace")
    aud.page.get_by_role("button", name="Filter").click()
    expect(aud.page.get_by_role("main")).to_contain_text("30 call(s) match")
    aud.check("findings")
    aud.page.get_by_role("link", name="Call 1000").click()
    expect(aud.page.get_by_role("main")).to_contain_text("TX25/billing/cdr.parquet:cdr:0")
    aud.check("provenance")
    aud.page.get_by_role("link", name="Registry health").click()
    expect(aud.page.get_by_role("main")).to_contain_text("Numbers protected now")
    expect(aud.page.get_by_role("main")).to_contain_text("TX25 against tx25.csv: 1 missing")
    aud.check("health")
    aud.page.get_by_role("link", name="Access log").click()
    expect(aud.page.get_by_role("main")).to_contain_text("registry.reconcile")
    aud.check("access-log")
    aud.page.get_by_role("button", name="Sign out").click()
    expect(aud.page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_the_axe_check_can_fail(browser: Any) -> None:
    """The harness sees a violation when there is one (an unlabelled field, no language)."""
    page = browser.new_page()
    page.set_content("<html><body><main><input id='x'></main></body></html>")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    ids = {v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")}
    assert "label" in ids and "html-has-lang" in ids
