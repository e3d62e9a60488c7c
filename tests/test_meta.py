"""The promises the project makes about itself, checked rather than remembered.

* every CLI command (and subcommand) has help that ends with a runnable example, the
  README's command table names every top-level command, and README.md or docs/ names every
  subcommand;
* the public facade's ``__all__`` is exactly what it serves, and each name resolves;
* every error privguard raises has the one shape the CLI and the service translate.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
from pathlib import Path

import click
import pytest

import privguard
import privguard.errors as errors_module
from privguard.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    ctx = click.Context(group)
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        found.append((prefix + name, command))
        if isinstance(command, click.Group):
            found += _commands(command, prefix + name + " ")
    return found


COMMANDS = _commands(cli)


@pytest.mark.parametrize("name,command", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_help_ends_with_a_runnable_example(name: str, command: click.Command) -> None:
    help_text = (command.help or "").strip()
    last = help_text.splitlines()[-1].strip() if help_text else ""
    assert last.startswith("Example:"), f"'privguard {name}' help must end with 'Example: ...'"
    assert "privguard " in last, f"the example of 'privguard {name}' must be a privguard command"


def test_readme_documents_every_top_level_command() -> None:
    text = README.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `privguard ([a-z-]+)", text, re.M))
    top = {name for name, _ in COMMANDS if " " not in name}
    assert top - documented == set(), "add these commands to README.md's command table"


def test_every_command_and_subcommand_is_documented() -> None:
    # Named as it is typed (`privguard vault store`) in README.md or a page of docs/.
    pages = [README, *sorted((README.parent / "docs").rglob("*.md"))]
    text = "\n".join(p.read_text(encoding="utf-8") for p in pages)
    missing = [name for name, _ in COMMANDS if f"privguard {name}`" not in text]
    assert missing == [], "document these commands in docs/commands.md (or README.md)"


def test_all_is_exactly_the_public_surface() -> None:
    assert len(privguard.__all__) == len(set(privguard.__all__))
    served = {"PrivguardError", "__version__", *privguard._API, *privguard._RESULTS}
    assert set(privguard.__all__) == served
    for name in privguard.__all__:
        assert getattr(privguard, name) is not None, name
    with pytest.raises(AttributeError):
        privguard.no_such_thing  # noqa: B018


def test_public_functions_document_themselves() -> None:
    for name in privguard.__all__:
        obj = getattr(privguard, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert obj.__doc__ and len(obj.__doc__.strip()) > 20, f"{name} needs a docstring"


def _error_classes() -> list[type[errors_module.PrivguardError]]:
    # Subclasses defined anywhere in the package exist only once their module is imported.
    import importlib
    import pkgutil

    import privguard.internals

    for info in pkgutil.walk_packages(privguard.internals.__path__, "privguard.internals."):
        if ".migrations" not in info.name:
            importlib.import_module(info.name)
    seen, todo = [], [errors_module.PrivguardError]
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo += cls.__subclasses__()
    return seen


def test_every_error_has_the_one_shape() -> None:
    kinds: dict[str, type] = {}
    for cls in _error_classes():
        err = cls("something went wrong", where="file.csv row 3", fix="do this")
        shape = err.to_dict()
        assert list(shape) == ["error", "message", "where", "fix", "problems"], cls
        assert isinstance(cls.exit_code, int) and 1 <= cls.exit_code < 128, cls
        assert isinstance(cls.http_status, int) and 400 <= cls.http_status < 600, cls
        assert "file.csv row 3" in err.render() and "Fix: do this" in err.render()
        if cls.kind in kinds and kinds[cls.kind] is not cls:
            # A subclass may keep its parent's kind only if it is that parent's refinement.
            assert issubclass(cls, kinds[cls.kind]), f"{cls} reuses the kind {cls.kind!r}"
        kinds.setdefault(cls.kind, cls)


def test_control_characters_from_input_are_shown_escaped() -> None:
    from privguard.errors import InputError

    err = InputError("cell holds \x1b]0;owned\x07 and \x9b2J", where="a\rb.csv row 3", fix="x")
    text = err.render()
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text and "\r" not in text
    assert "\\x1b]0;owned\\x07" in text and "a\\x0db.csv row 3" in text
    assert str(err) == text  # what the CLI prints


def test_progress_bars_name_their_units() -> None:
    from privguard.cli._progress import RichProgress

    bars = RichProgress()
    for task, total in (("reading tables", 10), ("writing tables", 2), ("normalize", 5)):
        bars.start(task, total=total)
    units = {t.description: t.fields["unit"] for t in bars._bar.tasks}
    assert units == {"reading tables": "bytes", "writing tables": "tables", "normalize": "steps"}


def test_no_bench_script_shadows_a_standard_module() -> None:
    # Tests put bench/ on sys.path; a bench/profile.py once replaced the standard library's
    # `profile`, and pyspark's `import cProfile` then failed in every Spark test.
    bench = README.parent / "bench"
    clash = sorted(p.stem for p in bench.glob("*.py") if p.stem in sys.stdlib_module_names)
    assert clash == [], f"rename these bench scripts: {clash}"


@pytest.mark.parametrize(
    "script", sorted(p.name for p in (README.parent / "bench").glob("*.py")), ids=str
)
def test_every_bench_script_imports(script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Bench scripts run on purpose, never in the tests, so a renamed helper once broke
    # bench/unseen_layouts.py unseen; importing each (without running main) catches that.
    bench = README.parent / "bench"
    monkeypatch.syspath_prepend(str(bench))
    spec = importlib.util.spec_from_file_location(f"_bench_{script[:-3]}", bench / script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look themselves up
    spec.loader.exec_module(module)
