"""records name their creation source (plaintext creation history derived)

A record created from this revision on keeps who created it, and the plaintext values it was
created with have no record_history row while they are unchanged (their creation entry is the
value row with that source). Existing records keep these columns NULL and every history row
they have, so their history reads as before: nothing to copy.

Revision ID: fa1e59dde891
Revises: e2a05e9e16d5
Create Date: 2026-12-04 16:31:28.847393
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fa1e59dde891"
down_revision: str | None = "e2a05e9e16d5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_source_type", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("created_source_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("created_source_label", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("created_by_user_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # Derived creation entries become rows again before the columns that describe them go.
    op.execute(
        "INSERT INTO record_history (record_id, property_id, value, value_ct, timestamp_ms, "
        "source_type, source_id, source_label, updated_by_user_id) "
        "SELECT v.record_id, v.property_id, v.value, NULL, r.created_ms, r.created_source_type, "
        "r.created_source_id, r.created_source_label, r.created_by_user_id "
        "FROM record_values v JOIN records r ON r.id = v.record_id "
        "WHERE r.created_source_type IS NOT NULL AND v.value_ct IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM record_history h WHERE h.record_id = v.record_id "
        "AND h.property_id = v.property_id)"
    )
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_column("created_by_user_id")
        batch_op.drop_column("created_source_label")
        batch_op.drop_column("created_source_id")
        batch_op.drop_column("created_source_type")
