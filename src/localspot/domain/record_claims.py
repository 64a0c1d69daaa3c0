"""Unique values a write claims: each checked against its holder, and HubSpot's error when
another record holds it already.

Functions over a ``Writer``: its caller decides what an error may name, and its unit of work
keeps the claims made so far (``Writer.claimed``), so that a clash between two of its own
inputs is told apart from a clash with a stored record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from localspot import policy
from localspot.domain import record_uniques
from localspot.domain.record_store import Change
from localspot.errors import HubSpotError, UniqueValueTaken, conflict, validation_error

if TYPE_CHECKING:
    from localspot.domain.record_writes import Writer

_LEGACY_TYPE = {"0-1": "CONTACT", "0-2": "COMPANY", "0-3": "DEAL", "0-5": "TICKET"}


def claim_unique(writer: Writer, changes: list[Change], creating: bool) -> None:
    if creating:
        _claim_new(writer, changes)
        return
    for change in changes:
        definition = change.definition
        if not record_uniques.is_unique(writer.object_type, definition):
            continue
        if change.new.is_cleared:
            record_uniques.set_unique(writer.conn, definition, None, change.record_id)
            continue
        key = record_uniques.unique_key(
            writer.rt.protector, writer.object_type, writer.caller.hub_id, definition, change.new
        )
        holder = record_uniques.holder_of(writer.conn, definition, key)
        if holder is None or holder == change.record_id:
            holder = record_uniques.set_unique(writer.conn, definition, key, change.record_id)
        if holder is not None and holder != change.record_id:
            if writer.claimed.get((definition.id, key)) == holder:
                raise _repeated(definition, change)
            raise _clash(writer, definition, change, holder, creating)
        writer.claimed[(definition.id, key)] = change.record_id


def _claim_new(writer: Writer, changes: list[Change]) -> None:
    """New records hold nothing yet: one look-up for every key the batch claims."""
    claims: dict[tuple[int, str], Change] = {}
    unique: dict[int, bool] = {}
    for change in changes:
        is_unique = unique.get(change.definition.id)
        if is_unique is None:
            is_unique = record_uniques.is_unique(writer.object_type, change.definition)
            unique[change.definition.id] = is_unique
        if is_unique:
            key = record_uniques.unique_key(
                writer.rt.protector,
                writer.object_type,
                writer.caller.hub_id,
                change.definition,
                change.new,
            )
            if (change.definition.id, key) in claims:
                raise _repeated(change.definition, change)
            claims[(change.definition.id, key)] = change
    if not claims:
        return
    # Claims usually succeed: insert first, and look up holders only when one was taken.
    lost = record_uniques.add_unique(
        writer.conn, [(p, k, c.record_id) for (p, k), c in claims.items()]
    )
    for property_id, key, holder in lost:
        change = claims[(property_id, key)]
        if writer.claimed.get((property_id, key)) == holder:
            raise _repeated(change.definition, change)
        raise _clash(writer, change.definition, change, holder, True)
    writer.claimed.update({claim: c.record_id for claim, c in claims.items()})


def _repeated(definition: Any, change: Change) -> HubSpotError:
    """Two inputs of one unit claim the same unique value: neither record will exist, so
    the error names no record."""
    value = (
        "the same value" if policy.is_protected(definition.data_sensitivity) else change.new.text
    )
    return validation_error(
        f"More than one input sets {definition.name} to {value}, "
        f"but {definition.name} holds unique values; each input needs its own.",
        context={"propertyName": [definition.name]},
    )


def _clash(
    writer: Writer, definition: Any, change: Change, holder: int, creating: bool
) -> HubSpotError:
    # Naming the holder of a value tells the caller that record's value.
    object_type = writer.object_type
    named = policy.may_name_holder(writer.caller, object_type.id, definition.data_sensitivity)
    if creating and object_type.id == "0-1" and definition.name == "email":
        if not named:
            return conflict("Contact already exists.")
        return conflict(f"Contact already exists. Existing ID: {holder}")
    shown = "REDACTED" if policy.is_protected(definition.data_sensitivity) else change.new.text
    who = str(holder) if named else "Another record"
    legacy = _LEGACY_TYPE.get(object_type.id)
    type_id = (
        f"ObjectTypeId{{legacyObjectType={legacy}}}"
        if legacy
        else f"ObjectTypeId{{{object_type.id}}}"
    )
    return UniqueValueTaken(
        f"Cannot set PropertyValueCoordinates{{portalId={writer.caller.hub_id}, "
        f"objectTypeId={type_id}, propertyName={definition.name}, value={shown}}} on "
        f"{change.record_id}. {who} already has that value.",
        definition.name,
    )
