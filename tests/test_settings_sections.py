"""Every case-file section opens the same way (audit/section.py): a value that is not a
table, and unknown keys, read the same in each, and every problem is reported at once."""

from __future__ import annotations

import pytest

from privguard.errors import SettingsError
from privguard.internals.audit.settings import parse_settings

# Each section as a table, with its known keys in the order its message lists them.
KNOWN = {
    "engine": "memory_limit, threads, temp_directory",
    "ingest": "max_extracted_bytes, max_compression_ratio, max_archive_depth",
    "normalize": "default_region, infer_min_matches, infer_sample_rows, infer_tolerance_s, "
    "zone_candidates",
    "dedupe": "time_tolerance_s, duration_tolerance_s, corrected_tolerance_s, skew_correction",
    "identify": "candidate_threshold, min_calls, min_inmates, facility_timezones, "
    "directory_columns, registry_columns",
    "findings": "infer_recording, recording_practice_share, recording_practice_calls",
    "privacy": "pseudonymize, key_file",
    "spark": "master, conf, native_reads",
}


def _problems(data: dict[str, object]) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        parse_settings(data)
    return list(caught.value.problems)


def test_a_section_that_is_not_a_table_reads_the_same_in_every_section() -> None:
    sections = [*KNOWN, "case"]
    problems = _problems({name: 3 for name in sections})
    assert sorted(problems) == sorted(f"[{name}] must be a table" for name in sections)


def test_unknown_keys_are_named_with_the_known_ones_and_known_keys_still_read() -> None:
    data: dict[str, object] = {name: {"bogus": 1} for name in KNOWN}
    data["dedupe"] = {"bogus": 1, "time_tolerance_s": -5}  # still checked beside the typo
    data["case"] = {"bogus": 1, "sender": {"fax": "x"}}
    problems = _problems(data)
    for name, known in KNOWN.items():
        assert f"[{name}] unknown key 'bogus'; known keys: {known}" in problems, problems
    assert any(p.startswith("[case] unknown key 'bogus'; known keys: ") for p in problems)
    assert any(p.startswith("[case.sender] unknown key 'fax'; known keys: ") for p in problems)
    assert any(p.startswith("[dedupe] time_tolerance_s must be") for p in problems)
    assert len(problems) == len(KNOWN) + 3  # every problem, at once
