"""Ingest of a generated leak (``privguard synth``) reconciles exactly against its truth."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from privguard.internals.audit.ingest.api import ingest
from privguard.internals.audit.ingest.mapping import kind

synth_api = pytest.importorskip("privguard.internals.synth.api")


def _check(tmp_path: Path, calls: int, seed: int) -> None:
    leak = tmp_path / "leak"
    synth_api.synth(leak, calls=calls, seed=seed)
    work = tmp_path / "work"
    result = ingest(leak / "dump", work)
    assert not result.skipped_files
    assert all(t["status"] == "ingested" for t in result.tables)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE truth AS SELECT * FROM read_parquet('{leak}/truth/rows.parquet')")
    con.execute(
        'CREATE TABLE got AS SELECT src_file AS file, src_table AS "table", src_row AS "row", '
        f"dialed_number, start FROM read_parquet('{work}/ingested/*.parquet')"
    )
    con.execute(
        f"CREATE TABLE rej AS SELECT * FROM read_csv('{work}/rejects.csv', header=true, "
        "quote='\"', escape='\"', "
        "columns={'file': 'VARCHAR', 'table': 'VARCHAR', 'row': 'BIGINT', 'reason': 'VARCHAR', "
        "'raw': 'VARCHAR'})"
    )
    keys = 'file, "table", "row"'
    n_truth = con.execute("SELECT count(*) FROM truth").fetchone()[0]
    assert result.totals["rows_read"] == n_truth
    # Every source row is accepted or rejected exactly once, under the truth's provenance key.
    assert (
        con.execute(
            f"SELECT count(*) FROM (SELECT {keys} FROM got UNION ALL SELECT {keys} FROM rej)"
        ).fetchone()[0]
        == n_truth
    )
    assert (
        con.execute(
            f"SELECT count(*) FROM truth ANTI JOIN (SELECT {keys} FROM got UNION ALL "
            f"SELECT {keys} FROM rej) u USING ({keys})"
        ).fetchone()[0]
        == 0
    )
    # Nothing clean was rejected; a corrupt row that parses is visibly wrong (flagged later).
    assert (
        con.execute(
            f"SELECT count(*) FROM rej JOIN truth USING ({keys}) WHERE NOT corrupt"
        ).fetchone()[0]
        == 0
    )
    slipped = con.execute(
        f"SELECT dialed_number, start FROM got JOIN truth USING ({keys}) WHERE corrupt"
    ).fetchall()
    n_corrupt = con.execute("SELECT count(*) FROM truth WHERE corrupt").fetchone()[0]
    assert len(slipped) <= 0.05 * n_corrupt + 1
    for number, start in slipped:
        assert kind([number]) != "phone" or kind([start]) not in ("datetime", "date")


def test_synth_small_reconciles(tmp_path: Path) -> None:
    _check(tmp_path, 3000, 11)


@pytest.mark.slow
def test_synth_20k_reconciles(tmp_path: Path) -> None:
    _check(tmp_path, 20_000, 1)
