"""The one exception family privguard raises.

Library code raises subclasses of :class:`PrivguardError` and nothing else on
bad input. Errors are translated only at the edges: the CLI maps
``exit_code`` to a process exit status, the service maps ``http_status`` and
:meth:`PrivguardError.to_dict` to its single JSON error shape.

Every message is written for a person who is not a programmer: it names the
file, the place in it, what was found, and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x20), 0x7F) if c not in (0x09, 0x0A)}
_CONTROL.update({c: f"\\x{c:02x}" for c in range(0x80, 0xA0)})  # C1 controls (CSI, ...)


def printable(text: str) -> str:
    """``text`` as a person should see it: control characters other than tab and newline
    written as escapes (``\\x1b``), so a terminal neither acts on them nor hides them."""
    return text.translate(_CONTROL)


# Not an error: the audit ran to the end and wrote every output, but some input file(s)
# could not be read, so whatever calls they hold are in no figure (the report says which).
EXIT_INCOMPLETE = 6


class PrivguardError(Exception):
    """Base class of every error privguard raises on purpose.

    ``message`` says what went wrong, ``where`` names the file and place,
    ``fix`` says what to do about it. ``problems`` holds every problem found
    when several are reported at once (settings validation does this).
    """

    exit_code = 1
    http_status = 400
    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        fix: str | None = None,
        problems: list[str] | None = None,
    ) -> None:
        self.message = message
        self.where = where
        self.fix = fix
        self.problems = list(problems or [])
        super().__init__(self.render())

    def render(self) -> str:
        """The message as a person reads it: what, where, the problems, the fix.

        Control characters from the input (escape sequences, bells, carriage returns) are
        shown escaped, so a hostile file cannot rewrite the user's terminal.
        """
        parts = [f"{self.where}: {self.message}" if self.where else self.message]
        parts += [f"  - {p}" for p in self.problems]
        if self.fix:
            parts.append(f"Fix: {self.fix}")
        return "\n".join(printable(p) for p in parts)

    def to_dict(self) -> dict[str, Any]:
        """The service's JSON error shape."""
        return {
            "error": self.kind,
            "message": self.message,
            "where": self.where,
            "fix": self.fix,
            "problems": self.problems,
        }


class InputError(PrivguardError):
    """A file given to privguard cannot be read or understood."""

    exit_code = 2
    kind = "bad_input"


class MappingError(InputError):
    """A table's columns cannot be mapped onto the canonical call schema."""

    kind = "unmapped_table"


class SettingsError(PrivguardError):
    """A settings or mapping file (TOML) is invalid; ``problems`` lists every problem."""

    exit_code = 2
    kind = "bad_settings"


class IntegrityError(PrivguardError):
    """A hash in a manifest no longer matches the file: something was altered."""

    exit_code = 3
    http_status = 409
    kind = "integrity"


class EngineError(PrivguardError):
    """The SQL engine failed while running a stage."""

    exit_code = 4
    http_status = 500
    kind = "engine"


@dataclass
class Problems:
    """Collects problems so that validation reports all of them at once."""

    items: list[str] = field(default_factory=list)

    def add(self, problem: str) -> None:
        self.items.append(problem)

    def raise_if_any(
        self, message: str, *, where: str | None = None, fix: str | None = None
    ) -> None:
        if self.items:
            raise SettingsError(message, where=where, fix=fix, problems=self.items)
