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
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
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


# SQLite only generates ids for INTEGER PRIMARY KEY columns. Tables whose ids users see, and
# whose rows can be deleted, add sqlite_autoincrement: without it SQLite hands max(id)+1 out
# again once the newest row is gone, and HubSpot never gives an id twice.
Id = BigInteger().with_variant(Integer(), "sqlite")

# Terms and normalised values compare byte by byte on both stores, as SQLite's default does, so
# that prefix ranges and sort order agree.
ByteOrdered = String(255).with_variant(String(255, collation="C"), "postgresql")

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
    # Who created the record, as its history reports it. Set (for records created since this
    # column exists) means that a plaintext value written at creation has no record_history row
    # while it is unchanged: its creation entry is the value row with these and created_ms. A
    # write that replaces such a value first copies that entry into record_history.
    Column("created_source_type", String(32)),
    Column("created_source_id", String(64)),
    Column("created_source_label", String(200)),
    Column("created_by_user_id", BigInteger),
    Index("ix_records_listing", "hub_id", "object_type_id", "archived", "id"),
    Index("ix_records_archived_ms", "archived_ms"),
    sqlite_autoincrement=True,
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
    Column("value_norm", ByteOrdered),
    # Numbers; dates and datetimes as epoch ms; booleans as 0/1.
    Column("value_num", Float),
    Column("value_ct", LargeBinary),
    Column("value_bidx", String(64)),
    Column("updated_ms", BigInteger, nullable=False),
    # value_norm stays indexed for every value: HasValue finds a property's values through it.
    # Numbers and blind indexes are few among a record's values; indexing only the values that
    # have them halves the index entries a write makes, and a comparison implies NOT NULL, so
    # both stores still answer every filter and sort through these indexes.
    Index("ix_record_values_norm", "property_id", "value_norm"),
    Index(
        "ix_record_values_num",
        "property_id",
        "value_num",
        sqlite_where=text("value_num IS NOT NULL"),
        postgresql_where=text("value_num IS NOT NULL"),
    ),
    Index(
        "ix_record_values_bidx",
        "property_id",
        "value_bidx",
        sqlite_where=text("value_bidx IS NOT NULL"),
        postgresql_where=text("value_bidx IS NOT NULL"),
    ),
    # Clustered on the primary key in SQLite: one b-tree instead of a rowid table plus the
    # primary key's own index (see the migration "values, terms and unique claims clustered").
    sqlite_with_rowid=False,
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
    sqlite_with_rowid=False,
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
    sqlite_autoincrement=True,
)
# OAuth and public apps ------------------------------------------------------------------------

developer_accounts = Table(
    "developer_accounts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320)),
    Column("created_at", UTCDateTime(), nullable=False),
)

public_apps = Table(
    "public_apps",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "developer_id",
        Id,
        ForeignKey("developer_accounts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(200), nullable=False),
    Column("client_id", String(64), nullable=False, unique=True),
    # sha256 of the secret (128 random bits): shown once, checked by hash.
    Column("client_secret_hash", String(64), nullable=False),
    Column("client_secret_hint", String(16), nullable=False),
    # The same secret sealed by the Protector: webhook deliveries are signed with it. NULL for
    # apps made before it was kept; their deliveries fail until the secret is rotated.
    Column("client_secret_ct", LargeBinary),
    Column("redirect_uris", JSON, nullable=False),
    Column("required_scopes", JSON, nullable=False),
    Column("optional_scopes", JSON, nullable=False),
    Column("webhook_settings", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# One row per sensitive scope an app has asked for; authorization needs state "approved".
scope_reviews = Table(
    "scope_reviews",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("app_id", Id, ForeignKey("public_apps.id", ondelete="CASCADE"), nullable=False),
    Column("scope", String(200), nullable=False),
    Column("state", String(20), nullable=False),
    Column("note", Text),
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("decided_at", UTCDateTime()),
    UniqueConstraint("app_id", "scope", name="uq_scope_reviews_app_scope"),
)

app_installs = Table(
    "app_installs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("app_id", Id, ForeignKey("public_apps.id", ondelete="CASCADE"), nullable=False),
    Column("hub_id", BigInteger, ForeignKey("accounts.hub_id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="SET NULL")),
    # What the last (re)authorization granted; scope edits on the app do not touch it.
    Column("scopes", JSON, nullable=False),
    Column("installed_at", UTCDateTime(), nullable=False),
    Column("authorized_at", UTCDateTime(), nullable=False),
    UniqueConstraint("app_id", "hub_id", name="uq_app_installs_app_hub"),
)

oauth_codes = Table(
    "oauth_codes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("app_id", Id, ForeignKey("public_apps.id", ondelete="CASCADE"), nullable=False),
    Column("hub_id", BigInteger, ForeignKey("accounts.hub_id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("code_challenge", String(128)),
    Column("code_challenge_method", String(10)),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime()),
)

oauth_refresh_tokens = Table(
    "oauth_refresh_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("install_id", Id, ForeignKey("app_installs.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
)

oauth_access_tokens = Table(
    "oauth_access_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("install_id", Id, ForeignKey("app_installs.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="SET NULL")),
    # The grant as it stood when the token was issued.
    Column("scopes", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)

Index("ix_oauth_access_tokens_expires_at", oauth_access_tokens.c.expires_at)

# Webhooks (issue #5) --------------------------------------------------------------------------
# Apps are named by (app_kind, app_id), kind "private" or "public": the two kinds' ids share one
# number space, so an id alone does not say which app it is.
# Times the worker compares are epoch milliseconds of the server clock.

webhook_settings = Table(
    "webhook_settings",
    metadata,
    Column("app_kind", String(16), primary_key=True),
    Column("app_id", BigInteger, primary_key=True, autoincrement=False),
    Column("target_url", Text, nullable=False),
    Column("max_concurrent_requests", Integer, nullable=False),
    Column("period", String(32)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# The signing secret of an app that has no OAuth client secret (private apps).
webhook_app_secrets = Table(
    "webhook_app_secrets",
    metadata,
    Column("app_kind", String(16), primary_key=True),
    Column("app_id", BigInteger, primary_key=True, autoincrement=False),
    Column("secret", String(100), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("app_kind", String(16), nullable=False),
    Column("app_id", BigInteger, nullable=False),
    Column("event_type", String(64), nullable=False),
    # The part after the dot (creation, propertyChange ...) and the object type it fires for.
    Column("kind", String(32), nullable=False),
    Column("match_type_id", String(32)),
    Column("object_type_id", String(32)),
    Column("property_name", String(100)),
    Column("event_type_name", String(200)),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    sqlite_autoincrement=True,
)
Index(
    "ix_webhook_subscriptions_app", webhook_subscriptions.c.app_kind, webhook_subscriptions.c.app_id
)

# The outbox: one row per event and receiving subscription, written in the change's transaction.
# The payload never holds a sensitive value (events.emit refuses one).
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("app_kind", String(16), nullable=False),
    Column("app_id", BigInteger, nullable=False),
    Column("hub_id", BigInteger, nullable=False),
    Column("subscription_id", BigInteger, nullable=False),
    Column("payload", JSON, nullable=False),
    # pending | delivered | failed | discarded (the app was uninstalled, or the account reset,
    # before delivery)
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    # When a worker may take it next; a claim moves it to the end of the lease, so a worker that
    # dies mid-delivery hands its events back when the lease runs out.
    Column("due_at_ms", BigInteger, nullable=False),
    Column("delivery_id", BigInteger),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("delivered_at_ms", BigInteger),
    sqlite_autoincrement=True,
)
Index("ix_webhook_events_due", webhook_events.c.status, webhook_events.c.due_at_ms)
Index(
    "ix_webhook_events_group",
    webhook_events.c.app_kind,
    webhook_events.c.app_id,
    webhook_events.c.hub_id,
    webhook_events.c.status,
    webhook_events.c.due_at_ms,
)

# One row per POST to a target URL, with its outcome.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("app_kind", String(16), nullable=False),
    Column("app_id", BigInteger, nullable=False),
    Column("hub_id", BigInteger, nullable=False),
    Column("target_url", Text, nullable=False),
    Column("event_ids", JSON, nullable=False),
    Column("event_count", Integer, nullable=False),
    Column("attempt_number", Integer, nullable=False),
    Column("worker", String(64), nullable=False),
    Column("started_at_ms", BigInteger, nullable=False),
    Column("lease_until_ms", BigInteger, nullable=False),
    Column("finished_at_ms", BigInteger),
    # success | http_error | timeout | connection_error | signing_error (nothing was sent)
    Column("outcome", String(32)),
    Column("status_code", Integer),
    Column("duration_ms", Integer),
    Column("error", String(200)),
)
Index(
    "ix_webhook_deliveries_app",
    webhook_deliveries.c.app_kind,
    webhook_deliveries.c.app_id,
    webhook_deliveries.c.hub_id,
    webhook_deliveries.c.finished_at_ms,
)


# Forms (marketing Forms API v3 definitions, and their submissions) ---------------------------
# A form's field groups, configuration, display and consent options are kept as HubSpot's JSON.

forms = Table(
    "forms",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("guid", String(36), nullable=False, unique=True),
    Column("hub_id", BigInteger, ForeignKey("accounts.hub_id", ondelete="CASCADE"), nullable=False),
    Column("name", String(400), nullable=False),
    Column("form_type", String(32), nullable=False),
    Column("definition", JSON, nullable=False),
    Column("archived", Boolean, nullable=False, default=False),
    Column("archived_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_forms_listing", "hub_id", "archived", "id"),
)

# A submission keeps only non-sensitive values in `values`; a sensitive value lives on the
# record it was written to, and `sensitive_fields` names which such fields were submitted.
form_submissions = Table(
    "form_submissions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("form_id", BigInteger, ForeignKey("forms.id", ondelete="CASCADE"), nullable=False),
    Column("conversion_id", String(36), nullable=False, unique=True),
    Column("submitted_ms", BigInteger, nullable=False),
    Column("received_ms", BigInteger, nullable=False),
    Column("page_url", Text),
    Column("values", JSON, nullable=False),
    Column("sensitive_fields", JSON, nullable=False),
    Column("contact_id", BigInteger),
    Index("ix_form_submissions_form", "form_id", "id"),
)

# Associations ------------------------------------------------------------------------------------
# HubSpot-defined association types live in code (domain/association_types.py). Definitions an
# account makes (labels, custom object pairs) live here; their id is their associationTypeId.

association_definitions = Table(
    "association_definitions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("hub_id", BigInteger, ForeignKey("accounts.hub_id", ondelete="CASCADE"), nullable=False),
    Column("from_object_type_id", String(32), nullable=False),
    Column("to_object_type_id", String(32), nullable=False),
    Column("name", String(100), nullable=False),
    # None: the unlabeled default type of a custom object pair.
    Column("label", String(400)),
    Column("inverse_id", BigInteger),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_association_definitions_pair", "hub_id", "from_object_type_id", "to_object_type_id"),
    sqlite_autoincrement=True,
)

# One row per direction and type: (A -> B, 279) and (B -> A, 280), so a record's associations of
# one object type are one indexed range. category: 0 HUBSPOT_DEFINED, 1 USER_DEFINED.
record_associations = Table(
    "record_associations",
    metadata,
    Column("from_id", BigInteger, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    Column("to_id", BigInteger, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    Column("category", SmallInteger, primary_key=True, autoincrement=False),
    Column("type_id", BigInteger, primary_key=True, autoincrement=False),
    Column("to_object_type_id", String(32), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_record_associations_listing", "from_id", "to_object_type_id", "to_id"),
    Index("ix_record_associations_to", "to_id"),
)


# Protection: audit trail and key rotation ----------------------------------------------------

# Append-only and hash-chained: `hash` is sha256 of the previous row's hash and this row's
# canonical JSON (domain/audit.py). `seq` is the chain position, assigned under the chain-head
# lock, so it has no gaps; a gap or a wrong hash shows an edited or deleted row. Never a value.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("hub_id", BigInteger),
    Column("app_id", BigInteger),
    Column("token_id", String(64)),
    Column("user_id", BigInteger),
    Column("action", String(32), nullable=False),
    Column("object_type_id", String(32)),
    Column("record_ids", Text, nullable=False),
    Column("property_names", Text, nullable=False),
    Column("correlation_id", String(64)),
    Column("detail", Text),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_log_hub_at", "hub_id", "at_ms"),
    Index("ix_audit_log_at", "at_ms"),
)

# One row per key rotation; the cursor makes an interrupted re-encryption resume where it was.
key_rotations = Table(
    "key_rotations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("target_key_id", String(32), nullable=False),
    Column("state", String(16), nullable=False),  # running | done
    Column("retire_when_done", Boolean, nullable=False, default=False),
    Column("phase", String(16), nullable=False),  # values | history
    Column("cursor_a", BigInteger, nullable=False, default=0),
    Column("cursor_b", BigInteger, nullable=False, default=0),
    Column("resealed", BigInteger, nullable=False, default=0),
    Column("pass_resealed", BigInteger, nullable=False, default=0),
    Column("passes", Integer, nullable=False, default=0),
    Column("started_ms", BigInteger, nullable=False),
    Column("finished_ms", BigInteger),
)


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

# Webhooks of public apps ----------------------------------------------------------------------

# A developer account's API key (HubSpot's developer ``hapikey``): manages the webhooks of that
# developer's public apps. Stored hashed; shown once when made.
developer_api_keys = Table(
    "developer_api_keys",
    metadata,
    Column(
        "developer_id",
        Id,
        ForeignKey("developer_accounts.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("key_hint", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)


# Search (issue #4) --------------------------------------------------------------------------------
# The terms of each non-sensitive string or enumeration value (domain/search_terms.py): what
# CONTAINS_TOKEN and the free-text ``query`` look up through the primary key, instead of
# scanning every value of a property. Values of the types below leave out their whole-value
# term, which is their value_norm: search reads it from ``ix_record_values_norm`` (a third to
# a half of a string property's terms otherwise, each an entry in two b-trees per write).
WHOLE_VALUE_TERM_TYPES = ("string", "phone_number")
record_terms = Table(
    "record_terms",
    metadata,
    Column(
        "property_id",
        BigInteger,
        ForeignKey("property_definitions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("term", ByteOrdered, primary_key=True),
    Column("record_id", BigInteger, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_record_terms_record", "record_id", "property_id"),
    sqlite_with_rowid=False,
)

# The free-text ``query``'s terms of each live record: the distinct terms of its searchable
# properties (record_terms), with the record's preceding term in byte order. A word's hits are
# a range of the primary key; a row whose prev_term sorts before the range is the record's
# first term in it, so the hits are counted without a join or a DISTINCT (issue #4). Archived
# and merged-away records hold no rows. ``query_term_scopes`` names the properties the rows of
# an object type were built from: search uses them only while those are still its searchable
# ones, and reads record_terms otherwise.
query_terms = Table(
    "query_terms",
    metadata,
    Column("hub_id", BigInteger, primary_key=True),
    Column("object_type_id", String(32), primary_key=True),
    Column("term", ByteOrdered, primary_key=True),
    Column("record_id", BigInteger, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    Column("prev_term", ByteOrdered),
    Index("ix_query_terms_record", "record_id", "term"),
    # Clustered on the key, so that a count reads prev_term from the key's own pages.
    sqlite_with_rowid=False,
)

# How many live records have a query term starting with each prefix of up to
# ``query_terms.COUNTED_PREFIX`` characters: the total of a short query word, the kind whose
# range of query_terms is long, read without walking that range. An entry of query_terms counts
# for the prefixes of its term that its prev_term does not start with (the record's first term
# with that prefix). On PostgreSQL each writer adds to the rows of its own shard, so that
# concurrent writes do not queue on the common prefixes; a total sums the shards.
query_prefix_counts = Table(
    "query_prefix_counts",
    metadata,
    Column("hub_id", BigInteger, primary_key=True),
    Column("object_type_id", String(32), primary_key=True),
    Column("prefix", ByteOrdered, primary_key=True),
    Column("shard", Integer, primary_key=True),
    Column("records", BigInteger, nullable=False),
)

query_term_scopes = Table(
    "query_term_scopes",
    metadata,
    Column("hub_id", BigInteger, primary_key=True),
    Column("object_type_id", String(32), primary_key=True),
    # Sorted property ids, comma-separated.
    Column("property_ids", Text, nullable=False),
)
