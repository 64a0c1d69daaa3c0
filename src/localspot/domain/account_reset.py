"""Resetting an account (SPEC Part C): its CRM data goes, the way to reach it stays.

A developer wipes an account between test runs without making apps and tokens again. What the
account's API callers made goes: records with all that hangs off them, custom object schemas,
the properties, groups and association labels the account defined, the webhook events not yet
delivered and the form submissions. What the control plane and the OAuth flow made stays:
the account and its tier, users, private apps and their tokens, installs, webhook
subscriptions and settings, form definitions, and the HubSpot-defined properties and groups
every account starts with. The audit log is append-only, so the reset adds to it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from localspot import policy
from localspot.domain import (
    accounts,
    association_definitions,
    audit,
    form_submissions,
    object_types,
    property_groups,
    property_purge,
    record_lifecycle,
    schemas,
)
from localspot.domain.webhooks.events import discard_account_pending


def reset(conn: Connection, hub_id: int, now_ms: int) -> None:
    """Call in one write transaction: a reset that fails part way leaves nothing changed."""
    accounts.get_account(conn, hub_id)
    destroyed: list[Any] = []
    for row in schemas.every_schema(conn, hub_id):
        destroyed += property_purge.every_definition(conn, hub_id, schemas.type_id(row))
        schemas.destroy(conn, row)
    for object_type in object_types.STANDARD:
        record_lifecycle.purge_object_type(conn, hub_id, object_type.id)
        destroyed += property_purge.purge_custom(conn, hub_id, object_type.id)
        property_groups.purge_custom(conn, hub_id, object_type.id)
    association_definitions.purge_account(conn, hub_id)
    form_submissions.purge_account(conn, hub_id)
    discard_account_pending(conn, hub_id, now_ms)
    # Deleting a sensitive definition is a definition change the trail must show (SPEC Part
    # C), as a schema purge shows it; the deleted values themselves were never audited rows.
    audit.record_many(
        conn,
        [
            audit.Entry(
                at_ms=now_ms,
                caller=None,
                action="definition_change",
                object_type_id=row.object_type_id,
                record_ids=[],
                property_names=[row.name],
                detail={"operation": "reset_account", "dataSensitivity": row.data_sensitivity},
                hub_id=hub_id,
            )
            for row in destroyed
            if policy.is_protected(row.data_sensitivity)
        ],
    )
