"""The keyring: one primary key that seals, older keys that only open, and the index key.

Kept in ``keys.json`` in the data folder (created at first start, owner-only) or given whole
in the ``LOCALSPOT_KEYRING`` environment variable (the same JSON), for deployments whose data
folder is not private. A process cannot rewrite its own environment, so with the variable set a
rotation prints the new keyring for the operator to deploy instead of saving it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path

KEY_BYTES = 32
ENV_VAR = "LOCALSPOT_KEYRING"
FILE_NAME = "keys.json"
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class KeyringError(RuntimeError):
    """The keyring is missing, malformed or does not match the store."""


@dataclass
class Keyring:
    primary: str
    keys: dict[str, bytes]
    index_key: bytes
    # Ids of keys removed after no value remained under them; kept so they are never reused.
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

    @property
    def old_keys(self) -> list[str]:
        """The decrypt-only keys."""
        return [k for k in self.keys if k != self.primary]

    def rotated(self) -> Keyring:
        """A copy with a new primary key; the old keys stay, decrypt-only."""
        key_id = new_key_id()
        while key_id in self.keys or key_id in self.retired:
            key_id = new_key_id()
        keys = {**self.keys, key_id: secrets.token_bytes(KEY_BYTES)}
        return replace(self, primary=key_id, keys=keys, retired=list(self.retired))

    def without(self, key_ids: list[str]) -> Keyring:
        """A copy with ``key_ids`` retired; the primary can never be."""
        if self.primary in key_ids:
            raise KeyringError("the primary key cannot be retired")
        keys = {k: v for k, v in self.keys.items() if k not in key_ids}
        retired = self.retired + [k for k in key_ids if k in self.keys]
        return replace(self, keys=keys, retired=retired)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(
            {
                "primary": self.primary,
                "keys": {k: _b64(v) for k, v in self.keys.items()},
                "indexKey": _b64(self.index_key),
                "retired": self.retired,
            },
            indent=indent,
        )

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        try:
            data = json.loads(text)
            keys = {k: base64.b64decode(v, validate=True) for k, v in data["keys"].items()}
            ring = cls(
                primary=data["primary"],
                keys=keys,
                index_key=base64.b64decode(data["indexKey"], validate=True),
                retired=list(data.get("retired", [])),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # The type only: the text around a parse error is key material.
            raise KeyringError(f"the keyring is malformed ({type(exc).__name__})") from None
        if not all(isinstance(k, str) and KEY_ID.match(k) for k in ring.keys):
            raise KeyringError("key ids must be 1 to 32 letters, digits, '-' or '_'")
        if ring.primary not in ring.keys:
            raise KeyringError("the keyring's primary key is missing")
        if any(len(k) != KEY_BYTES for k in [*ring.keys.values(), ring.index_key]):
            raise KeyringError("every key must be 32 bytes")
        return ring

    @classmethod
    def load(cls, data_dir: Path, create: bool) -> Keyring:
        """From the environment, else from the data folder (made there when ``create``)."""
        if from_environment():
            return cls.from_json(os.environ[ENV_VAR])
        path = data_dir / FILE_NAME
        if path.exists():
            return cls.read_file(path)
        if not create:
            raise KeyringError(f"no keyring at {path} and {ENV_VAR} is not set")
        ring = cls.generate()
        ring.save(data_dir)
        return ring

    @classmethod
    def read_file(cls, path: Path) -> Keyring:
        mode = path.stat().st_mode
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyringError(
                f"{path} is readable by others (mode {stat.S_IMODE(mode):o}); "
                f"make it owner-only: chmod 600 {path}"
            )
        return cls.from_json(path.read_text())

    def save(self, data_dir: Path) -> None:
        """Writes atomically, readable by the owner only."""
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / FILE_NAME
        scratch = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(self.to_json())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(scratch, path)
        finally:
            scratch.unlink(missing_ok=True)


def from_environment() -> bool:
    return bool(os.environ.get(ENV_VAR))


def file_stamp(data_dir: Path) -> tuple[int, int] | None:
    """(mtime ns, size) of the key file, to notice another process rewriting it."""
    try:
        info = (data_dir / FILE_NAME).stat()
    except FileNotFoundError:
        return None
    return info.st_mtime_ns, info.st_size


def new_key_id() -> str:
    return "k" + secrets.token_hex(4)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


class KeyringSource:
    """Where this deployment's keyring lives, and whether another process rewrote it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._stamp: tuple[int, int] | None = None

    @property
    def from_environment(self) -> bool:
        return from_environment()

    def load(self, create: bool = False) -> Keyring:
        stamp = file_stamp(self.data_dir)
        ring = Keyring.load(self.data_dir, create)
        self._stamp = stamp if stamp is not None else file_stamp(self.data_dir)
        return ring

    def changed(self) -> bool:
        return not self.from_environment and file_stamp(self.data_dir) != self._stamp

    def save(self, ring: Keyring) -> None:
        if self.from_environment:
            raise KeyringError(f"the keyring comes from {ENV_VAR}, which LocalSpot cannot rewrite")
        ring.save(self.data_dir)
        self._stamp = file_stamp(self.data_dir)
