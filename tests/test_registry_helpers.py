"""Shared by the registry tests: a registry on a test database, and small generated lists."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from privguard.internals.prevention.db import sessions
from privguard.internals.prevention.ledger import Ledger, Signer
from privguard.internals.prevention.registry.api import LOG, ORIGIN, Registry
from privguard.internals.prevention.settings import ServiceSettings


def open_registry(db: Engine, data_dir: Path) -> Registry:
    """A registry on the migrated test database ``db``, its key under ``data_dir``."""
    settings = ServiceSettings(data_dir=data_dir)
    signer = Signer.load_or_create(settings.key_file, name=ORIGIN)
    return Registry(sessions(db), Ledger(log=LOG, signer=signer), signer, settings)


def number(i: int, area: int = 512) -> str:
    """The i-th distinct valid test number, E.164 (i < 800,000)."""
    return f"+1{area}{200 + i // 10_000:03d}{i % 10_000:04d}"


def write_feed(path: Path, numbers: list[str], names: list[str] | None = None) -> Path:
    """A bar list as a bar would send it: name, bar number, phone."""
    lines = ["Name,Bar Number,Phone"]
    for i, n in enumerate(numbers):
        name = names[i] if names else f"Attorney {i}"
        lines.append(f"{name},B{i:06d},{n}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
