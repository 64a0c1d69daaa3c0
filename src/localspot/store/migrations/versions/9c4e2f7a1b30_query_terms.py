"""query terms: the free-text query's index, counted without a join

The rows of every object type that has records are built here from record_terms, as the
server builds them (domain/query_index.py). Which properties ``query`` looks in is spelled out
below as it stands at this revision, so that the migration means the same thing later.

Revision ID: 9c4e2f7a1b30
Revises: e24a72285322
Create Date: 2026-12-04 06:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9c4e2f7a1b30"
down_revision: str | None = "e24a72285322"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TERM = sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql")
STANDARD_SEARCHABLE = {
    "0-1": ("firstname", "lastname", "email", "phone", "hs_additional_emails", "fax",
            "mobilephone", "company", "hs_marketable_until_renewal"),
    "0-2": ("website", "phone", "name", "domain"),
    "0-3": ("dealname", "pipeline", "dealstage", "description", "dealtype"),
    "0-5": ("subject", "content", "hs_pipeline_stage", "hs_ticket_category", "hs_ticket_id"),
}  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "query_terms",
        sa.Column("hub_id", sa.BigInteger(), nullable=False),
        sa.Column("object_type_id", sa.String(length=32), nullable=False),
        sa.Column("term", TERM, nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("prev_term", TERM, nullable=True),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["records.id"],
            name=op.f("fk_query_terms_record_id_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "hub_id", "object_type_id", "term", "record_id", name=op.f("pk_query_terms")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "query_term_scopes",
        sa.Column("hub_id", sa.BigInteger(), nullable=False),
        sa.Column("object_type_id", sa.String(length=32), nullable=False),
        sa.Column("property_ids", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("hub_id", "object_type_id", name=op.f("pk_query_term_scopes")),
    )
    _backfill(op.get_bind())
    # After the rows: one sort instead of an insert at a random place per row.
    op.create_index("ix_query_terms_record", "query_terms", ["record_id", "term"], unique=False)


def _searchable(conn: sa.Connection, object_type_id: str) -> tuple[str, ...]:
    if object_type_id in STANDARD_SEARCHABLE:
        names = STANDARD_SEARCHABLE[object_type_id]
    elif object_type_id.startswith("2-"):
        found = conn.execute(
            sa.text("SELECT searchable_properties FROM object_schemas WHERE id = :id"),
            {"id": int(object_type_id[2:])},
        ).scalar_one_or_none()
        if isinstance(found, str):
            import json

            found = json.loads(found)
        names = tuple(found or ())
    else:
        names = ()
    # Read from the record row, never stored as values.
    last_modified = "lastmodifieddate" if object_type_id == "0-1" else "hs_lastmodifieddate"
    virtual = {"hs_object_id", "createdate", last_modified}
    if object_type_id == "0-5":
        virtual.add("hs_ticket_id")
    return tuple(n for n in names if n not in virtual)


def _backfill(conn: sa.Connection) -> None:
    scopes = conn.execute(
        sa.text("SELECT DISTINCT hub_id, object_type_id FROM records ORDER BY 1, 2")
    ).all()
    for hub_id, object_type_id in scopes:
        names = _searchable(conn, object_type_id)
        ids: list[int] = []
        if names:
            ids = sorted(
                row[0]
                for row in conn.execute(
                    sa.text(
                        "SELECT id FROM property_definitions WHERE hub_id = :hub "
                        "AND object_type_id = :ot AND archived = :no "
                        "AND data_sensitivity = 'non_sensitive' AND name IN :names"
                    ).bindparams(sa.bindparam("names", expanding=True)),
                    {"hub": hub_id, "ot": object_type_id, "no": False, "names": list(names)},
                )
            )
        if ids:
            listed = ", ".join(str(i) for i in ids)
            conn.execute(
                sa.text(
                    "INSERT INTO query_terms (hub_id, object_type_id, term, record_id, prev_term) "
                    "SELECT r.hub_id, r.object_type_id, w.term, w.record_id, "
                    "LAG(w.term) OVER (PARTITION BY w.record_id ORDER BY w.term) "
                    "FROM (SELECT DISTINCT record_id, term FROM record_terms "
                    f"WHERE property_id IN ({listed})) AS w "
                    "JOIN records r ON r.id = w.record_id "
                    "WHERE r.archived = :no AND r.merged_into IS NULL "
                    # In key order, the rows append to the table instead of landing anywhere.
                    "ORDER BY 1, 2, 3, 4"
                ),
                {"no": False},
            )
        conn.execute(
            sa.text(
                "INSERT INTO query_term_scopes (hub_id, object_type_id, property_ids) "
                "VALUES (:hub, :ot, :ids)"
            ),
            {"hub": hub_id, "ot": object_type_id, "ids": ",".join(str(i) for i in ids)},
        )


def downgrade() -> None:
    op.drop_table("query_term_scopes")
    op.drop_index("ix_query_terms_record", table_name="query_terms")
    op.drop_table("query_terms")
