"""A facility written only by name gets the code its own account numbers carry (issue 11).

At 200 k synthetic calls one jail's every table wrote "Los Angeles County Men's Central
Jail", never its code, while most of its account numbers read "CA64-1234567". Its calls kept
the name as their facility, so the registry entries scoped to "CA64" never covered them and
8 evident registry violations were not counted (-3.27 %). The account prefix is the dump's
own evidence of the code: the same rule that already made a prefix the canonical label when
some table wrote it as a facility.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from privguard.internals.audit.normalize.api import normalize
from test_normalize_helpers import write_ingested

LA = "Los Angeles County Men's Central Jail"


def _rows(facility: str, account: str, n: int = 60, area: int = 213) -> list[dict[str, str]]:
    """``n`` calls, one a day at noon UTC, account ``account`` formatted with the index."""
    return [
        {"facility": facility, "inmate_account": account.format(i % 9),
         "dialed_number": f"{area}-555-{1000 + i % 37:04d}",
         "start": f"2013-{1 + i // 28 % 12:02d}-{1 + i % 28:02d} 12:00:00",
         "duration": str(60 + i), "recorded": "Y"}
        for i in range(n)
    ]  # fmt: skip


def _normalize(work: Path, tables: list[dict]) -> tuple[list[str], dict]:  # type: ignore[type-arg]
    normalize(write_ingested(work, [t | {"tz_hint": "UTC"} for t in tables]))
    got = (
        duckdb.connect()
        .execute(
            f"SELECT list(DISTINCT facility ORDER BY facility) FROM '{work}/normalized.parquet'"
        )
        .fetchone()
    )
    report = json.loads((work / "normalize_report.json").read_text())
    return (got[0] if got else []), report["facilities"]


def test_a_facility_only_ever_named_takes_the_code_of_its_accounts(tmp_path: Path) -> None:
    facilities, report = _normalize(
        tmp_path,
        [
            {"file": "billing.csv", "rows": _rows(LA, "000{}")},
            {"file": "recording.csv", "rows": _rows(LA, "CA64-{}")},
        ],
    )
    assert facilities == ["CA64"]
    assert report["groups"] == [
        {"facility": "CA64", "labels": ["CA64", "LOSANGELESCOUNTYMENSCENTRALJAIL"]}
    ]
    prefix = [e for e in report["evidence"] if e.get("account_prefix")]
    assert prefix == [
        {"labels": ["LOSANGELESCOUNTYMENSCENTRALJAIL"], "account_prefix": "CA64",
         "prefixed_rows": 60, "account_rows": 120}
    ]  # fmt: skip


def test_a_prefix_two_facilities_share_is_no_facility_code(tmp_path: Path) -> None:
    # "INM-" marks an inmate number in both jails: it names neither.
    facilities, report = _normalize(
        tmp_path,
        [
            {"file": "a.csv", "rows": _rows(LA, "INM-{}")},
            {"file": "b.csv", "rows": _rows("Harris County Jail", "INM-{}", area=713)},
        ],
    )
    assert facilities == ["HARRISCOUNTYJAIL", "LOSANGELESCOUNTYMENSCENTRALJAIL"]
    assert report["groups"] == []


def test_a_prefix_on_few_accounts_is_not_enough(tmp_path: Path) -> None:
    facilities, _ = _normalize(
        tmp_path,
        [
            {"file": "billing.csv", "rows": _rows(LA, "000{}", n=150)},
            {"file": "recording.csv", "rows": _rows(LA, "CA64-{}", n=20)},
        ],
    )
    assert facilities == ["LOSANGELESCOUNTYMENSCENTRALJAIL"]


def test_a_prefix_that_is_another_facilitys_label_is_not_taken(tmp_path: Path) -> None:
    # Accounts carrying "TX01-" at a jail written by name, while another jail's tables write
    # TX01 and share none of its calls: the prefix alone does not merge two facilities.
    facilities, _ = _normalize(
        tmp_path,
        [
            {"file": "a.csv", "rows": _rows(LA, "TX01-{}")},
            {"file": "b.csv", "rows": _rows("TX01", "{}", area=713)},
        ],
    )
    assert facilities == ["LOSANGELESCOUNTYMENSCENTRALJAIL", "TX01"]
