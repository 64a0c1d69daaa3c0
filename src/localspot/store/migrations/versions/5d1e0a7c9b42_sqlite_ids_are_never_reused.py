"""SQLite ids are never reused

Without AUTOINCREMENT SQLite gives the next row max(id)+1, so once the newest record,
subscription, event, label or custom object is deleted its id went to the next one; HubSpot
never hands an id out twice. The tables are rebuilt with AUTOINCREMENT (Store.migrate turns
foreign keys off around migrations, so dropping the old table cascades nothing).
PostgreSQL's sequences never reuse a value: nothing to do there.

Revision ID: 5d1e0a7c9b42
Revises: c362dc963350
Create Date: 2026-12-04 04:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5d1e0a7c9b42"
down_revision: str | None = "c362dc963350"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "records",
    "webhook_subscriptions",
    "webhook_events",
    "association_definitions",
    "object_schemas",
)


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
