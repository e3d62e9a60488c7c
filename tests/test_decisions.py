"""The recording decision and the embeddable checker: every fail-closed case, no timing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from privguard.internals.prevention.decisions import (
    Checker,
    Checkpoint,
    Reason,
    RegistryEntry,
    SnapshotRejected,
    Verified,
    build_state,
    canonical,
    decide,
)

UTC = dt.UTC
NOW = dt.datetime(2024, 5, 6, 15, 0, tzinfo=UTC)
LAWYER = "+15125550100"
FAMILY = "+15125550199"


def _state(size: int = 3, not_after: dt.datetime | None = None, **kw: Any) -> Any:
    entries = [
        RegistryEntry(LAWYER, effective_from=dt.date(2024, 1, 1), ref="registration 1"),
        RegistryEntry("+15125550111", facilities=frozenset({"NORTH"}), ref="registration 2"),
        RegistryEntry(
            "+15125550122",
            effective_from=dt.date(2024, 5, 7),
            effective_to=dt.date(2024, 6, 1),
            ref="registration 3",
        ),
    ]
    return build_state(
        entries, Checkpoint(size, "ab" * 32), not_after or NOW + dt.timedelta(days=7), **kw
    )


# --- a small signed snapshot format for these tests (real Ed25519, real refusals) ---------


def _sign(key: Ed25519PrivateKey, size: int, not_after: dt.datetime, numbers: list[str]) -> bytes:
    body = json.dumps(
        {"size": size, "root": f"{size:064x}", "not_after": not_after.isoformat(), "n": numbers}
    ).encode()
    return body + b"\n" + key.sign(body).hex().encode()


def _verifier(key: Ed25519PrivateKey) -> Any:
    public = key.public_key()

    def verify(data: bytes, last: object | None, now: dt.datetime) -> Verified:
        body, _, sig = data.rpartition(b"\n")
        try:
            public.verify(bytes.fromhex(sig.decode()), body)
        except (InvalidSignature, ValueError) as exc:
            raise SnapshotRejected("bad signature", reason=Reason.BAD_SIGNATURE) from exc
        doc = json.loads(body)
        if isinstance(last, Checkpoint) and doc["size"] < last.size:
            raise SnapshotRejected("smaller tree", reason=Reason.ROLLBACK)
        not_after = dt.datetime.fromisoformat(doc["not_after"])
        if now >= not_after:
            raise SnapshotRejected("expired", reason=Reason.SNAPSHOT_EXPIRED)
        state = build_state(
            [RegistryEntry(n) for n in doc["n"]], Checkpoint(doc["size"], doc["root"]), not_after
        )
        return Verified(state, state.checkpoint)

    return verify


class Clock:
    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now, self.mono = now, 0.0

    def __call__(self) -> dt.datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def checker(key: Ed25519PrivateKey, clock: Clock) -> Checker:
    return Checker(_verifier(key), clock=clock, monotonic=clock.monotonic)


# --- canonicalization ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("+15125550100", LAWYER),
        ("(512) 555-0100", LAWYER),
        ("1-512-555-0100", LAWYER),
        ("512.555.0100 ext. 22", LAWYER),
        ("5125550100#7", LAWYER),
        ("+1 512 555 0100;ext=3", LAWYER),
        ("011 44 20 7946 0958", "+442079460958"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_canonical_reads_what_switches_dial(raw: str, want: str) -> None:
    assert canonical(raw) == want


@pytest.mark.parametrize(
    "raw", ["", "555-0100", "1800FLOWERS", "+1512555010", "0125550100", "+1+5125550100", "５１２"]
)
def test_canonical_refuses_what_it_cannot_read(raw: str) -> None:
    assert canonical(raw) is None


# --- the pure decision -----------------------------------------------------------------------


def test_registered_number_is_never_recorded_and_names_its_entry() -> None:
    d = decide("MAIN", "A1", "(512) 555-0100", NOW, None, _state())
    assert (d.record, d.reason) == (False, Reason.REGISTERED_NUMBER)
    assert d.entry is not None and d.entry.ref == "registration 1"
    assert d.checkpoint == Checkpoint(3, "ab" * 32)


def test_unregistered_number_may_be_recorded_only_when_every_check_passed() -> None:
    d = decide("MAIN", "A1", FAMILY, NOW, False, _state())
    assert (d.record, d.reason, d.entry) == (True, Reason.NOT_REGISTERED_RECORDING_ALLOWED, None)
    assert d.checkpoint is not None and d.decision_id


def test_scope_and_dates_of_an_entry() -> None:
    s = _state(not_after=NOW + dt.timedelta(days=60))
    assert decide("north", "A", "+15125550111", NOW, None, s).record is False
    assert decide("SOUTH", "A", "+15125550111", NOW, None, s).record is True
    # effective from 2024-05-07 (UTC day by default); not yet on the 6th, gone on June 1st
    assert decide("MAIN", "A", "+15125550122", NOW, None, s).record is True
    assert decide("MAIN", "A", "+15125550122", NOW + dt.timedelta(days=1), None, s).record is False
    assert decide("MAIN", "A", "+15125550122", dt.datetime(2024, 6, 1, tzinfo=UTC), None, s).record


def test_the_facility_local_day_decides_when_its_zone_is_known() -> None:
    s = _state(zones={"MAIN": "America/Chicago"})
    late = dt.datetime(2024, 5, 7, 3, 0, tzinfo=UTC)  # still May 6th in Chicago
    assert decide("MAIN", "A", "+15125550122", late, None, s).record is True
    assert decide("OTHER", "A", "+15125550122", late, None, s).record is False  # UTC day


def test_declared_private_call_to_an_unregistered_number_is_not_recorded() -> None:
    d = decide("MAIN", "A", FAMILY, NOW, True, _state())
    assert (d.record, d.reason, d.private_call_declared) == (
        False,
        Reason.PRIVATE_CALL_DECLARED,
        True,
    )


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"state": None}, Reason.NOTHING_LOADED),
        ({"number": "call me"}, Reason.UNPARSEABLE_NUMBER),
        ({"at": NOW + dt.timedelta(days=8)}, Reason.SNAPSHOT_EXPIRED),
        ({"facility": " "}, Reason.BAD_REQUEST),
        ({"at": NOW.replace(tzinfo=None)}, Reason.BAD_REQUEST),
    ],
)
def test_every_failed_check_answers_false_with_its_reason(kwargs: dict, reason: str) -> None:
    args = {"facility": "MAIN", "number": FAMILY, "at": NOW, "state": _state()} | kwargs
    d = decide(args["facility"], "A", args["number"], args["at"], None, args["state"])
    assert (d.record, d.reason) == (False, reason)


def test_a_facility_snapshot_does_not_decide_for_another_facility() -> None:
    s = _state(scope=["NORTH"])
    assert decide("NORTH", "A", FAMILY, NOW, None, s).record is True
    d = decide("SOUTH", "A", FAMILY, NOW, None, s)
    assert (d.record, d.reason) == (False, Reason.FACILITY_NOT_COVERED)


def test_registry_numbers_must_be_e164_at_load() -> None:
    with pytest.raises(Exception, match="E.164"):
        build_state([RegistryEntry("512-555-0100")], Checkpoint(1, ""), NOW)


def test_the_decision_has_no_override() -> None:
    import inspect

    params = set(inspect.signature(decide).parameters) | set(
        inspect.signature(Checker.decide).parameters
    )
    assert not {p for p in params if "override" in p or "force" in p}


# --- the checker -----------------------------------------------------------------------------


def test_checker_answers_nothing_loaded_before_any_snapshot(checker: Checker) -> None:
    d = checker.decide("MAIN", "A", FAMILY)
    assert (d.record, d.reason) == (False, Reason.NOTHING_LOADED)


def test_checker_decides_after_a_verified_load(checker: Checker, key: Any) -> None:
    checker.load(_sign(key, 5, NOW + dt.timedelta(days=1), [LAWYER]))
    assert checker.decide("MAIN", "A", FAMILY).record is True
    d = checker.decide("MAIN", "A", "512 555 0100")
    assert (d.record, d.reason, d.checkpoint.size) == (False, Reason.REGISTERED_NUMBER, 5)  # type: ignore[union-attr]


def test_bad_signature_first_load_keeps_nothing(checker: Checker) -> None:
    other = Ed25519PrivateKey.generate()
    with pytest.raises(SnapshotRejected):
        checker.load(_sign(other, 5, NOW + dt.timedelta(days=1), []))
    assert checker.state is None
    d = checker.decide("MAIN", "A", FAMILY)
    assert (d.record, d.reason) == (False, Reason.BAD_SIGNATURE)


def test_corrupted_delivery_after_a_good_one_fails_closed_until_a_good_one(
    checker: Checker, key: Any
) -> None:
    checker.load(_sign(key, 5, NOW + dt.timedelta(days=1), [LAWYER]))
    data = bytearray(_sign(key, 6, NOW + dt.timedelta(days=1), [LAWYER, FAMILY]))
    data[10] ^= 1
    with pytest.raises(SnapshotRejected):
        checker.load(bytes(data))
    assert checker.state is not None and checker.state.checkpoint.size == 5  # nothing kept
    assert checker.decide("MAIN", "A", "+15125550177").reason == Reason.BAD_SIGNATURE
    checker.load(_sign(key, 6, NOW + dt.timedelta(days=1), [LAWYER, FAMILY]))
    assert checker.decide("MAIN", "A", FAMILY).reason == Reason.REGISTERED_NUMBER


def test_rollback_to_a_smaller_tree_is_refused(checker: Checker, key: Any) -> None:
    checker.load(_sign(key, 9, NOW + dt.timedelta(days=1), [LAWYER]))
    with pytest.raises(SnapshotRejected):
        checker.load(_sign(key, 4, NOW + dt.timedelta(days=2), []))
    assert checker.state is not None and checker.state.checkpoint.size == 9
    d = checker.decide("MAIN", "A", FAMILY)
    assert (d.record, d.reason) == (False, Reason.ROLLBACK)


def test_snapshot_expired_on_arrival_is_refused(checker: Checker, key: Any) -> None:
    with pytest.raises(SnapshotRejected):
        checker.load(_sign(key, 2, NOW - dt.timedelta(seconds=1), []))
    assert checker.decide("MAIN", "A", FAMILY).reason == Reason.SNAPSHOT_EXPIRED


def test_snapshot_expiring_while_held_is_judged_at_decision_time(
    checker: Checker, key: Any, clock: Clock
) -> None:
    checker.load(_sign(key, 2, NOW + dt.timedelta(hours=1), []))
    assert checker.decide("MAIN", "A", FAMILY).record is True
    clock.now = NOW + dt.timedelta(hours=1)
    assert checker.decide("MAIN", "A", FAMILY).reason == Reason.SNAPSHOT_EXPIRED
    # an old call time does not revive it: the checker's clock counts too
    assert checker.decide("MAIN", "A", FAMILY, at=NOW).reason == Reason.SNAPSHOT_EXPIRED


def test_unparseable_number_through_the_checker(checker: Checker, key: Any) -> None:
    checker.load(_sign(key, 2, NOW + dt.timedelta(days=1), []))
    assert checker.decide("MAIN", "A", "ask for Bob").reason == Reason.UNPARSEABLE_NUMBER


def test_any_exception_while_deciding_is_an_internal_error(checker: Checker, key: Any) -> None:
    checker.load(_sign(key, 2, NOW + dt.timedelta(days=1), []))

    class Broken(dict):  # type: ignore[type-arg]
        def get(self, *_: object) -> None:
            raise RuntimeError("boom")

    state = checker.state
    object.__setattr__(state, "entries", Broken())
    d = checker.decide("MAIN", "A", FAMILY)
    assert (d.record, d.reason) == (False, Reason.INTERNAL_ERROR)


def test_a_decision_past_its_deadline_is_a_timeout(key: Any, clock: Clock) -> None:
    def slow_clock() -> dt.datetime:
        clock.mono += 1.0  # every read of the wall clock 'takes' a second
        return clock.now

    checker = Checker(_verifier(key), clock=slow_clock, monotonic=clock.monotonic, timeout_s=0.5)
    checker.load(_sign(key, 2, NOW + dt.timedelta(days=1), []))
    d = checker.decide("MAIN", "A", FAMILY)
    assert (d.record, d.reason) == (False, Reason.TIMEOUT)
    assert checker.decide("MAIN", "A", FAMILY, timeout_s=5).record is True


def test_background_refresh_picks_up_a_new_snapshot_and_ignores_a_dead_source(
    key: Any, clock: Clock
) -> None:
    delivered = [_sign(key, 1, NOW + dt.timedelta(days=1), [])]

    def source() -> bytes:
        if not delivered:
            raise OSError("file gone")
        return delivered[-1]

    checker = Checker(_verifier(key), source=source, clock=clock, monotonic=clock.monotonic)
    assert checker.refresh() is True and checker.decide("MAIN", "A", LAWYER).record is True
    assert checker.refresh() is False  # same bytes: not verified again
    delivered.append(_sign(key, 2, NOW + dt.timedelta(days=1), [LAWYER]))
    assert checker.refresh() is True
    assert checker.decide("MAIN", "A", LAWYER).reason == Reason.REGISTERED_NUMBER
    delivered.clear()
    assert checker.refresh() is False  # unreadable source: the verified state stays
    assert checker.decide("MAIN", "A", LAWYER).reason == Reason.REGISTERED_NUMBER


def test_the_checker_cannot_be_built_without_a_verifier() -> None:
    with pytest.raises(ValueError, match="verif"):
        Checker(None)  # type: ignore[arg-type]


def test_decision_ids_are_unique_and_a_forked_child_draws_its_own() -> None:
    import os

    from privguard.internals.prevention.decisions.decide import new_decision_id

    ids = {new_decision_id() for _ in range(5000)}
    assert len(ids) == 5000
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next id must not be the parent's next one
        os.write(write, new_decision_id()[12:].encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    assert child and child != new_decision_id()[12:]


def test_on_load_is_called_with_each_state_made_current_and_only_then(
    key: Any, clock: Clock
) -> None:
    loaded: list[int] = []
    checker = Checker(
        _verifier(key),
        clock=clock,
        monotonic=clock.monotonic,
        on_load=lambda state: loaded.append(state.checkpoint.size),
    )
    checker.load(_sign(key, 5, NOW + dt.timedelta(days=1), [LAWYER]))
    with pytest.raises(SnapshotRejected):  # refused: nothing made current, no call
        checker.load(_sign(Ed25519PrivateKey.generate(), 6, NOW + dt.timedelta(days=1), []))
    checker.load(_sign(key, 7, NOW + dt.timedelta(days=1), [LAWYER]))
    assert loaded == [5, 7]


def test_a_failing_on_load_hook_does_not_undo_the_load(key: Any, clock: Clock) -> None:
    def broken(state: object) -> None:
        raise RuntimeError("hook")

    checker = Checker(_verifier(key), clock=clock, monotonic=clock.monotonic, on_load=broken)
    checker.load(_sign(key, 5, NOW + dt.timedelta(days=1), [LAWYER]))
    assert checker.state is not None and checker.state.checkpoint.size == 5
    assert checker.decide("MAIN", "A", LAWYER).reason == Reason.REGISTERED_NUMBER
