"""The foundation: errors, settings validation, the executor and the CLI edge."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from privguard.cli import cli
from privguard.errors import SettingsError
from privguard.internals.audit.settings import load_settings, parse_settings
from privguard.internals.audit.sql import quote_ident, quote_literal


def test_settings_reports_every_problem_at_once() -> None:
    with pytest.raises(SettingsError) as info:
        parse_settings({"engine": {"threads": 0, "colour": "red"}, "bogus": {}})
    problems = info.value.problems
    assert any("unknown section [bogus]" in p for p in problems)
    assert any("threads" in p for p in problems)
    assert any("'colour'" in p for p in problems)
    assert len(problems) == 3


def test_settings_bad_toml_names_file(tmp_path: Path) -> None:
    case = tmp_path / "case.toml"
    case.write_text("[engine\nthreads = 2\n")
    with pytest.raises(SettingsError) as info:
        load_settings(case)
    assert str(case) in info.value.render()
    assert "not valid TOML" in info.value.render()


def test_executor_roundtrip_parquet(engine, tmp_path: Path) -> None:
    out = tmp_path / "x.parquet"
    engine.copy_to_parquet("SELECT range AS n FROM range(10)", out)
    assert engine.fetchall(f"SELECT sum(n) FROM read_parquet({quote_literal(str(out))})") == [(45,)]


def test_quoting() -> None:
    assert quote_ident('a"b') == '"a""b"'
    assert quote_literal("o'neil") == "'o''neil'"


def test_cli_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert "privguard" in result.output


def test_documented_case_file_is_valid() -> None:
    """The example in docs/case-file.md must stay a valid case file."""
    import re
    import tomllib

    text = (Path(__file__).parent.parent / "docs" / "case-file.md").read_text()
    example = re.search(r"```toml\n(.*?)```", text, re.S)
    assert example
    settings = parse_settings(tomllib.loads(example.group(1)))
    assert settings.dedupe.time_tolerance_s == 120
    assert settings.engine.memory_limit == "4GB"


def test_problems_in_several_sections_are_reported_together() -> None:
    with pytest.raises(SettingsError) as info:
        parse_settings(
            {
                "dedupe": {"time_tolerance_s": -5},
                "identify": {"candidate_threshold": "high"},
                "mapping": [{"duration_unit": "fortnights"}],
            }
        )
    text = "\n".join(info.value.problems)
    assert "[dedupe] time_tolerance_s" in text
    assert "candidate_threshold" in text
    assert "fortnights" in text or "duration_unit" in text
