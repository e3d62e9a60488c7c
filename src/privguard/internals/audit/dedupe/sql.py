"""Pure SQL for deduplication: sort and window, never pairwise comparison across a block.

Rows are partitioned by the call's identity (facility, inmate account, dialed number)
and ordered by start time. A row starts a new island when its gap to the previous row
exceeds the time tolerance. Within an island, rows are split into calls around anchors
when durations cannot be the same call (exact seconds within the duration tolerance;
billed minutes equal to ceil(seconds / 60)) or one table holds several calls.
"""

from __future__ import annotations

from privguard.internals.audit import schema

# Partition by facility and number; the account is a compatibility check, because some
# tables lack the account column (NULL) and must still merge with those that have it.
_KEY = "k_fac, k_num"


def _compatible(a: str, ra: str, b: str, rb: str, tol: int) -> str:
    """Whether durations ``a`` and ``b`` (``ra``/``rb``: billed minutes) can be one call."""

    def billed_vs_exact(m: str, s: str) -> str:
        # Billed minutes round up: ceil(s / 60) * 60 == m, allowing the exact clock's tolerance.
        return (
            f"({m} BETWEEN CAST(ceil(greatest({s} - {tol}, 0) / 60.0) AS INTEGER) * 60 "
            f"AND CAST(ceil(({s} + {tol}) / 60.0) AS INTEGER) * 60)"
        )

    return f"""(
        {a} IS NULL OR {b} IS NULL
        OR (NOT {ra} AND NOT {rb} AND abs({a} - {b}) <= {tol})
        OR ({ra} AND {rb} AND {a} = {b})
        OR ({ra} AND NOT {rb} AND {billed_vs_exact(a, b)})
        OR ({rb} AND NOT {ra} AND {billed_vs_exact(b, a)}))"""


def _k_num(alias: str) -> str:
    """The dialed-number part of a row's key: normalize's ``number_key`` ('' without digits).

    Normalize keys a number that fails validation the same however it was written
    (``(211) 555-0100`` and ``+12115550100``), so dedupe never re-derives it from the raw text.
    """
    return f"coalesce({alias}.number_key, '')"


def sample_sql(source: str, modulus: int) -> str:
    """Rows of one key in ``modulus`` (by a hash of the key): every row of a key, or none.

    Keys are kept whole so islands and anchors in the sample are those of the full table.
    """
    if modulus <= 1:
        return source
    key = f"hash(coalesce(s.facility, ''), {_k_num('s')})"
    return f"(SELECT s.* FROM {source} s WHERE {key} % {int(modulus)} = 0)"


def bucket_sql(source: str, buckets: int, bucket: int) -> str:
    """Rows whose key falls in hash bucket ``bucket`` of ``buckets``: every row of a key, or none.

    Islands and anchors never cross keys, so each bucket clusters alone, exactly as it would
    in the whole table, and its window sorts fit in memory. The hash is seeded differently
    from :func:`sample_sql`'s, so buckets and the skew sample stay independent.
    """
    if buckets <= 1:
        return source
    key = f"hash(coalesce(s.facility, ''), {_k_num('s')}, 'bucket')"
    return f"(SELECT s.* FROM {source} s WHERE {key} % {int(buckets)} = {int(bucket)})"


def bucket_of_sql(buckets: int) -> str:
    """The key bucket of a normalized row ``s`` (:func:`bucket_sql`'s, as a column)."""
    return f"hash(coalesce(s.facility, ''), {_k_num('s')}, 'bucket') % {int(buckets)}"


def split_by_bucket_sql(source: str, buckets: int) -> str:
    """Every normalized row with ``kb``, its key bucket: one pass writes the buckets."""
    return f"SELECT s.*, {bucket_of_sql(buckets)} AS kb FROM {source} s"


def call_bounds_sql(calls: str, parts: int) -> str:
    """``parts - 1`` call ids that cut ``calls`` into ranges of about equal size."""
    cuts = ", ".join(f"{i / parts!r}" for i in range(1, parts))
    return f"SELECT quantile_disc(call_id, [{cuts}]) FROM {calls}"


def call_range_sql(calls: str, lo: int | None, hi: int | None) -> str:
    """The finished calls with ``lo <= call_id < hi`` (``None``: unbounded), in order."""
    where = []
    if lo is not None:
        where.append(f"call_id >= {int(lo)}")
    if hi is not None:
        where.append(f"call_id < {int(hi)}")
    cond = f"WHERE {' AND '.join(where)}" if where else ""
    return f"SELECT * FROM {calls} {cond} ORDER BY call_id"


def keyed_sql(source: str, skews: str | None = None) -> str:
    """Each normalized row with its identity key (the number by normalize's ``number_key``).

    ``t_adj`` is the start corrected by its table's clock skew (``skews``: table_id,
    skew_s), used only to cluster; the output keeps the start as the source gave it.
    """
    skew, known, join = "0", "false", ""
    if skews:
        skew, join = "coalesce(k.skew_s, 0)", f"LEFT JOIN {skews} k USING (table_id)"
        known = "k.skew_s IS NOT NULL"
    # Only the columns clustering reads: the window sorts carry every selected column, and
    # the wide ones (files, names, raw text) go to the calls by a join on row_key instead.
    return f"""
    SELECT s.row_key, s.table_id, s.start_utc, s.duration_s, s.duration_rounded,
           coalesce(s.facility, '') AS k_fac, coalesce(s.inmate_account, '') AS k_acc,
           {_k_num("s")} AS k_num,
           epoch(s.start_utc) - {skew} AS t_adj, {known} AS skew_known
    FROM {source} s {join}"""


def islands_sql(
    source: str, time_tol: int, skews: str | None = None, loose_tol: int | None = None
) -> str:
    """Each row with ``isl`` (rows of one key chained by start gaps of at most ``time_tol``)
    and ``multi``, whether its island holds more than one row.

    With ``skews``, ``time_tol`` applies between rows whose tables both have a measured
    skew; ``loose_tol`` between the others, whose clocks are not corrected. ``multi``
    comes from the gaps to both neighbours, in the same window as the gap to the previous
    row: counting each island's rows would sort the whole table once more.
    """
    w = f"PARTITION BY {_KEY} ORDER BY t_adj NULLS LAST, row_key"

    def gap_ok(prev: str, nxt: str, prev_known: str, nxt_known: str) -> str:
        tol = str(time_tol)
        if skews and loose_tol is not None:
            tol = f"(CASE WHEN {nxt_known} AND {prev_known} THEN {time_tol} ELSE {loose_tol} END)"
        return f"coalesce({nxt} - {prev} <= {tol}, false)"

    joins_prev = gap_ok("p_adj", "t_adj", "p_known", "skew_known")
    joins_next = gap_ok("t_adj", "n_adj", "skew_known", "n_known")
    return f"""
    SELECT * EXCLUDE (new), sum(new) OVER ({w} ROWS UNBOUNDED PRECEDING) AS isl
    FROM (SELECT * EXCLUDE (p_adj, p_known, n_adj, n_known),
                 CASE WHEN {joins_prev} THEN 0 ELSE 1 END AS new,
                 {joins_prev} OR {joins_next} AS multi
          FROM (SELECT *, lag(t_adj) OVER ({w}) AS p_adj, lag(skew_known) OVER ({w}) AS p_known,
                       lead(t_adj) OVER ({w}) AS n_adj, lead(skew_known) OVER ({w}) AS n_known
                FROM ({keyed_sql(source, skews)})))"""


def assign_sql(islands: str, dur_tol: int) -> str:
    """For rows of islands holding more than one row: the anchor (``sub``) of their call.

    An island of rows close in time usually holds one call. When it holds several
    (back-to-back calls, redials), the table with the most distinct rows in the island
    gives one anchor per call, and every row joins the nearest anchor whose duration and
    account are compatible; rows compatible with none get no anchor. Islands are small,
    so the join stays small: there is no comparison across a whole block.

    ``grp`` names the row's call by one BIGINT, unique across keys: the anchor's row key,
    or for rows with no anchor the least row key of their island's such rows of one account.
    """
    k = ", ".join(f"m.{c}" for c in _KEY.split(", "))
    on = " AND ".join(f"a.{c} = m.{c}" for c in (*_KEY.split(", "), "isl"))
    compat = _compatible("m.duration_s", "m.duration_rounded", "a.a_d", "a.a_r", dur_tol)
    compat += " AND (m.k_acc = a.a_acc OR m.k_acc = '' OR a.a_acc = '')"
    exact = "NOT duration_rounded AND duration_s IS NOT NULL"
    return f"""
    WITH many AS (
        SELECT row_key, table_id, {_KEY}, k_acc, isl, t_adj, start_utc, duration_s,
               duration_rounded
        FROM {islands} WHERE multi),
    per_table AS (
        SELECT {_KEY}, isl, table_id,
               count(DISTINCT hash(start_utc, duration_s, duration_rounded, k_acc)) AS d,
               count(*) FILTER ({exact}) AS ex
        FROM many GROUP BY {_KEY}, isl, table_id),
    anchor_table AS (
        SELECT {_KEY}, isl, arg_max(table_id, [d, ex, -table_id]) AS a_table
        FROM per_table GROUP BY {_KEY}, isl),
    anchors AS (
        SELECT {k}, m.isl, min(m.row_key) AS a_key, m.t_adj AS a_t, m.duration_s AS a_d,
               m.duration_rounded AS a_r, m.k_acc AS a_acc
        FROM many m JOIN anchor_table a ON {on} AND m.table_id = a.a_table
        GROUP BY {k}, m.isl, m.t_adj, m.duration_s, m.duration_rounded, m.k_acc),
    assigned AS (
        SELECT m.row_key, any_value(m.k_fac) AS k_fac, any_value(m.k_num) AS k_num,
               any_value(m.isl) AS isl, any_value(m.k_acc) AS k_acc,
               min_by(a.a_key, [abs(m.t_adj - a.a_t), a.a_key]) FILTER ({compat}) AS sub
        FROM many m JOIN anchors a ON {on} GROUP BY m.row_key),
    -- rows that fit no anchor form one more call per account
    rest AS (
        SELECT {_KEY}, isl, k_acc, min(row_key) AS first_key
        FROM assigned WHERE sub IS NULL GROUP BY {_KEY}, isl, k_acc)
    SELECT x.row_key, x.sub, coalesce(x.sub, r.first_key) AS grp
    FROM assigned x LEFT JOIN rest r
      ON x.sub IS NULL AND r.k_fac = x.k_fac AND r.k_num = x.k_num AND r.isl = x.isl
         AND r.k_acc = x.k_acc"""


def clustered_sql(islands: str, assigned: str) -> str:
    """Each row with its call within its key: (``isl``, ``sub``, ``rest``)."""
    return f"""
    SELECT i.*, CASE WHEN NOT i.multi THEN 0 ELSE coalesce(x.sub, 0) END AS sub,
           -- rows that fit no anchor form one more call per account
           CASE WHEN i.multi AND x.sub IS NULL THEN i.k_acc END AS rest
    FROM {islands} i LEFT JOIN {assigned} x USING (row_key)"""


def grouped_sql(source: str, assigned: str) -> str:
    """Each normalized row with ``grp``, one BIGINT per call: a row of an island of one
    row is its own call (its row key); the others take their call from ``assigned``."""
    return f"""
    SELECT s.*, coalesce(x.grp, s.row_key) AS grp
    FROM {source} s LEFT JOIN {assigned} x ON x.row_key = s.row_key"""


def skew_pairs_sql(clustered: str) -> str:
    """Per pair of tables sharing calls: the median start offset between them, and how many.

    Pairs, not offsets from each call's median: a re-exported copy of a table would
    otherwise drag every call's median towards it.
    """
    on = " AND ".join(f"a.{c} = b.{c}" for c in (*_KEY.split(", "), "isl", "sub"))
    return f"""
    WITH c AS (SELECT {_KEY}, isl, sub, rest, table_id, t_adj FROM ({clustered})
               WHERE multi AND t_adj IS NOT NULL)
    SELECT a.table_id AS ta, b.table_id AS tb, median(a.t_adj - b.t_adj) AS off,
           count(*) AS n
    FROM c a JOIN c b ON {on} AND a.rest IS NOT DISTINCT FROM b.rest
                      AND a.table_id < b.table_id
    GROUP BY ta, tb ORDER BY ta, tb"""


def calls_sql(grouped: str) -> str:
    """One row per call in ``schema.CALL_COLUMNS``, best value of each field, sorted.

    ``grouped`` is :func:`grouped_sql`: a single BIGINT group key hashes far faster than
    the (facility, number, island, anchor, account) it stands for."""
    exact = "NOT duration_rounded AND duration_s IS NOT NULL"
    cols = ", ".join(schema.CALL_COLUMNS)
    return f"""
    SELECT {cols} FROM (
        SELECT min(row_key) AS call_id,
               any_value(facility) AS facility,
               arg_min(inmate_account, row_key) FILTER (inmate_account IS NOT NULL)
                   AS inmate_account,
               arg_min(inmate_name, row_key) FILTER (inmate_name IS NOT NULL) AS inmate_name,
               max(dialed_number) AS dialed_number,
               -- copies share the number key; if one copy's text parsed, the call's did
               CASE WHEN max(dialed_number) IS NOT NULL THEN 'valid'
                    ELSE coalesce(min(number_status), 'invalid: empty') END AS number_status,
               coalesce(min(start_utc) FILTER ({exact}), min(start_utc)) AS start_utc,
               coalesce(arg_min(duration_s, row_key) FILTER ({exact}),
                        max(duration_s)) AS duration_s,
               coalesce(bool_and(duration_rounded) FILTER (duration_s IS NOT NULL), false)
                   AS duration_rounded,
               -- a stated status outranks completion inferred from a copy's other fields
               coalesce(bool_or(completed) FILTER (completed_from = 'status'),
                        bool_or(completed)) AS completed,
               coalesce(max(completed_from) FILTER (completed_from = 'status'),
                        min(completed_from) FILTER (completed),
                        min(completed_from)) AS completed_from,
               CASE WHEN count(recording_ref) > 0 THEN true ELSE bool_or(recorded) END
                   AS recorded,
               min(recording_ref) AS recording_ref,
               CASE WHEN count(*) = 1 THEN 'single'
                    WHEN bool_or(duration_rounded) AND bool_or(NOT duration_rounded)
                        THEN 'billed_minutes'
                    WHEN min(start_utc) = max(start_utc)
                         AND min(duration_s) IS NOT DISTINCT FROM max(duration_s) THEN 'exact'
                    ELSE 'near_time' END AS merge_rule,
               count(*) AS n_sources,
               -- list_sort, not list(... ORDER BY): ordered aggregates cannot spill to disk
               list_sort(list(struct_pack(file := src_file, "table" := src_table,
                                          "row" := src_row))) AS sources
        FROM ({grouped})
        GROUP BY grp)
    ORDER BY call_id"""


def report_sql(calls: str) -> str:
    """Clusters and source rows per merge rule."""
    return f"""
    SELECT merge_rule, count(*) AS clusters, sum(n_sources) AS rows
    FROM {calls} GROUP BY merge_rule ORDER BY merge_rule"""
