"""Object types: the four standard ones by name or id, and custom ones from their schemas."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection

from localspot.errors import validation_error


@dataclass(frozen=True)
class ObjectType:
    id: str  # "0-1", "2-1234"
    name: str  # "contacts"
    singular: str  # "contact"
    last_modified_property: str
    # Returned when a read names no properties (SPEC §4.4).
    default_properties: tuple[str, ...] = ()
    # What search's free-text ``query`` looks in (SPEC §4.4).
    searchable_properties: tuple[str, ...] = ()
    fully_qualified_name: str | None = None
    # Custom objects only: whether sensitive properties may be defined on them, and which
    # properties a new record must carry.
    allows_sensitive_properties: bool = True
    required_properties: tuple[str, ...] = ()

    @property
    def is_custom(self) -> bool:
        return self.id.startswith("2-")

    def record_column(self, name: str) -> Literal["id", "created_ms", "updated_ms"] | None:
        """The column of the record row a virtual property reads (its id, creation and last
        modification), or None for a property stored as values."""
        if name == "hs_object_id" or (name == "hs_ticket_id" and self.id == "0-5"):
            return "id"
        if name == "createdate":
            return "created_ms"
        if name == self.last_modified_property:
            return "updated_ms"
        return None


CONTACTS = ObjectType(
    "0-1",
    "contacts",
    "contact",
    "lastmodifieddate",
    default_properties=(
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    ),
    searchable_properties=(
        "firstname",
        "lastname",
        "email",
        "phone",
        "hs_additional_emails",
        "fax",
        "mobilephone",
        "company",
        "hs_marketable_until_renewal",
    ),
)
COMPANIES = ObjectType(
    "0-2",
    "companies",
    "company",
    "hs_lastmodifieddate",
    default_properties=("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    searchable_properties=("website", "phone", "name", "domain"),
)
DEALS = ObjectType(
    "0-3",
    "deals",
    "deal",
    "hs_lastmodifieddate",
    default_properties=(
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
    searchable_properties=("dealname", "pipeline", "dealstage", "description", "dealtype"),
)
TICKETS = ObjectType(
    "0-5",
    "tickets",
    "ticket",
    "hs_lastmodifieddate",
    default_properties=(
        "content",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
        "hs_pipeline",
        "hs_pipeline_stage",
        "hs_ticket_category",
        "hs_ticket_priority",
        "subject",
    ),
    searchable_properties=(
        "subject",
        "content",
        "hs_pipeline_stage",
        "hs_ticket_category",
        "hs_ticket_id",
    ),
)
STANDARD = (CONTACTS, COMPANIES, DEALS, TICKETS)

_BY_KEY: dict[str, ObjectType] = {}
for _ot in STANDARD:
    _BY_KEY[_ot.id] = _ot
    _BY_KEY[_ot.name] = _ot
    _BY_KEY[_ot.singular] = _ot

# Custom object schemas register a resolver here, so that this module needs no knowledge of
# how schemas are stored.
CustomResolver = Callable[[Connection, int, str], ObjectType | None]
_custom_resolvers: list[CustomResolver] = []


def register_custom_resolver(resolver: CustomResolver) -> None:
    _custom_resolvers.append(resolver)


def standard(key: str) -> ObjectType | None:
    """A standard object type by name, singular or id; None for anything else."""
    return _BY_KEY.get(key.lower())


def resolve(conn: Connection, hub_id: int, key: str) -> ObjectType:
    """An object type from a name (``contacts``), a type id (``0-1``) or a custom schema name."""
    found = _BY_KEY.get(key.lower())
    if found is not None:
        return found
    for resolver in _custom_resolvers:
        custom = resolver(conn, hub_id, key)
        if custom is not None:
            return custom
    raise validation_error(f"Unable to infer object type from: {key}")
