"""What a Spark audit is told: ``[spark]`` settings, ``--spark-conf`` and spark-submit.

Kept apart from :mod:`.spark` (the executor), which needs pyspark and sqlglot, the
optional ``privguard[spark]`` dependencies: every audit validates its settings and
command line through this module, so a plain install must be able to import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from privguard.errors import Problems
from privguard.internals.audit.section import open_section

# Spark settings privguard needs for results equal to DuckDB's; a user's conf cannot change them.
FIXED_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
    "spark.sql.ansi.enabled": "true",
}
DEFAULT_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    # Few, larger tasks: a statement on a small table is then a handful of tasks, not 200
    # (Spark's default), and each Arrow batch crosses to the Python workers in one piece.
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.adaptive.coalescePartitions.parallelismFirst": "false",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "100000",
    "spark.python.worker.reuse": "true",
}


@dataclass(frozen=True)
class SparkOptions:
    """Where Spark runs and how: the master URL and ``spark.*`` settings passed through."""

    master: str | None = None  # None: spark-submit's --master, else local[2]
    conf: Mapping[str, str] = field(default_factory=dict)
    # Spark reads delimited text itself (ingest/native.py); off: DuckDB converts every table.
    native_reads: bool = True

    def merged(self, over: SparkOptions | None) -> SparkOptions:
        """These options with ``over``'s master and conf keys taking precedence."""
        if over is None:
            return self
        return SparkOptions(
            over.master or self.master,
            {**self.conf, **over.conf},
            self.native_reads and over.native_reads,
        )


def parse_spark(section: Any, problems: Problems, where: str = "[spark]") -> SparkOptions:
    """Validate a ``[spark]`` table (``master``, ``conf = { "spark.x" = "..." }``,
    ``native_reads``)."""
    section = open_section(section, where, ("master", "conf", "native_reads"), problems)
    if section is None:
        return SparkOptions()
    master = section.get("master")
    if master is not None and (not isinstance(master, str) or not master.strip()):
        problems.add(f'{where} master must be text such as "local[2]" or "spark://host:7077"')
        master = None
    conf = section.get("conf") or {}
    if not isinstance(conf, dict):
        problems.add(f'{where} conf must be a table such as {{ "spark.executor.memory" = "8g" }}')
        conf = {}
    native = section.get("native_reads", True)
    if not isinstance(native, bool):
        problems.add(f"{where} native_reads must be true or false")
        native = True
    return SparkOptions(master, check_conf(conf, problems, f"{where} conf"), native)


def check_conf(conf: Mapping[str, Any], problems: Problems, where: str) -> dict[str, str]:
    """``spark.*`` keys with text or number values; a key privguard fixes is refused."""
    out: dict[str, str] = {}
    for key, value in conf.items():
        if not str(key).startswith("spark."):
            problems.add(f"{where} key {key!r} is not a Spark setting (spark.*)")
        elif key in FIXED_CONF:
            problems.add(
                f"{where} key {key!r} is fixed to {FIXED_CONF[key]!r}: results "
                "equal to DuckDB's depend on it"
            )
        elif isinstance(value, bool) or not isinstance(value, (str, int, float)):
            problems.add(f"{where} {key!r} must be text or a number")
        else:
            out[str(key)] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def parse_conf_args(items: list[str]) -> dict[str, str]:
    """``--spark-conf key=value`` arguments, validated; raises SettingsError listing all."""
    problems = Problems()
    raw: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            problems.add(f"--spark-conf {item!r} is not key=value (spark.executor.memory=8g)")
            continue
        raw[key.strip()] = value.strip()
    conf = check_conf(raw, problems, "--spark-conf")
    problems.raise_if_any(
        "some --spark-conf values are wrong", fix="give each as spark.key=value, as spark-submit"
    )
    return conf


# The file spark-submit runs: privguard's command line, with the engine set to Spark.
ENTRY = Path(__file__).resolve().parents[3] / "cli" / "spark_entry.py"


def submit_command(
    args: list[str],
    *,
    master: str = "local[2]",
    conf: Mapping[str, str] | None = None,
    spark_submit: str = "spark-submit",
) -> list[str]:
    """The ``spark-submit`` command that runs ``privguard audit ARGS --engine spark``.

    ``args`` are the audit's arguments (dump, --out, --directory ...); ``conf`` the
    ``spark.*`` settings, passed as ``--conf`` to spark-submit, which applies them to
    the session before privguard starts."""
    cmd = [spark_submit, "--master", master, "--name", "privguard audit"]
    for key, value in (conf or {}).items():
        cmd += ["--conf", f"{key}={value}"]
    return [*cmd, str(ENTRY), "audit", *args, "--engine", "spark"]
