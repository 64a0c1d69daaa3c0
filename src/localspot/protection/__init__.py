"""Protection of sensitive values at rest: AEAD sealing and a keyed blind index.

Only the store-facing domain code calls this package, so plaintext sensitive values exist only
in memory, and only for callers the policy allowed.
"""

from localspot.protection.keyring import Keyring, KeyringError
from localspot.protection.values import Protector, SealedValueError, ValueRef, envelope_prefix

__all__ = [
    "Keyring",
    "KeyringError",
    "Protector",
    "SealedValueError",
    "ValueRef",
    "envelope_prefix",
]
