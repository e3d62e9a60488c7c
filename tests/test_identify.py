"""identify on small call tables built to the calls.parquet contract."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
import xlsxwriter

from privguard.errors import InputError, Problems
from privguard.internals.audit.identify import settings as identify_settings
from privguard.internals.audit.identify.api import identify
from privguard.internals.audit.identify.clocks import infer_clock, infer_offset
from privguard.internals.audit.identify.settings import Settings
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.schema import NUMBER_CLASSES
from test_identify_helpers import attorney_numbers, build, write_calls


def _fmt(e164: str, style: int) -> str:
    d = e164[2:]
    return [
        f"({d[:3]}) {d[3:6]}-{d[6:]}",
        f"{d[:3]}.{d[3:6]}.{d[6:]}",
        f"1-{d[:3]}-{d[3:6]}-{d[6:]}",
    ][style % 3]


def write_directory(path: Path, numbers: list[str]) -> Path:
    """A bar list: two phones per cell in mixed formats, one with an extension."""
    lines = ["Member Name,Bar No.,Phone(s)"]
    for i, n in enumerate(numbers):
        lines.append(f'"Roe, Jane {i}",{12000 + i},"{_fmt(n, i)} ext. 12; cell 737-555-01{i:02d}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_registry(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    lines = ["Phone Number,Date Added,Date Removed,Facility"]
    lines += [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _classes(out: Path) -> dict[str, tuple[str, str, float]]:
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT number, classification, evidence, score FROM '{AuditPaths(out).numbers}'"
    ).fetchall()
    con.close()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict]:
    base = tmp_path_factory.mktemp("identify")
    pop = build(seed=3)
    out = base / "out"
    write_calls(pop, out)
    groups = attorney_numbers(pop)
    directory = write_directory(base / "bar.csv", groups["directory"])
    registry = write_registry(
        base / "dnr.csv", [(_fmt(n, 1), "02/04/2013", "", "") for n in groups["registry"]]
    )
    identify(out, directories=[directory], registries=[registry])
    return out, pop.kinds, groups


def test_every_called_number_gets_one_known_class(world: tuple[Path, dict, dict]) -> None:
    out, kinds, _ = world
    classes = _classes(out)
    assert set(classes) == set(kinds)
    assert {c for c, _, _ in classes.values()} <= set(NUMBER_CLASSES)


def test_listed_attorneys_are_found_with_evidence(world: tuple[Path, dict, dict]) -> None:
    out, _, groups = world
    classes = _classes(out)
    for n in groups["directory"]:
        assert classes[n][0] == "directory_attorney"
        assert "bar.csv row" in classes[n][1] and "Roe, Jane" in classes[n][1]
    for n in groups["registry"]:
        assert classes[n][0] == "registered"
        assert classes[n][1].startswith("registered 2013-02-04 in dnr.csv row ")


def test_unlisted_attorneys_become_candidates_and_confounders_do_not(
    world: tuple[Path, dict, dict],
) -> None:
    out, kinds, groups = world
    classes = _classes(out)
    candidates = {n for n, (c, _, _) in classes.items() if c == "candidate"}
    found = candidates & set(groups["unlisted"])
    assert len(found) >= 4, "most attorneys in no list should be found from their calls"
    wrong = [kinds[n] for n in candidates - found]
    assert len(found) / len(candidates) >= 0.8, wrong
    for n, kind in kinds.items():
        if kind in ("bail_bonds", "court", "hotline"):
            assert classes[n][0] == "other", (kind, classes[n])
            assert classes[n][1].startswith("call pattern score")


def test_without_any_list_candidates_are_still_found(tmp_path: Path) -> None:
    pop = build(seed=5)
    write_calls(pop, tmp_path)
    result = identify(tmp_path)
    classes = _classes(tmp_path)
    cands = {n for n, (c, _, _) in classes.items() if c == "candidate"}
    attys = {n for n, k in pop.kinds.items() if k == "attorney"}
    assert result.candidates == len(cands)
    assert len(cands & attys) >= 0.6 * len(attys)
    assert len(cands & attys) >= 0.8 * len(cands)
    assert (AuditPaths(tmp_path).registry).is_file() and (AuditPaths(tmp_path).review).is_file()


def test_infer_offset_reads_the_quiet_night() -> None:
    # Phones on 07:00-23:00 local in UTC-6: quiet 05:00-13:00 UTC.
    hist = {h: (0 if 5 <= h < 13 else 100) for h in range(24)}
    assert infer_offset(hist) == -6
    assert infer_offset({h: 100 for h in range(24)}) is None
    assert infer_offset({3: 5}) is None


def test_infer_clock_tells_daylight_saving_from_a_fixed_offset() -> None:
    def night(offset: int) -> dict[int, int]:  # phones on 07:00-23:00 local
        return {
            h: (0 if (h + offset) % 24 in range(23, 31) or (h + offset) % 24 < 7 else 100)
            for h in range(24)
        }

    chicago = infer_clock(night(-6), night(-5), night(-6))
    assert (chicago.zone, chicago.offset_h) == ("America/Chicago", -6)
    phoenix = infer_clock(night(-7), night(-7), night(-7))
    assert phoenix.zone == "America/Phoenix"
    flat = {h: 100 for h in range(24)}
    assert infer_clock(flat, flat, flat).source == "unknown"


def test_facility_timezone_from_settings_is_used(tmp_path: Path) -> None:
    pop = build(seed=3)
    write_calls(pop, tmp_path)
    cfg = Settings(facility_timezones={"JAIL_A": "America/Chicago"})
    result = identify(tmp_path, settings=cfg)
    assert result.facility_clocks["JAIL_A"].startswith("America/Chicago")
    assert result.facility_clocks["JAIL_B"].startswith("UTC-5")


def test_xlsx_directory_with_typed_numbers_and_no_known_headers(tmp_path: Path) -> None:
    pop = build(seed=3)
    write_calls(pop, tmp_path / "out")
    groups = attorney_numbers(pop)
    book = xlsxwriter.Workbook(tmp_path / "pd.xlsx")
    sheet = book.add_worksheet("Offices")
    sheet.write_row(0, 0, ["Office", "Col B", "Col C"])
    for i, n in enumerate(groups["directory"][:4]):
        # A spreadsheet stores a bare number as a float: 5122000001.0
        sheet.write_row(i + 1, 0, [f"PD office {i}", float(n[2:]), "x"])
    book.close()
    identify(tmp_path / "out", directories=[tmp_path / "pd.xlsx"])
    classes = _classes(tmp_path / "out")
    for i, n in enumerate(groups["directory"][:4]):
        assert classes[n][0] == "directory_attorney"
        assert f"pd.xlsx sheet Offices row {i + 2}: PD office {i}" in classes[n][1]


def test_registry_date_formats_and_open_ended_entries(tmp_path: Path) -> None:
    from privguard.internals.common.lists.sources import load_registry

    path = write_registry(
        tmp_path / "r.csv",
        [
            ("512-200-0001", "25/12/2012", "01/02/2013", "jail_a"),
            ("5122000002", "2013-03-04", "", "ALL"),
            ("(512) 200-0003", "4-Feb-2013", "", ""),
            ("+1 512 200 0004", '"February 4, 2013"', "20130301", "JAIL_B"),
        ],
    )
    rows = load_registry(path).to_pylist()
    got = {r["number"]: (r["registered_from"], r["registered_until"], r["facility"]) for r in rows}
    assert got == {
        "+15122000001": (dt.date(2012, 12, 25), dt.date(2013, 2, 1), "JAIL_A"),
        "+15122000002": (dt.date(2013, 3, 4), None, None),
        "+15122000003": (dt.date(2013, 2, 4), None, None),
        "+15122000004": (dt.date(2013, 2, 4), dt.date(2013, 3, 1), "JAIL_B"),
    }


def test_bad_date_names_file_row_column_and_fix(tmp_path: Path) -> None:
    from privguard.internals.common.lists.sources import load_registry

    path = write_registry(tmp_path / "r.csv", [("5122000001", "soon", "", "")])
    with pytest.raises(InputError) as err:
        load_registry(path)
    assert err.value.where == "r.csv row 2, column 'Date Added'"
    assert err.value.fix and "2013-02-04" in err.value.fix


def test_directory_without_phones_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "names.csv"
    path.write_text("Name,City\nJane Roe,Austin\nJohn Doe,Dallas\n", encoding="utf-8")
    (tmp_path / "out").mkdir()
    write_calls(build(seed=1), tmp_path / "out")
    with pytest.raises(InputError) as err:
        identify(tmp_path / "out", directories=[path])
    assert err.value.where == "names.csv row 1"
    assert "no column of phone numbers" in err.value.message
    assert err.value.fix and "directory_columns" in err.value.fix


def test_column_override_from_settings(tmp_path: Path) -> None:
    from privguard.internals.common.lists.sources import load_directory

    path = tmp_path / "d.csv"
    path.write_text("Who,Line A,Line B\nJane,512-200-0001,\nJohn,,512-200-0002\n", "utf-8")
    cfg = Settings(directory_columns={"phone": ("Line B",), "name": ("Who",)})
    rows = load_directory(path, cfg.directory_columns).to_pylist()
    assert [(r["number"], r["attorney_name"]) for r in rows] == [("+15122000002", "John")]
    bad = Settings(directory_columns={"phone": ("Cell",)})
    with pytest.raises(InputError, match="'Cell'"):
        load_directory(path, bad.directory_columns)


def test_missing_calls_table_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        identify(tmp_path)
    assert err.value.where == str(AuditPaths(tmp_path).calls)


def test_settings_report_every_problem() -> None:
    problems = Problems()
    identify_settings.parse(
        {
            "candidate_threshold": 2,
            "min_calls": 0,
            "facility_timezones": {"A": "Mars/Olympus"},
            "registry_columns": {"colour": "x"},
            "bogus": 1,
        },
        problems,
    )
    text = "\n".join(problems.items)
    for needle in ("candidate_threshold", "min_calls", "Mars/Olympus", "colour", "bogus"):
        assert needle in text
    ok = identify_settings.parse({"candidate_threshold": 0.7, "min_inmates": 3}, Problems())
    assert ok.candidate_threshold == 0.7 and ok.min_inmates == 3


def test_xlsx_registry_with_real_date_cells(tmp_path: Path) -> None:
    from privguard.internals.common.lists.sources import load_registry

    book = xlsxwriter.Workbook(tmp_path / "dnr.xlsx")
    sheet = book.add_worksheet()
    when = book.add_format({"num_format": "mm/dd/yyyy"})
    sheet.write_row(0, 0, ["Attorney", "Telephone", "Effective", "Expires"])
    sheet.write(1, 0, "Jane Roe")
    sheet.write(1, 1, "512.200.0001 x22")
    sheet.write_datetime(1, 2, dt.datetime(2013, 2, 4), when)
    sheet.write_datetime(1, 3, dt.datetime(2014, 1, 1), when)
    book.close()
    [row] = load_registry(tmp_path / "dnr.xlsx").to_pylist()
    assert row["number"] == "+15122000001"
    assert (row["registered_from"], row["registered_until"]) == (
        dt.date(2013, 2, 4),
        dt.date(2014, 1, 1),
    )
    assert row["registrant"] == "Jane Roe" and row["source_place"] == "dnr.xlsx sheet Sheet1 row 2"


def test_an_empty_call_table_gives_empty_outputs(tmp_path: Path) -> None:
    from privguard.internals.audit.findings.api import findings

    full = write_calls(build(seed=1), tmp_path / "full")
    con = duckdb.connect()
    AuditPaths(tmp_path).work.mkdir(parents=True)
    con.execute(f"COPY (FROM '{full}' WHERE false) TO '{AuditPaths(tmp_path).calls}'")
    con.close()
    (AuditPaths(tmp_path).work / "ingest_report.json").write_text('{"tables": []}')
    result = identify(tmp_path)
    assert result.counts == {}
    summary = findings(tmp_path)
    assert summary["calls"] == 0 and summary["first_call"] is None
    assert summary.headline.startswith("0 calls")


def test_messy_copies_do_not_make_a_family_line_look_like_an_office(tmp_path: Path) -> None:
    """Left-over copies of family calls (another facility spelling, no account) must not
    add callers or evidence: the candidates stay those of the clean table."""
    pop = build(seed=4)
    write_calls(pop, tmp_path / "clean")
    identify(tmp_path / "clean")
    clean = _classes(tmp_path / "clean")
    extra = []
    for r in pop.rows:
        if pop.kinds[str(r["dialed_number"])] == "family":
            extra.append({**r, "facility": f"{r['facility']} COUNTY JAIL"})
            extra.append({**r, "inmate_account": None})
    pop.rows += extra
    write_calls(pop, tmp_path / "messy")
    identify(tmp_path / "messy")
    messy = _classes(tmp_path / "messy")
    families = [n for n, k in pop.kinds.items() if k == "family"]
    assert {n for n in families if messy[n][0] == "candidate"} <= {
        n for n in families if clean[n][0] == "candidate"
    }
    for n in families:
        assert abs(messy[n][2] - clean[n][2]) < 1e-9, (n, messy[n], clean[n])


def test_name_column_beats_firm_column(tmp_path: Path) -> None:
    from privguard.internals.common.lists.sources import load_directory

    path = tmp_path / "bar.csv"
    path.write_text("firm,name,bar_number,phones\nSolo,Luis Peña,LA7080356,5122000001\n", "utf-8")
    [row] = load_directory(path).to_pylist()
    assert (row["attorney_name"], row["bar_number"]) == ("Luis Peña", "LA7080356")
