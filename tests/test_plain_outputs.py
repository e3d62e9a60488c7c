"""What a person reads after `privguard audit` speaks plain language (issue 13).

One audit through the CLI (click's CliRunner) of the shared synthetic leak, with a case
file, a directory with unusable rows and a registry without dates, so the run logs several
kinds of warnings. Checked: the end-of-run summary lists them grouped, counted and as
sentences (no logger names); and no internal term (column or rule names, the score's
"effective" callers, IANA zone names) reaches the report's main body, the letters or the
summary; those stay in the appendix and the exports."""

from __future__ import annotations

import csv
import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from privguard.cli import cli

CASE = """[case]
name = "State v. Doe: jail call audit"
reference = "PD-2026-0142"
analyst = "Dana Analyst"
date = 2026-12-03

[case.sender]
name = "Dana Analyst"
organisation = "Travis County Public Defender's Office"
email = "audit@example.org"
"""
# Internal words a reader must not meet in the main body: snake_case names that are not
# file names, IANA zone names, and the score's internals.
SNAKE = re.compile(
    r"(?<![\w./-])[a-z]+(?:_[a-z0-9]+)+(?![\w./-]*\.(?:csv|xlsx|json|parquet|db|txt|pdf|html|key|toml))\b"
)
ZONE = re.compile(r"\b(?:America|Europe|Pacific|Asia|Etc)/[A-Z]\w+")
WORDS = ("effective", "near_time", "billed_minutes", "directory_attorney", "privguard.")


@pytest.fixture(scope="module")
def run(synthetic_leak: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("plain")
    (root / "case.toml").write_text(CASE, encoding="utf-8")
    directory = (synthetic_leak / "directory" / "bar_directory.csv").read_text(encoding="utf-8")
    # Two rows whose phone is no number: each is set aside with a warning (one kind, twice).
    directory += "Pat Nobody,XX0000001,,not a phone\nSam Nobody,XX0000002,,12\n"
    (root / "bar.csv").write_text(directory, encoding="utf-8")
    lines = (synthetic_leak / "registry" / "do_not_record.csv").read_text().splitlines()
    # A registry without its date columns: a warning, and the report qualifies its figures.
    (root / "dnr.csv").write_text(
        "\n".join(",".join(c for i, c in enumerate(ln.split(",")) if i in (0, 1, 4))
                  for ln in lines) + "\n", encoding="utf-8")  # fmt: skip
    out = root / "out"
    done = CliRunner().invoke(
        cli,
        ["audit", str(synthetic_leak / "dump"), "--out", str(out), "--directory",
         str(root / "bar.csv"), "--registry", str(root / "dnr.csv"),
         "--config", str(root / "case.toml")],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    return {"out": out, "output": done.output, "stdout": done.stdout}


def test_summary_lists_the_runs_warnings_grouped_as_sentences(run: dict[str, object]) -> None:
    text = str(run["stdout"])
    assert "Warnings (" in text, text
    block = text[text.index("Warnings (") :].splitlines()
    total = int(re.match(r"Warnings \(([\d,]+)\):", block[0]).group(1).replace(",", ""))  # type: ignore[union-attr]
    items = [ln for ln in block[1:] if ln.startswith("  - ")]
    counted = sum(
        int(m.group(1)) if (m := re.match(r"  - (\d+) times: ", ln)) else 1 for ln in items
    )
    assert counted == total  # every warning once, in exactly one group
    assert any(re.match(r"  - \d+ times: .*clock zone", ln) for ln in items), block  # grouped
    assert any(re.match(r"  - bar\.csv: 2 of \d+ row\(s\) set aside", ln) for ln in items), block
    assert any("no date-added column" in ln for ln in items), block
    for ln in items:
        sentence = re.sub(r"^  - (\d+ times: )?", "", ln)
        assert sentence[0].isupper() or not sentence.split()[0].isalpha(), ln
        assert sentence.endswith("."), ln
    assert "privguard." not in text and "WARNING" not in text


def _main_body_html(out: Path) -> str:
    page = (out / "shareable" / "report.html").read_text(encoding="utf-8")
    page = re.sub(r"<(style|script|svg)\b[^>]*>.*?</\1>", " ", page, flags=re.S)
    body = page[page.index("<main>") : page.index('id="appendix"')]
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def _pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _jargon(text: str) -> list[str]:
    found = SNAKE.findall(text) + ZONE.findall(text)
    return found + [w for w in WORDS if w in text]


def test_no_internal_terms_in_the_main_body_letters_or_summary(run: dict[str, object]) -> None:
    out = Path(str(run["out"]))
    assert _jargon(_main_body_html(out)) == []
    assert _jargon(str(run["stdout"]).split("\nWarnings (")[0]) == []
    if shutil.which("pdftotext"):
        pdf = _pdf_text(out / "shareable" / "report.pdf")
        assert _jargon(pdf[: pdf.index("Appendix A.")]) == []
        letters = sorted((out / "shareable" / "letters").glob("*.pdf"))
        assert letters
        for letter in letters:
            assert _jargon(_pdf_text(letter)) == [], letter.name


def test_one_table_per_audience_with_the_same_columns(run: dict[str, object]) -> None:
    """restricted/findings/ repeats no export under other names (issue 13): it holds only
    by_inmate.csv, the shareable exports/by_inmate.csv with people in clear; under the case
    key, the two are the same rows."""
    from privguard.internals.common.keys import load_key, pseudonym

    out = Path(str(run["out"]))
    restricted = out / "restricted" / "findings"
    assert sorted(p.name for p in restricted.iterdir()) == ["by_inmate.csv"]
    with (restricted / "by_inmate.csv").open(encoding="utf-8", newline="") as fh:
        clear = list(csv.DictReader(fh))
    with (out / "shareable" / "exports" / "by_inmate.csv").open(encoding="utf-8", newline="") as fh:
        shared = list(csv.DictReader(fh))
    assert clear and list(clear[0]) == list(shared[0])
    key = load_key(out)

    # An account written with several name spellings shows the first of each list (names
    # or pseudonyms), which may differ: the name is compared where the account has one.
    def masked(r: dict[str, str]) -> tuple[str, ...]:
        acct = pseudonym(key, "account", r["inmate_account"].lstrip("'"))
        return (r["facility"], acct, r["calls"], r["completed"], r["recorded"], r["violations"])

    def shown(r: dict[str, str]) -> tuple[str, ...]:
        return (r["facility"], r["inmate_account"], r["calls"], r["completed"], r["recorded"],
                r["violations"])  # fmt: skip

    assert sorted(map(masked, clear)) == sorted(map(shown, shared))
    names = {
        pseudonym(key, "name", r["inmate_name"].lstrip("'")) for r in clear if r["inmate_name"]
    }
    assert sum(r["inmate_name"] in names for r in shared) >= 0.8 * len(shared)
