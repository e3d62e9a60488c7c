"""The report stage: human-readable report, letters, exports, then the manifest."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from privguard.internals.audit.engines import session
from privguard.internals.audit.engines.base import Executor
from privguard.internals.audit.paths import AuditPaths, readme_text
from privguard.internals.common.keys import load_signing_key, public_key_hex
from privguard.internals.common.progress import NullProgress, Progress

from . import privacy, seal, sql
from .case import Case
from .custody import previous_outputs, write_manifest
from .exports import write_exports
from .html import render_html
from .model import build_model, prepare
from .parallel import start_letters
from .pdf import render_pdf
from .settings import Settings

log = logging.getLogger(__name__)


@dataclass
class ReportResult:
    """Where the report stage wrote its files, and the figures it showed."""

    html: Path
    pdf: Path
    letters: list[Path]
    exports: list[Path]
    manifest: Path
    pseudonymized: bool
    key_file: Path | None
    public_key: str = ""
    figures: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _privacy_settings(settings: Any) -> Settings:
    """Accept the privacy Settings, a CaseSettings holding them, or None (defaults)."""
    if isinstance(settings, Settings):
        return settings
    inner = getattr(settings, "privacy", None)
    return inner if isinstance(inner, Settings) else Settings()


def report(
    out: Path,
    *,
    inputs: list[Path],
    parameters: dict[str, Any],
    labels: Path | None = None,
    settings: Any = None,
    executor: Executor | None = None,
    progress: Progress | None = None,
    foreign: set[str] | None = None,
    case: Case | None = None,
) -> ReportResult:
    """Write the shareable outputs of an audit and seal the folder with a manifest.

    Reads the audit outputs in ``out/restricted`` (calls.parquet, numbers.parquet,
    registry.parquet, dedupe_report.json, work/normalize_report.json,
    work/ingest_report.json) and ``out/shareable/summary.json``, and writes into
    ``out/shareable`` (every name from ``paths.AuditPaths``):

    * ``report.html`` - one self-contained page (inline CSS and SVG, no scripts, no
      network), and ``report.pdf`` with the same content;
    * ``letters/<attorney-or-office>.pdf`` - one notification letter per attorney or
      office whose numbers had recorded calls (rendered by worker processes, one per
      core up to 4, while this process writes the exports; scratch in the work folder).
      A letter states how many calls, over which dates, from how many facilities and
      people in custody, and lists the first 200 (``letters.LIST_CAP``), earliest first;
      ``letters/<same name>.csv`` beside it lists all of them (spreadsheet-safe);
    * ``exports/`` - the findings as CSV, XLSX, Parquet and a SQLite database
      (``findings.db`` with ``metadata.json`` for Datasette), spreadsheet-safe; a table
      longer than an XLSX sheet continues on further sheets (README.txt says which);
    * ``out/README.txt`` - which folder may be shared and which must not;
    * ``out/manifest.json`` - SHA-256 of every file in ``inputs`` (files or folders), of
      ``labels`` and of every output file, with ``parameters`` and software versions,
      and ``out/manifest.sig``, its Ed25519 signature by the case signing key
      (``out/../case-signing.key``, created on first use, never inside ``out``).

    ``foreign``: files of ``out`` a person put there (found by the pipeline before it
    wrote anything); they are left alone and named, not sealed, in the manifest.

    Privacy (``[privacy]`` in the case file; ``settings`` may be the case settings or the
    privacy settings): by default inmate names, accounts and non-attorney numbers are
    replaced by HMAC-SHA256 pseudonyms under the case key (``out/../case.key`` or
    ``key_file``, created on first use, never inside ``out``). Attorney numbers stay
    clear. Outputs are byte-identical when the same inputs are audited again.

    Raises :class:`privguard.errors.InputError` when required audit outputs are missing.

    Example::

        >>> privguard.report(Path("out"), inputs=[Path("dump")], parameters={})  # doctest: +SKIP
    """
    out = Path(out)
    paths = AuditPaths(out)
    cfg = _privacy_settings(settings)
    if case is None and isinstance(getattr(settings, "case", None), Case):
        case = settings.case
    progress = progress or NullProgress()
    with session(executor) as ex:
        try:
            progress.start("report", total=5)
            key_file = None
            if cfg.pseudonymize:
                key_file = privacy.key_path(out, cfg.key_file)
                privacy.install(ex, privacy.load_key(out, cfg.key_file))
            prepare(ex, out)
            signing_key = load_signing_key(out)
            # Read every stage's report first: one that cannot be read stops here, while the
            # folder is still the sealed audit a re-run recognizes as its own.
            model = build_model(
                ex, out, pseudonymize=cfg.pseudonymize, case=case,
                public_key=public_key_hex(signing_key),
            )  # fmt: skip
            # Outputs of an earlier run would otherwise linger (e.g. a letter to an attorney
            # no longer found) and be sealed into the new manifest.
            # Only files an earlier run sealed are removed: a person's notes stay.
            for rel in previous_outputs(out) or []:
                if rel.startswith((paths.rel("letters") + "/", paths.rel("exports") + "/")):
                    (out / rel).unlink(missing_ok=True)
            paths.manifest.unlink(missing_ok=True)
            progress.advance("report")
            ex.execute(
                f"CREATE OR REPLACE TEMP TABLE pg_export_calls AS "
                f"{sql.privileged_export_sql(cfg.pseudonymize)}"
            )
            # Letters render in worker processes while this one writes the report and the
            # exports: all are CPU-bound Python, so this is what puts a second core to work.
            # The workers start first: they had been waiting for the report's HTML and PDF,
            # and this process then waited for them (issue #20).
            scratch = paths.scratch / "report-letters"
            html_path, pdf_path = paths.report_html, paths.report_pdf
            try:
                job = start_letters(
                    ex, paths.letters, scratch, as_of=model.as_of, pseudonymized=cfg.pseudonymize,
                    case=case,
                )  # fmt: skip
                try:
                    html_path.write_text(render_html(model), encoding="utf-8")
                    render_pdf(model, pdf_path)
                    progress.advance("report")
                    exports = write_exports(
                        ex, paths.exports, pseudonymize=cfg.pseudonymize, as_of=model.as_of
                    )
                finally:
                    letters = job.wait()
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            progress.advance("report")
            progress.advance("report")
            paths.readme.write_text(readme_text(cfg.pseudonymize), encoding="utf-8")
            manifest = write_manifest(
                out,
                inputs=list(inputs),
                parameters=parameters,
                labels=labels,
                privacy={"pseudonymized": cfg.pseudonymize, "method": "HMAC-SHA256, 48-bit prefix"},
                foreign=foreign,
            )
            public_key = seal.sign(manifest, signing_key, paths.signature)
            progress.advance("report")
            progress.finish("report")
            log.info("report written: %s, %d letters", html_path, len(letters))
            return ReportResult(
                html=html_path,
                pdf=pdf_path,
                letters=letters,
                exports=exports,
                manifest=manifest,
                pseudonymized=cfg.pseudonymize,
                key_file=key_file,
                public_key=public_key,
                figures=dict(model.totals),
                warnings=list(model.warnings),
            )
        finally:
            privacy.uninstall(ex)  # the caller's connection keeps no key
