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
    ForeignKey,
    Index,
    Integer,
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

# Properties: a marker replaced by every write to an object's property definitions, so that a
# server process may keep rendered definitions until it sees the marker change
# (domain/property_cache.py). Whatever writes property_definitions must replace it.
property_definition_versions = Table(
    "property_definition_versions",
    metadata,
    Column(
        "hub_id",
        BigInteger,
        ForeignKey("accounts.hub_id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("object_type_id", String(32), primary_key=True),
    Column("version", String(32), nullable=False),
)
