"""The two wings never import each other; the common floor imports neither.

The rule is read from the source (every ``import`` and ``from ... import``, at any depth),
so a lazy import inside a function cannot slip past it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "privguard"
INTERNALS = "privguard.internals."
# package -> the internal packages it must never import
FORBIDDEN = {
    "audit": ("prevention", "synth", "truth"),
    "prevention": ("audit", "synth", "truth"),
    "common": ("audit", "prevention", "synth", "truth"),
    "synth": ("audit", "prevention", "truth"),
}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in sorted((SRC / "internals" / package).rglob("*.py")):
        for line, name in _imports(path):
            for other in forbidden:
                target = INTERNALS + other
                if name == target or name.startswith(target + "."):
                    bad.append(f"{path.relative_to(SRC)}:{line} imports {name}")
    return sorted(set(bad))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_wings_and_floor_keep_their_imports(package: str) -> None:
    assert (SRC / "internals" / package).is_dir()
    assert _violations(package, FORBIDDEN[package]) == []


def test_the_rule_can_fail(tmp_path: Path) -> None:
    probe = tmp_path / "m.py"
    probe.write_text(
        "def f():\n    from privguard.internals.prevention import db\n"
        "import privguard.internals.audit.sql\n"
        "from privguard.internals import audit\n",
        encoding="utf-8",
    )
    names = [n for _, n in _imports(probe)]
    assert "privguard.internals.prevention" in names
    assert "privguard.internals.audit.sql" in names
    assert "privguard.internals.audit" in names  # `from privguard.internals import audit`


def test_internals_has_only_the_wings_the_floor_and_synth() -> None:
    packages = {p.name for p in (SRC / "internals").iterdir() if (p / "__init__.py").exists()}
    assert packages == {"audit", "common", "prevention", "synth", "truth"}
