"""The ``privguard`` command line: a thin caller of the library.

Each command parses its arguments, calls one library function and formats the
result. Errors are translated here, and only here, into exit codes:
1 general, 2 bad input or settings, 3 integrity failure, 4 engine failure,
5 access refused (vault), 6 audit incomplete: it ran to the end, but some input file(s)
could not be read (``privguard audit`` and ``privguard ingest`` name them).
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from privguard import __version__
from privguard.errors import InputError, PrivguardError, printable

# (module, command attribute): each lives in its own file so commands stay small.
_COMMANDS = [
    ("privguard.cli._synth", "synth"),
    ("privguard.cli._ingest", "ingest"),
    ("privguard.cli._audit", "audit"),
    ("privguard.cli._evaluate", "evaluate"),
    ("privguard.cli._review", "review"),
    ("privguard.cli._verify", "verify"),
    ("privguard.cli._registry", "registry"),
    ("privguard.cli._replay", "replay"),
    ("privguard.cli._vault", "vault"),
    ("privguard.cli._decisions", "decisions"),
    ("privguard.cli._serve", "serve"),
    ("privguard.cli._compliance", "compliance"),
]


class _Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for _, name in _COMMANDS]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        for module, name in _COMMANDS:
            if name == cmd_name:
                command: click.Command = getattr(importlib.import_module(module), name)
                return command
        return None


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="privguard")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for SQL timings).")
def cli(verbose: int) -> None:
    """Detect, prove and prevent the recording of privileged attorney-client calls.

    Example: privguard synth demo --calls 20000 --seed 1 && privguard audit demo/dump --out out

    \b
    Exit codes: 0 done; 1 general failure; 2 bad input or settings; 3 integrity failure;
    4 engine failure; 5 access refused; 6 audit INCOMPLETE: every output was written, but
    some input file(s) could not be read (named at the end and in the report).
    """
    level = logging.WARNING - 10 * verbose
    handler = logging.StreamHandler()
    handler.setFormatter(_Plain(with_names=verbose > 0))
    logging.basicConfig(level=max(level, logging.DEBUG), handlers=[handler])


class _Plain(logging.Formatter):
    """Log lines as a person reads them ("Warning: ..."), the module named only with -v;
    control characters from the input are shown escaped, as in error messages."""

    def __init__(self, with_names: bool) -> None:
        super().__init__()
        self.with_names = with_names

    def format(self, record: logging.LogRecord) -> str:
        text = printable(record.getMessage())
        if record.exc_info and self.with_names:
            text += "\n" + self.formatException(record.exc_info)
        label = record.levelname.capitalize()
        return f"{label} ({record.name}): {text}" if self.with_names else f"{label}: {text}"


def _unexpected(exc: BaseException) -> PrivguardError:
    """What a person reads for an error no library code translated (never a traceback)."""
    if isinstance(exc, OSError):
        return InputError(
            f"the operating system refused: {exc.strerror or exc}",
            where=str(exc.filename or "a file or folder given to privguard"),
            fix="check that the path exists, is of the right kind (a folder for --out) and "
            "that you may read or write it, then run again",
        )
    if isinstance(exc, RecursionError):
        return InputError(
            "the input is nested too deeply to read (archives inside archives, or nested "
            "values, hundreds of levels down)",
            fix="unpack the outer layers by hand and give privguard the inner files",
        )
    return PrivguardError(
        f"privguard failed unexpectedly ({type(exc).__name__}: {exc})",
        fix="run again with -vv to see where, and report this as a bug with that output",
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn privguard errors into exit codes and plain messages.

    An error no library code translated still reaches the person as a message with a fix
    and an exit code (2 for a path the system refused or too deep a nesting, 1 otherwise);
    its traceback is logged at debug level (``-vv``), never printed by default.
    """
    try:
        code = cli.main(args=argv, prog_name="privguard", standalone_mode=False)
    except PrivguardError as exc:
        click.echo(f"Error: {exc.render()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except (Exception, RecursionError) as exc:
        logging.getLogger(__name__).debug("unexpected error", exc_info=True)
        err = _unexpected(exc)
        click.echo(f"Error: {err.render()}", err=True)
        sys.exit(err.exit_code)
    # Without standalone mode click returns a command's Exit code (6: incomplete) instead.
    if isinstance(code, int) and code:
        sys.exit(code)
