"""`privguard serve`: bootstrapping the first administrator, bad settings, its help."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from privguard.cli import cli, main
from service_helpers import bearer, service_client


def test_create_admin_prints_a_token_that_works(db_url: str, tmp_path: Path) -> None:
    args = ["serve", "--data-dir", str(tmp_path), "--database-url", db_url]
    result = CliRunner().invoke(cli, [*args, "--create-admin", "Alice"])
    assert result.exit_code == 0, result.output
    assert "shown only this once" in result.output
    token = re.search(r"^([A-Za-z0-9_-]{43})$", result.output, re.M)
    assert token is not None
    again = CliRunner().invoke(cli, [*args, "--create-admin", "alice"])  # a lost token
    second = re.search(r"^([A-Za-z0-9_-]{43})$", again.output, re.M)
    assert again.exit_code == 0 and second is not None and second[1] != token[1]
    with service_client(db_url, tmp_path) as client:
        for t in (token[1], second[1]):
            me = client.get("/v1/me", headers=bearer(t)).json()
            assert me["user"]["username"] == "alice" and me["user"]["role"] == "admin"
        r = client.post(
            "/v1/users", headers=bearer(token[1]), json={"username": "bob", "role": "auditor"}
        )
        assert r.status_code == 201
    refused = CliRunner().invoke(cli, [*args, "--create-admin", "bob"])
    assert isinstance(refused.exception, Exception) and "not admin" in str(refused.exception)


def test_create_admin_works_with_no_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["serve", "--create-admin", "root"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "privguard-data" / "privguard.db").is_file()


def test_bad_settings_exit_2_naming_each_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = tmp_path / "case.toml"
    case.write_text('[service]\nport = 70000\ndatabase_url = "mysql://x"\n')
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--config", str(case), "--create-admin", "root"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "port" in err and "database_url" in err and "Fix:" in err
    assert not (tmp_path / "privguard-data").exists()


def test_help_ends_with_a_runnable_example() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    assert "Example: privguard serve --create-admin" in result.output


def test_an_unreachable_database_is_exit_4_before_serving(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--database-url", "postgresql+psycopg://nobody:pw@127.0.0.1:1/none"])
    assert exit_.value.code == 4
    err = capsys.readouterr().err
    assert "database server is running" in err and "pw@" not in err
