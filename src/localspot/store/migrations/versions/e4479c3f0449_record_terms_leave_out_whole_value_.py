"""record_terms leave out whole-value terms of strings (value_norm stands for them)

A string or phone number value's whole-value term equals its value_norm, which search now
reads in its place; the rows that repeat it go. Other terms, and query_terms, stay as they are.

Revision ID: e4479c3f0449
Revises: fa1e59dde891
Create Date: 2026-12-04 16:58:40.061712
"""

import sys
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e4479c3f0449"
down_revision: str | None = "fa1e59dde891"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TYPES = "('string', 'phone_number')"
WHITESPACE = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())


def upgrade() -> None:
    op.execute(
        "DELETE FROM record_terms WHERE EXISTS (SELECT 1 FROM record_values v "
        "JOIN property_definitions d ON d.id = v.property_id "
        "WHERE v.record_id = record_terms.record_id AND v.property_id = record_terms.property_id "
        f"AND v.value_norm = record_terms.term AND d.type IN {TYPES})"
    )


def downgrade() -> None:
    conn = op.get_bind()
    trim = "trim" if conn.dialect.name == "sqlite" else "btrim"
    conn.execute(
        sa.text(
            "INSERT INTO record_terms (property_id, term, record_id) "
            "SELECT v.property_id, v.value_norm, v.record_id FROM record_values v "
            "JOIN property_definitions d ON d.id = v.property_id "
            f"WHERE d.type IN {TYPES} AND v.value_norm IS NOT NULL "
            f"AND {trim}(v.value_norm, :blank) <> '' AND NOT EXISTS (SELECT 1 FROM record_terms t "
            "WHERE t.property_id = v.property_id AND t.term = v.value_norm "
            "AND t.record_id = v.record_id)"
        ),
        {"blank": WHITESPACE},
    )
