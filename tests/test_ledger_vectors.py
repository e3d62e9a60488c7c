"""The ledger against public vectors: RFC 6962's reference tree and transparency-dev's cases.

The vectors live outside the repository (../shared/vectors from its root) and are never
copied in; every case there is run, the negative ones (wantErr) must be refused.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from privguard.internals.prevention.ledger import LedgerError, merkle


def find_vectors() -> Path:
    """../shared/vectors from the repository root (a worktree's root sits one level deeper)."""
    for parent in Path(__file__).parents[2:4]:
        if (parent / "shared" / "vectors").is_dir():
            return parent / "shared" / "vectors"
    return Path(__file__).parents[2] / "shared" / "vectors"


VECTORS = find_vectors()
TD = VECTORS / "transparency-dev-merkle"

# The RFC 6962 reference tree (leaves listed in the vectors' README; root at size 8 there).
RFC_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
RFC_ROOT_8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"

pytestmark = pytest.mark.skipif(not TD.is_dir(), reason=f"no public vectors at {VECTORS}")


def _b64(v: str | None) -> bytes:
    return base64.b64decode(v) if v else b""


def _cases(kind: str) -> list[Any]:
    files = sorted((TD / kind).rglob("*.json"))
    return [pytest.param(json.loads(f.read_text()), id=str(f.relative_to(TD))) for f in files]


def _rfc_subtree(lo: int, hi: int) -> bytes:
    return merkle.root(merkle.leaf_hash(d) for d in RFC_LEAVES[lo:hi])


def _rfc_roots() -> dict[int, bytes]:
    """Every root the transparency-dev happy paths state for the reference tree, by size."""
    roots: dict[int, bytes] = {}
    for f in TD.rglob("happy-path.json"):
        case = json.loads(f.read_text())
        if "treeSize" in case:
            roots[case["treeSize"]] = _b64(case["root"])
        else:
            roots[case["size1"]] = _b64(case["root1"])
            roots[case["size2"]] = _b64(case["root2"])
    return roots


def test_there_are_vectors_to_run() -> None:
    assert len(_cases("inclusion")) > 50 and len(_cases("consistency")) > 50


def test_rfc6962_root_at_size_8() -> None:
    assert _rfc_subtree(0, 8).hex() == RFC_ROOT_8


@pytest.mark.parametrize("size", range(1, 9))
def test_rfc6962_roots_sizes_1_to_8(size: int) -> None:
    got = _rfc_subtree(0, size)

    # The root is also the fold of the recursive definition, computed independently here.
    def mth(leaves: list[bytes]) -> bytes:
        if len(leaves) == 1:
            return merkle.leaf_hash(leaves[0])
        k = merkle.split(len(leaves))
        return merkle.node_hash(mth(leaves[:k]), mth(leaves[k:]))

    assert got == mth(RFC_LEAVES[:size])
    published = _rfc_roots()
    if size in published:  # sizes 1, 2, 3, 5, 6, 7, 8 appear in the happy paths
        assert got == published[size]


def test_published_roots_cover_most_sizes() -> None:
    assert {1, 2, 3, 5, 6, 7, 8} <= set(_rfc_roots())


def test_empty_tree_root() -> None:
    assert merkle.root([]).hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


@pytest.mark.parametrize("case", _cases("inclusion"))
def test_inclusion_vectors(case: dict[str, Any]) -> None:
    proof = [_b64(p) for p in case["proof"] or []]
    args = (_b64(case["leafHash"]), case["leafIdx"], case["treeSize"], proof, _b64(case["root"]))
    if case["wantErr"]:
        with pytest.raises(LedgerError):
            merkle.verify_inclusion(*args)
    else:
        merkle.verify_inclusion(*args)


@pytest.mark.parametrize("case", _cases("consistency"))
def test_consistency_vectors(case: dict[str, Any]) -> None:
    proof = [_b64(p) for p in case["proof"] or []]
    args = (case["size1"], case["size2"], proof, _b64(case["root1"]), _b64(case["root2"]))
    if case["wantErr"]:
        with pytest.raises(LedgerError):
            merkle.verify_consistency(*args)
    else:
        merkle.verify_consistency(*args)


@pytest.mark.parametrize("path", sorted(TD.glob("inclusion/[0-9]*/happy-path.json")), ids=str)
def test_generated_inclusion_proofs_equal_the_published_ones(path: Path) -> None:
    case = json.loads(path.read_text())
    assert (
        case["leafHash"] == base64.b64encode(merkle.leaf_hash(RFC_LEAVES[case["leafIdx"]])).decode()
    )
    got = merkle.inclusion_proof(case["leafIdx"], case["treeSize"], _rfc_subtree)
    assert got == [_b64(p) for p in case["proof"] or []]


@pytest.mark.parametrize("path", sorted(TD.glob("consistency/[0-9]*/happy-path.json")), ids=str)
def test_generated_consistency_proofs_equal_the_published_ones(path: Path) -> None:
    case = json.loads(path.read_text())
    got = merkle.consistency_proof(case["size1"], case["size2"], _rfc_subtree)
    assert got == [_b64(p) for p in case["proof"] or []]
