"""C2SP signed notes and checkpoints: the spec's own example, key files and rotation."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from privguard.errors import InputError
from privguard.internals.prevention.ledger import LedgerError, Signer, Verifier
from privguard.internals.prevention.ledger.note import (
    EM_DASH,
    checkpoint_body,
    parse_checkpoint,
    sign_note,
    verify_checkpoint,
    verify_note,
)

C2SP = Path(__file__).parents[2] / "shared" / "vectors" / "c2sp"
if not C2SP.is_dir():  # a worktree sits one level deeper than the main checkout
    C2SP = Path(__file__).parents[3] / "shared" / "vectors" / "c2sp"


def _example() -> tuple[str, str]:
    if not C2SP.is_dir():
        pytest.skip(f"no public vectors at {C2SP}")
    vkey = (C2SP / "signed-note-example.vkey").read_text(encoding="utf-8").strip()
    note = (C2SP / "signed-note-example.note").read_text(encoding="utf-8")
    return vkey, note


def test_the_spec_example_verifies() -> None:
    vkey, note = _example()
    assert f"\n{EM_DASH} " in note  # the signature line starts with an em dash
    verifier = Verifier(vkey)
    assert verifier.vkey == vkey and verifier.name == "example.com/foo"
    assert verifier.key_id == 0x530D903A
    checked = verify_note(note, verifier)
    assert checked.text == "This is an example message.\n"
    assert checked.verified_by == (verifier,)


def test_the_spec_example_refuses_any_change() -> None:
    vkey, note = _example()
    verifier = Verifier(vkey)
    with pytest.raises(LedgerError, match="does not verify"):
        verify_note(note.replace("example message", "example massage"), verifier)
    with pytest.raises(LedgerError, match="no known key"):
        verify_note(note, Signer.generate("example.com/foo").verifier())
    with pytest.raises(LedgerError, match="blank line|malformed"):
        verify_note(note.replace(f"{EM_DASH} ", "- "), verifier)


def test_unknown_signatures_are_ignored_and_ours_checked() -> None:
    ours, witness = Signer.generate("privguard.test/log"), Signer.generate("witness.test")
    note = sign_note("hello\n", [witness, ours])
    assert verify_note(note, ours.verifier()).verified_by == (ours.verifier(),)
    with pytest.raises(LedgerError):
        verify_note(note, witness.verifier().for_key("privguard.test/log", witness.public_key))


def test_vkeys_round_trip_and_bad_ones_are_input_errors() -> None:
    v = Signer.generate("privguard.test/registry").verifier()
    assert Verifier(str(v)) == v
    for bad in ("nonsense", v.vkey.replace("+", "+0", 1), v.vkey[:-4] + "AAAA", "a b+00000000+AA"):
        with pytest.raises(InputError) as err:
            Verifier(bad)
        assert err.value.fix


def test_checkpoint_body_and_parse() -> None:
    root = bytes(range(32))
    body = checkpoint_body("privguard.test/log", 7, root)
    assert body == "privguard.test/log\n7\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
    head = parse_checkpoint(body)
    assert (head.origin, head.size, head.root) == ("privguard.test/log", 7, root)
    for bad in ("o\n07\n" + body.split("\n")[2] + "\n", "o\n7\nAAAA\n", "o\n7\n", body[:-1]):
        with pytest.raises(LedgerError):
            parse_checkpoint(bad)


def test_a_checkpoint_must_be_signed_by_its_origin() -> None:
    other = Signer.generate("privguard.test/other")
    note = sign_note(checkpoint_body("privguard.test/log", 1, bytes(32)), other)
    with pytest.raises(LedgerError, match="not signed by a key of that origin"):
        verify_checkpoint(note, other.verifier())


def test_key_file_is_private_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "signing.key"
    first = Signer.load_or_create(path, "privguard.test/registry")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = Signer.load_or_create(path, "privguard.test/registry")
    assert again.verifier() == first.verifier()
    # One key file, several logs: the key is the same, the key name (and id) differ.
    other = Signer.load_or_create(path, "privguard.test/decisions")
    assert other.public_key == first.public_key and other.key_id != first.key_id


def test_a_broken_key_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    path.write_text("not a key\n")
    with pytest.raises(InputError) as err:
        Signer.load_or_create(path, "privguard.test/registry")
    assert err.value.where == str(path) and err.value.fix


def test_rotation_keeps_old_checkpoints_verifiable(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    old = Signer.load_or_create(path, "privguard.test/registry")
    old_note = sign_note(checkpoint_body(old.name, 3, bytes(32)), old)
    new = Signer.rotate(path, "privguard.test/registry")
    assert new.public_key != old.public_key
    assert Signer.load_or_create(path, new.name).verifier() == new.verifier()
    assert new.verifiers() == [new.verifier(), old.verifier()]
    assert verify_checkpoint(old_note, new.verifiers()).size == 3
    with pytest.raises(LedgerError):
        verify_checkpoint(old_note, new.verifier())
    newer = Signer.rotate(path, new.name)
    assert newer.verifiers() == [newer.verifier(), new.verifier(), old.verifier()]
