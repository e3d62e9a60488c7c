"""RFC 6962 / RFC 9162 §2.1 Merkle tree math, with no storage and no I/O.

Hashes are SHA-256 with domain separation: a leaf is ``SHA-256(0x00 || data)``, an interior
node ``SHA-256(0x01 || left || right)``, and the empty tree is ``SHA-256("")``. A tree of
``n`` leaves splits at ``k``, the largest power of two below ``n``, so every left subtree is
perfect; this is what makes proofs and roots the same as every other RFC 6962 log
(Certificate Transparency, Go's sumdb, Sigstore), checked against transparency-dev's vectors.

Proof *generation* takes a ``subtree(lo, hi)`` callable that returns the root of leaves
``lo..hi-1`` seen as a tree of their own. The ranges asked for always start at a multiple of
a power of two at least ``hi - lo`` (RFC 6962's recursion only asks for such ranges), so a
store can answer from cached perfect subtrees. Proof *verification* follows RFC 9162's
iterative algorithms (§2.1.3.2, §2.1.4.2) literally, and raises :class:`LedgerError`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from privguard.internals.prevention.ledger.errors import LedgerError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

Subtree = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    """The RFC 6962 hash of one leaf: ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 6962 hash of an interior node: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two strictly below ``n`` (``n`` >= 2): where RFC 6962 splits."""
    return 1 << ((n - 1).bit_length() - 1)


class Frontier:
    """The right edge of a growing tree: perfect subtrees, largest first, O(log n) memory.

    Push leaf hashes (level 0) or roots of aligned perfect subtrees (level = log2 of their
    leaf count) in index order; :meth:`root` folds the edge into the RFC 6962 root at any
    time without changing it, so one pass over a log gives the root at every size.
    """

    __slots__ = ("_stack", "size")

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []
        self.size = 0

    def push(self, digest: bytes, level: int = 0) -> None:
        """Append a perfect subtree of ``2**level`` leaves (its root hash ``digest``)."""
        if self.size % (1 << level):
            raise ValueError(f"a subtree of 2**{level} leaves cannot start at {self.size}")
        self.size += 1 << level
        stack = self._stack
        while stack and stack[-1][0] == level:
            digest = node_hash(stack.pop()[1], digest)
            level += 1
        stack.append((level, digest))

    def root(self) -> bytes:
        """The root of the leaves pushed so far (``EMPTY_ROOT`` when none)."""
        if not self._stack:
            return EMPTY_ROOT
        digest = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            digest = node_hash(left, digest)
        return digest


def root(leaf_hashes: Iterable[bytes]) -> bytes:
    """The RFC 6962 root of a sequence of *leaf hashes* (use :func:`leaf_hash` on data first).

    Streams: memory stays O(log n) however long the iterable.
    """
    frontier = Frontier()
    for digest in leaf_hashes:
        frontier.push(digest)
    return frontier.root()


def inclusion_proof(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """RFC 6962 ``PATH(index, D[0:size])``: sibling hashes from the leaf up to the root."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    proof: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split(hi - lo)
        if index < lo + k:
            proof.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            proof.append(subtree(lo, lo + k))
            lo += k
    proof.reverse()
    return proof


def consistency_proof(old_size: int, new_size: int, subtree: Subtree) -> list[bytes]:
    """RFC 6962 ``PROOF(old_size, D[0:new_size])``; empty when the sizes are equal."""
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    proof: list[bytes] = []
    lo, hi, m, whole = 0, new_size, old_size, True
    while m != hi:
        k = split(hi - lo)
        if m - lo <= k:
            proof.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            proof.append(subtree(lo, lo + k))
            lo += k
            whole = False
    if not whole:
        proof.append(subtree(lo, hi))
    proof.reverse()
    return proof


def _check_hashes(what: str, hashes: Sequence[bytes]) -> None:
    for i, h in enumerate(hashes):
        if len(h) != HASH_SIZE:
            raise LedgerError(f"{what} hash {i} has {len(h)} bytes, not {HASH_SIZE}")


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` implies for ``leaf`` at ``index`` (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        raise LedgerError(f"leaf index {index} is outside a tree of size {size}")
    if len(leaf) != HASH_SIZE:
        raise LedgerError(f"the leaf hash has {len(leaf)} bytes, not {HASH_SIZE}")
    _check_hashes("inclusion proof", proof)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise LedgerError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise LedgerError("the inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes
) -> None:
    """Check that ``leaf`` (a leaf *hash*) is entry ``index`` of the tree ``(size, root)``.

    Raises :class:`LedgerError` saying what failed; returns None when the proof holds.
    """
    if root_from_inclusion(index, size, leaf, proof) != root_hash:
        raise LedgerError(f"the inclusion proof of leaf {index} does not lead to the root")


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Check that tree ``(new_size, new_root)`` extends ``(old_size, old_root)``.

    RFC 9162 §2.1.4.2, strictly: equal sizes need an empty proof and equal roots; a proof
    from the empty tree is refused (it would prove nothing). Raises :class:`LedgerError`.
    """
    if old_size > new_size:
        raise LedgerError(f"the old size {old_size} is larger than the new size {new_size}")
    if old_size == new_size:
        if proof:
            raise LedgerError("trees of the same size need an empty consistency proof")
        if old_root != new_root or (old_size == 0 and old_root != EMPTY_ROOT):
            raise LedgerError(f"two different roots for the same size {old_size}")
        return
    if old_size == 0:
        raise LedgerError("a consistency proof from the empty tree proves nothing")
    if not proof:
        raise LedgerError("the consistency proof is empty")
    _check_hashes("consistency proof", proof)
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise LedgerError("the consistency proof is longer than the trees need")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise LedgerError("the consistency proof is shorter than the trees need")
    if fr != old_root:
        raise LedgerError(f"the consistency proof does not lead to the old root (size {old_size})")
    if sr != new_root:
        raise LedgerError(f"the consistency proof does not lead to the new root (size {new_size})")
