"""Run every stage of an audit in order: ingest, normalize, dedupe, identify, findings, report."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from privguard.internals.audit.engines import EngineOptions, connect
from privguard.internals.audit.metrics import Timings
from privguard.internals.audit.outdir import prepare_out
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.preflight import check_inputs
from privguard.internals.audit.settings import CaseSettings
from privguard.internals.common.custody import sha256_file
from privguard.internals.common.keys import load_key, signing_key_path
from privguard.internals.common.progress import NullProgress, Progress

if TYPE_CHECKING:
    from privguard.internals.audit.engines.spark_options import SparkOptions

log = logging.getLogger(__name__)

# With engine="spark", these stages run on Spark. Ingest maps every table on DuckDB; Spark
# reads the delimited text itself (ingest/native.py), DuckDB converts the rest to the
# Parquet the Spark stages read; report renders the outputs with DuckDB.
SPARK_STAGES = ("normalize", "dedupe", "identify", "findings")

# DuckDB's own default is 80% of RAM; a laptop audit must leave room for everything else
# (peak RSS goal: 8 GB). The engine spills to OUT/restricted/work/tmp beyond this.
DEFAULT_MEMORY_LIMIT = "5GB"


@dataclass
class AuditResult:
    """What an audit produced: the summary, the main paths, and per-stage timings."""

    out: Path
    summary: dict[str, Any]
    report_html: Path
    public_key: str = ""
    foreign: list[str] = field(default_factory=list)
    timings: list[dict[str, Any]] = field(default_factory=list)
    report_pdf: Path | None = None
    letters: list[Path] = field(default_factory=list)
    exports: Path | None = None
    manifest: Path | None = None
    manifest_sha256: str = ""
    key_file: Path | None = None  # the case key (pseudonyms); None when privacy is off
    signing_key_file: Path | None = None


def audit(
    dump: Path,
    out: Path,
    *,
    directories: Sequence[Path] = (),
    registries: Sequence[Path] = (),
    labels: Path | None = None,
    config: Path | None = None,
    settings: CaseSettings | None = None,
    progress: Progress | None = None,
    overwrite: bool = False,
    engine: str = "duckdb",
    spark: SparkOptions | None = None,
) -> AuditResult:
    """Audit a dump of call records end to end and write the evidence to ``out``.

    ``dump`` is a folder holding the tables in any supported format (archives
    included). ``directories`` are bar-member or public-defender lists and
    ``registries`` do-not-record registries; both are optional and repeatable.
    ``labels`` is a review sheet filled in by a person (see ``privguard review``).
    ``config`` is a case file (TOML) validated before any work starts.

    ``out`` must be empty, absent, or hold an earlier privguard audit (whose files alone
    are replaced); any other folder is refused unless ``overwrite`` (even then, only
    files privguard writes are replaced: a person's files are never deleted, and are
    named, not sealed, in the manifest). A labels file inside ``out`` (the review loop:
    ``--labels OUT/restricted/review.csv --out OUT``) is read before anything is cleared
    and kept as ``restricted/work/labels/<name>``.

    Writes, under ``out`` (layout in :mod:`privguard.internals.audit.paths`):
    ``shareable/`` (report, letters, exports, summary.json: pseudonymized),
    ``restricted/`` (calls.parquet, numbers.parquet, privileged_calls.csv, findings/,
    review.csv and the intermediate files in ``restricted/work``), ``README.txt``
    saying which is which, then ``manifest.json`` with the SHA-256 of every input
    and output. Per-stage wall time, CPU time and peak RSS go to
    ``out/timings.json``, which the manifest leaves out because timings differ
    between identical runs.

    ``engine="spark"`` runs the stages of :data:`SPARK_STAGES` on Apache Spark
    (``spark``: the master URL and ``spark.*`` settings; a session spark-submit made is
    used as it is); their outputs equal DuckDB's row for row (tests/test_spark.py).
    """
    from privguard.internals.audit.dedupe.api import dedupe
    from privguard.internals.audit.findings.api import findings
    from privguard.internals.audit.identify.api import identify
    from privguard.internals.audit.ingest.api import ingest
    from privguard.internals.audit.ingest.native_driver import engine_reader
    from privguard.internals.audit.normalize.api import normalize
    from privguard.internals.audit.report.api import report

    # Resolved: the manifest and the reports must not depend on how a path was spelled.
    dump, out = Path(dump).resolve(), Path(out)
    directories = [Path(p) for p in directories]
    registries = [Path(p) for p in registries]
    # Every input is checked, and every problem reported, before anything is written.
    settings = check_inputs(
        dump, out, directories=directories, registries=registries, labels=labels,
        config=config, settings=settings, overwrite=overwrite, engine=engine,
    )  # fmt: skip
    progress = progress or NullProgress()
    paths = AuditPaths(out)
    work = paths.work
    prepared = prepare_out(out, labels=labels, overwrite=overwrite)
    labels = prepared.labels
    limits = settings.engine
    options = EngineOptions(
        memory_limit=limits.memory_limit or DEFAULT_MEMORY_LIMIT,
        threads=limits.threads,
        temp_directory=limits.temp_directory or paths.scratch,
    )
    executor = connect(options)
    # The Spark stages' executor; with DuckDB, the same one runs every stage.
    heavy = executor
    native = None  # the Spark engine's reader of delimited text (ingest/native.py)
    if engine == "spark":
        spark = settings.spark.merged(spark)  # the case file's [spark], the caller's on top
        try:
            heavy = connect(options, engine="spark", spark=spark)
        except BaseException:
            executor.close()
            raise
        native = engine_reader(heavy) if spark.native_reads else None
    timings = Timings()
    try:
        with timings.stage("ingest") as info:
            ingested = ingest(
                dump,
                work,
                mapping=settings.mapping,
                executor=executor,
                progress=progress,
                limits=settings.ingest,
                native=native,
            )
            info["rows"] = ingested.totals.get("rows_read")
        with timings.stage("normalize"):
            normalize(work, settings=settings.normalize, executor=heavy, progress=progress)
        with timings.stage("dedupe"):
            dedupe(work, out, settings=settings.dedupe, executor=heavy, progress=progress)
        with timings.stage("identify"):
            # The review sheet gives the pseudonym the report will show (same key).
            privacy = settings.privacy
            review_key = load_key(out, privacy.key_file) if privacy.pseudonymize else None
            identify(
                out,
                directories=directories,
                registries=registries,
                labels=labels,
                settings=settings.identify,
                executor=heavy,
                progress=progress,
                review_key=review_key,
            )
        with timings.stage("findings"):
            findings(out, settings=settings.findings, executor=heavy)
        with timings.stage("report"):
            result = report(
                out,
                inputs=[dump, *directories, *registries, *([labels] if labels else [])],
                parameters=_parameters(dump, directories, registries, labels, config),
                labels=labels,
                settings=settings.privacy,
                case=settings.case,
                executor=executor,
                progress=progress,
                foreign=prepared.foreign,
            )
    finally:
        if heavy is not executor:
            heavy.close()
        executor.close()
        shutil.rmtree(paths.scratch, ignore_errors=True)
    paths.timings.write_text(json.dumps(timings.to_list(), indent=2) + "\n")
    summary = json.loads(paths.summary.read_text())
    return AuditResult(
        out=out,
        summary=summary,
        report_html=paths.report_html,
        public_key=result.public_key,
        foreign=sorted(prepared.foreign),
        timings=timings.to_list(),
        report_pdf=result.pdf,
        letters=list(result.letters),
        exports=paths.exports,
        manifest=result.manifest,
        manifest_sha256=sha256_file(result.manifest),
        key_file=result.key_file,
        signing_key_file=signing_key_path(out),
    )


def _parameters(
    dump: Path,
    directories: list[Path],
    registries: list[Path],
    labels: Path | None,
    config: Path | None,
) -> dict[str, Any]:
    """The audit's parameters as recorded in the manifest: names, not absolute paths."""
    return {
        "dump": dump.resolve().name,
        "directories": [p.resolve().name for p in directories],
        "registries": [p.resolve().name for p in registries],
        "labels": labels.resolve().name if labels else None,
        "config": Path(config).resolve().name if config else None,
    }
