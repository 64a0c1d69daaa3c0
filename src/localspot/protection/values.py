"""Sealing sensitive values with AES-256-GCM, and the blind index for equality search.

Envelope: version byte, key id length and key id, 12-byte nonce, ciphertext with tag. The
associated data names account, object type, record and property, so a ciphertext copied to
another record or property fails to open.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from localspot.protection.keyring import Keyring, KeyringError

VERSION = 1
NONCE_BYTES = 12


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


class Protector:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self._ciphers: dict[str, AESGCM] = {}

    def _cipher(self, key_id: str) -> AESGCM:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            cipher = self._ciphers[key_id] = AESGCM(self.keyring.key(key_id))
        return cipher

    def seal(self, ref: ValueRef, plaintext: str) -> bytes:
        key_id = self.keyring.primary
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._cipher(key_id).encrypt(nonce, plaintext.encode(), ref.aad())
        kid = key_id.encode()
        return bytes([VERSION, len(kid)]) + kid + nonce + sealed

    def open(self, ref: ValueRef, envelope: bytes) -> str:
        """The plaintext, or KeyringError when the envelope was tampered with or moved."""
        if len(envelope) < 2 or envelope[0] != VERSION:
            raise KeyringError("unknown envelope version")
        kid_len = envelope[1]
        key_id = envelope[2 : 2 + kid_len].decode()
        nonce = envelope[2 + kid_len : 2 + kid_len + NONCE_BYTES]
        sealed = envelope[2 + kid_len + NONCE_BYTES :]
        try:
            return self._cipher(key_id).decrypt(nonce, sealed, ref.aad()).decode()
        except InvalidTag:
            raise KeyringError("a sealed value failed authentication") from None

    @staticmethod
    def key_id_of(envelope: bytes) -> str:
        return envelope[2 : 2 + envelope[1]].decode()

    def blind_index(self, hub_id: int, object_type_id: str, property_name: str, norm: str) -> str:
        """HMAC-SHA256 of a normalised value under a key derived per property."""
        label = f"bidx|{hub_id}|{object_type_id}|{property_name}".encode()
        property_key = hmac.new(self.keyring.index_key, label, hashlib.sha256).digest()
        return hmac.new(property_key, norm.encode(), hashlib.sha256).hexdigest()
