"""Sealing sensitive values with AES-256-GCM, and the blind index for equality search.

Envelope: version byte, key id length and key id, 12-byte nonce, ciphertext with tag. The
associated data names account, object type, record and property, so a ciphertext copied to
another record or property fails to open. The key id is outside the ciphertext but inside
nothing secret: it only says which key to try, and a wrong id simply fails authentication.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from localspot.protection.keyring import Keyring, KeyringError

VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16


class SealedValueError(KeyringError):
    """A sealed value is malformed, was tampered with, or belongs elsewhere."""


@dataclass(frozen=True)
class ValueRef:
    """Where a value lives; bound into its ciphertext."""

    hub_id: int
    object_type_id: str
    record_id: int
    property_name: str

    def aad(self) -> bytes:
        return (
            f"v1|{self.hub_id}|{self.object_type_id}|{self.record_id}|{self.property_name}".encode()
        )


def envelope_prefix(key_id: str) -> bytes:
    """The bytes every envelope sealed under ``key_id`` starts with (for SQL prefix counts)."""
    kid = key_id.encode()
    return bytes([VERSION, len(kid)]) + kid


class Protector:
    """Seals with the keyring's primary key, opens with whichever key an envelope names.

    ``reload`` (optional) returns a fresher keyring; it is tried once when an envelope names a
    key this process does not hold yet, which happens for a moment after another process
    rotated the keys.
    """

    def __init__(self, keyring: Keyring, reload: Callable[[], Keyring | None] | None = None):
        self._keyring = keyring
        self._ciphers: dict[str, AESGCM] = {}
        # Per-property index keys, derived once: an HMAC keyed with one, ready to copy.
        self._index_macs: dict[tuple[int, str, str], hmac.HMAC] = {}
        self._reload = reload
        self._lock = threading.Lock()

    @property
    def keyring(self) -> Keyring:
        return self._keyring

    @property
    def primary(self) -> str:
        return self._keyring.primary

    def use(self, keyring: Keyring) -> None:
        """Switches to another keyring (after a rotation) for every later seal and open."""
        with self._lock:
            if keyring.index_key != self._keyring.index_key:
                self._index_macs = {}
            self._keyring = keyring
            self._ciphers = {}

    def _cipher(self, key_id: str) -> AESGCM:
        ciphers = self._ciphers
        cipher = ciphers.get(key_id)
        if cipher is None:
            ring = self._keyring
            if key_id not in ring.keys and self._reload is not None:
                fresher = self._reload()
                if fresher is not None and key_id in fresher.keys:
                    self.use(fresher)
                    ring, ciphers = fresher, self._ciphers
            cipher = ciphers[key_id] = AESGCM(ring.key(key_id))
        return cipher

    def seal(self, ref: ValueRef, plaintext: str) -> bytes:
        ring = self._keyring
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._cipher(ring.primary).encrypt(nonce, plaintext.encode(), ref.aad())
        return _prefix(ring.primary) + nonce + sealed

    def open(self, ref: ValueRef, envelope: bytes) -> str:
        """The plaintext; SealedValueError when the envelope was tampered with or moved."""
        return self._open(ref, *_parse(envelope)).decode()

    def _open(self, ref: ValueRef, key_id: str, nonce: bytes, sealed: bytes) -> bytes:
        try:
            plain = self._cipher(key_id).decrypt(nonce, sealed, ref.aad())
            plain.decode()
            return plain
        except (InvalidTag, UnicodeDecodeError):
            raise SealedValueError("a sealed value failed authentication") from None

    def reseal(self, ref: ValueRef, envelope: bytes) -> bytes | None:
        """The value sealed again under the primary key; None when it already is."""
        key_id, nonce, sealed = _parse(envelope)
        ring = self._keyring
        if key_id == ring.primary:
            return None
        plain = self._open(ref, key_id, nonce, sealed)
        fresh = os.urandom(NONCE_BYTES)
        aad = ref.aad()
        return _prefix(ring.primary) + fresh + self._cipher(ring.primary).encrypt(fresh, plain, aad)

    @staticmethod
    def key_id_of(envelope: bytes) -> str:
        return _parse(envelope)[0]

    def blind_index(self, hub_id: int, object_type_id: str, property_name: str, norm: str) -> str:
        """HMAC-SHA256 of a normalised value under a key derived per property.

        The index key never rotates with the value keys: every stored index (and every unique
        value key) would change, so rotating it means a full reindex, done as one operation.
        """
        macs = self._index_macs
        mac = macs.get((hub_id, object_type_id, property_name))
        if mac is None:
            label = f"bidx|{hub_id}|{object_type_id}|{property_name}".encode()
            property_key = hmac.new(self._keyring.index_key, label, hashlib.sha256).digest()
            mac = macs[(hub_id, object_type_id, property_name)] = hmac.new(
                property_key, digestmod=hashlib.sha256
            )
        mac = mac.copy()
        mac.update(norm.encode())
        return mac.hexdigest()


@functools.lru_cache(maxsize=64)
def _prefix(key_id: str) -> bytes:
    return envelope_prefix(key_id)


def _parse(envelope: bytes) -> tuple[str, bytes, bytes]:
    if len(envelope) < 2 or envelope[0] != VERSION:
        raise SealedValueError("unknown sealed value version")
    kid_end = 2 + envelope[1]
    if len(envelope) < kid_end + NONCE_BYTES + TAG_BYTES:
        raise SealedValueError("a sealed value is truncated")
    try:
        key_id = envelope[2:kid_end].decode("ascii")
    except UnicodeDecodeError:
        raise SealedValueError("a sealed value names no valid key") from None
    return key_id, envelope[kid_end : kid_end + NONCE_BYTES], envelope[kid_end + NONCE_BYTES :]
