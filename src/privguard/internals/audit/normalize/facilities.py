"""Facility labels: one code per facility, whether a table wrote its code or its name.

Exports name a facility differently ("TX07", "Travis County Jail"). Two labels are
the same facility when most (account, number) pairs of one also occur under the
other: inmates and the people they call do not move between jails wholesale. The
canonical label is the one used as an account prefix ("TX07-12345") when there is
one, else the shortest. Only distinct labels and pair counts reach Python.
"""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa

from privguard.internals.audit.engines.base import Executor

log = logging.getLogger(__name__)

SHARE = 0.3  # share of a label's (account, number) pairs seen under the other label


def overlap_sql(stage: str) -> str:
    """Pairs of labels sharing (account, number) pairs, with each label's size."""
    return f"""
    WITH trip AS (SELECT DISTINCT facility, inmate_account, number_key FROM {stage}
                  WHERE facility IS NOT NULL AND inmate_account IS NOT NULL
                    AND number_key IS NOT NULL),
    sizes AS (SELECT facility, count(*) AS n FROM trip GROUP BY facility),
    shared AS (SELECT a.facility AS f, b.facility AS g, count(*) AS n
               FROM trip a JOIN trip b USING (inmate_account, number_key)
               WHERE a.facility <> b.facility GROUP BY f, g)
    SELECT s.f, s.g, s.n, z.n FROM shared s JOIN sizes z ON z.facility = s.f
    WHERE s.n >= {SHARE} * z.n ORDER BY s.f, s.g"""


def labels_sql(stage: str) -> str:
    """Every label, its rows, and how many rows use it as an account prefix."""
    return f"""
    SELECT facility, count(*) AS n, count(*) FILTER (account_prefix = facility) AS as_prefix
    FROM {stage} WHERE facility IS NOT NULL GROUP BY facility ORDER BY facility"""


def resolve(ex: Executor, stage: str) -> dict[str, Any]:
    """Register ``_pg_fac_alias`` (facility -> canonical) and return the groups found."""
    labels = {r[0]: (r[1], r[2]) for r in ex.fetchall(labels_sql(stage))}
    parent = {f: f for f in labels}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    evidence = []
    for f, g, shared, size in ex.fetchall(overlap_sql(stage)):
        evidence.append({"label": f, "same_as": g, "shared_pairs": shared, "label_pairs": size})
        parent[find(f)] = find(g)
    groups: dict[str, list[str]] = {}
    for f in labels:
        groups.setdefault(find(f), []).append(f)
    mapping: dict[str, str] = {}
    report = []
    for members in groups.values():
        if len(members) < 2:
            continue
        canon = min(members, key=lambda m: (-labels[m][1], len(m), m))
        for m in members:
            mapping[m] = canon
        report.append({"facility": canon, "labels": sorted(members)})
        log.info("facility labels %s are one facility: %s", sorted(members), canon)
    keys = sorted(mapping)
    ex.register_arrow(
        "_pg_fac_alias",
        pa.table(
            {
                "facility": pa.array(keys, pa.string()),
                "canonical": pa.array([mapping[k] for k in keys], pa.string()),
            }
        ),
    )
    return {"groups": sorted(report, key=lambda g: g["facility"]), "evidence": evidence}


def canonical_view_sql(stage: str) -> str:
    """The staged rows with every facility label replaced by its canonical code."""
    return f"""
    SELECT s.* REPLACE (coalesce(a.canonical, s.facility) AS facility)
    FROM {stage} s LEFT JOIN _pg_fac_alias a ON a.facility = s.facility"""
