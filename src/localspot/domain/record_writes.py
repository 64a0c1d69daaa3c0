"""Writing records: create, update, upsert, archive, merge, restore and purge (SPEC §3.3-3.4).

A request either writes everything or nothing; with ``objectWriteTraceId`` on every input, each
input of a batch is its own unit and failures come back in a 207 (SPEC §3.3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, update

from localspot import policy
from localspot.domain import (
    association_links,
    associations,
    audit,
    object_types,
    pipelines,
    properties,
    record_store,
)
from localspot.domain.object_types import ObjectType
from localspot.domain.record_store import Change, Source
from localspot.domain.records import always_returned, lookup, render
from localspot.domain.values import Problem, Stored, check, check_email, coerce, invalid_values
from localspot.domain.webhooks import events as webhook_events
from localspot.domain.webhooks.events import ChangeEvent, emit
from localspot.errors import HubSpotError, conflict, not_found, validation_error
from localspot.policy import Caller
from localspot.runtime import Runtime
from localspot.store.schema import records
from localspot.validation import whole_number

MAX_BATCH = 100
# History knows merges as their own source; webhooks report them as the CRM's doing.
_CHANGE_SOURCE = {"MERGE": "CRM"}
_LEGACY_TYPE = {"0-1": "CONTACT", "0-2": "COMPANY", "0-3": "DEAL", "0-5": "TICKET"}


@dataclass
class WriteInput:
    properties: dict[str, Any]
    id: str | None = None
    id_property: str | None = None
    trace_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # v3 create bodies: made in the same transaction as the record.
    associations: list[associations.NewAssociation] = field(default_factory=list)


@dataclass
class Written:
    """A record a write produced, rendered for the caller."""

    body: dict[str, Any]
    new: bool = True


def api_source(caller: Caller) -> Source:
    return Source("API", str(caller.app_id) if caller.app_id is not None else None, caller.user_id)


class Writer:
    """Checks and applies property writes for one object type within one transaction."""

    def __init__(
        self,
        rt: Runtime,
        conn: Connection,
        caller: Caller,
        object_type: ObjectType,
        source: Source | None = None,
    ) -> None:
        policy.check_record_access(caller, object_type.id, "write")
        self.rt, self.conn, self.caller, self.object_type = rt, conn, caller, object_type
        self.source = source or api_source(caller)
        self.now_ms = rt.clock.millis()
        # Every active definition of the object, once per transaction: a batch checks many
        # inputs against the same definitions.
        self.definitions = properties.definitions_by_name(conn, caller.hub_id, object_type)
        self._listening: bool | None = None
        self._allowed_levels: set[frozenset[str]] = set()
        self._email_definition = self.definitions.get("email") if object_type.id == "0-1" else None
        # Values each record created by this writer was given, to render it without a re-read.
        self._created: dict[int, dict[str, str]] = {}
        # Unique values claimed in the current unit of work, by (property id, key). A clash with
        # one of them is between two inputs of the unit, whose records vanish when it fails.
        self._claimed: dict[tuple[int, str], int] = {}

    def begin_unit(self) -> None:
        """Starts an input that commits or fails on its own (a batch with trace ids)."""
        self._claimed = {}

    # Checking -----------------------------------------------------------------------------

    def prepare(
        self, given: dict[str, Any], previous: dict[str, str], creating: bool
    ) -> list[tuple[Any, Stored]]:
        """The checked values of ``given``; raises 403 or HubSpot's 400 listing every problem."""
        if not isinstance(given, dict):
            raise validation_error("Invalid input JSON: properties must be an object")
        found = self.definitions
        given = policy.writable(self.caller, given, found)
        named = [found[n] for n in given if n in found and given[n] is not None]
        # The answer depends on the levels named alone (caller and object are the writer's):
        # a batch asks once per set of levels, and a refusal still names this input's properties.
        levels = frozenset(d.data_sensitivity for d in named)
        if levels not in self._allowed_levels:
            policy.check_values(self.caller, self.object_type.id, named, "write")
            self._allowed_levels.add(levels)
        problems: list[Problem] = []
        checked: list[tuple[Any, Stored]] = []
        is_email = self._email_definition
        for name, raw in given.items():
            definition = found.get(name)
            if definition is None:
                problems.append(
                    Problem(
                        name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist', None
                    )
                )
                continue
            try:
                text = coerce(raw)
            except TypeError:
                raise validation_error(
                    f"Invalid input JSON: properties.{name} must be a string, number or boolean"
                ) from None
            if text is None:
                continue  # JSON null is accepted and changes nothing
            sensitive = policy.is_protected(definition.data_sensitivity)
            if definition.read_only_value or name in record_store.VIRTUAL:
                problems.append(
                    Problem(
                        name,
                        "READ_ONLY_VALUE",
                        f'"{name}" is a read only property; its value cannot be set.',
                        None if sensitive else text,
                    )
                )
                continue
            result = check(definition, text, previous.get(name), sensitive)
            if isinstance(result, Problem):
                problems.append(result)
                continue
            if definition is is_email and text and not check_email(text):
                problems.append(
                    Problem(name, "INVALID_EMAIL", f"Email address {text} is invalid", text)
                )
                continue
            if creating and result.is_cleared:
                continue
            checked.append((definition, result))
        problems += self._pipeline_problems(checked, previous, creating)
        if problems:
            raise invalid_values(self.caller.hub_id, problems)
        return checked

    def _is_email(self, definition: Any) -> bool:
        return self.object_type.id == "0-1" and definition.name == "email"

    def _pipeline_problems(
        self, checked: list[tuple[Any, Stored]], previous: dict[str, str], creating: bool
    ) -> list[Problem]:
        names = pipelines.PIPELINE_PROPERTIES.get(self.object_type.id)
        if names is None:
            return []
        pipeline_name, stage_name = names
        given = {d.name: s.text for d, s in checked}
        pipeline = given.get(pipeline_name) or previous.get(pipeline_name)
        stage = given.get(stage_name)
        if creating and self.object_type.id == "0-5" and not stage:
            return [Problem(stage_name, "REQUIRED", f"{stage_name} is required for a ticket", None)]
        if stage is None:
            return []
        pipeline = pipeline or pipelines.default_pipeline(self.object_type.id)
        allowed = pipelines.stages(self.object_type.id, pipeline) or []
        if stage not in allowed:
            return [
                Problem(
                    stage_name,
                    "INVALID_OPTION",
                    f"{stage} was not one of the allowed options: [{', '.join(allowed)}]",
                    stage,
                )
            ]
        return []

    def with_defaults(self, given: dict[str, Any]) -> dict[str, Any]:
        """A new deal or ticket without a pipeline goes into the default one."""
        names = pipelines.PIPELINE_PROPERTIES.get(self.object_type.id)
        if names and not given.get(names[0]):
            return {**given, names[0]: pipelines.default_pipeline(self.object_type.id)}
        return given

    # Applying -----------------------------------------------------------------------------

    def create(self, inputs: list[dict[str, Any]]) -> list[int]:
        prepared = [self.prepare(self.with_defaults(given), {}, creating=True) for given in inputs]
        self._check_required(prepared)
        ids = record_store.new_records(
            self.conn, self.caller.hub_id, self.object_type, self.now_ms, len(inputs)
        )
        changes = [
            Change(rid, d, None, s)
            for rid, checked in zip(ids, prepared, strict=True)
            for d, s in checked
        ]
        self._claim_unique(changes, creating=True)
        record_store.write_changes(
            self.conn,
            self.rt.protector,
            self.caller.hub_id,
            self.object_type,
            changes,
            self.now_ms,
            self.source,
        )
        for rid, checked in zip(ids, prepared, strict=True):
            self._created[rid] = {d.name: s.text for d, s in checked}
        if self.listening():
            self.announce(
                [self.event(rid, "creation") for rid in ids] + self.property_events(changes)
            )
        self.audit(changes)
        return ids

    def _check_required(self, prepared: list[list[tuple[Any, Stored]]]) -> None:
        required = self.object_type.required_properties
        for checked in prepared:
            missing = [n for n in required if n not in {d.name for d, _ in checked}]
            if missing:
                raise validation_error(
                    f"Missing required properties: {', '.join(missing)}",
                    context={"propertyName": missing},
                )

    def update(self, row: Any, given: dict[str, Any]) -> list[Change]:
        names = list(given) if isinstance(given, dict) else []
        found = {n: self.definitions[n] for n in names if n in self.definitions}
        if isinstance(given, dict):
            given = policy.writable(self.caller, given, found)
            found = {n: d for n, d in found.items() if n in given}
        previous = record_store.load_values(
            self.conn,
            self.rt.protector,
            self.caller.hub_id,
            self.object_type,
            [row.id],
            found.values(),
        )[row.id]
        checked = self.prepare(given, previous, creating=False)
        changes = [
            Change(row.id, d, previous.get(d.name), s)
            for d, s in checked
            if previous.get(d.name) != s.text
        ]
        if not changes:
            # Nothing to change leaves the record as it was, its modified date included.
            return changes
        self._claim_unique(changes, creating=False)
        record_store.write_changes(
            self.conn,
            self.rt.protector,
            self.caller.hub_id,
            self.object_type,
            changes,
            self.now_ms,
            self.source,
        )
        record_store.touch(self.conn, [row.id], self.now_ms)
        self.announce(self.property_events(changes))
        self.audit(changes)
        return changes

    # Webhook events, in the write's own transaction (transactional outbox) -------------------

    def event(self, record_id: int, kind: str, **fields: Any) -> ChangeEvent:
        return ChangeEvent(
            hub_id=self.caller.hub_id,
            object_type_id=self.object_type.id,
            object_id=record_id,
            kind=kind,
            occurred_at_ms=self.now_ms,
            change_source=_CHANGE_SOURCE.get(self.source.type, self.source.type),
            source_id=self.source.id,
            **fields,
        )

    def listening(self) -> bool:
        """Whether anyone subscribes to this object's events (asked once per transaction)."""
        if self._listening is None:
            self._listening = webhook_events.listening(
                self.conn, self.caller.hub_id, self.object_type.id
            )
        return self._listening

    def property_events(self, changes: list[Change]) -> list[ChangeEvent]:
        """One propertyChange per changed value; the policy redacts or drops sensitive ones."""
        if not self.listening():
            return []
        out = []
        for change in changes:
            shown = policy.webhook_property_value(
                change.definition.data_sensitivity, change.new.text
            )
            if shown is not None:
                out.append(
                    self.event(
                        change.record_id,
                        "propertyChange",
                        property_name=change.definition.name,
                        property_value=shown,
                    )
                )
        return out

    def announce(self, events: list[ChangeEvent]) -> None:
        if events:
            emit(self.conn, events)

    def audit(self, changes: list[Change]) -> None:
        """Writing sensitive values is audited in the write's own transaction."""
        touched = [c for c in changes if policy.is_protected(c.definition.data_sensitivity)]
        if touched:
            action = "form_submission" if self.source.type == "FORM" else "write"
            audit.record(
                self.conn,
                self.now_ms,
                self.caller,
                action,
                self.object_type.id,
                [c.record_id for c in touched],
                [c.definition.name for c in touched],
                {"source": self.source.type},
            )

    def _claim_unique(self, changes: list[Change], creating: bool) -> None:
        if creating:
            self._claim_new(changes)
            return
        for change in changes:
            definition = change.definition
            if not record_store.is_unique(self.object_type, definition):
                continue
            if change.new.is_cleared:
                record_store.set_unique(self.conn, definition, None, change.record_id)
                continue
            key = record_store.unique_key(
                self.rt.protector, self.object_type, self.caller.hub_id, definition, change.new
            )
            holder = record_store.holder_of(self.conn, definition, key)
            if holder is None or holder == change.record_id:
                holder = record_store.set_unique(self.conn, definition, key, change.record_id)
            if holder is not None and holder != change.record_id:
                if self._claimed.get((definition.id, key)) == holder:
                    raise self._repeated(definition, change)
                raise self._clash(definition, change, holder, creating)
            self._claimed[(definition.id, key)] = change.record_id

    def _claim_new(self, changes: list[Change]) -> None:
        """New records hold nothing yet: one look-up for every key the batch claims."""
        claims: dict[tuple[int, str], Change] = {}
        for change in changes:
            if record_store.is_unique(self.object_type, change.definition):
                key = record_store.unique_key(
                    self.rt.protector,
                    self.object_type,
                    self.caller.hub_id,
                    change.definition,
                    change.new,
                )
                if (change.definition.id, key) in claims:
                    raise self._repeated(change.definition, change)
                claims[(change.definition.id, key)] = change
        if not claims:
            return
        # Claims usually succeed: insert first, and look up holders only when one was taken.
        lost = record_store.add_unique(
            self.conn, [(p, k, c.record_id) for (p, k), c in claims.items()]
        )
        for property_id, key, holder in lost:
            change = claims[(property_id, key)]
            if self._claimed.get((property_id, key)) == holder:
                raise self._repeated(change.definition, change)
            raise self._clash(change.definition, change, holder, True)
        self._claimed.update({claim: c.record_id for claim, c in claims.items()})

    def _repeated(self, definition: Any, change: Change) -> HubSpotError:
        """Two inputs of one unit claim the same unique value: neither record will exist, so
        the error names no record."""
        value = (
            "the same value"
            if policy.is_protected(definition.data_sensitivity)
            else change.new.text
        )
        return validation_error(
            f"More than one input sets {definition.name} to {value}, "
            f"but {definition.name} holds unique values; each input needs its own.",
            context={"propertyName": [definition.name]},
        )

    def _clash(self, definition: Any, change: Change, holder: int, creating: bool) -> HubSpotError:
        # Naming the holder of a value tells the caller that record's value.
        named = policy.may_name_holder(
            self.caller, self.object_type.id, definition.data_sensitivity
        )
        if creating and self._is_email(definition):
            if not named:
                return conflict("Contact already exists.")
            return conflict(f"Contact already exists. Existing ID: {holder}")
        shown = "REDACTED" if policy.is_protected(definition.data_sensitivity) else change.new.text
        who = str(holder) if named else "Another record"
        legacy = _LEGACY_TYPE.get(self.object_type.id)
        type_id = (
            f"ObjectTypeId{{legacyObjectType={legacy}}}"
            if legacy
            else f"ObjectTypeId{{{self.object_type.id}}}"
        )
        return validation_error(
            f"Cannot set PropertyValueCoordinates{{portalId={self.caller.hub_id}, "
            f"objectTypeId={type_id}, propertyName={definition.name}, value={shown}}} on "
            f"{change.record_id}. {who} already has that value.",
            context={"propertyName": [definition.name]},
        )

    def render_written(self, record_id: int, names: list[str]) -> dict[str, Any]:
        return self.render_many([record_id], [names])[0]

    def render_created(self, record_ids: list[int], names: list[list[str]]) -> list[dict[str, Any]]:
        """Records this writer just created, from the values it wrote: no re-read, no unsealing."""
        base = always_returned(self.object_type)
        out = []
        for rid, group in zip(record_ids, names, strict=True):
            written = self._created[rid]
            ordered = [
                n
                for n in dict.fromkeys([*base, *group])
                if n in self.definitions
                and policy.may_read_value(
                    self.caller, self.object_type.id, self.definitions[n].data_sensitivity
                )
            ]
            out.append(render(self.object_type, _NewRow(rid, self.now_ms), ordered, written))
        return out

    def render_many(self, record_ids: list[int], names: list[list[str]]) -> list[dict[str, Any]]:
        """Records after a write: the written properties the caller may read, plus defaults."""
        rows = record_store.find_many(self.conn, self.caller.hub_id, self.object_type, record_ids)
        base = always_returned(self.object_type)
        wanted = {n for group in names for n in group} | set(base)
        shown = {
            name: d
            for name, d in self.definitions.items()
            if name in wanted
            and policy.may_read_value(self.caller, self.object_type.id, d.data_sensitivity)
        }
        ids = [rows[rid].id for rid in record_ids]
        values = record_store.load_values(
            self.conn,
            self.rt.protector,
            self.caller.hub_id,
            self.object_type,
            ids,
            shown.values(),
        )
        out = []
        for rid, group in zip(record_ids, names, strict=True):
            row = rows[rid]
            ordered = [n for n in dict.fromkeys([*base, *group]) if n in shown]
            out.append(render(self.object_type, row, ordered, values[row.id]))
        return out


@dataclass(frozen=True)
class _NewRow:
    """What ``render`` reads of a records row, for a record created in this transaction."""

    id: int
    created_ms: int
    archived: bool = False
    archived_ms: int | None = None

    @property
    def updated_ms(self) -> int:
        return self.created_ms


def _names(given: dict[str, Any]) -> list[str]:
    return [n for n, v in given.items() if v is not None]


# Single-record operations -----------------------------------------------------------------------


def create_record(
    rt: Runtime,
    caller: Caller,
    object_key: str,
    given: dict[str, Any],
    linked: list[associations.NewAssociation] | None = None,
) -> dict[str, Any]:
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        writer = Writer(rt, conn, caller, object_type)
        [record_id] = writer.create([given])
        associations.link_new_record(rt, conn, caller, object_type, record_id, linked or [])
        return writer.render_written(record_id, _names(writer.with_defaults(given)))


def update_record(
    rt: Runtime,
    caller: Caller,
    object_key: str,
    key: str,
    given: dict[str, Any],
    id_property: str | None,
) -> dict[str, Any]:
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        writer = Writer(rt, conn, caller, object_type)
        row = lookup(rt, conn, caller, object_type, key, id_property)
        writer.update(row, given)
        return writer.render_written(row.id, _names(given))


def archive_records(rt: Runtime, caller: Caller, object_key: str, keys: list[str]) -> None:
    """Archives each existing record; unknown ids are no error (HubSpot answers 204)."""
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        writer = Writer(rt, conn, caller, object_type)
        ids = [n for n in map(whole_number, keys) if n is not None]
        rows = record_store.find_many(conn, caller.hub_id, object_type, ids)
        active = sorted({r.id for r in rows.values() if not r.archived})
        if active:
            conn.execute(
                update(records)
                .where(records.c.id.in_(active))
                .values(archived=True, archived_ms=writer.now_ms, updated_ms=writer.now_ms)
            )
            record_store.release_unique(conn, active)
            writer.announce([writer.event(rid, "deletion") for rid in active])


# Batches ----------------------------------------------------------------------------------------


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


# TODO(perf): issue #3 wants 5,000 created records/s on SQLite; this path costs about 0.35-0.5 ms
# of CPU per record (checks, sealing, rendering), so about 2,000-2,800/s at best on one core.
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
                writer.render_written(record_id, _names(writer.with_defaults(item.properties))),
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
            ids, [_names(writer.with_defaults(i.properties)) for i in inputs]
        )
        return BatchOutcome([_traced(body, i) for body, i in zip(bodies, inputs, strict=True)], [])


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
        return _traced(writer.render_written(row.id, _names(item.properties)), item)

    return run_batch(rt, caller, object_key, inputs, one)


def batch_upsert(
    rt: Runtime, caller: Caller, object_key: str, inputs: list[WriteInput]
) -> BatchOutcome:
    def one(writer: Writer, item: WriteInput) -> Written:
        if not item.id_property:
            raise validation_error("idProperty is required for upsert")
        record_id, new = upsert(writer, item.id_property, item.id or "", item.properties)
        if not new:
            return Written(writer.render_written(record_id, _names(item.properties)), new=False)
        given = {**item.properties, item.id_property: item.id}
        return Written(writer.render_written(record_id, _names(writer.with_defaults(given))))

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


# Merge, restore, GDPR delete, purge -------------------------------------------------------------


def merge(
    rt: Runtime, caller: Caller, object_key: str, primary_key: str, merged_key: str
) -> dict[str, Any]:
    """The primary keeps its id and values; it takes the merged record's values it lacks."""
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        writer = Writer(rt, conn, caller, object_type, Source("MERGE", None, caller.user_id))
        primary = lookup(rt, conn, caller, object_type, primary_key, None)
        merged = lookup(rt, conn, caller, object_type, merged_key, None)
        if primary.id == merged.id:
            raise validation_error("A record cannot be merged with itself")
        every = properties.definitions_by_name(conn, caller.hub_id, object_type)
        both = record_store.load_values(
            conn, rt.protector, caller.hub_id, object_type, [primary.id, merged.id], every.values()
        )
        involved = {*both[primary.id], *both[merged.id]}
        policy.check_values(caller, object_type.id, [every[n] for n in involved], "write")
        record_store.release_unique(conn, [merged.id])
        changes = [
            Change(
                primary.id,
                every[name],
                both[primary.id].get(name),
                Stored(value, *_search_forms(every[name], value)),
            )
            for name, value in both[merged.id].items()
            if value and not both[primary.id].get(name)
        ]
        writer._claim_unique(changes, creating=False)
        record_store.write_changes(
            conn, rt.protector, caller.hub_id, object_type, changes, writer.now_ms, writer.source
        )
        association_links.move_on_merge(rt, conn, caller, object_type, merged.id, primary.id)
        conn.execute(
            update(records)
            .where(records.c.id == merged.id)
            .values(
                archived=True,
                archived_ms=writer.now_ms,
                merged_into=primary.id,
                updated_ms=writer.now_ms,
            )
        )
        record_store.touch(conn, [primary.id], writer.now_ms)
        writer.announce(
            [
                writer.event(
                    primary.id,
                    "merge",
                    extra={
                        "primaryObjectId": primary.id,
                        "mergedObjectIds": [merged.id],
                        "newObjectId": primary.id,
                        "numberOfPropertiesMoved": len(changes),
                    },
                ),
                *writer.property_events(changes),
            ]
        )
        writer.audit(changes)
        return writer.render_written(primary.id, list(object_type.default_properties))


def _search_forms(definition: Any, value: str) -> tuple[str | None, float | None]:
    stored = check(definition, value, None, sensitive=True)
    if isinstance(stored, Problem):
        return None, None
    return stored.norm, stored.num


def restore(rt: Runtime, hub_id: int, object_key: str, record_id: int) -> None:
    """Brings an archived record back, as the CRM's recycle bin does (control plane)."""
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, hub_id, object_key)
        row = record_store.find(conn, hub_id, object_type, record_id)
        if row is None or not row.archived or row.merged_into is not None:
            raise not_found(f"No archived record {record_id}")
        every = properties.definitions_by_name(conn, hub_id, object_type)
        for definition, key in record_store.stored_unique_keys(
            conn, rt.protector, hub_id, object_type, row.id, every.values()
        ):
            holder = record_store.holder_of(conn, definition, key)
            if holder is not None:
                raise conflict(
                    f"Record {holder} now holds this record's {definition.name}; "
                    "change it before restoring"
                )
            if record_store.set_unique(conn, definition, key, row.id) is not None:
                raise conflict(f"Another record now holds this record's {definition.name}")
        now_ms = rt.clock.millis()
        conn.execute(
            update(records)
            .where(records.c.id == row.id)
            .values(archived=False, archived_ms=None, updated_ms=now_ms)
        )
        # The control plane plays the part of HubSpot's recycle bin in the CRM UI.
        emit(conn, [ChangeEvent(hub_id, object_type.id, row.id, "restore", now_ms, "CRM_UI", None)])


def gdpr_delete(rt: Runtime, caller: Caller, key: str, id_property: str | None) -> None:
    """Deletes a contact for good, values and history included."""
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, "contacts")
        writer = Writer(rt, conn, caller, object_type)
        try:
            row = lookup(rt, conn, caller, object_type, key, id_property)
        except HubSpotError as exc:
            if exc.status == 404 and id_property == "email":
                return  # HubSpot blocklists an unknown email; LocalSpot keeps no blocklist
            raise
        conn.execute(
            delete(records).where((records.c.id == row.id) | (records.c.merged_into == row.id))
        )
        writer.announce([writer.event(row.id, "privacyDeletion")])


def purge_archived(conn: Connection, now_ms: int, days: int) -> int:
    # One statement: no list of ids in memory, and no IN clause past SQLite's variable limit.
    cutoff = now_ms - days * 86_400_000
    result = conn.execute(
        delete(records).where(records.c.archived.is_(True), records.c.archived_ms <= cutoff)
    )
    return int(result.rowcount or 0)
