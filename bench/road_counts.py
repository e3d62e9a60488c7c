"""Issue 22's closing counts for one source tree: one CSV's route through ingest, and size.

Run on purpose, not part of the tests (``--src`` may point at an older tree, e.g. a
``git archive`` of main, to count the "before"):

    PYTHONPATH=$PWD/src .venv/bin/python bench/road_counts.py --src src --out build/road

Prints (and writes ``OUT/road_counts.json``):

* ``modules_crossed``: the privguard modules whose functions run between the call of
  ``ingest()`` on a folder holding one CSV (with a few bad rows) and its return, traced with
  ``sys.setprofile``; ``ingest_modules`` the part under ``internals/audit/ingest``;
* ``csv_opens``: how many times Python opens the CSV file (an ``open`` audit event on its
  path; each open of it is a whole-file read: the hash and the one scan);
* ``functions_over_60``: functions and methods of ``--src`` spanning more than 60 lines
  (``ast``: from ``def`` to the last line of the body).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import os
import sys
from pathlib import Path
from types import FrameType
from typing import Any

LIMIT = 60


def functions_over(src: Path, limit: int = LIMIT) -> list[str]:
    """``path:line name (n lines)`` of every function in ``src`` longer than ``limit``."""
    found = []
    for path in sorted(src.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > limit:
                    found.append(f"{path.relative_to(src)}:{node.lineno} {node.name} ({n} lines)")
    return found


def write_csv(path: Path, rows: int) -> None:
    """A call export with awkward text, a short row and an unterminated quote near the end."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("call_id,facility,inmate_account,dialed_number,start_time,duration_sec,status\n")
        for i in range(rows):
            fh.write(
                f'{i},FAC{i % 7},{i * 7919 % 100000:08d},"(312) 555-{i % 10000:04d}",'
                f"2012-01-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00,{i % 1800},completed\n"
            )
            if i in (rows // 3, rows // 2):
                fh.write(f"{i}x,FAC1,short row\n")
        fh.write('99999999,FAC1,"unterminated,(312) 555-0000,2012-02-01 00:00:00,60,done\n')


def _opener(frame: FrameType | None) -> str:
    """The privguard functions on the stack at an open, innermost first (three at most)."""
    names = []
    while frame is not None and len(names) < 3:
        mod = frame.f_globals.get("__name__", "")
        if mod.startswith("privguard"):
            names.append(f"{mod.rsplit('.', 1)[-1]}.{frame.f_code.co_name}")
        frame = frame.f_back
    return " < ".join(names)


def trace_route(dump: Path, out: Path) -> dict[str, Any]:
    """Run ingest on ``dump`` and return the modules it crossed and the opens of each CSV."""
    ingest = importlib.import_module("privguard.internals.audit.ingest.api").ingest
    csvs = {str(p.resolve()) for p in dump.rglob("*.csv")}
    opens: dict[str, int] = dict.fromkeys(csvs, 0)
    openers: list[str] = []

    def audit(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            name = os.fsdecode(args[0])
            key = str(Path(name).resolve()) if name in opens or "/" in name else name
            if key in opens:
                opens[key] += 1
                openers.append(_opener(sys._getframe(1)))

    modules: set[str] = set()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            mod = frame.f_globals.get("__name__", "")
            if mod.startswith("privguard"):
                modules.add(mod)

    sys.addaudithook(audit)
    threading = importlib.import_module("threading")
    threading.setprofile(profile)  # ingest reads and writes on worker threads
    sys.setprofile(profile)
    try:
        ingest(dump, out)
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    ingest_mods = sorted(m for m in modules if m.startswith("privguard.internals.audit.ingest"))
    return {
        "modules_crossed": len(modules),
        "ingest_modules": len(ingest_mods),
        "ingest_module_names": ingest_mods,
        "other_module_names": sorted(modules - set(ingest_mods)),
        "csv_opens": sum(opens.values()) / max(len(opens), 1),
        "csv_openers": openers,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=Path("src"))
    parser.add_argument("--out", type=Path, default=Path("build/road"))
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    sys.path.insert(0, str(args.src.resolve()))
    args.out.mkdir(parents=True, exist_ok=True)
    dump = args.out / "dump"
    dump.mkdir(exist_ok=True)
    write_csv(dump / "calls.csv", args.rows)
    result = trace_route(dump, args.out / "work")
    result["privguard_file"] = importlib.import_module("privguard").__file__
    result["functions_over_60"] = functions_over(args.src.resolve())
    (args.out / "road_counts.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if not k.endswith("names")}, indent=2))
    print("opens of the CSV:", *result["csv_openers"], sep="\n  ")
    print(
        "ingest modules:",
        ", ".join(m.rsplit("internals.audit.", 1)[-1] for m in result["ingest_module_names"]),
    )


if __name__ == "__main__":
    main()
