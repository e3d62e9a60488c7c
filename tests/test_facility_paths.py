"""A facility written only by name takes the code its tables' folder names (issue 11).

In the unseen-layouts dumps "Clark County Detention Center" (NV56) is written only by name and
its accounts carry no code; the code appears only as the folder its tables sit in
(``NV56/billing.csv``). Its calls kept the long label, so the registry entry scoped to NV56
covered none of them. The path is read only when the dump's other facilities show that its
folders are named by facility code, and only when it names exactly one code.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb

import privguard
from privguard.internals.audit.normalize.api import normalize
from privguard.internals.audit.normalize.facility_paths import path_codes, path_tokens
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.report.model import path_code_rows
from privguard.internals.audit.report.reading import facility_code_notes
from test_normalize_helpers import write_ingested

FIXTURE = Path(__file__).parent / "fixtures" / "facility_path"
CLARK = "Clark County Detention Center"


def _rows(facility: str, account: str, area: int, n: int = 12) -> list[dict[str, str]]:
    return [
        {"facility": facility, "inmate_account": account.format(1000 + i % 3),
         "dialed_number": f"{area}-555-{1100 + i % 4}",
         "start": f"2014-03-{1 + i:02d} 14:00:00", "duration": str(120 + i), "recorded": "Y"}
        for i in range(n)
    ]  # fmt: skip


def _facilities(work: Path, tables: list[dict[str, Any]]) -> tuple[list[str], dict[str, Any]]:
    normalize(write_ingested(work, [t | {"tz_hint": "UTC"} for t in tables]))
    got = duckdb.sql(
        f"SELECT list(DISTINCT facility ORDER BY facility) FROM '{work}/normalized.parquet'"
    ).fetchall()
    report = json.loads((work / "normalize_report.json").read_text())
    return got[0][0], report["facilities"]


def _coded(folder_tx: str = "TX07", folder_ca: str = "CA64") -> list[dict[str, Any]]:
    return [
        {"file": f"{folder_tx}/calls.csv", "rows": _rows("TX07", "TX07-{}", 512)},
        {"file": f"{folder_ca}/calls.csv", "rows": _rows("CA64", "CA64-{}", 213)},
    ]


def test_the_fixture_dump_gives_the_named_facility_its_folders_code(tmp_path: Path) -> None:
    # The committed dump: TX07/ and CA64/ write their codes (and prefix their accounts with
    # them); NV56/ writes only "Clark County Detention Center", with bare accounts.
    work = tmp_path / "work"
    privguard.ingest(FIXTURE / "dump", work)
    normalize(work)
    got = duckdb.sql(
        f"SELECT facility, count(*) FROM '{work}/normalized.parquet' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert got == [("CA64", 8), ("NV56", 8), ("TX07", 8)]
    fac = json.loads((work / "normalize_report.json").read_text())["facilities"]
    assert fac["groups"] == [
        {"facility": "NV56", "labels": ["CLARKCOUNTYDETENTIONCENTER", "NV56"], "code_from": "path"}
    ]
    (ev,) = [e for e in fac["evidence"] if "path_code" in e]
    assert ev == {
        "labels": ["CLARKCOUNTYDETENTIONCENTER"], "path_code": "NV56", "path_rows": 8,
        "path_files": 1, "example_files": ["NV56/calls.csv"], "folders_agree": "2 of 2",
    }  # fmt: skip


def test_a_registry_entry_scoped_to_the_folders_code_covers_the_named_facility(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    privguard.audit(FIXTURE / "dump", out, registries=[FIXTURE / "do_not_record.csv"])
    # 702-555-1101 is on the list for NV56 from 2014-01-01; the jail recorded both its calls.
    flags = duckdb.sql(
        f"SELECT count(*) FILTER (registry_violation) FROM '{AuditPaths(out).flags}'"
    ).fetchall()
    assert flags == [(2,)]
    summary = json.loads(AuditPaths(out).summary.read_text())
    assert summary["registry_violations"] == 2


def test_two_codes_in_one_path_are_not_guessed_between(tmp_path: Path) -> None:
    tables = [*_coded(), {"file": "NV56/NV57_calls.csv", "rows": _rows(CLARK, "{}", 702)}]
    facilities, fac = _facilities(tmp_path, tables)
    assert facilities == ["CA64", "CLARKCOUNTYDETENTIONCENTER", "TX07"]
    assert fac["groups"] == []
    (ev,) = [e for e in fac["evidence"] if "path_code" in e]
    assert ev["path_code"] is None and "NV56, NV57" in ev["reason"]


def test_files_that_disagree_are_not_guessed_between(tmp_path: Path) -> None:
    tables = [
        *_coded(),
        {"file": "NV56/calls.csv", "rows": _rows(CLARK, "{}", 702)},
        {"file": "NV57/calls.csv", "rows": _rows(CLARK, "{}", 702)},
    ]
    facilities, fac = _facilities(tmp_path, tables)
    assert facilities == ["CA64", "CLARKCOUNTYDETENTIONCENTER", "TX07"]


def test_folders_that_do_not_name_their_facilities_are_not_read(tmp_path: Path) -> None:
    # TX07's table sits in CA64's folder: this dump's folders do not mean facility.
    tables = [
        {"file": "CA64/calls.csv", "rows": _rows("TX07", "TX07-{}", 512)},
        {"file": "CA64/more.csv", "rows": _rows("CA64", "CA64-{}", 213)},
        {"file": "NV56/calls.csv", "rows": _rows(CLARK, "{}", 702)},
    ]
    facilities, fac = _facilities(tmp_path, tables)
    assert "CLARKCOUNTYDETENTIONCENTER" in facilities and "NV56" not in facilities
    (ev,) = [e for e in fac["evidence"] if "path_code" in e]
    assert ev["path_code"] is None and "do not name facilities" in ev["reason"]


def test_one_facility_is_not_enough_to_show_what_folders_mean(tmp_path: Path) -> None:
    tables = [
        {"file": "TX07/calls.csv", "rows": _rows("TX07", "TX07-{}", 512)},
        {"file": "NV56/calls.csv", "rows": _rows(CLARK, "{}", 702)},
    ]
    facilities, _ = _facilities(tmp_path, tables)
    assert facilities == ["CLARKCOUNTYDETENTIONCENTER", "TX07"]


def test_a_folder_other_facilities_share_is_no_code(tmp_path: Path) -> None:
    # "AB12" also holds a table of TX07: the part is not the named jail's alone.
    groups = {"TX07": ["TX07"], "CA64": ["CA64"], "X": ["CLARK"]}
    use = {"TX07": 10, "CA64": 10}
    files = [("TX07", "TX07/a.csv", 5), ("CA64", "CA64/a.csv", 5), ("TX07", "AB12/TX07.csv", 5),
             ("CLARK", "AB12/calls.csv", 5)]  # fmt: skip
    assert path_codes(groups, use, files)[0] == {}
    files[2] = ("TX07", "TX07/b.csv", 5)
    assert path_codes(groups, use, files)[0] == {"X": ("AB12", 5, 1, ["AB12/calls.csv"])}


def test_path_tokens_read_folders_and_the_file_name() -> None:
    assert path_tokens("nv-56/Billing_2014.csv.gz") == {"NV56", "NV", "56", "BILLING2014",
                                                        "BILLING", "2014"}  # fmt: skip


def test_the_report_says_which_code_came_from_a_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    privguard.audit(FIXTURE / "dump", out, registries=[FIXTURE / "do_not_record.csv"])
    html = (AuditPaths(out).report_html).read_text()
    said = (
        "No record gives the code of the facility its records call CLARKCOUNTYDETENTIONCENTER "
        "(its name, in letters and digits): it was given the code NV56, which the folder names "
        "of its files carry (1 file, 8 rows; for example NV56/calls.csv)"
    )
    assert said in html and "(2 of 2 of their files)" in html


def test_the_report_says_why_no_folder_was_read(tmp_path: Path) -> None:
    tables = [*_coded(), {"file": "NV56/NV57_calls.csv", "rows": _rows(CLARK, "{}", 702)}]
    _, fac = _facilities(tmp_path, tables)
    model = SimpleNamespace(facility_paths=path_code_rows({"facilities": fac}))
    (note,) = facility_code_notes(model)  # type: ignore[arg-type]
    assert note.startswith("No record gives a code for the facilities its records call ")
    assert "none was read from the dump's folders: the paths name 2 codes: NV56, NV57" in note
    assert not facility_code_notes(SimpleNamespace(facility_paths=path_code_rows({})))  # type: ignore[arg-type]
