"""What a running server holds: settings, the store and the clock."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from localspot.clock import Clock
from localspot.domain import accounts
from localspot.protection import Keyring, KeyringError, Protector, ValueRef
from localspot.settings import Settings
from localspot.store.engine import Store


@dataclass
class Runtime:
    settings: Settings
    store: Store
    clock: Clock
    protector: Protector

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        """Opens the store, runs its migrations and loads the shared clock."""
        if not settings.database_url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = Store(settings.sqlalchemy_url)
        store.migrate()

        def load_offset() -> float:
            with store.read() as conn:
                return accounts.clock_offset(conn)

        protector = Protector(Keyring.load(settings.data_dir, create=True))
        with store.write() as conn:
            _check_keyring(conn, protector)
        return cls(settings=settings, store=store, clock=Clock(load_offset), protector=protector)

    def close(self) -> None:
        self.store.dispose()


_CHECK_REF = ValueRef(0, "keyring", 0, "check")
_CHECK_TEXT = "localspot keyring check"


def _check_keyring(conn: Connection, protector: Protector) -> None:
    """Fails loudly when the keyring is not the one this store's values were sealed with."""
    sealed = accounts.keyring_check(conn)
    if sealed is None:
        accounts.set_keyring_check(conn, protector.seal(_CHECK_REF, _CHECK_TEXT).hex())
        return
    try:
        if protector.open(_CHECK_REF, bytes.fromhex(sealed)) == _CHECK_TEXT:
            return
    except KeyringError:
        pass
    raise KeyringError(
        "the keyring does not open this store's values: wrong keys.json or LOCALSPOT_KEYRING"
    )
