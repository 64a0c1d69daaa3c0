"""Tables. Alembic migrations under ``migrations/`` create them; keep both in step."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both stores (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only generates ids for INTEGER PRIMARY KEY columns.
Id = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# One row per deployment-wide setting (clock offset, admin key hash).
server_state = Table(
    "server_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("hub_id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("tier", String(20), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("hub_id", BigInteger, ForeignKey("accounts.hub_id", ondelete="CASCADE"), nullable=False),
    Column("email", String(320), nullable=False),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(200)),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("hub_id", "email", name="uq_users_hub_email"),
)

private_apps = Table(
    "private_apps",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("hub_id", BigInteger, ForeignKey("accounts.hub_id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("scopes", JSON, nullable=False),
    # sha256 of the token: tokens are 122 random bits, so a fast hash is enough.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("token_hint", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

property_groups = Table(
    "property_groups",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("hub_id", BigInteger, ForeignKey("accounts.hub_id", ondelete="CASCADE"), nullable=False),
    Column("object_type_id", String(32), nullable=False),
    Column("name", String(100), nullable=False),
    Column("label", String(400), nullable=False),
    Column("display_order", Integer, nullable=False),
    Column("archived", Boolean, nullable=False, default=False),
    Column("archived_at", UTCDateTime()),
    Column("hubspot_defined", Boolean, nullable=False, default=False),
    UniqueConstraint("hub_id", "object_type_id", "name", name="uq_property_groups_name"),
)

property_definitions = Table(
    "property_definitions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("hub_id", BigInteger, ForeignKey("accounts.hub_id", ondelete="CASCADE"), nullable=False),
    Column("object_type_id", String(32), nullable=False),
    Column("name", String(100), nullable=False),
    Column("label", String(400), nullable=False),
    Column("type", String(32), nullable=False),
    Column("field_type", String(32), nullable=False),
    Column("group_name", String(100), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("display_order", Integer, nullable=False, default=-1),
    Column("options", JSON, nullable=False),
    Column("has_unique_value", Boolean, nullable=False, default=False),
    Column("hidden", Boolean, nullable=False, default=False),
    Column("form_field", Boolean, nullable=False, default=False),
    Column("external_options", Boolean, nullable=False, default=False),
    Column("referenced_object_type", String(64)),
    Column("calculation_formula", Text),
    Column("currency_property_name", String(100)),
    Column("show_currency_symbol", Boolean),
    Column("number_display_hint", String(32)),
    Column("text_display_hint", String(32)),
    Column("date_display_hint", String(32)),
    Column("data_sensitivity", String(20), nullable=False),
    Column("sensitive_data_categories", JSON),
    Column("hubspot_defined", Boolean, nullable=False, default=False),
    Column("read_only_value", Boolean, nullable=False, default=False),
    Column("read_only_definition", Boolean, nullable=False, default=False),
    Column("archived", Boolean, nullable=False, default=False),
    Column("archived_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("created_user_id", String(32)),
    Column("updated_user_id", String(32)),
    UniqueConstraint("hub_id", "object_type_id", "name", name="uq_property_definitions_name"),
)

Index("ix_property_definitions_archived_at", property_definitions.c.archived_at)

# Records (CRM objects) ---------------------------------------------------------------------------
# Values are stored one row per (record, property). Default properties that HubSpot derives
# (hs_object_id, createdate, last-modified) come from the record row itself. Times are epoch ms.

records = Table(
    "records",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("hub_id", BigInteger, ForeignKey("accounts.hub_id", ondelete="CASCADE"), nullable=False),
    Column("object_type_id", String(32), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Column("archived", Boolean, nullable=False, default=False),
    Column("archived_ms", BigInteger),
    # Set when this record was merged into another; reads of this id answer with that one.
    Column("merged_into", BigInteger),
    Index("ix_records_listing", "hub_id", "object_type_id", "archived", "id"),
    Index("ix_records_archived_ms", "archived_ms"),
)

# A sensitive value is never in `value`, `value_norm` or `value_num`: only sealed in
# `value_ct`, with `value_bidx` (a keyed blind index) for equality search.
record_values = Table(
    "record_values",
    metadata,
    Column("record_id", BigInteger, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "property_id",
        BigInteger,
        ForeignKey("property_definitions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("value", Text),
    # Lower-cased, first VALUE_NORM_CHARS characters: for case-insensitive string search.
    # Byte order ("C") on PostgreSQL so that range filters and sorts agree with SQLite.
    Column("value_norm", String(255).with_variant(String(255, collation="C"), "postgresql")),
    # Numbers; dates and datetimes as epoch ms; booleans as 0/1.
    Column("value_num", Float),
    Column("value_ct", LargeBinary),
    Column("value_bidx", String(64)),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_record_values_norm", "property_id", "value_norm"),
    Index("ix_record_values_num", "property_id", "value_num"),
    Index("ix_record_values_bidx", "property_id", "value_bidx"),
)

record_history = Table(
    "record_history",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("record_id", BigInteger, ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    Column(
        "property_id",
        BigInteger,
        ForeignKey("property_definitions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("value", Text),
    Column("value_ct", LargeBinary),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("source_type", String(32), nullable=False),
    Column("source_id", String(64)),
    Column("source_label", String(200)),
    Column("updated_by_user_id", BigInteger),
    Index("ix_record_history_record", "record_id", "property_id", "id"),
)

# Holders of unique values (contact email, hasUniqueValue properties): the primary key makes
# a clash fail inside the writing transaction, on both stores.
unique_values = Table(
    "unique_values",
    metadata,
    Column(
        "property_id",
        BigInteger,
        ForeignKey("property_definitions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # sha256 of the normalised value, or the blind index for a sensitive property.
    Column("value_key", String(64), primary_key=True),
    Column("record_id", BigInteger, ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    Index("ix_unique_values_record", "record_id"),
)

VALUE_NORM_CHARS = 255

# Custom object schemas: their object type id is "2-<id>".
object_schemas = Table(
    "object_schemas",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("hub_id", BigInteger, ForeignKey("accounts.hub_id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("labels", JSON, nullable=False),
    Column("description", Text),
    Column("primary_display_property", String(100)),
    Column("secondary_display_properties", JSON, nullable=False),
    Column("searchable_properties", JSON, nullable=False),
    Column("required_properties", JSON, nullable=False),
    Column("allows_sensitive_properties", Boolean, nullable=False, default=False),
    Column("archived", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("hub_id", "name", name="uq_object_schemas_name"),
)


# Search (issue #4) --------------------------------------------------------------------------------
# The terms of each non-sensitive string or enumeration value (domain/search_terms.py): what
# CONTAINS_TOKEN and the free-text ``query`` look up through the primary key, instead of
# scanning every value of a property.
record_terms = Table(
    "record_terms",
    metadata,
    Column(
        "property_id",
        BigInteger,
        ForeignKey("property_definitions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "term",
        String(255).with_variant(String(255, collation="C"), "postgresql"),
        primary_key=True,
    ),
    Column("record_id", BigInteger, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_record_terms_record", "record_id", "property_id"),
)
