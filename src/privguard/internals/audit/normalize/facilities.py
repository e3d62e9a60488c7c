"""Facility labels: one code per facility, whether a table wrote its code or its name.

Exports name a facility differently ("TX07", "Travis County Jail"). Two labels are
the same facility when most (account, number) pairs of one also occur under the
other: inmates and the people they call do not move between jails wholesale. The
canonical label is the one used as an account prefix ("TX07-12345") when there is
one, else the shortest.

A facility no table writes by code can still show it: when most of its accounts carry one
prefix ("CA64-1234567" under "Los Angeles County Men's Central Jail") that no other facility's
accounts carry and that is no other facility's label, the prefix joins its labels and, used as
an account prefix, becomes its code. Registry entries scoped by code then cover its calls.
A facility given only by name and with no such prefix can still show its code in the folder
(or file) its tables came from, when the dump's other facilities show that its folders are
named by facility (:mod:`.facility_paths`). Only distinct labels, prefixes, files and pair
counts reach Python.
"""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa

from privguard.internals.audit.engines.base import Executor
from privguard.internals.audit.normalize import facility_paths

log = logging.getLogger(__name__)

SHARE = 0.3  # share of a label's (account, number) pairs seen under the other label
# A prefix names a facility written only by name when it is on at least PREFIX_SHARE of the
# facility's accounts and PREFIX_DOMINANT of its prefixed ones, over PREFIX_ROWS rows at least.
PREFIX_SHARE, PREFIX_DOMINANT, PREFIX_ROWS = 0.3, 0.9, 20


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


def prefixes_sql(stage: str) -> str:
    """Rows with an account per (label, account prefix or NULL)."""
    return f"""
    SELECT facility, account_prefix, count(*) AS n FROM {stage}
    WHERE facility IS NOT NULL AND inmate_account IS NOT NULL
    GROUP BY facility, account_prefix ORDER BY facility, account_prefix"""


def _prefix_codes(
    groups: dict[str, list[str]],
    labels: dict[str, tuple[int, int]],
    rows: list[tuple[str, str | None, int]],
) -> dict[str, tuple[str, int, int]]:
    """Group root -> (prefix, rows carrying it, rows with an account) for each group that no
    label's own accounts use as a prefix, whose accounts name one code (see the module doc)."""
    root = {m: r for r, members in groups.items() for m in members}
    by_group: dict[str, dict[str | None, int]] = {}
    for label, prefix, n in rows:
        counts = by_group.setdefault(root[label], {})
        counts[prefix] = counts.get(prefix, 0) + int(n)
    top: dict[str, tuple[str, int, int]] = {}
    claims: dict[str, int] = {}  # prefix -> groups where it is the most common one
    for r, counts in by_group.items():
        prefixed = {p: n for p, n in counts.items() if p is not None}
        if not prefixed:
            continue
        p, n = max(prefixed.items(), key=lambda kv: (kv[1], kv[0]))
        claims[p] = claims.get(p, 0) + 1
        if any(labels[m][1] for m in groups[r]) or p in labels:
            continue  # a label is already the code, or the prefix is another label
        total = sum(counts.values())
        if (
            n >= PREFIX_ROWS
            and n >= PREFIX_SHARE * total
            and n >= PREFIX_DOMINANT * sum(prefixed.values())
        ):
            top[r] = (p, n, total)
    return {r: t for r, t in top.items() if claims[t[0]] == 1}


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
    for r, (code, n, total) in _prefix_codes(
        groups, labels, ex.fetchall(prefixes_sql(stage))
    ).items():
        evidence.append({"labels": sorted(groups[r]), "account_prefix": code,
                         "prefixed_rows": n, "account_rows": total})  # fmt: skip
        labels[code] = (0, n)  # written by no table; the code its accounts carry
        groups[r].append(code)
    from_path, path_evidence = facility_paths.path_codes(
        groups,
        {m: labels[m][1] for m in labels},
        ex.fetchall(facility_paths.files_sql(stage)),
    )
    evidence += path_evidence
    for r, (code, n, _, _) in from_path.items():
        labels[code] = (0, n)  # written by no table nor account; the path its files sit in
        groups[r].append(code)
    mapping: dict[str, str] = {}
    report = []
    for members in groups.values():
        if len(members) < 2:
            continue
        canon = min(members, key=lambda m: (-labels[m][1], len(m), m))
        for m in members:
            mapping[m] = canon
        group: dict[str, Any] = {"facility": canon, "labels": sorted(members)}
        if any(canon == c for c, *_ in from_path.values()):
            group["code_from"] = "path"
        report.append(group)
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
