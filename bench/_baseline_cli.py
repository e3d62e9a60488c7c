"""The command line both baselines share: DUMP --directory F... --out OUT, result as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def baseline_main(
    run: Callable[[Path, list[Path], Path], dict[str, Any]], doc: str, argv: list[str] | None
) -> int:
    """Parse the arguments, run the baseline, write OUT/result.json and print it."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("dump", type=Path)
    parser.add_argument("--directory", type=Path, action="append", default=[])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    result = run(args.dump, args.directory, args.out)
    (args.out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0
