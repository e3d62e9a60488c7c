"""Each table's constant clock skew, solved from pairwise offsets between tables (pure).

Only a small summary reaches Python: per pair of tables sharing calls, the median
offset and the number of shared calls. Tables form a graph; along its maximum
spanning tree (most shared calls first) skews follow from the offsets, relative to
the best-connected table of each component (skew 0).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

MIN_PAIRS = 5  # fewer shared calls than this do not measure an offset
# The loose clustering pass exists only to measure skews; a median needs far fewer pairs
# than a big leak holds, so past SAMPLE_ROWS rows it runs on a hashed sample of keys. A
# table's median needs its own calls, so the sample keeps about TABLE_ROWS rows of an
# average table (at 2 M rows / 249 tables: 1 key in 4 gave byte-identical calls, 1 in 16
# moved some skews by 30 s), and never fewer than 1 key in MAX_MODULUS.
SAMPLE_ROWS = 500_000
TABLE_ROWS = 2_000
MAX_MODULUS = 64


def sample_modulus(rows: int, tables: int) -> int:
    """Keep one key in this many for the skew pass (1: every key), for ``rows`` input rows
    from ``tables`` tables."""
    per_table = rows // max(tables, 1) // TABLE_ROWS
    return max(1, min(MAX_MODULUS, rows // SAMPLE_ROWS, per_table))


def solve(pairs: Iterable[tuple[Any, ...]]) -> dict[int, tuple[int, int]]:
    """From (table_a, table_b, median(t_a - t_b), n) rows: table -> (skew_s, calls used)."""
    edges = sorted(
        ((int(n), int(a), int(b), float(off)) for a, b, off, n in pairs if n >= MIN_PAIRS),
        key=lambda e: (-e[0], e[1], e[2]),
    )
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    tree: dict[int, list[tuple[int, float]]] = defaultdict(list)
    weight: dict[int, int] = defaultdict(int)
    for n, a, b, off in edges:
        weight[a] += n
        weight[b] += n
        if find(a) != find(b):
            parent[find(a)] = find(b)
            tree[a].append((b, -off))  # t_b - t_a
            tree[b].append((a, off))  # t_a - t_b
    components: dict[int, list[int]] = defaultdict(list)
    for t in weight:
        components[find(t)].append(t)
    out: dict[int, tuple[int, int]] = {}
    for members in components.values():
        root = max(members, key=lambda t: (weight[t], -t))
        skew = {root: 0.0}
        stack = [root]
        while stack:
            node = stack.pop()
            for nxt, delta in tree[node]:
                if nxt not in skew:
                    skew[nxt] = skew[node] + delta
                    stack.append(nxt)
        out.update({t: (round(skew[t]), weight[t]) for t in members})
    return out
