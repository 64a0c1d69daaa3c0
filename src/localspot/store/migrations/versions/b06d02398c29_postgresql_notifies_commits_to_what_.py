"""PostgreSQL notifies commits to what servers remember

Server processes keep who a token is and property definitions in memory (Store.remembered)
and must hear of any commit those could depend on, whoever makes it: another server, the CLI,
a webhook worker, psql. A statement-level trigger on each table they are read from sends a
NOTIFY, which PostgreSQL delivers to listeners only once the transaction commits, and once per
transaction however many rows and statements it touched. The payload is the table's schema,
so that stores sharing one database in separate schemas ignore each other.

The channel and the tables are spelled out as they stand at this revision (store/changes.py
listens on the same channel). SQLite tells commits apart with PRAGMA data_version: nothing
to do there.

Revision ID: b06d02398c29
Revises: 9c4e2f7a1b30
Create Date: 2026-12-04 08:47:28.586835
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b06d02398c29"
down_revision: str | None = "9c4e2f7a1b30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = "localspot_notify_change"
# accounts.authenticate reads private_apps and accounts; the property definition loads read
# object_schemas (custom object types), property_definitions and their markers.
TABLES = (
    "accounts",
    "private_apps",
    "object_schemas",
    "property_definitions",
    "property_definition_versions",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('localspot_changes', TG_TABLE_SCHEMA);
            RETURN NULL;
        END
        $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_notify_change "
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_change ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
