"""The ``[case]`` section of a case file: who ran the audit, for which case, and when.

The report's cover and PDF metadata, and each letter's date, sender and reference, come
from here, never from the wall clock, so the same inputs give the same bytes.

Example::

    [case]
    name = "State v. Doe: jail call audit"
    reference = "PD-2026-0142"
    analyst = "Dana Analyst"
    date = 2026-12-03                  # the date the letters and the report carry

    [case.sender]                       # who signs the letters and holds the keys
    name = "Dana Analyst"
    organisation = "Travis County Public Defender's Office"
    address = "509 W 11th St, Austin, TX 78701"
    email = "audit@example.org"
    phone = "+1 512 555 0100"

    [case.facilities]                   # facility codes in the records -> names
    TX25 = "Travis County Correctional Complex"
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from privguard.errors import Problems
from privguard.internals.audit.section import open_section, unknown_keys

_KNOWN = ("name", "reference", "analyst", "date", "sender", "facilities")
_SENDER = ("name", "organisation", "address", "email", "phone")
_MAX = 300  # characters: a field is a line or two on a letter, not a document
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Sender:
    """Who signs the letters and answers questions about them."""

    name: str | None = None
    organisation: str | None = None
    address: str | None = None
    email: str | None = None
    phone: str | None = None

    def lines(self) -> list[str]:
        """The sender block as printed at the top of a letter."""
        out = [v for v in (self.name, self.organisation) if v]
        out += (self.address or "").splitlines()
        out += [v for v in (self.email, self.phone) if v]
        return [line.strip() for line in out if line.strip()]

    def who(self) -> str | None:
        """The sender in a few words: organisation, else name."""
        return self.organisation or self.name

    def contact(self) -> str | None:
        """How to reach the sender: email and phone, whichever are given."""
        return " or ".join(v for v in (self.email, self.phone) if v) or None


@dataclass(frozen=True)
class Case:
    """Validated case details; every field is optional (the outputs then say so)."""

    name: str | None = None
    reference: str | None = None
    analyst: str | None = None
    date: dt.date | None = None
    sender: Sender = field(default_factory=Sender)
    facilities: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Whether a letter can go out as is: it has a date, a sender and a contact."""
        return bool(self.date and self.sender.who() and self.sender.contact())

    def facility(self, code: object) -> str:
        """A facility as a reader knows it: 'Name (CODE)' when named, else the code."""
        text = "unknown" if code is None else str(code)
        name = self.facilities.get(text)
        return f"{name} ({text})" if name else text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form (worker processes receive it)."""
        return {
            "name": self.name, "reference": self.reference, "analyst": self.analyst,
            "date": self.date.isoformat() if self.date else None,
            "sender": {k: getattr(self.sender, k) for k in _SENDER},
            "facilities": dict(self.facilities),
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Case:
        """The inverse of :meth:`to_dict`."""
        date = data.get("date")
        return cls(
            name=data.get("name"),
            reference=data.get("reference"),
            analyst=data.get("analyst"),
            date=dt.date.fromisoformat(date) if date else None,
            sender=Sender(**(data.get("sender") or {})),
            facilities=dict(data.get("facilities") or {}),
        )


def _text(section: dict[str, Any], key: str, where: str, problems: Problems) -> str | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.add(f'{where} {key} must be text in quotes, e.g. {key} = "..."')
        return None
    if len(value) > _MAX:
        problems.add(f"{where} {key} is {len(value)} characters long; at most {_MAX}")
        return None
    if _CONTROL.search(value):
        problems.add(f"{where} {key} holds control characters; write plain text")
        return None
    return value.strip()


def _date(value: Any, problems: Problems) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    problems.add(f"[case] date {value!r} is not a date; write it as date = 2026-12-03")
    return None


def _table(section: dict[str, Any], key: str, problems: Problems) -> dict[str, Any]:
    value = section.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add(f"[case] {key} must be a table: write it as [case.{key}]")
        return {}
    return value


def parse(section: Any, problems: Problems) -> Case:
    """Validate the ``[case]`` section, adding every problem to ``problems``."""
    section = open_section(section, "[case]", _KNOWN, problems)
    if section is None:
        return Case()
    sender = _table(section, "sender", problems)
    unknown_keys(sender, "[case.sender]", _SENDER, problems)
    facilities: dict[str, str] = {}
    for code, name in _table(section, "facilities", problems).items():
        text = _text({code: name}, code, "[case.facilities]", problems)
        if text:
            facilities[str(code)] = text
    return Case(
        name=_text(section, "name", "[case]", problems),
        reference=_text(section, "reference", "[case]", problems),
        analyst=_text(section, "analyst", "[case]", problems),
        date=_date(section.get("date"), problems),
        sender=Sender(**{k: _text(sender, k, "[case.sender]", problems) for k in _SENDER}),
        facilities=facilities,
    )
