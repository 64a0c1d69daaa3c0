"""query terms: enumeration options folded to lower case, as the free-text query now reads them

An object type whose query_terms hold a term with an ASCII capital (only enumeration options
kept one) has its rows rebuilt from record_terms, folded, and its prefix counts counted again,
the way store/query_terms.py builds and counts them at this revision.

Revision ID: 5b2e8c41d7f0
Revises: 70bd285a8cff
Create Date: 2026-12-04 12:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b2e8c41d7f0"
down_revision: str | None = "70bd285a8cff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTED_PREFIX = 4


def upgrade() -> None:
    conn = op.get_bind()
    scopes = conn.execute(
        sa.text(
            "SELECT s.hub_id, s.object_type_id, s.property_ids FROM query_term_scopes s "
            "WHERE EXISTS (SELECT 1 FROM query_terms q WHERE q.hub_id = s.hub_id "
            "AND q.object_type_id = s.object_type_id AND q.term <> lower(q.term))"
        )
    ).all()
    for hub_id, object_type_id, property_ids in scopes:
        owner = {"hub": hub_id, "ot": object_type_id}
        where = "hub_id = :hub AND object_type_id = :ot"
        conn.execute(sa.text(f"DELETE FROM query_terms WHERE {where}"), owner)
        conn.execute(sa.text(f"DELETE FROM query_prefix_counts WHERE {where}"), owner)
        ids = [int(i) for i in property_ids.split(",") if i]
        if not ids:
            continue
        listed = ", ".join(str(i) for i in ids)
        conn.execute(
            sa.text(
                "INSERT INTO query_terms (hub_id, object_type_id, term, record_id, prev_term) "
                "SELECT r.hub_id, r.object_type_id, w.term, w.record_id, "
                "LAG(w.term) OVER (PARTITION BY w.record_id ORDER BY w.term) "
                "FROM (SELECT DISTINCT record_id, lower(term) AS term FROM record_terms "
                f"WHERE property_id IN ({listed})) AS w "
                "JOIN records r ON r.id = w.record_id "
                "WHERE r.archived = :no AND r.merged_into IS NULL "
                "ORDER BY 1, 2, 3, 4"
            ),
            {"no": False},
        )
        for k in range(1, COUNTED_PREFIX + 1):
            # k is written out, not bound: PostgreSQL groups by the expression's text.
            conn.execute(
                sa.text(
                    "INSERT INTO query_prefix_counts "
                    "(hub_id, object_type_id, prefix, shard, records) "
                    f"SELECT hub_id, object_type_id, substr(term, 1, {k}), 0, count(*) "
                    f"FROM query_terms WHERE {where} AND length(term) >= {k} "
                    f"AND (prev_term IS NULL OR substr(prev_term, 1, {k}) <> substr(term, 1, {k})) "
                    f"GROUP BY hub_id, object_type_id, substr(term, 1, {k})"
                ),
                owner,
            )


def downgrade() -> None:
    # The folded rows answer the old reads too, but for the case of options.
    pass
