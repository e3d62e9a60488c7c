"""The side files an investigator brings: bar directory, public-defender list, registry."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

from privguard.internals.synth.population import Population
from privguard.internals.synth.writers import new_workbook


def _fmt(rng: np.random.Generator, digits: int, cell: bool) -> str:
    a, e, ln = digits // 10**7, (digits // 10**4) % 1000, digits % 10**4
    style = int(rng.integers(0, 6))
    text = [
        f"({a}) {e:03d}-{ln:04d}",
        f"{a}.{e:03d}.{ln:04d}",
        f"+1 {a} {e:03d} {ln:04d}",
        f"{a}{e:03d}{ln:04d}",
        f"{a}-{e:03d}-{ln:04d}",
        f"1-{a}-{e:03d}-{ln:04d}",
    ][style]
    if cell:
        return f"cell {text}"
    if rng.random() < 0.15:
        return f"{text} x{int(rng.integers(10, 400))}"
    return text


def day_text(day: int) -> str:
    """Epoch day to ``YYYY-MM-DD``."""
    return (dt.date(1970, 1, 1) + dt.timedelta(days=int(day))).isoformat()


def write_bar_directory(path: Path, pop: Population, rng: np.random.Generator) -> int:
    """``bar_directory.csv``: name, bar number, firm, phones (several per cell, many formats)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["name", "bar_number", "firm", "phones"])
        for att in pop.attorneys:
            if not att.listed:
                continue
            phones = [
                _fmt(rng, int(pop.num_digits[n]), bool(pop.num_is_cell[n]))
                for n in att.numbers
                if pop.num_in_dir[n]
            ]
            sep = str(rng.choice(["; ", " / ", ", ", "\n"]))
            w.writerow([att.name, att.bar_number, att.firm, sep.join(phones)])
            rows += 1
    return rows


def write_public_defenders(path: Path, pop: Population, rng: np.random.Generator) -> int:
    """``public_defenders.xlsx``: office and phones, one office per row."""
    book = new_workbook(path)
    sheet = book.add_worksheet("Offices")
    sheet.write_row(0, 0, ["Office", "Phones", "County", "State"])
    for i, (office, nums) in enumerate(pop.pd_offices):
        fac = pop.facilities[i]
        phones = "; ".join(_fmt(rng, int(pop.num_digits[n]), False) for n in nums)
        sheet.write_row(i + 1, 0, [office, phones, fac.county, fac.state])
    book.close()
    return len(pop.pd_offices)


def write_registry(path: Path, pop: Population, rng: np.random.Generator) -> int:
    """``do_not_record.csv``: number, attorney name, date_added, date_removed, facility."""
    path.parent.mkdir(parents=True, exist_ok=True)
    idx = np.flatnonzero(pop.reg_from >= 0)
    idx = idx[np.argsort(pop.reg_from[idx], kind="stable")]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["number", "attorney_name", "date_added", "date_removed", "facility"])
        for n in idx:
            until = int(pop.reg_until[n])
            fac = int(pop.reg_fac[n])
            w.writerow(
                [
                    _fmt(rng, int(pop.num_digits[n]), False),
                    pop.num_owner_name[n],
                    day_text(int(pop.reg_from[n])),
                    day_text(until) if until >= 0 else "",
                    pop.facilities[fac].code if fac >= 0 else "",
                ]
            )
    return len(idx)
