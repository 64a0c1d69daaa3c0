"""Unit tests of the envelope, the keyring and the blind index (no server needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from localspot.protection import Keyring, KeyringError, Protector, SealedValueError, ValueRef
from localspot.protection.keyring import FILE_NAME

REF = ValueRef(123, "0-1", 42, "passport_number")


@pytest.fixture
def protector() -> Protector:
    return Protector(Keyring.generate())


def test_seal_opens_and_names_its_key(protector: Protector) -> None:
    envelope = protector.seal(REF, "X1234567")
    assert protector.open(REF, envelope) == "X1234567"
    assert Protector.key_id_of(envelope) == protector.primary
    assert envelope[0] == 1
    assert b"X1234567" not in envelope
    # A fresh nonce each time: the same value never seals the same way twice.
    assert protector.seal(REF, "X1234567") != envelope


@pytest.mark.parametrize("position", [0, 1, 5, 20, -1])
def test_tampered_ciphertext_is_refused(protector: Protector, position: int) -> None:
    envelope = bytearray(protector.seal(REF, "X1234567"))
    envelope[position] ^= 0x01
    with pytest.raises(KeyringError):
        protector.open(REF, bytes(envelope))


def test_truncated_or_garbage_envelopes_are_refused(protector: Protector) -> None:
    envelope = protector.seal(REF, "X1234567")
    for broken in (b"", b"\x01", envelope[:20], b"\x02" + envelope[1:], b"\x01\xff" + b"x" * 40):
        with pytest.raises(SealedValueError):
            protector.open(REF, broken)


@pytest.mark.parametrize(
    "elsewhere",
    [
        ValueRef(123, "0-1", 43, "passport_number"),  # another record
        ValueRef(123, "0-1", 42, "health_note"),  # another property
        ValueRef(124, "0-1", 42, "passport_number"),  # another account
        ValueRef(123, "0-2", 42, "passport_number"),  # another object type
    ],
)
def test_ciphertext_moved_elsewhere_is_refused(protector: Protector, elsewhere: ValueRef) -> None:
    envelope = protector.seal(REF, "X1234567")
    with pytest.raises(SealedValueError):
        protector.open(elsewhere, envelope)


def test_wrong_key_is_refused(protector: Protector) -> None:
    envelope = protector.seal(REF, "X1234567")
    other = Keyring.generate()
    # Same key id, other key material: authentication fails rather than yielding garbage.
    impostor = Keyring(protector.primary, {protector.primary: other.keys[other.primary]}, b"i" * 32)
    with pytest.raises(SealedValueError):
        Protector(impostor).open(REF, envelope)
    with pytest.raises(KeyringError):
        Protector(other).open(REF, envelope)  # key id unknown to that keyring


def test_rotated_keyring_opens_old_values_and_seals_under_the_new_key(
    protector: Protector,
) -> None:
    old = protector.seal(REF, "X1234567")
    ring = protector.keyring.rotated()
    protector.use(ring)
    assert ring.primary != Protector.key_id_of(old)
    assert protector.open(REF, old) == "X1234567"
    resealed = protector.reseal(REF, old)
    assert resealed is not None and Protector.key_id_of(resealed) == ring.primary
    assert protector.open(REF, resealed) == "X1234567"
    assert protector.reseal(REF, resealed) is None
    smaller = ring.without(ring.old_keys)
    assert smaller.retired == ring.old_keys and list(smaller.keys) == [ring.primary]
    with pytest.raises(KeyringError):
        ring.without([ring.primary])


def test_blind_index_is_per_property_and_survives_value_key_rotation(
    protector: Protector,
) -> None:
    a = protector.blind_index(1, "0-1", "passport_number", "x1234567")
    assert a == protector.blind_index(1, "0-1", "passport_number", "x1234567")
    assert a != protector.blind_index(1, "0-1", "health_note", "x1234567")
    assert a != protector.blind_index(2, "0-1", "passport_number", "x1234567")
    protector.use(protector.keyring.rotated())
    assert a == protector.blind_index(1, "0-1", "passport_number", "x1234567")


def test_key_file_is_owner_only_and_round_trips(tmp_path: Path) -> None:
    ring = Keyring.load(tmp_path, create=True)
    path = tmp_path / FILE_NAME
    assert path.stat().st_mode & 0o777 == 0o600
    assert Keyring.load(tmp_path, create=False) == ring
    os.chmod(path, 0o644)
    with pytest.raises(KeyringError, match="readable by others"):
        Keyring.load(tmp_path, create=False)


def test_malformed_keyrings_fail_without_quoting_key_material() -> None:
    secret = "c2VjcmV0LWtleS1tYXRlcmlhbA"
    for text in ("{", "[]", json.dumps({"primary": "a", "keys": {"a": secret}, "indexKey": ""})):
        with pytest.raises(KeyringError) as refused:
            Keyring.from_json(text)
        assert secret not in str(refused.value)


def test_a_wrong_keyring_stops_the_server_at_start_with_one_line(tmp_path: Path) -> None:
    """Starting over a store with another keyring fails loudly, and quotes no key."""
    env = {**os.environ, "LOCALSPOT_DATABASE_URL": ""}
    env.pop("LOCALSPOT_KEYRING", None)
    command = [sys.executable, "-m", "localspot", "keys", "status", "--data-dir", str(tmp_path)]
    subprocess.run(command, env=env, check=True, capture_output=True)
    (tmp_path / FILE_NAME).unlink()
    other = Keyring.generate()
    env["LOCALSPOT_KEYRING"] = other.to_json()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert "does not open this store" in done.stderr
    assert "Traceback" not in done.stderr
    assert other.to_json(indent=None) not in done.stderr + done.stdout
