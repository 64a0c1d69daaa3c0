"""Batch writes and upsert of records (SPEC §3.3).

A batch either writes everything or nothing; with ``objectWriteTraceId`` on every input, each
input is its own unit and failures come back in a 207.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localspot.domain import associations, object_types, record_uniques
from localspot.domain.record_writes import WriteInput, Writer, Written, names_of
from localspot.domain.records import lookup
from localspot.errors import HubSpotError, validation_error
from localspot.policy import Caller
from localspot.runtime import Runtime

MAX_BATCH = 100


@dataclass
class BatchOutcome:
    results: list[Written]
    errors: list[dict[str, Any]]


def run_batch(
    rt: Runtime,
    caller: Caller,
    object_key: str,
    inputs: list[WriteInput],
    one: Callable[[Writer, WriteInput], Written],
) -> BatchOutcome:
    """All-or-nothing, unless every input carries an ``objectWriteTraceId``."""
    if len(inputs) > MAX_BATCH:
        raise validation_error(f"Batch requests are limited to {MAX_BATCH} inputs")
    per_input = bool(inputs) and all(i.trace_id for i in inputs)
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        writer = Writer(rt, conn, caller, object_type)
        _require_unique_id_properties(writer, inputs)
        if not per_input:
            return BatchOutcome([one(writer, item) for item in inputs], [])
        results: list[Written] = []
        errors: list[dict[str, Any]] = []
        for item in inputs:
            writer.begin_unit()
            savepoint = conn.begin_nested()
            try:
                results.append(one(writer, item))
                savepoint.commit()
            except HubSpotError as exc:
                savepoint.rollback()
                if exc.status in (401, 403):
                    raise
                error = exc.as_batch_error()
                error["context"] = {**error["context"], "objectWriteTraceId": [item.trace_id]}
                errors.append(error)
        return BatchOutcome(results, errors)


# TODO(perf): issue #3 wants 5,000 created records/s on SQLite over HTTP, 0.2 ms a record all told;
# bench/objects.py (50 batches) gives 3,900-5,100 on the shared 2-core machine (175-210 us of server
# CPU a record). A contact of the bench writes 10 value rows, 2 history rows (its sealed values'),
# 7 term rows, ~11 query_terms rows and a unique claim. Per record: SQLite's inserts ~85 us (values
# ~40, query_terms ~26, terms ~12; plain sqlite3 alone takes 2.3-2.5 us a value row with this
# table's indexes), the commit ~40 us of wall time (most of its ~300 log pages a batch are the
# blind-index and unique-key pages that random keys dirty, then the fsync), Python ~60 us. Tried
# and not worth it: foreign keys off (no measurable change), 32-character keys (~3%). What is left
# is structural: checking and tokenising a batch before taking the write lock (helps concurrent
# clients only), or writing the search terms after the commit (search would lag, as HubSpot's does).
def batch_create(
    rt: Runtime, caller: Caller, object_key: str, inputs: list[WriteInput]
) -> BatchOutcome:
    if not inputs:
        return BatchOutcome([], [])
    if all(i.trace_id for i in inputs):

        def one(writer: Writer, item: WriteInput) -> Written:
            [record_id] = writer.create([item.properties])
            associations.link_new_record(
                rt, writer.conn, caller, writer.object_type, record_id, item.associations
            )
            return _traced(
                writer.render_written(record_id, names_of(writer.with_defaults(item.properties))),
                item,
            )

        return run_batch(rt, caller, object_key, inputs, one)
    if len(inputs) > MAX_BATCH:
        raise validation_error(f"Batch requests are limited to {MAX_BATCH} inputs")
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        writer = Writer(rt, conn, caller, object_type)
        ids = writer.create([i.properties for i in inputs])
        for record_id, item in zip(ids, inputs, strict=True):
            associations.link_new_record(
                rt, conn, caller, object_type, record_id, item.associations
            )
        bodies = writer.render_created(
            ids, [names_of(writer.with_defaults(i.properties)) for i in inputs]
        )
        return BatchOutcome([_traced(body, i) for body, i in zip(bodies, inputs, strict=True)], [])


def _require_unique_id_properties(writer: Writer, inputs: list[WriteInput]) -> None:
    """HubSpot refuses a whole batch update or upsert naming, as ``idProperty``, a property
    without unique values; ``hs_object_id`` among them, since a record id goes in ``id`` with
    no ``idProperty`` (a single read or PATCH still takes it)."""
    for name in dict.fromkeys(i.id_property for i in inputs if i.id_property):
        definition = writer.definitions.get(name)
        if (
            name == "hs_object_id"
            or definition is None
            or not record_uniques.is_unique(writer.object_type, definition)
        ):
            raise validation_error(
                f"Unable to perform update/upsert by non-unique {writer.object_type.id} "
                f"property {name} in portal ID {writer.caller.hub_id}",
                context={"idProperty": [name]},
            )


def _traced(body: dict[str, Any], item: WriteInput) -> Written:
    if item.trace_id:
        body["objectWriteTraceId"] = item.trace_id
    return Written(body)


def batch_update(
    rt: Runtime, caller: Caller, object_key: str, inputs: list[WriteInput]
) -> BatchOutcome:
    def one(writer: Writer, item: WriteInput) -> Written:
        row = lookup(rt, writer.conn, caller, writer.object_type, item.id or "", item.id_property)
        writer.update(row, item.properties)
        return _traced(writer.render_written(row.id, names_of(item.properties)), item)

    return run_batch(rt, caller, object_key, inputs, one)


def batch_upsert(
    rt: Runtime, caller: Caller, object_key: str, inputs: list[WriteInput]
) -> BatchOutcome:
    def one(writer: Writer, item: WriteInput) -> Written:
        if not item.id_property:
            raise validation_error("idProperty is required for upsert")
        if not (item.id or "").strip():
            # A blank value names no record: creating one would make another on every call.
            raise validation_error(
                f"id is required for upsert: a value of {item.id_property}",
                context={"idProperty": [item.id_property]},
            )
        record_id, new = upsert(writer, item.id_property, item.id or "", item.properties)
        if new:
            names = names_of(writer.with_defaults({**item.properties, item.id_property: item.id}))
        else:
            names = names_of(item.properties)
        written = _traced(writer.render_written(record_id, names), item)
        written.new = new
        return written

    return run_batch(rt, caller, object_key, inputs, one)


def upsert(writer: Writer, id_property: str, key: str, given: dict[str, Any]) -> tuple[int, bool]:
    """Updates the record whose unique ``id_property`` is ``key``, or creates it with that value.

    Returns the record id and whether it is new. Used by batch upsert and form submissions.
    """
    try:
        row = lookup(writer.rt, writer.conn, writer.caller, writer.object_type, key, id_property)
    except HubSpotError as exc:
        if exc.status != 404:
            raise
        row = None
    if row is None:
        savepoint = writer.conn.begin_nested()
        try:
            [record_id] = writer.create([{**given, id_property: key}])
        except HubSpotError as exc:
            savepoint.rollback()
            if exc.status != 409:
                raise
            # Another transaction created it since the lookup: update that one instead.
            row = lookup(
                writer.rt, writer.conn, writer.caller, writer.object_type, key, id_property
            )
        else:
            savepoint.commit()
            return record_id, True
    writer.update(row, given)
    return row.id, False
