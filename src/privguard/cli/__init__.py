"""The ``privguard`` command line: a thin caller of the library.

Each command parses its arguments, calls one library function and formats the
result. Errors are translated here, and only here, into exit codes:
1 general, 2 bad input or settings, 3 integrity failure, 4 engine failure,
5 access refused (vault).
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from privguard import __version__
from privguard.errors import PrivguardError

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
    """
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(
        level=max(level, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s"
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn privguard errors into exit codes and plain messages."""
    try:
        cli.main(args=argv, prog_name="privguard", standalone_mode=False)
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
