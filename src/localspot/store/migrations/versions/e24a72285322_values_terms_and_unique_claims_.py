"""values, terms and unique claims clustered; partial value indexes

A created record wrote some 120 b-tree entries, most of them index entries that no query
needs. On SQLite, record_values, record_terms and unique_values become WITHOUT ROWID tables:
their rows live in the primary key's b-tree instead of a rowid table plus the primary key's own
index. On both stores, the number and blind-index indexes hold only the values that have a
number or a blind index (a comparison implies NOT NULL, so every filter still uses them).
The rows are copied as they are.

Revision ID: e24a72285322
Revises: 5d1e0a7c9b42
Create Date: 2026-12-04 06:15:12.206007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e24a72285322"
down_revision: str | None = "5d1e0a7c9b42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, index, columns, partial on): indexes rebuilt with their table.
INDEXES = (
    ("record_values", "ix_record_values_norm", ["property_id", "value_norm"], None),
    ("record_values", "ix_record_values_num", ["property_id", "value_num"], "value_num"),
    ("record_values", "ix_record_values_bidx", ["property_id", "value_bidx"], "value_bidx"),
    ("record_terms", "ix_record_terms_record", ["record_id", "property_id"], None),
    ("unique_values", "ix_unique_values_record", ["record_id"], None),
)
TABLES = ("record_values", "record_terms", "unique_values")


def _rebuild(partial: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, name, _, column in INDEXES:
        if sqlite or column is not None:
            op.drop_index(name, table_name=table)
    if sqlite:
        # Store.migrate turns foreign keys off, so dropping the old tables cascades nothing.
        for table in TABLES:
            with op.batch_alter_table(
                table, recreate="always", table_kwargs={"sqlite_with_rowid": not partial}
            ):
                pass
    for table, name, columns, column in INDEXES:
        if not sqlite and column is None:
            continue
        where = sa.text(f"{column} IS NOT NULL") if partial and column else None
        op.create_index(
            name, table, columns, unique=False, sqlite_where=where, postgresql_where=where
        )


def upgrade() -> None:
    _rebuild(partial=True)


def downgrade() -> None:
    _rebuild(partial=False)
