"""SQL of the findings stage, built by pure functions that return text.

Relations the statements expect (views created by :mod:`privguard.internals.audit.findings.api`;
the ``f_`` prefix keeps them apart from other stages sharing one executor):

* ``f_calls``     ``OUT/calls.parquet`` (``schema.CALL_COLUMNS``)
* ``f_numbers``   ``OUT/numbers.parquet`` (one row per called number, its class)
* ``f_registry``  ``OUT/registry.parquet`` (every do-not-record interval) with its facility
                  scope read as a call's facility is (:func:`registry_view_sql`)
* ``f_fac_alias`` (label, canonical): normalize's facility labels and the code each became
* ``f_clocks``    ``OUT/facility_clocks.parquet`` (facility, zone, offset_h), possibly empty
* ``f_flagged``   (file, tbl): the source tables with a recorded-flag column (ingest's mapping)
* ``f_reflogs``   (file, tbl): the source tables with a recording reference and no flag
* ``f_stated``    the completed calls whose recording a table states (:func:`create_stated`)
* ``f_practice``  each facility's recording practice (:func:`create_practice`), a temp table
"""

from __future__ import annotations

from pathlib import Path

from privguard.internals.audit.normalize import sql as nsql
from privguard.internals.audit.schema import ATTORNEY_CLASSES
from privguard.internals.audit.sql import parquet_source, quote_literal
from privguard.internals.common.classes import RECORDING_SOURCES

_CLASSES = ", ".join(quote_literal(c) for c in ATTORNEY_CLASSES)

# A registry interval covers a call when the call's local date falls in [from, until) and
# the entry is for all facilities or for the call's facility: as written, or read as the
# call's facility label was (letters and digits, then the code normalize gave that label:
# "tx-07" is TX07, "Los Angeles County Men's Central Jail" the jail's code). A missing date
# added counts from the beginning; a missing date removed means still registered.
COVERS = (
    "r.number = p.number"
    " AND (r.registered_from IS NULL OR p.local_day >= r.registered_from)"
    " AND (r.registered_until IS NULL OR p.local_day < r.registered_until)"
    " AND (r.facility IS NULL OR r.facility = upper(trim(p.facility))"
    " OR r.facility_key = p.facility)"
)


def registry_view_sql(source: str) -> str:
    """Temp view ``f_registry``: the registry with ``facility_key``, its facility scope as a
    call's facility label (:func:`normalize.sql.facility`, then ``f_fac_alias``)."""
    key = nsql.facility("r.facility")
    return (
        "CREATE OR REPLACE TEMP VIEW f_registry AS "
        f"SELECT r.*, coalesce(a.canonical, {key}) AS facility_key "
        f"FROM {source} r LEFT JOIN f_fac_alias a ON a.label = {key}"
    )


# Where each call's recording status comes from (``recorded_from``), strongest first:
# shown by the records (a recording reference; else a recorded flag), or inferred from the
# facility's demonstrated practice (:func:`create_practice`); NULL when still unknown.
_REF, _FLAG, _PRACTICE = (quote_literal(s) for s in RECORDING_SOURCES)
SHOWN = f"recorded_from IN ({_REF}, {_FLAG})"
INFERRED = f"recorded_from = {_PRACTICE}"


def _local_day(c: str = "c") -> str:
    """The call's local date: by the facility's clock identify inferred, else UTC."""
    return (
        f"CAST(CASE WHEN k.zone IS NOT NULL THEN timezone(k.zone, {c}.start_utc AT TIME ZONE 'UTC')"
        f" ELSE {c}.start_utc + to_hours(coalesce(k.offset_h, 0)) END AS DATE)"
    )


# A table of recording references with no flag column states "not recorded" too when it is a
# log of calls, not a list of recordings: at least this share of the calls it holds have a
# reference, and at least this share have none (a list of recordings has a reference on
# every row; an empty column says nothing).
LOG_SHARE = 0.05


def create_stated(log_share: float = LOG_SHARE) -> str:
    """The completed calls whose recording a table states, temp table ``f_stated`` (call_id,
    recorded): those with a copy in a table with a recorded flag (``f_flagged``) that says
    either way, and those with a copy in a log of calls with recording references
    (``f_reflogs`` that meet :data:`LOG_SHARE`), where a call without a reference was not
    recorded. Which calls such tables hold does not depend on their recording, so they are
    a fair sample of a facility's practice; a list of recordings alone is not."""
    share = float(log_share)
    return f"""
CREATE OR REPLACE TEMP TABLE f_stated AS
WITH u AS (
    SELECT call_id, completed, recorded, recording_ref IS NOT NULL AS has_ref,
           unnest(sources) AS s
    FROM f_calls
),
logs AS (
    SELECT g.file, g.tbl FROM u JOIN f_reflogs g ON g.file = u.s.file AND g.tbl = u.s."table"
    GROUP BY g.file, g.tbl
    HAVING count(*) FILTER (WHERE u.has_ref) >= {share!r} * count(*)
       AND count(*) FILTER (WHERE NOT u.has_ref) >= {share!r} * count(*)
)
SELECT u.call_id, bool_or(coalesce(u.recorded, u.has_ref)) AS recorded
FROM u LEFT JOIN f_flagged f ON f.file = u.s.file AND f.tbl = u.s."table"
       LEFT JOIN logs l ON l.file = u.s.file AND l.tbl = u.s."table"
WHERE u.completed AND ((f.file IS NOT NULL AND u.recorded IS NOT NULL) OR l.file IS NOT NULL)
GROUP BY u.call_id"""


def create_practice(share: float, min_calls: int, *, enabled: bool = True) -> str:
    """Each facility's demonstrated recording practice, table ``f_practice``.

    One row per facility (``''`` when unknown) and ``registered`` (the call's number was on
    the do-not-record list at the call, by :data:`COVERS`): the completed calls whose
    recording a table states (``f_stated``, :func:`create_stated`), how many of them were
    recorded, and
    ``infer``: whether that share reaches ``share`` over at least ``min_calls`` calls, so the
    facility's completed calls of that kind with no stated recording count as recorded."""
    rule = (
        f"count(*) >= {int(min_calls)} AND count(*) FILTER (WHERE s.recorded) "
        f">= {float(share)!r} * count(*)"
        if enabled
        else "false"
    )
    return f"""
CREATE OR REPLACE TEMP TABLE f_practice AS
WITH p AS (
    SELECT c.call_id, c.facility, c.dialed_number AS number, st.recorded,
           {_local_day()} AS local_day
    FROM f_calls c JOIN f_stated st USING (call_id)
    LEFT JOIN f_clocks k ON k.facility = c.facility
),
cover AS (SELECT DISTINCT p.call_id FROM p JOIN f_registry r ON {COVERS}),
s AS (
    SELECT coalesce(p.facility, '') AS facility, cover.call_id IS NOT NULL AS registered,
           p.recorded
    FROM p LEFT JOIN cover USING (call_id)
)
SELECT facility, registered, count(*) AS stated,
       count(*) FILTER (WHERE s.recorded) AS recorded, {rule} AS infer
FROM s GROUP BY facility, registered"""


def create_privileged() -> str:
    """Every call to an attorney number, with whether a registration covered it and how its
    recording is known (``recorded_from``: shown, inferred from ``f_practice``, or NULL).
    A call a log of calls shows without a recording (in ``f_stated``) is never inferred."""
    return f"""
CREATE OR REPLACE TEMP TABLE f_priv AS
WITH p AS (
    SELECT c.call_id, c.start_utc, c.facility, c.inmate_account, c.inmate_name,
           c.dialed_number AS number, n.classification, n.attorney_name, n.evidence,
           c.duration_s, c.completed, c.completed_from, c.recorded, c.recording_ref,
           c.sources, {_local_day()} AS local_day
    FROM f_calls c JOIN f_numbers n ON c.dialed_number = n.number
    LEFT JOIN f_clocks k ON k.facility = c.facility
    WHERE n.classification IN ({_CLASSES})
),
cover AS (
    SELECT p.call_id,
           string_agg(r.source_file || ' row ' || r.source_row::VARCHAR, '; '
                      ORDER BY r.source_file, r.source_row) AS registry_entry
    FROM p JOIN f_registry r ON {COVERS}
    GROUP BY p.call_id
),
q AS (
    SELECT p.* EXCLUDE (local_day), cover.call_id IS NOT NULL AS registered_at_call,
           cover.registry_entry,
           CASE WHEN p.recording_ref IS NOT NULL THEN {_REF}
                WHEN p.recorded IS NOT NULL THEN {_FLAG}
                WHEN p.completed AND coalesce(k.infer, false) AND st.call_id IS NULL
                    THEN {_PRACTICE}
           END AS recorded_from
    FROM p LEFT JOIN cover USING (call_id)
    LEFT JOIN f_stated st USING (call_id)
    LEFT JOIN f_practice k ON k.facility = coalesce(p.facility, '')
                          AND k.registered = (cover.call_id IS NOT NULL)
)
SELECT q.* EXCLUDE (recorded, registry_entry),
       coalesce(q.recorded, {INFERRED}) AS recorded,
       (registered_at_call AND coalesce(q.recorded, {INFERRED})) AS registry_violation,
       registry_entry
FROM q"""


# The order of each CSV's rows, by its output columns (repeated around the safe-CSV query).
PRIVILEGED_ORDER = "start_utc, call_id"
# The one findings table kept apart from the exports, per person in custody, in clear, is
# built by audit.sql.by_inmate_sql, which the report's exports/by_inmate (pseudonymized)
# uses too: one table, two audiences. The per-facility, per-month and per-number tables
# name no one, so they exist once, in shareable/exports/.


def privileged_csv_query() -> str:
    """Rows of ``privileged_calls.csv``: each privileged call with its provenance."""
    return f"""
SELECT call_id, strftime(start_utc, '%Y-%m-%d %H:%M:%S') AS start_utc, facility,
       inmate_account, inmate_name, number, classification, attorney_name, evidence,
       duration_s, completed, completed_from, recorded, recorded_from, registered_at_call,
       registry_violation, registry_entry, recording_ref,
       array_to_string(list_transform(sources, lambda s: s.file || ':' || s."table" || ':'
                                      || s."row"::VARCHAR), '; ') AS sources
FROM f_priv ORDER BY {PRIVILEGED_ORDER}"""


def practice_query() -> str:
    """Each facility's measured practice, for the summary: the ones with stated calls, plus
    how many calls to attorney numbers each inference covers."""
    return f"""
SELECT k.facility, k.registered, k.stated, k.recorded, k.infer, coalesce(i.n, 0) AS inferred
FROM f_practice k LEFT JOIN (
    SELECT coalesce(facility, '') AS facility, registered_at_call AS registered, count(*) AS n
    FROM f_priv WHERE {INFERRED} GROUP BY 1, 2
) i ON i.facility = k.facility AND i.registered = k.registered
ORDER BY k.facility, k.registered"""


def hidden_violations_query() -> str:
    """Calls to listed numbers of unknown recording, per facility (``''`` when unknown), in
    one pass: the completed ones whose rows all sit in tables that can say nothing of
    recording (what :func:`estimate.estimate_hidden` estimates from); the completed ones
    with a row in a table of recording references (``f_reflogs``) that shows none for them;
    and those whose completion is unknown too. Only the first are like the stated calls: a
    recorded call would have shown its reference, so being unknown there already says
    "probably not recorded", and estimating them at the stated rate would count phantom
    violations (the sparse layouts: 239 estimated where 18 were hidden); the rate is of
    completed calls, so the last are never estimated either."""
    return """
WITH u AS (
    SELECT call_id, coalesce(facility, '') AS facility, completed, unnest(sources) AS s
    FROM f_priv WHERE registered_at_call AND recorded IS NULL AND completed IS NOT FALSE
),
r AS (
    SELECT DISTINCT u.call_id
    FROM u JOIN f_reflogs g ON g.file = u.s.file AND g.tbl = u.s."table"
)
SELECT u.facility,
       count(DISTINCT u.call_id) FILTER (WHERE u.completed AND r.call_id IS NULL) AS blind,
       count(DISTINCT u.call_id) FILTER (WHERE u.completed AND r.call_id IS NOT NULL)
           AS in_reference_tables,
       count(DISTINCT u.call_id) FILTER (WHERE u.completed IS NULL) AS completion_unknown
FROM u LEFT JOIN r USING (call_id) GROUP BY 1 ORDER BY 1"""


def undated_registry_query() -> str:
    """Registry entries with no date added (counted as listed from the start)."""
    return "SELECT count(*) FROM f_registry WHERE registered_from IS NULL"


def registry_flags_query() -> str:
    """Each privileged call's registry status, for the report to reuse rather than redo."""
    return (
        "SELECT call_id, registered_at_call, registry_violation, recorded, recorded_from "
        "FROM f_priv ORDER BY call_id"
    )


def _counts() -> str:
    return (
        "count(*) AS privileged_calls, "
        "count(*) FILTER (WHERE completed) AS completed_privileged_calls, "
        # Completion no record states: inferred from duration or recording, or unknown.
        "count(*) FILTER (WHERE completed_from <> 'status') AS privileged_calls_completion_inferred, "
        "count(*) FILTER (WHERE completed IS NULL) AS privileged_calls_completion_unknown, "
        # Recorded: shown by the records plus inferred from the facility's practice, each
        # also counted apart; never one presented as the other.
        "count(*) FILTER (WHERE recorded) AS privileged_calls_recorded, "
        f"count(*) FILTER (WHERE recorded AND {SHOWN}) AS privileged_calls_recorded_shown, "
        f"count(*) FILTER (WHERE {INFERRED}) AS privileged_calls_recorded_inferred, "
        "count(*) FILTER (WHERE recorded AND completed) AS completed_privileged_calls_recorded, "
        # No copy says whether they were recorded and no practice settles it: reported apart.
        "count(*) FILTER (WHERE recorded IS NULL) AS privileged_calls_recording_unknown, "
        "count(*) FILTER (WHERE registry_violation) AS registry_violations, "
        f"count(*) FILTER (WHERE registry_violation AND {SHOWN}) AS registry_violations_shown, "
        f"count(*) FILTER (WHERE registry_violation AND {INFERRED}) "
        "AS registry_violations_inferred, "
        "count(*) FILTER (WHERE registered_at_call AND recorded IS NULL) "
        "AS registered_calls_recording_unknown"
    )


SUMMARY_FIELDS: tuple[str, ...] = (
    "calls",
    "calls_to_invalid_numbers",
    "completed_calls",
    "calls_completion_inferred",
    "calls_completion_unknown",
    "unique_numbers",
    "inmates",
    "first_call",
    "last_call",
    "attorney_numbers",
    "candidate_numbers",
    "privileged_calls",
    "completed_privileged_calls",
    "privileged_calls_completion_inferred",
    "privileged_calls_completion_unknown",
    "privileged_calls_recorded",
    "privileged_calls_recorded_shown",
    "privileged_calls_recorded_inferred",
    "completed_privileged_calls_recorded",
    "privileged_calls_recording_unknown",
    "registry_violations",
    "registry_violations_shown",
    "registry_violations_inferred",
    "registered_calls_recording_unknown",
    "privileged_inmates",
    "candidate_calls",
    "candidate_calls_recorded",
)


def summary_query() -> str:
    """The headline figures, one row."""
    return f"""
WITH c AS (
    SELECT count(*) AS calls, count(*) FILTER (WHERE dialed_number IS NULL)
               AS calls_to_invalid_numbers,
           count(*) FILTER (WHERE completed) AS completed_calls,
           count(*) FILTER (WHERE completed_from <> 'status') AS calls_completion_inferred,
           count(*) FILTER (WHERE completed IS NULL) AS calls_completion_unknown,
           count(DISTINCT dialed_number) AS unique_numbers,
           count(DISTINCT (facility, inmate_account))
               FILTER (WHERE inmate_account IS NOT NULL) AS inmates,
           min(start_utc) AS first_call, max(start_utc) AS last_call
    FROM f_calls
),
n AS (
    SELECT count(*) FILTER (WHERE classification IN ({_CLASSES})) AS attorney_numbers,
           count(*) FILTER (WHERE classification = 'candidate') AS candidate_numbers
    FROM f_numbers
),
p AS (SELECT {_counts()}, count(DISTINCT (facility, inmate_account)) AS privileged_inmates
      FROM f_priv),
k AS (
    SELECT count(*) AS candidate_calls, count(*) FILTER (WHERE c.recorded) AS candidate_calls_recorded
    FROM f_calls c JOIN f_numbers n ON c.dialed_number = n.number
    WHERE n.classification = 'candidate'
)
SELECT {", ".join(SUMMARY_FIELDS)} FROM c, n, p, k"""


def invalid_reasons_query() -> str:
    """Calls to numbers that failed validation, per reason (``number_status`` minus "invalid: ")."""
    return """
SELECT coalesce(nullif(regexp_replace(number_status, '^invalid: ', ''), 'valid'), 'empty'),
       count(*)
FROM f_calls WHERE dialed_number IS NULL GROUP BY 1 ORDER BY 2 DESC, 1"""


def classes_query() -> str:
    """Called numbers per class."""
    return "SELECT classification, count(*) FROM f_numbers GROUP BY 1 ORDER BY 1"


def clocks_view_sql(clocks: Path | None) -> str:
    """Temp view ``f_clocks`` (facility, zone, offset_h) over identify's ``clocks`` file, or
    empty when identify wrote none."""
    return "CREATE OR REPLACE TEMP VIEW f_clocks AS " + (
        f"SELECT facility, zone, offset_h FROM {parquet_source(clocks)}"
        if clocks is not None
        else "SELECT NULL::VARCHAR AS facility, NULL::VARCHAR AS zone, 0 AS offset_h WHERE false"
    )
