"""The [case] section of a case file: validated up front, every problem at once."""

from __future__ import annotations

import datetime as dt

import pytest

from privguard.errors import SettingsError
from privguard.internals.audit.report.case import Case, Sender
from privguard.internals.audit.settings import parse_settings


def test_a_full_case_section_is_read() -> None:
    got = parse_settings(
        {
            "case": {
                "name": "State v. Doe", "reference": "PD-1", "analyst": "Dana",
                "date": dt.date(2026, 12, 3),
                "sender": {"organisation": "Office", "address": "1 Main St\nAustin",
                           "email": "a@example.org"},
                "facilities": {"TX25": "Travis County Jail"},
            }
        }
    ).case  # fmt: skip
    assert got.date == dt.date(2026, 12, 3) and got.complete
    assert got.sender.lines() == ["Office", "1 Main St", "Austin", "a@example.org"]
    assert got.facility("TX25") == "Travis County Jail (TX25)" and got.facility("X") == "X"
    assert Case.from_dict(got.to_dict()) == got


def test_every_case_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as err:
        parse_settings(
            {
                "case": {
                    "name": 3, "date": "3 Dec", "colour": "red", "analyst": "x\x1b[2J",
                    "sender": {"fax": "1"}, "facilities": ["TX25"],
                }
            }
        )  # fmt: skip
    text = "\n".join(err.value.problems)
    for want in (
        "[case] name must be text",
        "[case] date '3 Dec' is not a date",
        "[case] unknown key 'colour'",
        "[case] analyst holds control characters",
        "[case.sender] unknown key 'fax'",
        "[case] facilities must be a table",
    ):
        assert want in text, want  # fmt: skip
    assert len(err.value.problems) == 6


def test_no_case_section_gives_an_incomplete_case() -> None:
    case = parse_settings({}).case
    assert case == Case() and not case.complete and case.sender == Sender()
