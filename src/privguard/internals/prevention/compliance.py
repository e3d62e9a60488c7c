"""The periodic compliance report (Romero v. Securus asked for one twice a year).

Every figure is recounted from the ledger's entries, never from the working tables: the
registry log (registrations and their ends, requests), the decisions log (outcome and
reason), and the access log (sign-ins, refusals and every vault action: stores,
quarantines, purges with their certificates). The report names each log's size and root at
the time, so anyone with the database can recount and compare.

``write_report`` writes ``compliance.json`` (the figures), ``compliance.html`` and
``compliance.pdf``, and ``compliance.sig``: a detached C2SP signed note (Ed25519, the
ledger's :class:`Signer`, key name :data:`ORIGIN`) listing the SHA-256 of each file.
``verify_report`` checks that signature and those hashes offline with the public key alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from privguard.errors import InputError, IntegrityError
from privguard.internals.prevention.ledger import (
    Ledger,
    LedgerError,
    Signer,
    sign_note,
    verify_note,
)
from privguard.internals.prevention.registry.receipts import load_verifiers

log = logging.getLogger(__name__)
ORIGIN = "privguard/compliance"
HEADER = "privguard compliance report v1"
FILES = ("compliance.json", "compliance.html", "compliance.pdf")
LOGS = ("registry", "decisions", "access")
ANOMALOUS = ("refused", "flagged", "alarm", "failed", "locked")


@dataclass(frozen=True)
class Written:
    """The files written and the figures they hold."""

    folder: Path
    figures: dict[str, Any]
    files: tuple[Path, ...]


def _role(entry: Any) -> str:
    role = entry.payload.get("role") if isinstance(entry.payload, dict) else None
    return str(role or (entry.actor.split(":", 1)[0] if ":" in entry.actor else "unknown"))


def figures(session: Session, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Every figure of the report for ``[start, end]`` (UTC days), from the ledger alone."""
    if end < start:
        raise InputError("--to is before --from", fix="give the period's first day, then its last")
    lo = dt.datetime.combine(start, dt.time(), dt.UTC)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC)
    out: dict[str, Any] = {"from": start.isoformat(), "to": end.isoformat(), "logs": {}}
    registry: Counter[str] = Counter()
    active_at_start = active_at_end = 0
    decisions: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    vault: Counter[str] = Counter()
    certificates: list[str] = []
    roles: Counter[str] = Counter()
    anomalies: Counter[str] = Counter()
    for name in LOGS:
        ledger = Ledger(log=name, origin=f"privguard/{name}")
        size = 0
        for entry in ledger.entries(session):
            if entry.at >= hi:
                break
            size += 1
            inside = entry.at >= lo
            if name == "registry":
                delta = {"number.registered": 1, "number.ended": -1}.get(entry.action, 0)
                active_at_end += delta
                active_at_start += delta if not inside else 0
                if inside:
                    registry[entry.action] += 1
            elif name == "decisions" and inside:
                outcome = "record" if entry.action == "decision.record" else "no_record"
                decisions[outcome] += 1
                reasons[f"{outcome}: {entry.reason}"] += 1
            elif name == "access" and inside:
                roles[f"{_role(entry)} {entry.reason}"] += 1
                if entry.reason in ANOMALOUS:
                    anomalies[f"{entry.action} {entry.reason}"] += 1
                if entry.action.startswith("vault.") and entry.reason in ("ok", "flagged"):
                    action = entry.action.removeprefix("vault.")
                    vault[action] += int(entry.payload.get("items") or 1)
                    vault[f"{action} events"] += 1
                    if action == "purge":
                        certificates.append(str(entry.payload.get("object", "")))
        root = ledger.root(session, size).hex() if size else ""
        out["logs"][name] = {"size": size, "root": root}
    out["registry"] = {
        "active_at_start": active_at_start,
        "active_at_end": active_at_end,
        "changes": dict(sorted(registry.items())),
    }
    out["decisions"] = {
        "by_outcome": dict(sorted(decisions.items())),
        "by_reason": dict(sorted(reasons.items())),
    }
    out["vault"] = {
        "recordings_stored": vault["store"],
        "recordings_quarantined": vault["quarantine"],
        "recordings_purged": vault["purge"],
        "purges": vault["purge events"],
        "certificates": sorted(certificates),
    }
    out["accesses_by_role"] = dict(sorted(roles.items()))
    out["anomalies"] = dict(sorted(anomalies.items()))
    return out


def _rows(table: dict[str, Any]) -> str:
    if not table:
        return "<p>None in this period.</p>"
    body = "".join(
        f"<tr><th scope='row'>{html.escape(str(k))}</th><td class='num'>{html.escape(str(v))}</td></tr>"
        for k, v in table.items()
    )
    return f"<table><tbody>{body}</tbody></table>"


def render_html(f: dict[str, Any]) -> str:
    """The report as one self-contained, accessible HTML page."""
    v = f["vault"]
    sections = [
        (
            "Registry",
            {
                "Numbers protected at the start": f["registry"]["active_at_start"],
                "Numbers protected at the end": f["registry"]["active_at_end"],
                **f["registry"]["changes"],
            },
        ),
        ("Decisions by outcome", f["decisions"]["by_outcome"]),
        ("Decisions by reason", f["decisions"]["by_reason"]),
        (
            "Recordings",
            {
                "Stored": v["recordings_stored"],
                "Quarantined": v["recordings_quarantined"],
                "Purged": v["recordings_purged"],
                "Purges": v["purges"],
            },
        ),
        ("Purge certificates", {c: "issued" for c in v["certificates"]}),
        ("Accesses by role and outcome", f["accesses_by_role"]),
        ("Anomalies (refused, failed, flagged, alarms)", f["anomalies"]),
        (
            "Logs the figures were counted from (size, root)",
            {k: f"{x['size']} entries, root {x['root'] or 'empty'}" for k, x in f["logs"].items()},
        ),
    ]
    parts = "".join(f"<h2>{html.escape(t)}</h2>{_rows(tab)}" for t, tab in sections)
    style = (
        "body{font-family:system-ui,sans-serif;max-width:50rem;margin:auto;padding:1rem;"
        "color:#1a1a1a}table{border-collapse:collapse;width:100%}th,td{border-bottom:"
        "1px solid #c8c8c8;padding:.3rem;text-align:left}td.num{text-align:right}"
    )
    title = f"privguard compliance report, {f['from']} to {f['to']}"
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{style}</style></head><body><main><h1>{title}</h1><p>Every figure is "
        f"recounted from the tamper-evident ledger. The signature file compliance.sig "
        f"covers this page, the PDF and compliance.json.</p>{parts}</main></body></html>\n"
    )


def render_pdf(f: dict[str, Any], path: Path) -> None:
    """The same figures as a plain PDF (fpdf2, core font: Latin-1 text only)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(
        0,
        10,
        f"privguard compliance report, {f['from']} to {f['to']}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", size=9)
    text = json.dumps({k: f[k] for k in f if k not in ("from", "to")}, indent=2, sort_keys=True)
    pdf.multi_cell(0, 4.5, text.encode("latin-1", "replace").decode("latin-1"))
    pdf.output(str(path))


def write_report(
    session: Session, start: dt.date, end: dt.date, out: Path, signer: Signer
) -> Written:
    """Count, render, write and sign; refuses to overwrite an existing report."""
    out = Path(out)
    if any((out / n).exists() for n in (*FILES, "compliance.sig")):
        raise InputError(
            "a compliance report is already in this folder; privguard does not overwrite it",
            where=str(out),
            fix="choose another --out folder",
        )
    out.mkdir(parents=True, exist_ok=True)
    f = figures(session, start, end)
    (out / FILES[0]).write_text(json.dumps(f, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (out / FILES[1]).write_text(render_html(f), encoding="utf-8")
    render_pdf(f, out / FILES[2])
    lines = [HEADER] + [f"{hashlib.sha256((out / n).read_bytes()).hexdigest()} {n}" for n in FILES]
    (out / "compliance.sig").write_text(
        sign_note("\n".join(lines) + "\n", signer), encoding="utf-8"
    )
    log.info("compliance report %s..%s written to %s", start, end, out)
    return Written(out, f, tuple(out / n for n in (*FILES, "compliance.sig")))


def verify_report(sig: Path, key: str) -> list[str]:
    """Check ``compliance.sig`` with the public key (vkey text or file) and every file it
    names beside it; returns the files checked. Raises IntegrityError naming what fails."""
    sig = Path(sig)
    if sig.is_dir():
        sig = sig / "compliance.sig"
    keys = load_verifiers(Path(key).read_text(encoding="utf-8") if Path(key).is_file() else key)
    try:
        note = verify_note(sig.read_text(encoding="utf-8"), keys)
    except (OSError, LedgerError) as exc:
        raise IntegrityError(
            f"the signature does not verify: {exc}",
            where=str(sig),
            fix="check --key: it must be the issuer's compliance key (the compliance.vkey "
            "the issuer wrote with this report); if it is, the report was altered: get it "
            "again from its issuer",
        ) from None
    lines = note.text.splitlines()
    if not lines or lines[0] != HEADER:
        raise IntegrityError("this signed note is not a compliance report", where=str(sig))
    checked, problems = [], []
    for line in lines[1:]:
        digest, name = line.split(" ", 1)
        path = sig.parent / Path(name).name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{name}: changed since it was signed")
        else:
            checked.append(name)
    if problems:
        raise IntegrityError(
            "the report's files do not match its signature",
            where=str(sig),
            problems=problems,
            fix="get the report again from its issuer",
        )
    return checked


def compliance_report(settings: Any, start: dt.date, end: dt.date, out: Path) -> Written:
    """Open the service's database (migrating it) and write the signed report to ``out``;
    the compliance key lives beside the other keys (never in the database), its public
    half is also written as ``compliance.vkey`` for readers."""
    from privguard.internals.prevention import db

    engine = db.make_engine(settings.url)
    try:
        db.upgrade(engine)
        signer = Signer.load_or_create(settings.key_file, name=ORIGIN)
        with db.sessions(engine)() as session:
            written = write_report(session, start, end, Path(out), signer)
        (Path(out) / "compliance.vkey").write_text(signer.verifier().vkey + "\n", encoding="utf-8")
        return written
    finally:
        engine.dispose()
