"""What the portal shows of the vault: notices of recorded calls and the vault's anomalies.

The vault is built on its own branch; the portal reads its tables (``vault_recordings``,
``vault_purges``, ``vault_access``) by reflection when they exist, so the pages work, and
say so, on an installation without it. Nothing here decrypts or plays a recording.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import MetaData, Table, inspect, select
from sqlalchemy.orm import Session

from privguard.internals.prevention.registry.models import PrivilegedNumber as N

TABLES = ("vault_recordings", "vault_purges", "vault_access")
ANOMALOUS = ("refused", "flagged", "alarm")


@dataclass
class VaultView:
    """``installed`` is False when the vault's tables are not in this database."""

    installed: bool
    notices: list[dict[str, Any]] = field(default_factory=list)
    certificates: dict[str, str] = field(default_factory=dict)


def _tables(session: Session) -> dict[str, Table] | None:
    bind = session.get_bind()
    names = set(inspect(bind).get_table_names())
    if not set(TABLES) <= names:
        return None
    meta = MetaData()
    return {t: Table(t, meta, autoload_with=bind) for t in TABLES}


def installed(session: Session) -> bool:
    """Whether this database has the vault's tables."""
    return _tables(session) is not None


def notices_for(session: Session, attorney_id: int, limit: int = 500) -> VaultView:
    """Recordings of calls to the attorney's numbers (any state) and the certificates of
    the purges that destroyed them."""
    tables = _tables(session)
    if tables is None:
        return VaultView(False)
    numbers = set(session.scalars(select(N.number).where(N.attorney_id == attorney_id)))
    if not numbers:
        return VaultView(True)
    rec = tables["vault_recordings"]
    rows = session.execute(
        select(
            rec.c.id,
            rec.c.facility,
            rec.c.dialed_number,
            rec.c.started_at,
            rec.c.state,
            rec.c.state_reason,
            rec.c.state_at,
        )
        .where(rec.c.dialed_number.in_(sorted(numbers)))
        .order_by(rec.c.started_at.desc())
        .limit(limit)
    ).mappings()
    notices = [dict(r) for r in rows]
    ids = {n["id"] for n in notices}
    purges = tables["vault_purges"]
    certificates: dict[str, str] = {}
    for purge in session.execute(select(purges.c.id, purges.c.certificate)).mappings():
        covered = [i for i in ids if i in purge["certificate"]]
        for i in covered:
            certificates[i] = purge["id"]
    return VaultView(True, notices, certificates)


def certificate(session: Session, attorney_id: int, purge_id: str) -> str | None:
    """The text of purge certificate ``purge_id`` if it covers one of the attorney's calls."""
    view = notices_for(session, attorney_id)
    if purge_id not in view.certificates.values():
        return None
    tables = _tables(session)
    assert tables is not None
    purges = tables["vault_purges"]
    text = session.scalar(select(purges.c.certificate).where(purges.c.id == purge_id))
    return str(text) if text is not None else None


def anomalies(session: Session, limit: int = 200) -> list[dict[str, Any]] | None:
    """The vault's refused, flagged and alarm accesses, newest first (None: no vault)."""
    tables = _tables(session)
    if tables is None:
        return None
    acc = tables["vault_access"]
    rows = session.execute(
        select(acc).where(acc.c.outcome.in_(ANOMALOUS)).order_by(acc.c.id.desc()).limit(limit)
    ).mappings()
    return [dict(r) for r in rows]
