"""Server settings, read from the environment (prefix ``LOCALSPOT_``) and the CLI."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOCALSPOT_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("localspot-data")
    # Empty means SQLite in data_dir; otherwise any SQLAlchemy URL (postgresql://...).
    database_url: str = ""
    ephemeral: bool = False
    log_level: str = "INFO"

    # Fixed credentials for the demo account, handy in CI; generated when empty.
    demo_token: str = ""
    admin_key: str = ""

    # Where links in responses point; defaults to http://host:port.
    public_url: str = ""

    # Search limits (SPEC Part B12).
    search_max_filter_groups: int = 5
    search_max_filters_per_group: int = 6
    search_max_filters: int = 18
    search_max_query_length: int = 3000
    search_max_results: int = 10_000
    search_max_values: int = 10_000  # IN / NOT_IN values in one search, all filters together

    purge_after_days: int = 90
    # On SQLite, a read tried on the event loop moves to a worker thread once it has held the
    # loop this long (0: every request that reaches the database goes to a thread).
    on_loop_ms: float = 5.0
    # Larger request bodies are refused with 413 before they are read whole.
    max_body_bytes: int = 16 * 1024 * 1024
    # A connection whose request head (line and headers) is not complete this long after it
    # began gets a 408 and is closed.
    head_timeout_seconds: float = 30.0

    # Webhook delivery (SPEC §5.2). The worker runs inside `serve` unless switched off here, for
    # deployments that run `localspot worker` processes instead.
    webhook_worker: bool = True
    webhook_poll_seconds: float = 0.05
    webhook_timeout_seconds: float = 5.0
    # How long a claimed batch stays with its worker before another may take it over.
    webhook_lease_seconds: float = 30.0
    # Tries of one event, the first included (delivery.BACKOFF_SECONDS spaces the retries).
    webhook_max_attempts: int = 11
    webhook_batch_size: int = 100
    # POSTs one worker keeps in flight over all apps (each app also has its own limit).
    webhook_worker_concurrency: int = 64
    webhook_max_subscriptions: int = 1000
    # Associations: records of one object type a record may be associated with (HubSpot's
    # technical limit for a company's contacts is 50,000), labels per object pair (HubSpot's
    # guide: up to 10), and inputs per v4 batch (its guide: 1,000 for reads, 2,000 for creates).
    associations_max_per_record: int = 50_000
    associations_max_labels_per_pair: int = 10
    associations_max_batch_read: int = 1_000
    associations_max_batch_write: int = 2_000
    # Audit rows older than this are pruned (0 keeps them for ever); the chain stays verifiable.
    audit_retention_days: int = 365
    # Values re-encrypted per transaction during a key rotation.
    rotation_batch: int = 2000
    # Other processes seal under the old key until they notice a rotation (about a second, plus
    # a transaction in flight); a rotation is declared done only after this long, with a last
    # look for such values.
    rotation_settle_seconds: float = 5.0

    @cached_property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Plain postgres URLs name no driver; psycopg 3 is the one we ship.
            for prefix in ("postgresql://", "postgres://"):
                if url.startswith(prefix):
                    return "postgresql+psycopg://" + url[len(prefix) :]
            return url
        return f"sqlite:///{self.sqlite_file.resolve()}"

    @property
    def sqlite_file(self) -> Path:
        """The embedded store's file, in the data folder."""
        return self.data_dir / "localspot.db"

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"
