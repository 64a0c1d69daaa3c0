"""What a running server holds: settings, the store and the clock."""

from __future__ import annotations

from dataclasses import dataclass

from localspot.clock import Clock
from localspot.domain import accounts
from localspot.settings import Settings
from localspot.store.engine import Store


@dataclass
class Runtime:
    settings: Settings
    store: Store
    clock: Clock

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

        return cls(settings=settings, store=store, clock=Clock(load_offset))

    def close(self) -> None:
        self.store.dispose()
