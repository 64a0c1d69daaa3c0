"""The subscription event types HubSpot accepts (SPEC §5.1) and the object types they fire for."""

from __future__ import annotations

import re

KINDS = (
    "creation",
    "deletion",
    "merge",
    "restore",
    "propertyChange",
    "associationChange",
    "privacyDeletion",
)

# Object words of `<object>.<kind>` event types and their type ids. Conversations and
# `event.completed` have no records in LocalSpot: subscribing works, nothing fires.
OBJECT_TYPE_IDS: dict[str, str | None] = {
    "contact": "0-1",
    "company": "0-2",
    "deal": "0-3",
    "ticket": "0-5",
    "product": "0-7",
    "line_item": "0-8",
    "conversation": None,
}
GENERIC = "object"

_STANDARD_KINDS = ("creation", "deletion", "merge", "restore", "propertyChange")
EVENT_TYPES: frozenset[str] = frozenset(
    [
        f"{o}.{k}"
        for o in ("contact", "company", "deal", "ticket", "product", "line_item")
        for k in _STANDARD_KINDS
    ]
    + [f"{o}.associationChange" for o in ("contact", "company", "deal", "ticket", "line_item")]
    + ["contact.privacyDeletion"]
    + [
        f"conversation.{k}"
        for k in ("creation", "deletion", "newMessage", "privacyDeletion", "propertyChange")
    ]
    + [f"object.{k}" for k in (*_STANDARD_KINDS, "associationChange")]
    + ["event.completed"]
)

OBJECT_TYPE_ID = re.compile(r"^[0-9]+-[0-9]+$")

# Properties HubSpot does not let apps subscribe to: they change on almost every write.
UNSUBSCRIBABLE = frozenset({"hs_lastmodifieddate", "num_unique_conversion_events"})


def split(event_type: str) -> tuple[str, str]:
    obj, _, kind = event_type.partition(".")
    return obj, kind


def match_type_id(event_type: str, object_type_id: str | None) -> str | None:
    """The object type an event type fires for, or None when LocalSpot never raises it."""
    obj, _ = split(event_type)
    if obj == GENERIC:
        return object_type_id
    return OBJECT_TYPE_IDS.get(obj)
