"""What a running server holds: settings, the store, the clock and the keyring."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from localspot.clock import Clock
from localspot.domain import accounts
from localspot.protection import Keyring, KeyringError, Protector
from localspot.protection.keyring import KeyringSource
from localspot.settings import Settings
from localspot.store.engine import Store

if TYPE_CHECKING:
    from localspot.domain.audit import ReadLog


@dataclass
class Runtime:
    settings: Settings
    store: Store
    clock: Clock
    protector: Protector
    keyring_source: KeyringSource

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        """Opens the store, runs its migrations, loads the shared clock and checks the keyring.

        A keyring that does not open the store's values fails here, loudly (KeyringError),
        rather than later by serving errors or garbage.
        """
        from localspot.domain import keys  # keys works on a Runtime; imported late

        if not settings.database_url:
            # Only its owner may look in: the store holds every non-sensitive value in plain
            # text, and keys.json beside it opens the rest.
            settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        store = Store(settings.sqlalchemy_url)
        store.migrate()

        def load_offset() -> float:
            with store.read() as conn:
                return accounts.clock_offset(conn)

        source = KeyringSource(settings.data_dir)
        protector = Protector(source.load(create=True), reload=_reloader(source))
        clock = Clock(load_offset)
        with store.write() as conn:
            keys.adopt(conn, protector, clock.millis())
        return cls(settings, store, clock, protector, source)

    @cached_property
    def audit_reads(self) -> ReadLog:
        from localspot.domain.audit import ReadLog  # audit works on a Runtime; imported late

        return ReadLog(self)

    def close(self) -> None:
        if "audit_reads" in self.__dict__:
            self.audit_reads.close()
        self.store.dispose()


def _reloader(source: KeyringSource) -> Callable[[], Keyring | None]:
    def reload() -> Keyring | None:
        try:
            return source.load()
        except KeyringError:
            return None

    return reload
