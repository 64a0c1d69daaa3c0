"""query prefix counts: a short query word's total without walking its range

The counts of every object type whose query_terms are built are counted here from those rows,
as store/query_terms.py counts them at this revision (prefixes of up to four characters).

Revision ID: 70bd285a8cff
Revises: b06d02398c29
Create Date: 2026-12-04 11:57:31.910267
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "70bd285a8cff"
down_revision: str | None = "b06d02398c29"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TERM = sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql")
COUNTED_PREFIX = 4


def upgrade() -> None:
    op.create_table(
        "query_prefix_counts",
        sa.Column("hub_id", sa.BigInteger(), nullable=False),
        sa.Column("object_type_id", sa.String(length=32), nullable=False),
        sa.Column("prefix", TERM, nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "hub_id", "object_type_id", "prefix", "shard", name=op.f("pk_query_prefix_counts")
        ),
    )
    # A query_terms row counts its record for each prefix of its term that its prev_term does
    # not start with.
    for k in range(1, COUNTED_PREFIX + 1):
        # k is written out, not bound: PostgreSQL groups by the expression's text.
        op.execute(
            "INSERT INTO query_prefix_counts (hub_id, object_type_id, prefix, shard, records) "
            f"SELECT hub_id, object_type_id, substr(term, 1, {k}), 0, count(*) "
            f"FROM query_terms WHERE length(term) >= {k} "
            f"AND (prev_term IS NULL OR substr(prev_term, 1, {k}) <> substr(term, 1, {k})) "
            f"GROUP BY hub_id, object_type_id, substr(term, 1, {k})"
        )


def downgrade() -> None:
    op.drop_table("query_prefix_counts")
