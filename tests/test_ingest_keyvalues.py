"""Issue 11: facility, account, status, zone and call number found by their values when no
header names them, so a header-blind dump's copies still merge; ambiguity takes nothing."""

from __future__ import annotations

from privguard.internals.audit.ingest.mapping import map_table


def _rows(n: int = 60) -> list[list[str]]:
    return [
        [
            str(400_000_000 + 7919 * i),  # the exporter's call number: unique
            "Travis County Jail",  # one facility per export
            f"{9_100_000 + (i * 37) % 23}",  # 23 accounts calling again and again
            f"512555{3000 + i:04d}",
            f"2013-01-{1 + i % 28:02d} 10:{i % 60:02d}:00",
            "America/Chicago",
            ("Completed", "Refused", "No Answer")[i % 3],
        ]
        for i in range(n)
    ]


COLS = [f"col{i}" for i in range(1, 8)]


def test_keys_are_read_from_their_values_under_meaningless_headers() -> None:
    m = map_table(COLS, _rows(), None)
    assert m.named(COLS) == {
        "dialed_number": "col4",
        "start": "col5",
        "start_zone": "col6",
        "status": "col7",
        "facility": "col2",
        "inmate_account": "col3",
        "source_call_id": "col1",
    }
    roles = m.roles(COLS)
    assert roles["inmate_account"]["confidence"] == "medium"
    assert "repeats" in roles["inmate_account"]["evidence"]


def test_a_call_number_repeating_in_verbatim_copies_is_not_the_account() -> None:
    rows = _rows()
    rows += [list(r) for r in rows[:20]]  # exact duplicate rows: call numbers repeat too
    m = map_table(COLS, rows, None)
    assert m.named(COLS)["inmate_account"] == "col3"


def test_two_constant_columns_leave_the_facility_unmapped() -> None:
    rows = [[*r, "Unit 7"] for r in _rows()]
    m = map_table([*COLS, "col8"], rows, None)
    assert "facility" not in m.fields


def test_a_named_facility_is_never_replaced_by_values() -> None:
    cols = ["call_no", "SITE", *COLS[2:]]
    m = map_table(cols, _rows(), None)
    assert m.named(cols)["facility"] == "SITE" and m.how["facility"] == "header"


def test_a_split_start_is_found_after_an_eight_digit_account() -> None:
    """col3 holds zero-padded accounts (03998190), not yyyymmdd dates: the start is the
    date in col6 with the time of day right after it."""
    cols = [f"col{i}" for i in range(1, 10)]
    rows = [
        [str(124_732_008 + 7919 * i), "Men's Central Jail", f"0{3_998_190 + i % 7}",
         f"1213346{9874 + i}", "x", "2011-12-31", f"08:{i % 60:02d}:16", "PST", "00:03:00"]
        for i in range(40)
    ]  # fmt: skip
    m = map_table(cols, rows, None)
    assert m.named(cols)["start"] == ["col6", "col7"]
    assert m.named(cols)["inmate_account"] == "col3"
    assert m.named(cols)["duration"] == "col9"


def test_one_value_in_a_row_or_two_is_no_facility() -> None:
    # The corpus's skip_row.csv: one row whose free text ('TEST3') is no facility; a
    # value "repeated down the sample" needs a sample.
    m = map_table(COLS, _rows(3), None)
    assert "facility" not in m.fields
    assert map_table(COLS, _rows(12), None).named(COLS)["facility"] == "col2"


def test_a_corrupt_row_in_the_sample_does_not_hide_a_column_read_from_its_values() -> None:
    # One row of 300 with its columns shifted (synth's corrupt rows): the flag, clock and
    # status columns still read as such (issue 11: terse CA68 left r, tzc, st2 unmapped).
    from privguard.internals.audit.ingest.mapping import map_table

    cols = ["n", "fac", "acc", "ph", "t0", "tzc", "tm", "st2", "r"]
    rows: list[list[str | None]] = [
        [str(100000 + i), "CA68", str(5000 + i % 40), f"310-414-{7000 + i:04d}",
         f"2012-03-{1 + i % 28:02d} 10:{i % 60:02d}:00", "PST" if i % 2 else "PDT",
         f"00:0{i % 9}:10", "CRNB"[i % 4] if i % 5 == 0 else "C", "1" if i % 3 else "0"]
        for i in range(300)
    ]  # fmt: skip
    rows[17] = [*rows[17][:4], None, *rows[17][4:8]]  # shifted right: "C" under r
    m = map_table(cols, rows, None)
    got = {f: cols[i[0]] for f, i in m.fields.items()}
    assert {got.get("recorded"), got.get("start_zone"), got.get("status")} == {"r", "tzc", "st2"}
    assert got["recorded"] == "r" and got["start_zone"] == "tzc" and got["status"] == "st2"
    # Two strays in a sample of 40 are too many: the column stays unmapped.
    small = [r[:] for r in rows[:40]]
    small[3][8], small[4][8] = "R", "B"
    got = {f: cols[i[0]] for f, i in map_table(cols, small, None).fields.items()}
    assert "recorded" not in got
