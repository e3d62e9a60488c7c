"""SQL of the identify stage, built by pure functions that return text.

Relations the statements expect (created by :mod:`privguard.internals.audit.identify.api`; the
``id_`` prefix keeps them apart from other stages sharing one executor):

* ``id_calls``      the call table (``OUT/calls.parquet``, ``schema.CALL_COLUMNS``)
* ``id_fac_zone``   facility, zone (IANA or NULL), offset_h (hours added to UTC if no zone)
* ``id_directory``  number, attorney_name, bar_number, source_file, source_place, source_row
* ``id_registry``   number, registered_from, registered_until, facility, registrant, source_*
* ``id_labels``     number, decision (confirm/reject), note, source_file, source_row
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from privguard.internals.audit.sql import parquet_source, quote_ident, quote_literal

# Business hours: Monday to Friday, 08:00 to 17:59 local time.
BUSINESS = "(isodow(lt) <= 5 AND hour(lt) BETWEEN 8 AND 17)"
NIGHT = "(hour(lt) >= 21 OR hour(lt) < 7)"
SHORT_S = 120
EXACT = "completed AND duration_s > 0 AND NOT coalesce(duration_rounded, false)"
# Under two minutes; a billed "2 minutes" may be anything from 61 to 120 seconds.
SHORT = (
    f"CASE WHEN duration_s < {SHORT_S} OR (duration_rounded AND duration_s <= {SHORT_S}) "
    "THEN 1.0 ELSE 0.0 END"
)
# A line with a single caller is judged only on strong evidence: this many calls, nearly all
# in office hours (lower bound of the share). A family line is never called like that.
SOLO_MIN_CALLS = 20
SOLO_MIN_BUSINESS = 0.85

FEATURE_COLUMNS: tuple[str, ...] = (
    "calls",
    "call_hours",
    "completed_calls",
    "inmates",
    "facilities",
    "business_share",
    "night_share",
    "weekend_share",
    "median_duration_s",
    "short_share",
    "top_inmate_share",
    "effective_callers",
    "attorney_caller_share",
)


@dataclass(frozen=True)
class Weights:
    """How much each sub-score counts in the weighted geometric mean that is the score."""

    fan_in: float = 1.0
    hours: float = 2.0
    duration: float = 1.0
    brevity: float = 1.0
    overlap: float = 0.0


def hour_histogram() -> str:
    """Calls per facility, season and UTC hour of day: small, to infer a facility's clock."""
    return (
        "SELECT facility, CASE WHEN month(start_utc) IN (12, 1, 2) THEN 'winter' "
        "WHEN month(start_utc) IN (6, 7, 8) THEN 'summer' ELSE 'spring_autumn' END AS season, "
        "hour(start_utc) AS h, count(*) AS n FROM id_calls "
        "WHERE start_utc IS NOT NULL GROUP BY ALL ORDER BY ALL"
    )


def local_time(ts: str = "c.start_utc") -> str:
    """Local wall-clock time of a call from the facility's zone, else its inferred offset."""
    return (
        f"CASE WHEN z.zone IS NOT NULL THEN timezone(z.zone, {ts} AT TIME ZONE 'UTC') "
        f"ELSE {ts} + to_hours(coalesce(z.offset_h, 0)) END"
    )


def known_numbers() -> str:
    """Numbers already known as attorneys' before looking at call patterns."""
    return (
        "SELECT number FROM id_directory UNION SELECT number FROM id_registry "
        "UNION SELECT number FROM id_labels WHERE decision = 'confirm'"
    )


def label_conflicts() -> str:
    """Numbers a reviewer rejected although a directory or registry lists them."""
    return (
        "SELECT DISTINCT number FROM id_labels WHERE decision = 'reject' AND number IN "
        "(SELECT number FROM id_directory UNION SELECT number FROM id_registry) ORDER BY 1"
    )


def create_pairs() -> str:
    """One row per (number, caller) with the caller's call count: the basis of fan-in."""
    return f"""
CREATE OR REPLACE TEMP TABLE id_pairs AS
SELECT c.dialed_number AS number, c.facility, c.inmate_account, count(*) AS n,
       count(*) FILTER (WHERE {BUSINESS}) AS n_business,
       count(*) FILTER (WHERE {NIGHT}) AS n_night,
       count(*) FILTER (WHERE isodow(lt) >= 6) AS n_weekend
FROM (SELECT c.*, {local_time()} AS lt FROM id_calls c LEFT JOIN id_fac_zone z USING (facility)) c
WHERE c.dialed_number IS NOT NULL
GROUP BY ALL"""


def create_durations() -> str:
    """Per-number duration and hour evidence from the calls, as its own table.

    Kept apart from :func:`create_features`: planned inside that one statement, the
    distinct-hours count and the medians were joined back on a misestimated side and
    spilled over 50 GB at 144 M rows. Billed minutes are rounded up, so exact durations
    are used when the number has any; copies of one call that dedupe left apart fall in
    the same hour, so evidence is counted in distinct hours, not rows.
    """
    return f"""
CREATE OR REPLACE TEMP TABLE id_durations AS
WITH hours AS (
    SELECT dialed_number AS number, count(h) AS call_hours
    FROM (SELECT DISTINCT dialed_number, date_trunc('hour', start_utc) AS h
          FROM id_calls WHERE dialed_number IS NOT NULL)
    GROUP BY dialed_number
), stats AS (
    SELECT dialed_number AS number, count(*) FILTER (WHERE completed) AS completed_calls,
           coalesce(median(duration_s) FILTER (WHERE {EXACT}),
                    median(duration_s) FILTER (WHERE completed AND duration_s > 0))
               AS median_duration_s,
           coalesce(avg({SHORT}) FILTER (WHERE {EXACT}),
                    avg({SHORT}) FILTER (WHERE completed AND duration_s > 0)) AS short_share
    FROM id_calls WHERE dialed_number IS NOT NULL GROUP BY dialed_number
)
SELECT number, h.call_hours, s.completed_calls, s.median_duration_s, s.short_share
FROM stats s JOIN hours h USING (number)"""


def create_features() -> str:
    """Per-number pattern features, all computed in the engine.

    A caller is an inmate account, whatever facility code the row carries: one person's
    calls must not count as several callers when tables spell the facility differently.
    Calls without an account (some billing tables) say nothing about who called.
    """
    return f"""
CREATE OR REPLACE TEMP TABLE id_features AS
WITH known AS ({known_numbers()}),
callers AS (
    SELECT number, inmate_account, sum(n) AS n
    FROM id_pairs WHERE inmate_account IS NOT NULL GROUP BY number, inmate_account
),
caller_known AS (
    SELECT inmate_account, count(*) AS k
    FROM callers SEMI JOIN known USING (number) GROUP BY inmate_account
),
overlap AS (
    SELECT p.number,
           avg(CASE WHEN coalesce(ck.k, 0) - (CASE WHEN kn.number IS NULL THEN 0 ELSE 1 END) > 0
                    THEN 1.0 ELSE 0.0 END) AS attorney_caller_share,
           count(*) AS inmates, max(n) / sum(n) AS top_inmate_share,
           sum(n) * sum(n) / sum(n * n) AS effective_callers
    FROM callers p
    LEFT JOIN caller_known ck USING (inmate_account)
    LEFT JOIN known kn USING (number)
    GROUP BY p.number
),
hours AS (
    SELECT number, sum(n)::BIGINT AS calls, count(DISTINCT facility) AS facilities,
           sum(n_business) / sum(n) AS business_share, sum(n_night) / sum(n) AS night_share,
           sum(n_weekend) / sum(n) AS weekend_share
    FROM id_pairs GROUP BY number
)
SELECT h.number, h.calls, d.call_hours, d.completed_calls, coalesce(o.inmates, 0) AS inmates, h.facilities,
       h.business_share, h.night_share, h.weekend_share,
       d.median_duration_s::DOUBLE AS median_duration_s, d.short_share, o.top_inmate_share,
       coalesce(o.effective_callers, 0) AS effective_callers, o.attorney_caller_share
FROM hours h JOIN id_durations d USING (number) LEFT JOIN overlap o USING (number)"""


# Sub-scores that need a feature some dumps lack entirely, with the feature column: a dump
# where no number has it (no durations, or no call known to be completed) is scored on the
# other sub-scores, and the evidence says so, rather than every number scoring ~0 (issue 11).
NEEDS: dict[str, str] = {"duration": "median_duration_s", "brevity": "short_share"}


def missing_features_sql(features: str) -> str:
    """One row: for each sub-score of :data:`NEEDS`, whether no number of ``features`` has it."""
    cols = ", ".join(f"count(*) > 0 AND count({c}) = 0 AS {name}" for name, c in NEEDS.items())
    return f"SELECT {cols} FROM {features}"


def _clamp(expr: str) -> str:
    return f"least(1.0, greatest(0.0, {expr}))"


def wilson_low(share: str, n: str, z: float = 1.64) -> str:
    """Lower bound of a share observed over ``n`` trials (Wilson, one-sided 95%)."""
    zz = z * z
    return (
        f"(({share}) + {zz / 2}/({n}) - {z}*sqrt(({share})*(1-({share}))/({n}) "
        f"+ {zz / 4}/(({n})*({n})))) / (1 + {zz}/({n}))"
    )


def sub_scores() -> dict[str, str]:
    """Each feature mapped to 0..1, 1 = attorney-like. Each confounder fails at least one."""
    return {
        # Effective number of callers (1 / sum of squared call shares): a family line has
        # about one; 1 -> 0.4, 2 -> 0.57, 5 -> 0.77, 10 -> 0.87.
        "fan_in": "effective_callers / (effective_callers + 1.5)",
        # ~0.45 is what calls spread evenly over phone hours give (bail bonds, hotlines).
        # The share's lower confidence bound, so a few lucky calls do not look like office hours.
        "hours": _clamp(f"({wilson_low('business_share', 'call_hours')} - 0.45) / 0.40"),
        # Court clerks and bail bondsmen: a minute or two. Legal calls run longer.
        "duration": _clamp("(coalesce(median_duration_s, 0) - 120.0) / 180.0"),
        # Share of completed calls under 2 minutes: few for attorneys, most for clerks.
        "brevity": _clamp("(0.40 - coalesce(short_share, 1)) / 0.25"),
        # Callers who also call known attorneys (lift over all callers' baseline).
        "overlap": _clamp("coalesce(attorney_caller_share, 0) / 0.5"),
    }


def score(weights: Weights) -> str:
    """The score: a weighted geometric mean of the sub-scores, floored so one zero is not -inf."""
    parts = []
    total = 0.0
    for name, expr in sub_scores().items():
        w = getattr(weights, name)
        if w > 0:
            parts.append(f"{w!r} * ln(0.02 + 0.98 * ({expr}))")
            total += w
    return f"round(exp(({' + '.join(parts)}) / {total!r}), 4)"


def _pct(expr: str) -> str:
    return f"CAST(round(100 * coalesce({expr}, 0)) AS INTEGER)::VARCHAR || '%'"


def _count(expr: str, one: str, many: str) -> str:
    """SQL text: ``expr`` with its noun in the right number ('1 facility', '3 facilities')."""
    return f"{expr}::VARCHAR || CASE WHEN {expr} = 1 THEN ' {one}' ELSE ' {many}' END"


# The sub-scores of NEEDS as a reader would name them.
PLAIN_NEEDS = {"duration": "the median call length", "brevity": "the share of short calls"}


def pattern_text(missing: tuple[str, ...] = ()) -> str:
    """The features as sentences a person can read (plain words: the effective number of
    callers and the sub-scores' names stay in the numbers export and the appendix)."""
    left_out = " and ".join(PLAIN_NEEDS.get(m, m) for m in missing)
    note = (
        f" || {quote_literal('; scored without ' + left_out + ': no call in the dump has a completed duration')}"
        if missing
        else ""
    )
    return (
        "'call pattern score ' || printf('%.2f', score) || ' of 1: '"
        f" || {_count('calls', 'call', 'calls')} || ' from '"
        f" || {_count('inmates', 'person', 'people')} || ' in custody at '"
        f" || {_count('facilities', 'facility', 'facilities')} || '; '"
        f" || {_pct('business_share')} || ' in weekday business hours, '"
        f" || {_pct('night_share')} || ' at night; the median call lasted '"
        " || printf('%.1f', coalesce(median_duration_s, 0) / 60.0) || ' min and '"
        f" || {_pct('short_share')} || ' lasted under 2 min; the most frequent caller made '"
        f" || {_pct('top_inmate_share')} || ' of the calls; '"
        f" || {_pct('attorney_caller_share')} || ' of the callers also call known attorney numbers'"
        f"{note}"
    )


def holders(table: str, name: str) -> str:
    """``table`` with ``first_listing``: True on the first row naming each (number, holder)."""
    return (
        f"(SELECT *, row_number() OVER (PARTITION BY number, {name} "
        f"ORDER BY source_file, source_row) = 1 AS first_listing FROM {table})"
    )


def _all_holders(name: str) -> str:
    """Every distinct holder of a number in file order: a shared number keeps all its names."""
    return f"string_agg({name}, '; ' ORDER BY source_file, source_row) FILTER (WHERE first_listing)"


def directory_evidence() -> str:
    """One evidence line per number from every directory row that lists it."""
    return f"""
SELECT number, {_all_holders("attorney_name")} AS attorney_name,
       string_agg(source_file, '; ' ORDER BY source_file, source_row) AS files,
       string_agg('in directory ' || source_place || ': ' || coalesce(attorney_name, '(no name)')
                  || coalesce(' (bar #' || bar_number || ')', ''),
                  '; ' ORDER BY source_file, source_row) AS evidence
FROM {holders("id_directory", "attorney_name")} GROUP BY number"""


def registry_evidence() -> str:
    """One evidence line per number from every registry interval that lists it."""
    return f"""
SELECT number, min(registered_from) AS registered_from,
       CASE WHEN bool_or(registered_until IS NULL) THEN NULL
            ELSE max(registered_until) END AS registered_until,
       {_all_holders("registrant")} AS registrant,
       string_agg(source_file, '; ' ORDER BY source_file, source_row) AS files,
       string_agg('registered ' || coalesce(strftime(registered_from, '%Y-%m-%d'),
                                            '(date added not given)')
                  || ' in ' || source_place
                  || coalesce(', removed ' || strftime(registered_until, '%Y-%m-%d'), '')
                  || coalesce(', facility ' || facility, ', all facilities'),
                  '; ' ORDER BY source_file, source_row) AS evidence
FROM {holders("id_registry", "registrant")} GROUP BY number"""


def label_decisions() -> str:
    """The last decision per number across the labels files (later rows win)."""
    return """
SELECT number, last(decision ORDER BY source_file, source_row) AS decision,
       last(note ORDER BY source_file, source_row) AS note,
       last(attorney_name ORDER BY source_file, source_row) AS attorney_name,
       last(source_file ORDER BY source_file, source_row) AS files
FROM id_labels GROUP BY number"""


def numbers_table(
    weights: Weights,
    threshold: float,
    min_calls: int,
    min_inmates: int,
    missing: tuple[str, ...] = (),
) -> str:
    """``OUT/numbers.parquet``: every called number classified, with its evidence.

    ``missing`` names the sub-scores the dump gives no evidence for; their weight is
    dropped, so the score is the weighted mean of the others."""
    weights = replace(weights, **{name: 0.0 for name in missing})
    eligible = (
        f"((calls >= {int(min_calls)} AND inmates >= {int(min_inmates)}) OR "
        f"(call_hours >= {SOLO_MIN_CALLS} AND {wilson_low('business_share', 'call_hours')} >= "
        f"{SOLO_MIN_BUSINESS}))"
    )
    return f"""
WITH f AS (SELECT *, {score(weights)} AS score FROM id_features),
d AS ({directory_evidence()}), r AS ({registry_evidence()}), l AS ({label_decisions()})
SELECT f.number,
  CASE WHEN r.number IS NOT NULL THEN 'registered'
       WHEN d.number IS NOT NULL THEN 'directory_attorney'
       WHEN l.decision = 'confirm' THEN 'confirmed'
       WHEN l.decision = 'reject' THEN 'other'
       WHEN {eligible} AND f.score >= {float(threshold)!r} THEN 'candidate'
       ELSE 'other' END AS classification,
  CASE WHEN r.number IS NOT NULL THEN r.evidence || coalesce('; ' || d.evidence, '')
       WHEN d.number IS NOT NULL THEN d.evidence
       WHEN l.decision = 'confirm' THEN 'confirmed by review' || coalesce(': ' || l.note, '')
       WHEN l.decision = 'reject' THEN 'rejected by review' || coalesce(': ' || l.note, '')
       WHEN {eligible} THEN {pattern_text(missing)}
           || CASE WHEN f.score >= {float(threshold)!r} THEN '' ELSE '; below the review threshold of '
                   || printf('%.2f', {float(threshold)!r}) END
       ELSE 'not in any directory or registry; too few calls to judge ('
           || {_count("calls", "call", "calls")} || ' from '
           || {_count("inmates", "person", "people")} || ' in custody)' END AS evidence,
  r.registered_from, r.registered_until,
  coalesce(d.attorney_name, r.registrant,
           CASE WHEN l.decision = 'confirm' THEN l.attorney_name END) AS attorney_name,
  CASE WHEN r.number IS NOT NULL OR d.number IS NOT NULL
       THEN concat_ws('; ', r.files, d.files) ELSE l.files END AS evidence_file,
  f.score, {", ".join("f." + c for c in FEATURE_COLUMNS)},
  l.decision AS review_decision, l.note AS review_note
FROM f LEFT JOIN d USING (number) LEFT JOIN r USING (number) LEFT JOIN l USING (number)
ORDER BY f.number"""


def registry_table() -> str:
    """``OUT/registry.parquet``: every registry interval, in file order."""
    return (
        "SELECT number, registered_from, registered_until, facility, registrant, "
        "source_file, source_row, source_place FROM id_registry "
        "ORDER BY source_file, source_row, number"
    )


# The review sheet's columns, named for a reviewer (not a programmer). The sheet is read
# back by ``lists.load_labels`` through "Number", "Decision", "Attorney name" and "Note",
# which also match the former names (number, decision, attorney_name, note).
REVIEW_COLUMNS = (
    "Number", "Pseudonym in the report", "Classification", "Score (0 to 1)", "Calls",
    "Inmates who called", "Facilities", "Share in business hours", "Share at night",
    "Median call minutes", "Share of short calls", "Share from the top caller",
    "Effective callers", "Share of callers who also call attorneys", "Why it was flagged",
    "Decision", "Attorney name", "Note",
)  # fmt: skip
REVIEW_ORDER = '"Score (0 to 1)" DESC, "Number"'


def review_sheet(numbers_path: str, pseudonym: str = "NULL") -> str:
    """Rows of the review sheet: candidates and numbers already reviewed, best score first.

    ``pseudonym``: SQL over ``number`` giving the pseudonym the report shows for it
    (``NULL``: the report shows numbers in clear, or no case key is known)."""
    values = (
        "number", f"CAST({pseudonym} AS VARCHAR)", "classification", "score", "calls",
        "inmates", "facilities", "round(business_share, 3)", "round(night_share, 3)",
        "round(median_duration_s / 60.0, 1)", "round(short_share, 3)",
        "round(top_inmate_share, 3)", "round(effective_callers, 1)",
        "round(attorney_caller_share, 3)", "evidence", "coalesce(review_decision, '')",
        "coalesce(attorney_name, '')", "coalesce(review_note, '')",
    )  # fmt: skip
    cols = ",\n       ".join(
        f"{v} AS {quote_ident(n)}" for v, n in zip(values, REVIEW_COLUMNS, strict=True)
    )
    return f"""
SELECT {cols}
FROM {parquet_source(numbers_path)}
WHERE classification = 'candidate' OR review_decision IS NOT NULL
ORDER BY score DESC, number"""


def clocks_sql() -> str:
    """Each facility's clock as identify inferred it (temp ``id_fac_zone``), by facility."""
    return "SELECT * FROM id_fac_zone ORDER BY facility"


def classification_counts_sql(numbers: Path) -> str:
    """(classification, numbers) of a written ``numbers.parquet``."""
    return f"SELECT classification, count(*) FROM {parquet_source(numbers)} GROUP BY 1"


def unknown_facilities_sql() -> str:
    """Facilities of facility-specific registry entries that no call names."""
    return (
        "SELECT DISTINCT facility FROM id_registry WHERE facility IS NOT NULL AND facility NOT IN "
        "(SELECT DISTINCT upper(trim(facility)) FROM id_calls WHERE facility IS NOT NULL)"
    )
