"""The vectorized North American fast path for phone numbers, as SQL expressions (pure).

Every expression takes the SQL text of a raw VARCHAR column and returns SQL text.
The fast path decides the common cases inside the engine: punctuation, a leading
``1`` or ``+1``, vanity letters (1-800-FLOWERS), an extension (``x``, ``ext``, ``#``)
and the NANP rules (area code and exchange start 2-9 and are not N11). What it
cannot decide (international numbers, odd text) it leaves NULL in ``status`` so
that :mod:`privguard.internals.common.phones` parses those *distinct* values.

:func:`number_key` is the one key a number is matched on downstream, valid or not.
"""

from __future__ import annotations

# An extension at the end: "x12", "ext. 12", "extension 12", "#12".
_EXT_RE = r"\s*(?:EXTENSION|EXT\.?|X|#)\s*([0-9]{1,6})\s*$"
# Characters a person uses to punctuate a North American number.
_PUNCT_ONLY_RE = r"^\+?[0-9\s\-\.\(\)/]+$"
# A vanity number: optional 1, a 3-digit area code, then at least 7 letters or digits.
_VANITY_RE = r"^(?:\+?1[\s\-\.]*)?\(?[0-9]{3}\)?[\s\-\.]*[0-9A-Z](?:[\s\-\.]*[0-9A-Z]){6,}$"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_KEYPAD = "22233344455566677778889999"
# Scientific notation a spreadsheet wrote ("2.12555E+09"): whole digit, fraction, exponent.
_SCI_RE = r"^([0-9])(?:\.([0-9]*))?E\+?([0-9]{1,2})$"
SCI_LOST = "invalid: digits lost to scientific notation"


def _written_out(text: str) -> str:
    """Scientific notation written out as digits when it kept every digit, else unchanged."""
    whole, frac = f"regexp_extract(x, '{_SCI_RE}', 1)", f"regexp_extract(x, '{_SCI_RE}', 2)"
    exp = f"CAST(regexp_extract(x, '{_SCI_RE}', 3) AS INTEGER)"
    exact = f"length({frac}) >= {exp} AND ltrim(substr({frac}, {exp} + 1), '0') = ''"
    # A one-element list lambda binds the text once; the guard is a cheap substring test.
    return (
        f"list_transform([{text}], lambda x: CASE WHEN contains(x, 'E') "
        f"AND regexp_full_match(x, '{_SCI_RE}') AND {exact} "
        f"THEN {whole} || substr({frac}, 1, {exp}) ELSE x END)[1]"
    )


def cleaned(raw: str) -> str:
    """Upper-cased, trimmed text; a spreadsheet float tail (".0") removed and scientific
    notation written out when it kept every digit ("2.125550100E+09")."""
    text = rf"regexp_replace(upper(trim({raw})), '^([0-9]{{7,15}})\.0+$', '\1')"
    return _written_out(text)


def extension(raw: str) -> str:
    """The extension written after the number, or NULL."""
    return f"nullif(regexp_extract({cleaned(raw)}, '{_EXT_RE}', 1), '')"


def _main(raw: str) -> str:
    return f"regexp_replace({cleaned(raw)}, '{_EXT_RE}', '')"


def digits(raw: str) -> str:
    """The digits of the number without its extension, vanity letters turned into digits."""
    return f"regexp_replace(translate({_main(raw)}, '{_LETTERS}', '{_KEYPAD}'), '[^0-9]', '', 'g')"


def number_key(raw: str) -> str:
    """The number as dialed, as one text whichever way it was written; NULL without digits.

    This is what dedupe matches calls on, so it must be the same for every way people
    write one number and different for any two numbers. A valid number's key is its
    E.164 (the caller takes it from the parse, see ``normalize.api``); this expression
    keys what failed validation, by the same rules the fast path reads a number with:

    * a leading ``+`` is international: ``+`` and the digits (``+1 211 555 0100`` is
      ``+12115550100``);
    * 10 digits are a North American number and 11 digits starting with ``1`` the same
      number with its trunk ``1``: ``+1`` and the 10 digits. Ten digits stay North
      American even when they start with ``011`` (``(011) 555-0100`` is written in both
      layouts of issue #21 as an area code, ``+10115550100`` in one);
    * any other length starting with ``011`` (the North American international prefix)
      reads it as a ``+``;
    * any other length (a 7-digit local number, 9 or 12 digits) keeps its bare digits,
      without ``+``, so it can never equal a number of another length or one written
      with a country code;
    * punctuation, an extension and a spreadsheet's ``.0`` are dropped; letters become
      keypad digits only in a vanity number (``1-800-FLOWERS``), never in text such as
      ``UNKNOWN``;
    * scientific notation that lost digits (``2.12555E+09``) is keyed by its text with a
      ``~``: only the same text matches, never a number with digits.
    """
    # One-element list lambdas bind the cleaned text (pg_m) and its digits (pg_d) once
    # each: written out, every use would repeat the cleaning regexes.
    d = (
        f"CASE WHEN regexp_full_match(pg_m, '{_VANITY_RE}') "
        f"THEN regexp_replace(translate(pg_m, '{_LETTERS}', '{_KEYPAD}'), '[^0-9]', '', 'g') "
        "ELSE regexp_replace(pg_m, '[^0-9]', '', 'g') END"
    )
    key = f"""CASE WHEN pg_d IS NULL OR pg_d = '' THEN NULL
         WHEN regexp_full_match(pg_m, '{_SCI_RE}') THEN '~' || pg_m
         WHEN starts_with(pg_m, '+') THEN '+' || pg_d
         WHEN length(pg_d) = 10 THEN '+1' || pg_d
         WHEN length(pg_d) = 11 AND starts_with(pg_d, '1') THEN '+' || pg_d
         WHEN starts_with(pg_d, '011') AND length(pg_d) > 3 THEN '+' || substr(pg_d, 4)
         ELSE pg_d END"""
    return (
        f"list_transform([{_main(raw)}], lambda pg_m: "
        f"list_transform([{d}], lambda pg_d: {key})[1])[1]"
    )


def fast_path_select(raw: str) -> str:
    """SELECT list (``fast_e164``, ``fast_status``) for one raw value named ``raw``.

    ``fast_status`` is ``valid``, ``invalid: <reason>`` or NULL (undecided: the
    libphonenumber fallback decides it). Meant to run over DISTINCT raw values. Written
    out in one expression (each intermediate repeated where used); :func:`numbers_sql`
    computes the same in layers, each intermediate once.
    """
    main = _main(raw)
    d = digits(raw)
    return _verdicts(
        raw,
        main,
        d,
        f"(regexp_full_match({main}, '{_PUNCT_ONLY_RE}') OR regexp_full_match({main}, '{_VANITY_RE}'))",
        f"regexp_full_match({main}, '{_SCI_RE}')",
        extension(raw),
    )


def _verdicts(raw: str, main: str, d: str, shape_ok: str, sci: str, ext: str) -> str:
    """The fast path's verdict columns from its intermediates (columns or expressions)."""
    # International prefixes and a '+' not followed by 1 go to the fallback.
    # Ten digits starting 011 are an area code 011 (invalid), as number_key reads them.
    intl = (
        f"(starts_with(ltrim({main}), '+') AND NOT starts_with(ltrim({main}, '+ '), '1')) "
        f"OR (starts_with({d}, '011') AND length({d}) <> 10)"
    )
    nanp = (
        f"CASE WHEN length({d}) = 10 THEN {d} "
        f"WHEN length({d}) = 11 AND starts_with({d}, '1') THEN substr({d}, 2) END"
    )
    return f"""
    CASE WHEN {raw} IS NULL OR trim({raw}) = '' THEN NULL
         WHEN NOT {shape_ok} OR {intl} OR ({nanp}) IS NULL THEN NULL
         ELSE '+1' || ({nanp}) END AS fast_e164_candidate,
    CASE WHEN {raw} IS NULL OR trim({raw}) = '' THEN 'invalid: empty'
         WHEN {sci} THEN '{SCI_LOST}'
         WHEN NOT {shape_ok} OR {intl} OR ({nanp}) IS NULL THEN NULL
         WHEN substr(({nanp}), 1, 1) IN ('0', '1') THEN 'invalid: area code starts with 0 or 1'
         WHEN substr(({nanp}), 2, 2) = '11' THEN 'invalid: area code is an N11 service code'
         WHEN substr(({nanp}), 4, 1) IN ('0', '1') THEN 'invalid: exchange starts with 0 or 1'
         WHEN substr(({nanp}), 5, 2) = '11' THEN 'invalid: exchange is an N11 service code'
         ELSE 'valid' END AS fast_status,
    {ext} AS fast_extension"""


def numbers_sql(source: str, column: str = "dialed_number") -> str:
    """Each distinct raw number of ``source``: ``raw, e164, status, extension, number_key``.

    The same values as :func:`distinct_numbers_sql` with ``coalesce(e164,``
    :func:`number_key` ``(raw))``, built in layers over the DISTINCT values so that every
    regular expression runs once per value: the cleaned text, then the number without its
    extension, then its digits and shape tests, then the verdicts. (Nested, each layer
    was repeated inside every use of the next: about 16,000 values/s when nearly every
    value is distinct, issue #20.)
    """
    key = """CASE WHEN pg_kd IS NULL OR pg_kd = '' THEN NULL
         WHEN pg_sci THEN '~' || pg_m
         WHEN starts_with(pg_m, '+') THEN '+' || pg_kd
         WHEN length(pg_kd) = 10 THEN '+1' || pg_kd
         WHEN length(pg_kd) = 11 AND starts_with(pg_kd, '1') THEN '+' || pg_kd
         WHEN starts_with(pg_kd, '011') AND length(pg_kd) > 3 THEN '+' || substr(pg_kd, 4)
         ELSE pg_kd END"""
    verdicts = _verdicts("raw", "pg_m", "pg_d", "(pg_punct OR pg_van)", "pg_sci", "pg_ext")
    return f"""
    SELECT raw, CASE WHEN fast_status = 'valid' THEN fast_e164_candidate END AS e164,
           fast_status AS status, fast_extension AS extension,
           coalesce(CASE WHEN fast_status = 'valid' THEN fast_e164_candidate END, {key})
             AS number_key
    FROM (SELECT raw, pg_m, pg_sci,
                 CASE WHEN pg_van THEN pg_d ELSE regexp_replace(pg_m, '[^0-9]', '', 'g') END
                   AS pg_kd,
                 {verdicts}
      FROM (SELECT raw, pg_m, pg_ext,
                   regexp_replace(translate(pg_m, '{_LETTERS}', '{_KEYPAD}'), '[^0-9]', '', 'g')
                     AS pg_d,
                   regexp_full_match(pg_m, '{_PUNCT_ONLY_RE}') AS pg_punct,
                   regexp_full_match(pg_m, '{_VANITY_RE}') AS pg_van,
                   regexp_full_match(pg_m, '{_SCI_RE}') AS pg_sci
        FROM (SELECT raw, regexp_replace(pg_c, '{_EXT_RE}', '') AS pg_m,
                     nullif(regexp_extract(pg_c, '{_EXT_RE}', 1), '') AS pg_ext
          FROM (SELECT raw, {cleaned("raw")} AS pg_c
            FROM (SELECT DISTINCT {column} AS raw FROM {source})))))"""


def distinct_numbers_sql(source: str, column: str = "dialed_number") -> str:
    """Each distinct raw number of ``source`` with the fast path's verdict."""
    return f"SELECT raw, e164, status, extension FROM ({numbers_sql(source, column)})"


def nested_numbers_sql(source: str, column: str = "dialed_number") -> str:
    """:func:`numbers_sql` written out in one nested expression: the reference it must equal."""
    return f"""
    SELECT raw, e164, status, extension, coalesce(e164, {number_key("raw")}) AS number_key
    FROM (SELECT raw, CASE WHEN fast_status = 'valid' THEN fast_e164_candidate END AS e164,
           fast_status AS status, fast_extension AS extension
    FROM (SELECT raw, {fast_path_select("raw")}
          FROM (SELECT DISTINCT {column} AS raw FROM {source})))"""


def fallback_update_sql(numbers: str, fallback: str) -> str:
    """Write libphonenumber's verdicts (``fallback``: raw, e164, status, extension) into
    the undecided rows of ``numbers``, and key them as :func:`numbers_sql` keys the rest."""
    return (
        f"UPDATE {numbers} SET e164 = f.e164, status = f.status, "
        f"extension = coalesce({numbers}.extension, f.extension), "
        f"number_key = coalesce(f.e164, {number_key('f.raw')}) "
        f"FROM {fallback} f WHERE {numbers}.raw = f.raw"
    )
