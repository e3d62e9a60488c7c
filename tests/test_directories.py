"""Directories as they really are: a country column, international numbers, shared numbers.

The real New York attorney registry (``../shared/corpus/nys-attorney-registrations/``)
writes international numbers as dialed ("44 7834 889 903") beside a ``country`` column,
and lists one number for two attorneys of a firm. Each number is checked against the
corpus's oracle, ``expected_phones_by_phonenumbers.csv`` (libphonenumber with the region
from the country column), which is independent of privguard's code.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest

from privguard.errors import InputError
from privguard.internals.audit.findings.api import findings
from privguard.internals.audit.identify.api import identify
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.common.lists.sources import read_directory, read_registry
from privguard.internals.common.phones import country_region
from test_identify_helpers import attorney_numbers, build, write_calls

CORPUS = Path(__file__).parents[2] / "shared" / "corpus"
if not CORPUS.is_dir():  # a worktree sits one level deeper than the main checkout
    CORPUS = Path(__file__).parents[3] / "shared" / "corpus"
NYS = CORPUS / "nys-attorney-registrations"
needs_nys = pytest.mark.skipif(not NYS.is_dir(), reason="the shared corpus is not here")


def _oracle() -> dict[str, dict[str, str]]:
    with (NYS / "expected_phones_by_phonenumbers.csv").open(encoding="utf-8") as fh:
        return {r["registration_number"]: r for r in csv.DictReader(fh)}


@needs_nys
def test_every_number_of_the_new_york_registry_matches_the_oracle() -> None:
    got = read_directory(NYS / "nys_attorney_registrations_sample.csv")
    oracle = _oracle()
    by_reg: dict[str, list[str]] = {}
    for row in got.table.to_pylist():
        by_reg.setdefault(row["bar_number"], []).append(row["number"])
    expected = {k: [r["e164_region_from_country"]] for k, r in oracle.items() if r["valid"]}
    assert by_reg == expected
    # The oracle's US reading of the international numbers is invalid: none may appear.
    bogus = {r["e164_if_parsed_as_US"] for r in oracle.values() if r["valid_as_US"] == "False"}
    assert bogus and not bogus & set(got.table.column("number").to_pylist())
    # Every row is accounted for: accepted, or set aside with its reason.
    blank = [k for k, r in oracle.items() if not r["phone_number_raw"]]
    assert got.rows == len(oracle) == got.accepted + len(got.rows_set_aside)
    assert len(got.rows_set_aside) == len(blank)
    assert {s.reason for s in got.rows_set_aside} == {"no number written"}
    assert got.numbers_set_aside == ()


@needs_nys
def test_the_shared_new_york_number_has_both_holders() -> None:
    got = read_directory(NYS / "nys_attorney_registrations_sample.csv")
    oracle = _oracle()
    seen: dict[str, int] = {}
    for r in oracle.values():
        if r["valid"]:
            seen[r["e164_region_from_country"]] = seen.get(r["e164_region_from_country"], 0) + 1
    shared = [n for n, k in seen.items() if k > 1]
    assert shared == ["+17189971000"]
    assert got.holders()["+17189971000"] == ("THOMAS INCANTALUPO", "JOHN MITCHELL")
    assert sum(len(h) for h in got.holders().values()) == got.table.num_rows


def test_country_names_codes_and_calling_codes() -> None:
    assert [country_region(t) for t in ("UNITED KINGDOM", "gbr", "UK", "+44", "Royaume-Uni")] == [
        "GB"
    ] * 5
    assert country_region("Japan") == "JP" and country_region("HONG KONG") == "HK"
    assert country_region("United States") == "US" and country_region("1") == "US"
    assert country_region("Narnia") is None and country_region("  ") is None


def test_a_country_column_of_any_usual_name_reads_international_numbers(tmp_path: Path) -> None:
    for header in ("Country", "country_code", "Nation", "ISO Country Code"):
        path = tmp_path / "d.csv"
        path.write_text(
            f"Name,County,Phone,{header}\n"
            "A,Out of USA,44 20 7946 0018,GB\n"
            "B,Kings,(212) 555-0123,\n"
            "C,Out of USA,0033 1 53 89 70 04,33\n",
            encoding="utf-8",
        )
        got = read_directory(path)
        assert got.table.column("number").to_pylist() == [
            "+442079460018",
            "+12125550123",
            "+33153897004",
        ], header


def test_without_a_country_only_valid_nanp_or_plus_numbers_are_read(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(
        "Name,Phone,Country\n"
        "A,44 7834 889 903,\n"  # no country: not a North American number, never +1447...
        "B,+44 7834 889 903,\n"  # the + says the country
        "C,7834 889903,Narnia\n"  # a country we cannot place: set aside, not guessed
        "D,(212) 555-0123,JAPAN\n"  # invalid where the row says it is
        "E,,\n"
        "F,(212) 555-0124,\n",
        encoding="utf-8",
    )
    got = read_directory(path)
    assert got.table.column("number").to_pylist() == ["+447834889903", "+12125550124"]
    assert not any(n.startswith("+1447") for n in got.table.column("number").to_pylist())
    reasons = {s.place: (s.raw, s.reason) for s in got.rows_set_aside}
    assert reasons == {
        "d.csv row 2": (
            "44 7834 889 903",
            "too long (read as a North American number: no country given)",
        ),
        "d.csv row 4": ("7834 889903", "country 'Narnia' not recognized"),
        "d.csv row 5": ("(212) 555-0123", "no such number (read as a number of JAPAN)"),
        "d.csv row 6": (None, "no number written"),
    }
    assert got.rows == 6 == got.accepted + len(got.rows_set_aside)


def test_an_invalid_second_number_of_a_kept_row_is_named(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("Name,Phone\nA,(212) 555-0123; 555-01\n", encoding="utf-8")
    got = read_directory(path)
    assert got.accepted == 1 and not got.rows_set_aside
    [aside] = got.numbers_set_aside
    assert (aside.place, aside.raw) == ("d.csv row 2", "555-01")


def test_a_directory_of_only_unreadable_numbers_says_why(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("Name,Phone,Country\nA,7834 889903,Narnia\nB,7834 889904,Narnia\n", "utf-8")
    with pytest.raises(InputError) as err:
        read_directory(path)
    assert "2 country 'Narnia' not recognized" in err.value.message


def test_registry_rows_read_their_country(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "Number,Date Added,Country\n81 3 5562 8500,2013-02-04,JAPAN\n,2013-02-04,\n", "utf-8"
    )
    got = read_registry(path)
    assert got.table.column("number").to_pylist() == ["+81355628500"]
    assert got.rows == 2 and len(got.rows_set_aside) == 1


def test_a_shared_number_is_one_number_downstream(tmp_path: Path) -> None:
    """Two attorneys listing one number: one classified number, both names, calls once."""
    pop = build(seed=5)
    out = tmp_path / "out"
    write_calls(pop, out)
    work = AuditPaths(out).work
    work.mkdir(parents=True)
    report = {"dump": "d", "tables": [{"rows_read": len(pop.rows), "rows_rejected": 0}]}
    (work / "ingest_report.json").write_text(json.dumps(report))
    listed = attorney_numbers(pop)["directory"][:3]
    shared = listed[0]
    rows = [f"Ann Able,{shared}", f"Bob Baker,{shared}", f"Ann Able,{shared}"]
    rows += [f"Cy {i},{n}" for i, n in enumerate(listed[1:])] + ["Dee Blank,"]
    (tmp_path / "bar.csv").write_text("Name,Phone\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = identify(out, directories=[tmp_path / "bar.csv"])
    assert result.directory_entries == len(rows) - 1
    assert [(s.place, s.reason) for s in result.lists_set_aside] == [
        (f"bar.csv row {len(rows) + 1}", "no number written")
    ]
    con = duckdb.connect()
    numbers = con.execute(
        f"SELECT number, attorney_name, evidence FROM '{AuditPaths(out).numbers}' "
        "WHERE classification = 'directory_attorney'"
    ).fetchall()
    con.close()
    named = {n: (name, ev) for n, name, ev in numbers}
    assert sorted(named) == sorted(listed)
    assert named[shared][0] == "Ann Able; Bob Baker"
    assert named[shared][1].count("bar.csv row") == 3
    summary = findings(out)
    calls = [r for r in pop.rows if r["dialed_number"] in listed]
    assert calls and summary["privileged_calls"] == len(calls)
    assert summary["attorney_numbers"] == len(listed)


def test_the_registry_column_fix_the_error_suggests_is_honoured(tmp_path: Path) -> None:
    """A registry whose phone column has no usual header: the error's fix works as written."""
    path = tmp_path / "dnr.csv"
    path.write_text("Tel Nbr,Since,Note\nabc,2013-01-01,x\n")
    with pytest.raises(InputError) as err:
        read_registry(path)
    assert err.value.fix is not None and "registry_columns = { number = [" in err.value.fix
    path.write_text("Tel Nbr,Since\n(512) 555-0100,2013-01-01\n(512) 555-0111,2013-02-01\n")
    got = read_registry(path, {"number": ("Tel Nbr",)})
    numbers = set(got.table.column("number").to_pylist())
    assert numbers == {"+15125550100", "+15125550111"}
