"""The portal's vault views over a real vault: notices, purge certificates, anomalies.

The portal was built before the vault and reads its tables by reflection; this test fills
them through the vault itself (store, sweep, purge, a refused read) and reads them back as
the attorney's notices page and the auditor's anomaly list do.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from privguard.internals.prevention.registry.models import PrivilegedNumber
from privguard.internals.prevention.service import portal_vault as PV
from privguard.internals.prevention.vault import AccessRefused
from privguard.internals.prevention.vault import protect as P
from vault_helpers import ADMIN, INVESTIGATOR, T0, make_vault, register, store

REGISTRAR = ADMIN.__class__("registrar:reg", "registrar", "", "number registered", "cli")
LAWYER, FAMILY = "+15125550100", "+15125550199"


def test_the_portal_reads_what_the_vault_wrote(db: Engine, tmp_path: Path) -> None:
    vault = make_vault(db, tmp_path)
    kept = store(vault, LAWYER, b"privileged words " * 20)
    gone = store(vault, LAWYER, b"more privileged words " * 20, inmate="A200")
    store(vault, FAMILY, b"ordinary call " * 20)
    register(vault, LAWYER, T0.date() - dt.timedelta(days=3))
    P.sweep(vault, REGISTRAR)  # both recordings of the lawyer's number are quarantined
    with pytest.raises(AccessRefused):
        vault.read(INVESTIGATOR, kept)  # a refusal: an anomaly the auditor must see
    P.purge(vault, ADMIN, [gone], authority="Travis County order 2024-1")

    with vault.factory() as s:
        attorney = s.scalar(
            select(PrivilegedNumber.attorney_id).where(PrivilegedNumber.number == LAWYER)
        )
        assert attorney is not None and PV.installed(s)
        view = PV.notices_for(s, attorney)
        states = {n["id"]: n["state"] for n in view.notices}
        assert states == {kept: "quarantined", gone: "purged"}  # never the family's call
        purge_id = view.certificates[gone]
        text = PV.certificate(s, attorney, purge_id)
        assert text is not None and gone in text
        refused = PV.anomalies(s)
        assert refused and any(r["outcome"] == "refused" and kept in r["object"] for r in refused)
