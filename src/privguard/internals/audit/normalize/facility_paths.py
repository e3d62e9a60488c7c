"""A facility written only by name takes the code its tables' folder (or file) names.

Some exports write a jail only by name ("Clark County Detention Center") and put no code
on its accounts, while the dump keeps each jail's tables in a folder named by its code
(``NV56/billing.csv``). The path is then the only place the code appears, and without it a
registry entry scoped to ``NV56`` covers none of that jail's calls.

A folder name means a facility only when the dump itself shows it, so the rule is
conservative at every step:

* **The dump's folders name facilities.** Files holding one facility whose code is known
  (a label its own accounts use as a prefix) must carry that code in their path: at least
  :data:`AGREE_SHARE` of them, from at least :data:`AGREE_FACILITIES` facilities, and no
  such file's path may name another facility's code or label. Otherwise no path is read.
* **The facility gives only a name.** Its group of labels has no code (no label used as an
  account prefix, none shaped like the dump's codes, no code from its accounts' prefix).
* **One code, and only one.** In each file holding only that facility, the path's parts
  shaped like the dump's codes (``NV56`` is ``AA99``), that are no facility's label and that
  no other facility's file carries, are the candidates. Every such file must name exactly
  one, all the same, and no other facility may be given it. Two candidates anywhere, or
  files that disagree, and nothing is guessed; the refusal is recorded.

Only distinct (label, file) pairs reach Python. The code and the files it was read from are
recorded in ``normalize_report.json`` (``facilities.evidence``, ``path_code``) and on the
group (``code_from: "path"``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any

log = logging.getLogger(__name__)

AGREE_SHARE = 0.9  # share of single-facility files of known code that carry it in their path
AGREE_FACILITIES = 2  # distinct facilities whose files must show it
_PARTS = re.compile(r"[^A-Za-z0-9]+")


def files_sql(stage: str) -> str:
    """Rows per (facility label, source file)."""
    return f"""
    SELECT facility, src_file, count(*) AS n FROM {stage}
    WHERE facility IS NOT NULL AND src_file IS NOT NULL
    GROUP BY facility, src_file ORDER BY facility, src_file"""


def shape(text: str) -> str:
    """``NV56`` -> ``AA99``: letters and digits by kind."""
    return re.sub(r"[0-9]", "9", re.sub(r"[A-Z]", "A", text))


def path_tokens(path: str) -> set[str]:
    """Each folder and the file's name without its extensions, whole and split at
    punctuation, upper case, letters and digits only (as facility labels are)."""
    parts = list(PurePosixPath(path.replace("\\", "/")).parts)
    if parts:
        parts[-1] = parts[-1].split(".", 1)[0]
    out: set[str] = set()
    for part in parts:
        for piece in [part, *_PARTS.split(part)]:
            token = _PARTS.sub("", piece).upper()
            if token:
                out.add(token)
    return out


def path_codes(
    groups: Mapping[str, list[str]],
    prefix_use: Mapping[str, int],
    files: Iterable[tuple[str, str, int]],
) -> tuple[dict[str, tuple[str, int, int, list[str]]], list[dict[str, Any]]]:
    """Group root -> (code, rows, files, example files) for each facility given only a name
    whose files' paths name one code (see the module doc), and the evidence of every
    decision (taken or refused).

    ``groups``: root -> its labels; ``prefix_use``: label -> rows using it as an account
    prefix (a code derived from the accounts counts as used); ``files``: (label, source
    file, rows)."""
    root = {m: r for r, members in groups.items() for m in members}
    code: dict[str, str] = {}
    for r, members in groups.items():
        used = [m for m in members if prefix_use.get(m, 0) > 0]
        if used:
            code[r] = max(used, key=lambda m: (prefix_use[m], m))
    by_file: dict[str, dict[str, int]] = {}
    for label, path, n in files:
        counts = by_file.setdefault(path, {})
        counts[root[label]] = counts.get(root[label], 0) + int(n)
    tokens = {p: path_tokens(p) for p in by_file}
    shapes = {shape(c) for c in code.values()}
    all_labels = set(root)
    evidence: list[dict[str, Any]] = []

    agree, total, agreeing, against = 0, 0, set(), []
    for p, counts in by_file.items():
        if len(counts) != 1:
            continue
        (r,) = counts
        if r not in code:
            continue
        total += 1
        if code[r] in tokens[p]:
            agree += 1
            agreeing.add(r)
        others = (set(code.values()) | all_labels) - set(groups[r])
        if tokens[p] & others:
            against.append(p)
    named = [r for r in groups if r not in code and not any(shape(m) in shapes for m in groups[r])]
    if not named:
        return {}, evidence
    if against or not total or agree < AGREE_SHARE * total or len(agreeing) < AGREE_FACILITIES:
        evidence.append({"labels": sorted(m for r in named for m in groups[r]),
                         "path_code": None,
                         "reason": "the dump's paths do not name facilities: "
                         f"{agree} of {total} files of a facility with a known code carry it "
                         f"({len(agreeing)} facilities), {len(against)} name another facility"})  # fmt: skip
        return {}, evidence

    # Where each path part occurs: the facilities whose files carry it.
    carriers: dict[str, set[str]] = {}
    for p, counts in by_file.items():
        for t in tokens[p]:
            carriers.setdefault(t, set()).update(counts)
    found: dict[str, tuple[str, int, int, list[str]]] = {}
    for r in named:
        votes: dict[str, list[str]] = {}
        ambiguous: list[tuple[str, list[str]]] = []
        rows = 0
        for p, counts in sorted(by_file.items()):
            if set(counts) != {r}:
                continue
            cands = sorted(
                t
                for t in tokens[p]
                if shape(t) in shapes
                and t not in all_labels
                and t not in code.values()
                and carriers[t] == {r}
            )
            if len(cands) == 1:
                votes.setdefault(cands[0], []).append(p)
                rows += counts[r]
            elif cands:
                ambiguous.append((p, cands))
        if len(votes) == 1 and not ambiguous:
            (c, paths) = next(iter(votes.items()))
            found[r] = (c, rows, len(paths), paths[:3])
        elif votes or ambiguous:
            seen = sorted(set(votes) | {c for _, cs in ambiguous for c in cs})
            evidence.append({"labels": sorted(groups[r]), "path_code": None,
                             "reason": f"the paths name {len(seen)} codes: {', '.join(seen)}"})  # fmt: skip
    given: dict[str, int] = {}
    for c, *_ in found.values():
        given[c] = given.get(c, 0) + 1
    for r, (c, rows, n_files, examples) in sorted(found.items()):
        if given[c] > 1:
            evidence.append({"labels": sorted(groups[r]), "path_code": None,
                             "reason": f"{c} is named by the paths of {given[c]} facilities"})  # fmt: skip
            continue
        evidence.append({"labels": sorted(groups[r]), "path_code": c, "path_rows": rows,
                         "path_files": n_files, "example_files": examples,
                         "folders_agree": f"{agree} of {total}"})  # fmt: skip
        log.info("facility %s is written only by name; its files' path names %s",
                 sorted(groups[r]), c)  # fmt: skip
    return {r: t for r, t in found.items() if given[t[0]] == 1}, evidence
