"""Writing records: the Writer, and single-record create, update and archive (SPEC §3.3-3.4).

A request either writes everything or nothing. Batches and upsert are in ``record_batches``;
merge, restore, GDPR delete and purge in ``record_lifecycle``; claiming unique values, and
the errors when one is taken, in ``record_claims``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, update

from localspot import policy
from localspot.domain import (
    associations,
    audit,
    object_types,
    pipelines,
    property_lookup,
    query_index,
    record_claims,
    record_store,
    record_uniques,
)
from localspot.domain.object_types import ObjectType
from localspot.domain.record_store import Change, Source
from localspot.domain.records import always_returned, lookup, render
from localspot.domain.values import Problem, Stored, check, check_email, coerce, invalid_values
from localspot.domain.webhooks import events as webhook_events
from localspot.domain.webhooks.events import ChangeEvent, emit
from localspot.errors import validation_error
from localspot.policy import Caller
from localspot.runtime import Runtime
from localspot.store.schema import records
from localspot.validation import whole_number

# History knows merges as their own source; webhooks report them as the CRM's doing.
_CHANGE_SOURCE = {"MERGE": "CRM"}


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
        self.definitions = property_lookup.active_definitions(conn, caller.hub_id, object_type)
        self._listening: bool | None = None
        self._allowed_levels: set[frozenset[str]] = set()
        self._email_definition = self.definitions.get("email") if object_type.id == "0-1" else None
        # Values each record created by this writer was given, to render it without a re-read.
        self._created: dict[int, dict[str, str]] = {}
        # Unique values claimed in the current unit of work, by (property id, key). A clash with
        # one of them is between two inputs of the unit, whose records vanish when it fails.
        self.claimed: dict[tuple[int, str], int] = {}
        # By property name, what checking its values needs of its definition, worked out once:
        # (definition, sealed at rest, read only).
        self._plans: dict[str, tuple[Any, bool, bool]] = {}

    def begin_unit(self) -> None:
        """Starts an input that commits or fails on its own (a batch with trace ids)."""
        self.claimed = {}

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
        plans = self._plans
        for name, raw in given.items():
            plan = plans.get(name)
            if plan is None:
                definition = found.get(name)
                if definition is None:
                    problems.append(
                        Problem(
                            name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist', None
                        )
                    )
                    continue
                plan = plans[name] = (
                    definition,
                    policy.is_protected(definition.data_sensitivity),
                    bool(definition.read_only_value or name in record_store.VIRTUAL),
                )
            definition, sensitive, read_only = plan
            try:
                text = raw if type(raw) is str else coerce(raw)
            except TypeError:
                raise validation_error(
                    f"Invalid input JSON: properties.{name} must be a string, number or boolean"
                ) from None
            if text is None:
                continue  # JSON null is accepted and changes nothing
            if read_only:
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
            if creating and result.text == "":
                continue  # nothing to clear yet
            checked.append((definition, result))
        problems += self._pipeline_problems(checked, previous, creating)
        if problems:
            raise invalid_values(self.caller.hub_id, problems)
        return checked

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
            self.conn, self.caller.hub_id, self.object_type, self.now_ms, len(inputs), self.source
        )
        changes = [
            Change(rid, d, None, s)
            for rid, checked in zip(ids, prepared, strict=True)
            for d, s in checked
        ]
        record_claims.claim_unique(self, changes, creating=True)
        record_store.write_changes(
            self.conn,
            self.rt.protector,
            self.caller.hub_id,
            self.object_type,
            changes,
            self.now_ms,
            self.source,
            new_records=True,
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
        if not required:
            return
        for checked in prepared:
            names = {d.name for d, _ in checked}
            missing = [n for n in required if n not in names]
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
            or not policy.may_skip_unchanged(self.caller, self.object_type.id, d.data_sensitivity)
        ]
        if not changes:
            # Nothing to change leaves the record as it was, its modified date included.
            return changes
        record_claims.claim_unique(self, changes, creating=False)
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

    def render_written(self, record_id: int, names: list[str]) -> dict[str, Any]:
        return self.render_many([record_id], [names])[0]

    def render_created(self, record_ids: list[int], names: list[list[str]]) -> list[dict[str, Any]]:
        """Records this writer just created, from the values it wrote: no re-read, no unsealing."""
        base = always_returned(self.object_type)
        out = []
        # Inputs of a batch usually name the same properties: decide what to show once per set.
        shown: dict[tuple[str, ...], list[str]] = {}
        for rid, group in zip(record_ids, names, strict=True):
            key = tuple(group)
            ordered = shown.get(key)
            if ordered is None:
                ordered = shown[key] = [
                    n
                    for n in dict.fromkeys([*base, *group])
                    if n in self.definitions
                    and policy.may_read_value(
                        self.caller, self.object_type.id, self.definitions[n].data_sensitivity
                    )
                ]
            written = self._created[rid]
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


def names_of(given: dict[str, Any]) -> list[str]:
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
        return writer.render_written(record_id, names_of(writer.with_defaults(given)))


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
        return writer.render_written(row.id, names_of(given))


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
            record_uniques.release_unique(conn, active)
            query_index.archived(conn, active)
            writer.announce([writer.event(rid, "deletion") for rid in active])
