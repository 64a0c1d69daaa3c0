"""Object types: the four standard ones by name or id, and custom ones from their schemas."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection

from localspot.errors import validation_error


@dataclass(frozen=True)
class ObjectType:
    id: str  # "0-1", "2-1234"
    name: str  # "contacts"
    singular: str  # "contact"
    last_modified_property: str
    fully_qualified_name: str | None = None

    @property
    def is_custom(self) -> bool:
        return self.id.startswith("2-")


CONTACTS = ObjectType("0-1", "contacts", "contact", "lastmodifieddate")
COMPANIES = ObjectType("0-2", "companies", "company", "hs_lastmodifieddate")
DEALS = ObjectType("0-3", "deals", "deal", "hs_lastmodifieddate")
TICKETS = ObjectType("0-5", "tickets", "ticket", "hs_lastmodifieddate")
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
