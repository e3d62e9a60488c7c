"""The prevention wing reads a real audit's folder, as files, where the audit writes them.

The other prevention tests fabricate small audit folders; this one runs ``privguard audit``
on a synthetic leak and points every reader at its output, so a change of the audit's
layout that the prevention wing does not follow fails here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine

import privguard
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.common.layout import FILES, RESTRICTED, SHAREABLE, audit_file
from privguard.internals.prevention.decisions.replay import replay
from privguard.internals.prevention.registry import api as registry_api
from privguard.internals.prevention.service import portal_audit_files as pf
from privguard.internals.prevention.vault import protect as P
from test_registry_helpers import open_registry
from vault_helpers import ADMIN, make_vault

REGISTRAR = ADMIN.__class__("registrar:reg", "registrar", "", "audit findings", "cli")


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory, synthetic_leak: Path) -> Path:
    leak = synthetic_leak
    out = tmp_path_factory.mktemp("case") / "out"
    privguard.audit(
        leak / "dump",
        out,
        directories=[leak / "directory" / "bar_directory.csv"],
        registries=[leak / "registry" / "do_not_record.csv"],
    )
    return out


def test_the_layout_is_the_audits_own(audited: Path) -> None:
    paths = AuditPaths(audited)
    for name in ("calls", "numbers", "registry", "summary", "privileged_calls", "findings_db"):
        assert audit_file(audited, name) == getattr(paths, name), name


def test_replay_reads_the_audit(audited: Path) -> None:
    result = replay(audited, AuditPaths(audited).registry)
    summary = pf.summary(pf.AuditFolder(0, audited))
    assert result.calls == summary["calls"]
    assert result.privileged_recorded == summary["privileged_calls_recorded"]


def test_registry_invites_from_the_audit(db: Engine, audited: Path, tmp_path: Path) -> None:
    reg = open_registry(db, tmp_path / "reg")
    got = registry_api.audit_invitations(reg, audited, actor="registrar:test")
    assert got.rows > 0 and got.eligible > 0
    assert len(got.queued) + got.already_registered + got.already_invited == got.eligible


def test_vault_imports_the_audits_findings(db: Engine, audited: Path, tmp_path: Path) -> None:
    vault = make_vault(db, tmp_path)
    result = P.import_audit(vault, REGISTRAR, audited)
    assert any(Path(f).name == "privileged_calls.csv" for f in result.files)
    assert result.numbers > 0


def test_portal_browses_the_audits_findings(audited: Path) -> None:
    folder = pf.AuditFolder(0, audited)
    assert pf.summary(folder)["privileged_calls"] > 0
    with pf.findings_db(folder) as con:
        rows, total = pf.calls_page(con, {}, 0)
        assert total == pf.summary(folder)["privileged_calls"] and rows
        assert pf.facets(con, {})["facility"]
    numbers, count = pf.numbers_page(folder, 0)
    assert count > 0 and numbers


def test_an_audit_made_before_the_split_is_still_read(audited: Path, tmp_path: Path) -> None:
    flat = tmp_path / "old"
    for part in (SHAREABLE, RESTRICTED):
        shutil.copytree(audited / part, flat, dirs_exist_ok=True)
    assert audit_file(flat, "numbers") == flat / "numbers.parquet"
    assert audit_file(flat, "findings_db") == flat / "exports" / "findings.db"
    assert (
        replay(flat, flat / "registry.parquet").calls
        == replay(audited, AuditPaths(audited).registry).calls
    )
    assert audit_file(tmp_path / "nothing", "numbers") is None
    assert FILES["numbers"].startswith(RESTRICTED)
