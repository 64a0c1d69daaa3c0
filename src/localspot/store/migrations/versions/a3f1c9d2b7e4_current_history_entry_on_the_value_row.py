"""current history entry on the value row

Every written value had two rows: its record_values row and a record_history row saying the
same thing, with who wrote it. The value row now carries who wrote it (its timestamp is
``updated_ms``), and record_history keeps only the values that were replaced.

Existing data: each value whose newest history row says what the value row says (same value,
same ciphertext, same time) takes that row's source, and the row is deleted. A value whose
newest history row differs (a key rotation resealed the two apart) keeps it, with no source on
the value row: its history reads as before, and overwriting it archives nothing twice.

Revision ID: a3f1c9d2b7e4
Revises: e24a72285322
Create Date: 2026-12-04 06:35:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a3f1c9d2b7e4"
down_revision: str | None = "e24a72285322"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SOURCE = ("source_type", "source_id", "source_label", "updated_by_user_id")

_NEWEST = (
    "(SELECT max(m.id) FROM record_history m "
    "WHERE m.record_id = record_values.record_id AND m.property_id = record_values.property_id)"
)


def upgrade() -> None:
    # Plain ALTER TABLE on both stores: a batch rebuild would not keep WITHOUT ROWID.
    op.add_column("record_values", sa.Column("source_type", sa.String(length=32)))
    op.add_column("record_values", sa.Column("source_id", sa.String(length=64)))
    op.add_column("record_values", sa.Column("source_label", sa.String(length=200)))
    op.add_column("record_values", sa.Column("updated_by_user_id", sa.BigInteger()))
    same = (
        "h.timestamp_ms = record_values.updated_ms "
        "AND (h.value = record_values.value OR (h.value IS NULL AND record_values.value IS NULL)) "
        "AND (h.value_ct = record_values.value_ct "
        "OR (h.value_ct IS NULL AND record_values.value_ct IS NULL))"
    )
    op.execute(
        "UPDATE record_values SET "
        + ", ".join(f"{c} = h.{c}" for c in SOURCE)
        + f" FROM record_history h WHERE h.id = {_NEWEST} AND {same}"
    )
    op.execute(
        "DELETE FROM record_history WHERE id IN ("
        f"SELECT {_NEWEST} FROM record_values WHERE source_type IS NOT NULL)"
    )


def downgrade() -> None:
    op.execute(
        "INSERT INTO record_history (record_id, property_id, value, value_ct, timestamp_ms, "
        f"{', '.join(SOURCE)}) SELECT record_id, property_id, value, value_ct, updated_ms, "
        f"{', '.join(SOURCE)} FROM record_values WHERE source_type IS NOT NULL "
        "ORDER BY record_id, property_id"
    )
    for column in SOURCE:
        # SQLite 3.35+ drops an unindexed column in place (keeping WITHOUT ROWID).
        op.execute(f"ALTER TABLE record_values DROP COLUMN {column}")
