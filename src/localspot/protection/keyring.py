"""The keyring: one primary key that seals, older keys that only open, and the index key.

Kept in ``keys.json`` in the data folder (created at first start, owner-only) or given whole
in the ``LOCALSPOT_KEYRING`` environment variable (the same JSON), for deployments whose data
folder is not private.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

KEY_BYTES = 32
ENV_VAR = "LOCALSPOT_KEYRING"
FILE_NAME = "keys.json"


class KeyringError(RuntimeError):
    """The keyring is missing, malformed or does not match the store."""


@dataclass
class Keyring:
    primary: str
    keys: dict[str, bytes]
    index_key: bytes
    retired: list[str] = field(default_factory=list)

    @classmethod
    def generate(cls) -> Keyring:
        key_id = new_key_id()
        return cls(
            primary=key_id,
            keys={key_id: secrets.token_bytes(KEY_BYTES)},
            index_key=secrets.token_bytes(KEY_BYTES),
        )

    def key(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise KeyringError(f"key {key_id} is not in the keyring") from None

    def to_json(self) -> str:
        return json.dumps(
            {
                "primary": self.primary,
                "keys": {k: _b64(v) for k, v in self.keys.items()},
                "indexKey": _b64(self.index_key),
                "retired": self.retired,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        try:
            data = json.loads(text)
            keys = {k: base64.b64decode(v) for k, v in data["keys"].items()}
            ring = cls(
                primary=data["primary"],
                keys=keys,
                index_key=base64.b64decode(data["indexKey"]),
                retired=list(data.get("retired", [])),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyringError(f"the keyring is malformed ({type(exc).__name__})") from None
        if ring.primary not in ring.keys:
            raise KeyringError("the keyring's primary key is missing")
        if any(len(k) != KEY_BYTES for k in [*ring.keys.values(), ring.index_key]):
            raise KeyringError("every key must be 32 bytes")
        return ring

    @classmethod
    def load(cls, data_dir: Path, create: bool) -> Keyring:
        """From the environment, else from the data folder (made there when ``create``)."""
        if os.environ.get(ENV_VAR):
            return cls.from_json(os.environ[ENV_VAR])
        path = data_dir / FILE_NAME
        if path.exists():
            return cls.from_json(path.read_text())
        if not create:
            raise KeyringError(f"no keyring at {path} and {ENV_VAR} is not set")
        ring = cls.generate()
        ring.save(data_dir)
        return ring

    def save(self, data_dir: Path) -> None:
        """Writes atomically, readable by the owner only."""
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / FILE_NAME
        scratch = path.with_suffix(".tmp")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(scratch, path)


def new_key_id() -> str:
    return "k" + secrets.token_hex(4)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
