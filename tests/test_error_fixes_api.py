"""Every fix an error message suggests works, part 6 (issue 13): the audit's stages called
one by one from Python (``privguard.ingest``, ``normalize``, ``dedupe``, ``identify``,
``findings``), as a data journalist's notebook does.

The method of tests/test_error_fixes.py, whose helpers this module shares: call a stage on
the smallest wrong input, check the message names the file or folder and says the fix,
apply that fix literally (a ``privguard`` command the fix names runs through the CLI), call
the same stage again and require that it succeeds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import privguard
from privguard.errors import PrivguardError
from test_error_fixes import _audit, _dump, _run, _write

Call = Callable[[], Any]


@dataclass
class ApiCase:
    """``provoke`` breaks the inputs and returns the stage call; ``fix`` applies the fix the
    error gives and returns the call to make again. ``where`` (a path under the test's
    folder) must be named; ``says`` is the fix's text."""

    name: str
    provoke: Callable[[Path], Call]
    where: str
    says: str
    fix: Callable[[Path, PrivguardError], Call]


def _ingest_cli(root: Path) -> None:
    done = _run(["ingest", str(root / "dump"), "--out", str(root / "work")])
    assert done.exit_code == 0, done.output


def _normalize_nothing(root: Path) -> Call:
    (root / "work").mkdir()
    return lambda: privguard.normalize(root / "work")


def _ingested_first(root: Path, err: PrivguardError) -> Call:
    _ingest_cli(root)  # "run 'privguard ingest' (or 'privguard audit') on the dump first"
    return lambda: privguard.normalize(root / "work")


def _normalize_no_table(root: Path) -> Call:
    (root / "notes").mkdir()
    _write(root / "notes" / "notes.txt", "what the clerk said on the phone\n")
    done = _run(["ingest", str(root / "notes"), "--out", str(root / "work")])
    assert done.exit_code == 0, done.output  # read as a table of no rows
    return lambda: privguard.normalize(root / "work")


def _the_tables_folder(root: Path, err: PrivguardError) -> Call:
    _ingest_cli(root)  # "give the folder that holds the leaked or produced tables"
    return lambda: privguard.normalize(root / "work")


def _normalize_report_damaged(root: Path) -> Call:
    _ingest_cli(root)
    _write(root / "work" / "ingest_report.json", '{"tables": [')
    return lambda: privguard.normalize(root / "work")


def _ingest_again(root: Path, err: PrivguardError) -> Call:
    _ingest_cli(root)  # "run 'privguard ingest' again; the file is damaged"
    return lambda: privguard.normalize(root / "work")


def _dedupe_first(root: Path) -> Call:
    _ingest_cli(root)
    return lambda: privguard.dedupe(root / "work", root / "out")


def _normalized_first(root: Path, err: PrivguardError) -> Call:
    privguard.normalize(root / "work")  # "run 'privguard audit' (or normalize) before dedupe"
    return lambda: privguard.dedupe(root / "work", root / "out")


def _identify_first(root: Path) -> Call:
    (root / "out").mkdir()
    return lambda: privguard.identify(root / "out", directories=[root / "bar.csv"])


def _stage_before(root: Path, err: PrivguardError) -> Call:
    # "run 'privguard audit', whose dedupe stage writes it before this step"
    done = _run(_audit(root))
    assert done.exit_code == 0, done.output
    return lambda: privguard.identify(root / "out", directories=[root / "bar.csv"])


def _findings_first(root: Path) -> Call:
    (root / "out").mkdir()
    return lambda: privguard.findings(root / "out")


def _audit_before(root: Path, err: PrivguardError) -> Call:
    done = _run(_audit(root))  # "run 'privguard audit', whose ... stage writes it"
    assert done.exit_code == 0, done.output
    return lambda: privguard.findings(root / "out")


def _findings_report_damaged(name: str, text: str) -> Callable[[Path], Call]:
    def provoke(root: Path) -> Call:
        done = _run(_audit(root))
        assert done.exit_code == 0, done.output
        _write(root / "out" / "restricted" / "work" / name, text)  # valid JSON, wrong shape
        return lambda: privguard.findings(root / "out")

    return provoke


def _report_call(root: Path) -> Call:
    return lambda: privguard.report(root / "out", inputs=[root / "dump"], parameters={})


def _report_without(name: str, text: str) -> Callable[[Path], Call]:
    def provoke(root: Path) -> Call:
        done = _run(_audit(root))
        assert done.exit_code == 0, done.output
        _write(next((root / "out").rglob(name)), text)
        return _report_call(root)

    return provoke


def _report_input_missing(root: Path) -> Call:
    done = _run(_audit(root))
    assert done.exit_code == 0, done.output
    return lambda: privguard.report(root / "out", inputs=[root / "dumps"], parameters={})


def _input_path_checked(root: Path, err: PrivguardError) -> Call:
    return _report_call(root)  # "check the path given": the dump is root/dump


def _audit_again(root: Path, err: PrivguardError) -> Call:
    done = _run(_audit(root))  # "re-run the audit stage that writes it"
    assert done.exit_code == 0, done.output
    return _report_call(root)


# fmt: off
CASES = [
    ApiCase("normalize: nothing ingested", _normalize_nothing, "work",
            r"run 'privguard ingest' \(or 'privguard audit'\) on the dump first",
            _ingested_first),
    ApiCase("normalize: no table read", _normalize_no_table, "work/ingest_report.json",
            r"give the folder that holds the leaked or produced tables", _the_tables_folder),
    ApiCase("normalize: ingest report damaged", _normalize_report_damaged,
            "work/ingest_report.json", r"run 'privguard ingest' again", _ingest_again),
    ApiCase("dedupe: before normalize", _dedupe_first, "work/normalized.parquet",
            r"\(or normalize\) before dedupe", _normalized_first),
    ApiCase("identify: before dedupe", _identify_first, "out/restricted/calls.parquet",
            r"run 'privguard audit', whose dedupe stage", _stage_before),
    ApiCase("findings: before identify", _findings_first, "out/restricted/",
            r"run 'privguard audit', whose \w+ stage", _audit_before),
    ApiCase("findings: ingest report damaged",
            _findings_report_damaged("ingest_report.json", '{"tables": 5}'),
            "out/restricted/work/ingest_report.json",
            r"run 'privguard audit' again; the report is written by the ingest", _audit_before),
    ApiCase("findings: normalize report damaged",
            _findings_report_damaged("normalize_report.json", '{"totals": 5}'),
            "out/restricted/work/normalize_report.json",
            r"run 'privguard audit' again; the report is written by the normalize",
            _audit_before),
    ApiCase("report: an input missing", _report_input_missing, "dumps",
            r"check the path given", _input_path_checked),
    ApiCase("report: dedupe report damaged", _report_without("dedupe_report.json", "{"),
            "out/restricted/dedupe_report.json", r"re-run the audit stage that writes it",
            _audit_again),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_stages_suggested_fix_works(case: ApiCase, tmp_path: Path) -> None:
    _dump(tmp_path)
    with pytest.raises(PrivguardError) as caught:
        case.provoke(tmp_path)()
    text = caught.value.render()
    assert str(tmp_path / case.where) in text, f"no file or folder named: {text}"
    assert re.search(case.says, caught.value.fix or ""), text
    assert "Traceback" not in text
    case.fix(tmp_path, caught.value)()  # succeeds: no error
