"""Reading a TOML file a person wrote, with errors that name the file and the fix."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from privguard.errors import SettingsError


def read_toml(path: Path, what: str, *, docs: str | None = None) -> dict[str, Any]:
    """Parse ``path``; ``what`` names it in errors ("case file"), ``docs`` points to help."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(
            f"the {what} does not exist", where=str(path), fix="check the path"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        fix = "fix the syntax at the line and column given" + (f"; see {docs}" if docs else "")
        raise SettingsError(
            f"the {what} is not valid TOML: {exc}", where=str(path), fix=fix
        ) from None
