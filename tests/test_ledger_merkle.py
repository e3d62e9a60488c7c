"""Property tests of the Merkle math: every generated proof verifies, any flipped bit fails."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privguard.internals.prevention.ledger import LedgerError, merkle


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 6962's recursive definition, written independently of the streaming root."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = merkle.split(len(leaves))
    return merkle.node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def _tree(n: int) -> tuple[list[bytes], merkle.Subtree]:
    leaves = _leaves(n)
    return leaves, lambda lo, hi: merkle.root(leaves[lo:hi])


def _flip(proof: list[bytes], which: int, bit: int) -> list[bytes]:
    out = list(proof)
    h = bytearray(out[which])
    h[bit // 8] ^= 1 << (bit % 8)
    out[which] = bytes(h)
    return out


@given(st.integers(0, 300))
def test_streaming_root_is_the_recursive_definition(n: int) -> None:
    leaves = _leaves(n)
    assert merkle.root(leaves) == _mth(leaves)


@settings(max_examples=200)
@given(st.data())
def test_inclusion_proofs_verify_and_flipped_bits_fail(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, 300))
    index = data.draw(st.integers(0, size - 1))
    leaves, subtree = _tree(size)
    root = merkle.root(leaves)
    proof = merkle.inclusion_proof(index, size, subtree)
    merkle.verify_inclusion(leaves[index], index, size, proof, root)
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1))
        bad = _flip(proof, which, data.draw(st.integers(0, 255)))
        with pytest.raises(LedgerError):
            merkle.verify_inclusion(leaves[index], index, size, bad, root)
    with pytest.raises(LedgerError):  # another leaf at this place
        merkle.verify_inclusion(merkle.leaf_hash(b"other"), index, size, proof, root)
    with pytest.raises(LedgerError):  # a different root
        merkle.verify_inclusion(leaves[index], index, size, proof, _flip([root], 0, 3)[0])


@settings(max_examples=200)
@given(st.data())
def test_consistency_proofs_verify_and_flipped_bits_fail(data: st.DataObject) -> None:
    new = data.draw(st.integers(1, 300))
    old = data.draw(st.integers(1, new))
    leaves, subtree = _tree(new)
    old_root, new_root = merkle.root(leaves[:old]), merkle.root(leaves)
    proof = merkle.consistency_proof(old, new, subtree)
    merkle.verify_consistency(old, new, proof, old_root, new_root)
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1))
        bad = _flip(proof, which, data.draw(st.integers(0, 255)))
        with pytest.raises(LedgerError):
            merkle.verify_consistency(old, new, bad, old_root, new_root)
    if old < new:  # a tree that rewrote an old leaf is not an extension
        forked = list(leaves)
        forked[data.draw(st.integers(0, old - 1))] = merkle.leaf_hash(b"rewritten")
        with pytest.raises(LedgerError):
            merkle.verify_consistency(old, new, proof, old_root, merkle.root(forked))


@given(st.integers(0, 2000), st.sampled_from([1, 2, 4, 8]))
def test_frontier_takes_cached_perfect_subtrees(n: int, level: int) -> None:
    """Pushing aligned subtree roots, then the tail's leaves, gives the same root."""
    leaves = _leaves(n)
    width = 1 << level
    frontier = merkle.Frontier()
    full = n - n % width
    for lo in range(0, full, width):
        frontier.push(merkle.root(leaves[lo : lo + width]), level)
    for leaf in leaves[full:]:
        frontier.push(leaf)
    assert frontier.size == n and frontier.root() == _mth(leaves)


def test_misaligned_subtree_is_refused() -> None:
    frontier = merkle.Frontier()
    frontier.push(merkle.leaf_hash(b"a"))
    with pytest.raises(ValueError):
        frontier.push(merkle.leaf_hash(b"b"), 1)


def test_proofs_outside_the_tree_are_refused() -> None:
    _, subtree = _tree(4)
    with pytest.raises(ValueError):
        merkle.inclusion_proof(4, 4, subtree)
    with pytest.raises(ValueError):
        merkle.consistency_proof(5, 4, subtree)
