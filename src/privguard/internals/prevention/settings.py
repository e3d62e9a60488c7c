"""Settings of the prevention wing, validated up front with every problem reported at once.

They come from a ``[service]`` table of a TOML file, from keyword arguments, or both (the
arguments win). Defaults make ``privguard serve`` work with no set-up: everything lives in
one data directory, with an embedded SQLite database in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from privguard.errors import Problems
from privguard.internals.common.tomlfile import read_toml

DEFAULT_DATA_DIR = Path("privguard-data")
_KEYS = ("data_dir", "database_url", "signing_key_file", "host", "port", "decision_timeout_ms")


@dataclass(frozen=True)
class ServiceSettings:
    """Where the prevention wing keeps its state, and how it is reached."""

    data_dir: Path = DEFAULT_DATA_DIR
    # None: sqlite:///<data_dir>/privguard.db. PostgreSQL: postgresql+psycopg://user@host/db
    database_url: str | None = None
    # None: <data_dir>/keys/signing.key, created on first use. Never inside the database.
    signing_key_file: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8750
    # A decision not made durable within this many milliseconds is answered record=false
    # (TIMEOUT): the call-setup budget. Fail closed, never open.
    decision_timeout_ms: int = 50
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the database."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'privguard.db').resolve()}"

    @property
    def key_file(self) -> Path:
        """The file of the log's signing key (Ed25519), outside the database."""
        return self.signing_key_file or self.data_dir / "keys" / "signing.key"


def parse(section: Any, problems: Problems, where: str = "[service]") -> dict[str, Any]:
    """Check a ``[service]`` table; returns the keyword arguments of :class:`ServiceSettings`."""
    kwargs: dict[str, Any] = {}
    if section is None:
        return kwargs
    if not isinstance(section, dict):
        problems.add(f"{where} must be a table")
        return kwargs
    for key, value in section.items():
        if key not in _KEYS:
            problems.add(f"{where} {key}: unknown setting (known: {', '.join(_KEYS)})")
        elif key in ("data_dir", "signing_key_file"):
            if isinstance(value, str) and value:
                kwargs[key] = Path(value)
            else:
                problems.add(f"{where} {key}: must be a path")
        elif key == "database_url":
            if isinstance(value, str) and value.split(":", 1)[0].split("+")[0] in (
                "sqlite",
                "postgresql",
            ):
                kwargs[key] = value
            else:
                problems.add(f"{where} database_url: must be a sqlite:// or postgresql:// URL")
        elif key == "decision_timeout_ms":
            if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 60_000:
                kwargs[key] = value
            else:
                problems.add(f"{where} decision_timeout_ms: must be a whole number from 1 to 60000")
        elif key == "port":
            if isinstance(value, int) and 0 < value < 65536:
                kwargs[key] = value
            else:
                problems.add(f"{where} port: must be a whole number from 1 to 65535")
        elif isinstance(value, str) and value:
            kwargs[key] = value
        else:
            problems.add(f"{where} {key}: must be text")
    return kwargs


def load_service_settings(path: Path | None = None, **overrides: Any) -> ServiceSettings:
    """Settings from an optional TOML file's ``[service]`` table, then ``overrides``.

    Raises :class:`SettingsError` listing every problem at once.
    """
    problems = Problems()
    kwargs: dict[str, Any] = {}
    if path is not None:
        kwargs.update(
            parse(
                read_toml(Path(path), "service settings file").get("service"),
                problems,
                f"{path} [service]",
            )
        )
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    problems.raise_if_any("the service settings are not valid", fix="correct each setting listed")
    return ServiceSettings(**kwargs)
