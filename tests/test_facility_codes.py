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
from typing import Any

import duckdb
import pytest

from privguard.errors import InputError
from privguard.internals.audit.findings.api import findings
from privguard.internals.audit.identify.api import identify
from privguard.internals.audit.normalize.api import normalize
from privguard.internals.audit.paths import AuditPaths
from test_findings import REPORT
from test_identify_helpers import attorney_numbers, build, write_calls
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


def _registry_run(
    tmp: Path,
    scopes: dict[str, str],
    aliases: list[dict] | None,  # type: ignore[type-arg]
    set_aside: int = 0,
) -> dict:  # type: ignore[type-arg]
    """findings on a small population at facilities CA64 and TX07, with registry entries
    scoped as ``scopes`` writes each code; ``aliases`` as normalize's facility groups (and
    ``set_aside`` as its rows set aside)."""
    pop = build(seed=7)
    for r in pop.rows:
        r["facility"] = {"JAIL_A": "CA64", "JAIL_B": "TX07"}[str(r["facility"])]
    out = tmp / "out"
    work = AuditPaths(out).work
    write_calls(pop, out)
    work.mkdir(parents=True)
    (work / "ingest_report.json").write_text(json.dumps(REPORT))
    if aliases is not None:
        totals = {"rows_set_aside": set_aside} if set_aside else {}
        report = {"totals": totals, "facilities": {"groups": aliases, "evidence": []}}
        (work / "normalize_report.json").write_text(json.dumps(report))
    reg = attorney_numbers(pop)["registry"]
    entries = [
        (reg[2], "2013-01-01", "", scopes["CA64"]),
        (reg[3], "2013-03-01", "", scopes["TX07"]),
        (reg[3], "2013-01-20", "2013-02-10", scopes["CA64"]),
    ]
    lines = ["number,date added,date removed,facility"] + [",".join(e) for e in entries]
    (tmp / "dnr.csv").write_text("\n".join(lines) + "\n")
    identify(out, registries=[tmp / "dnr.csv"])
    s = findings(out)
    flags = duckdb.connect().execute(
        f"SELECT call_id, registered_at_call, registry_violation FROM '{AuditPaths(out).flags}' "
        "ORDER BY call_id"
    )
    return {"summary": s.values, "flags": flags.fetchall()}


def test_registry_scopes_are_read_as_the_calls_facility_labels(tmp_path: Path) -> None:
    exact = _registry_run(tmp_path / "a", {"CA64": "CA64", "TX07": "TX07"}, None)
    assert exact["summary"]["registry_violations"] > 0, "the fixture needs scoped violations"
    assert any(reg for _, reg, _ in exact["flags"])
    # The same list written by a person: the jail's name, and the code with a dash.
    groups = [{"facility": "CA64", "labels": ["CA64", "LOSANGELESCOUNTYMENSCENTRALJAIL"]}]
    written = _registry_run(tmp_path / "b", {"CA64": LA, "TX07": "tx-07"}, groups)
    assert written["flags"] == exact["flags"]
    assert written["summary"]["registry_violations"] == exact["summary"]["registry_violations"]


def test_findings_reads_the_normalize_report_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The rows set aside and the facility aliases come from one read of the report, through
    # one error path (it was read, and its errors handled, once for each).
    reads: list[str] = []
    read_text = Path.read_text

    def counted(self: Path, *args: Any, **kwargs: Any) -> str:
        if self.name == "normalize_report.json":
            reads.append(str(self))
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counted)
    groups = [{"facility": "CA64", "labels": ["CA64", "LOSANGELESCOUNTYMENSCENTRALJAIL"]}]
    exact = _registry_run(tmp_path / "a", {"CA64": "CA64", "TX07": "TX07"}, None)
    assert reads == []  # no report: nothing set aside, no aliases
    assert exact["summary"]["rows_set_aside"] == 0
    written = _registry_run(tmp_path / "b", {"CA64": LA, "TX07": "TX07"}, groups, set_aside=5)
    assert len(reads) == 1, reads
    assert written["summary"]["rows_set_aside"] == 5
    assert written["flags"] == exact["flags"]  # the alias was applied


def test_a_damaged_facility_group_names_the_normalize_report(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        _registry_run(tmp_path, {"CA64": "CA64", "TX07": "TX07"}, [{"labels": ["CA64"]}])
    assert caught.value.where == str(AuditPaths(tmp_path / "out").normalize_report)
    assert "run 'privguard audit' again" in (caught.value.fix or "")
