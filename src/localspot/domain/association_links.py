"""Association rows: adding and removing them in both directions, handing them on when records
merge, and the change records webhooks turn into events (reading them back:
``association_reads``; what a request names: ``association_requests``).

Every association is stored in both directions, one row per type, so reading a record's
associations of one object type is one indexed range. Archiving a record leaves its rows, so a
restore brings the associations back; purged records take their rows with them (foreign key
cascade).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, tuple_

from localspot.domain import association_types as at
from localspot.domain import object_types, record_store
from localspot.domain.association_definitions import Definitions
from localspot.domain.association_requests import Spec, invalid_ids, parse_id
from localspot.domain.association_types import AssociationType
from localspot.domain.object_types import ObjectType
from localspot.domain.webhooks.events import ChangeEvent, emit
from localspot.errors import validation_error
from localspot.policy import Caller
from localspot.runtime import Runtime
from localspot.store.schema import record_associations

ra = record_associations


@dataclass(frozen=True)
class AssociationChange:
    """One association type gained or lost by one record; webhooks turn these into events."""

    from_type: str
    from_id: int
    to_type: str
    to_id: int
    category: str
    type_id: int
    removed: bool
    primary: bool = False


_EVENT_NAMES = {"0-1": "CONTACT", "0-2": "COMPANY", "0-3": "DEAL", "0-5": "TICKET"}


def record_changes(
    conn: Connection, caller: Caller, now_ms: int, changes: list[AssociationChange]
) -> None:
    """Queues an ``associationChange`` event per side of each change, in the write's transaction.

    Association data is not sensitive: these events carry ids and the type, never a value.
    """
    source_id = str(caller.app_id) if caller.app_id is not None else None
    emit(
        conn,
        [
            ChangeEvent(
                hub_id=caller.hub_id,
                object_type_id=c.from_type,
                object_id=c.from_id,
                kind="associationChange",
                occurred_at_ms=now_ms,
                change_source="API",
                source_id=source_id,
                extra={
                    "associationType": f"{_EVENT_NAMES.get(c.from_type, c.from_type)}_TO_"
                    f"{_EVENT_NAMES.get(c.to_type, c.to_type)}",
                    "fromObjectId": c.from_id,
                    "toObjectId": c.to_id,
                    "associationRemoved": c.removed,
                    "isPrimaryAssociation": c.primary,
                },
            )
            for c in changes
        ],
    )


# Writing ----------------------------------------------------------------------------------------


class Linker:
    """Adds and removes associations within one write transaction, both directions at once."""

    def __init__(self, rt: Runtime, conn: Connection, caller: Caller) -> None:
        self.rt, self.conn, self.caller = rt, conn, caller
        self.defs = Definitions(conn, caller.hub_id)
        self.now_ms = rt.clock.millis()
        self.changes: list[AssociationChange] = []
        self._counts: dict[tuple[int, str], int] = {}
        # Filled by the preload_* methods, so that a batch looks records up once, not per input.
        self._live: dict[tuple[str, str], int | None] = {}
        self._pairs: dict[tuple[int, int], set[tuple[int, int]]] = {}

    def preload_live(self, object_type: ObjectType, keys: Iterable[Any]) -> None:
        keys = [str(k) for k in dict.fromkeys(keys)]
        found, missing = self._lookup(object_type, keys)
        for key in keys:
            self._live[(object_type.id, key)] = found.get(key)

    def preload_pairs(self, pairs: list[tuple[int, int]], to_types: tuple[str, str]) -> None:
        """Current types and association counts of many pairs, in two queries."""
        froms = {a for a, _ in pairs}
        tos = {b for _, b in pairs}
        for a, b in pairs:
            self._pairs[(a, b)] = set()
        if pairs:
            rows = self.conn.execute(
                select(ra.c.from_id, ra.c.to_id, ra.c.category, ra.c.type_id).where(
                    ra.c.from_id.in_(froms), ra.c.to_id.in_(tos)
                )
            )
            for a, b, c, t in rows:
                if (a, b) in self._pairs:
                    self._pairs[(a, b)].add((c, t))
        for ids, to_type in ((froms, to_types[1]), (tos, to_types[0])):
            counts = dict.fromkeys(ids, 0)
            rows = self.conn.execute(
                select(ra.c.from_id, func.count(func.distinct(ra.c.to_id)))
                .where(ra.c.from_id.in_(ids), ra.c.to_object_type_id == to_type)
                .group_by(ra.c.from_id)
            )
            counts.update({a: n for a, n in rows})
            for a, n in counts.items():
                self._counts.setdefault((a, to_type), n)

    def live(
        self, object_type: ObjectType, keys: Iterable[Any]
    ) -> tuple[dict[str, int], list[str]]:
        """{asked key: record id} of live records (merged ids name their survivor), and misses."""
        keys = [str(k) for k in keys]
        if all((object_type.id, k) in self._live for k in keys):
            hits = {k: self._live[(object_type.id, k)] for k in keys}
            return {k: v for k, v in hits.items() if v is not None}, [
                k for k, v in hits.items() if v is None
            ]
        return self._lookup(object_type, keys)

    def _lookup(self, object_type: ObjectType, keys: list[str]) -> tuple[dict[str, int], list[str]]:
        asked = {k: parse_id(k) for k in keys}
        rows = record_store.find_many(
            self.conn, self.caller.hub_id, object_type, [i for i in asked.values() if i is not None]
        )
        found: dict[str, int] = {}
        missing: list[str] = []
        for key, rid in asked.items():
            row = rows.get(rid) if rid is not None else None
            if row is None or row.archived:
                missing.append(key)
            else:
                found[key] = row.id
        return found, missing

    def pair_ids(
        self, from_ot: ObjectType, from_key: Any, to_ot: ObjectType, to_key: Any
    ) -> tuple[int, int]:
        found_from, bad_from = self.live(from_ot, [from_key])
        found_to, bad_to = self.live(to_ot, [to_key])
        if bad_from or bad_to:
            raise invalid_ids(from_ot, bad_from, to_ot, bad_to)
        from_id, to_id = found_from[str(from_key)], found_to[str(to_key)]
        if from_id == to_id:
            raise validation_error(
                "A record cannot be associated with itself",
                sub_category="crm.associations.SELF_ASSOCIATION",
                context={"fromObjectId": [str(from_key)], "toObjectId": [str(to_key)]},
            )
        return from_id, to_id

    def types(
        self, from_ot: ObjectType, to_ot: ObjectType, specs: list[Spec]
    ) -> list[AssociationType]:
        self.defs.require_default(from_ot, to_ot)
        return [self.defs.find(from_ot, to_ot, s.category, s.type_id) for s in specs]

    def _current(self, from_id: int, to_id: int) -> set[tuple[int, int]]:
        if (from_id, to_id) in self._pairs:
            return set(self._pairs[(from_id, to_id)])
        rows = self.conn.execute(
            select(ra.c.category, ra.c.type_id).where(ra.c.from_id == from_id, ra.c.to_id == to_id)
        )
        return {(c, t) for c, t in rows}

    def _count(self, record_id: int, to_type: str) -> int:
        key = (record_id, to_type)
        if key not in self._counts:
            self._counts[key] = int(
                self.conn.scalar(
                    select(func.count(func.distinct(ra.c.to_id))).where(
                        ra.c.from_id == record_id, ra.c.to_object_type_id == to_type
                    )
                )
                or 0
            )
        return self._counts[key]

    def _check_limit(self, record_id: int, object_type: ObjectType, to_ot: ObjectType) -> None:
        limit = self.rt.settings.associations_max_per_record
        if self._count(record_id, to_ot.id) >= limit:
            raise validation_error(
                f"{object_type.singular} {record_id} already has {limit} associated "
                f"{to_ot.name}, the most a record may have",
                sub_category="crm.associations.TOO_MANY_ASSOCIATIONS",
                context={"fromObjectId": [str(record_id)], "toObjectType": [to_ot.id]},
            )

    def link(
        self,
        from_ot: ObjectType,
        from_id: int,
        to_ot: ObjectType,
        to_id: int,
        types: list[AssociationType],
        replace: bool = False,
    ) -> set[tuple[int, int]]:
        """Gives the pair ``types`` and the unlabeled default; ``replace`` drops other labels.

        Returns the (category code, type id) keys the pair holds afterwards, from ``from_id``.
        """
        default = self.defs.require_default(from_ot, to_ot)
        by_key = {t.key: t for t in [default, *types]}
        current = self._current(from_id, to_id)
        if not current:
            self._check_limit(from_id, from_ot, to_ot)
            self._check_limit(to_id, to_ot, from_ot)
            self._counts[(from_id, to_ot.id)] += 1
            self._counts[(to_id, from_ot.id)] += 1
        if replace:
            dropped = [
                t
                for t in self.defs.between(from_ot.id, to_ot.id)
                if t.key in current and t.key not in by_key
            ]
            self._unlink(from_ot, from_id, to_ot, to_id, dropped)
            current -= {t.key for t in dropped}
        for t in by_key.values():
            if t.primary and t.key not in current:
                self._move_primary(from_ot, from_id, to_ot, t)
        added = [t for k, t in by_key.items() if k not in current]
        if added:
            rows = []
            for t in added:
                rows.append(self._row(from_id, to_id, t.category, t.type_id, to_ot.id))
                rows.append(self._row(to_id, from_id, t.category, t.inverse_id, from_ot.id))
                self._changed(from_ot, from_id, to_ot, to_id, t, removed=False)
            self.conn.execute(insert(ra), rows)
        after = current | {t.key for t in added}
        self._pairs.pop((from_id, to_id), None)
        self._pairs.pop((to_id, from_id), None)
        return after

    def _row(self, a: int, b: int, category: str, type_id: int, b_type: str) -> dict[str, Any]:
        return {
            "from_id": a,
            "to_id": b,
            "category": at.CATEGORY_CODE[category],
            "type_id": type_id,
            "to_object_type_id": b_type,
            "created_ms": self.now_ms,
        }

    def _changed(
        self,
        from_ot: ObjectType,
        a: int,
        to_ot: ObjectType,
        b: int,
        t: AssociationType,
        removed: bool,
    ) -> None:
        self.changes.append(
            AssociationChange(from_ot.id, a, to_ot.id, b, t.category, t.type_id, removed, t.primary)
        )
        self.changes.append(
            AssociationChange(
                to_ot.id, b, from_ot.id, a, t.category, t.inverse_id, removed, t.primary
            )
        )

    def _move_primary(
        self, from_ot: ObjectType, from_id: int, to_ot: ObjectType, t: AssociationType
    ) -> None:
        """A record has one primary company: naming another moves the label."""
        holders = (
            self.conn.execute(
                select(ra.c.to_id).where(
                    ra.c.from_id == from_id,
                    ra.c.to_object_type_id == to_ot.id,
                    ra.c.category == t.key[0],
                    ra.c.type_id == t.type_id,
                )
            )
            .scalars()
            .all()
        )
        for other in holders:
            self._unlink(from_ot, from_id, to_ot, other, [t])

    def _unlink(
        self,
        from_ot: ObjectType,
        from_id: int,
        to_ot: ObjectType,
        to_id: int,
        types: list[AssociationType],
    ) -> None:
        if not types:
            return
        self._pairs.pop((from_id, to_id), None)
        self._pairs.pop((to_id, from_id), None)
        pairs = [(from_id, to_id, *t.key) for t in types]
        pairs += [(to_id, from_id, *t.inverse_key) for t in types]
        self.conn.execute(
            delete(ra).where(
                tuple_(ra.c.from_id, ra.c.to_id, ra.c.category, ra.c.type_id).in_(pairs)
            )
        )
        for t in types:
            self._changed(from_ot, from_id, to_ot, to_id, t, removed=True)

    def unlink_all(self, from_ot: ObjectType, from_id: int, to_ot: ObjectType, to_id: int) -> None:
        current = self._current(from_id, to_id)
        types = [t for t in self.defs.between(from_ot.id, to_ot.id) if t.key in current]
        self._unlink(from_ot, from_id, to_ot, to_id, types)
        # Rows of types no longer defined (a deleted label) go too.
        self.conn.execute(
            delete(ra).where(
                ((ra.c.from_id == from_id) & (ra.c.to_id == to_id))
                | ((ra.c.from_id == to_id) & (ra.c.to_id == from_id))
            )
        )

    def unlink_types(
        self,
        from_ot: ObjectType,
        from_id: int,
        to_ot: ObjectType,
        to_id: int,
        types: list[AssociationType],
    ) -> None:
        """Removing the unlabeled default removes the whole association."""
        if any(t.default for t in types):
            self.unlink_all(from_ot, from_id, to_ot, to_id)
            return
        current = self._current(from_id, to_id)
        self._unlink(from_ot, from_id, to_ot, to_id, [t for t in types if t.key in current])

    def labels(
        self, from_ot: ObjectType, to_ot: ObjectType, keys: set[tuple[int, int]]
    ) -> list[str]:
        return [
            t.label for t in self.defs.between(from_ot.id, to_ot.id) if t.key in keys and t.label
        ]

    def finish(self) -> None:
        record_changes(self.conn, self.caller, self.now_ms, self.changes)


# Merging ----------------------------------------------------------------------------------------


def _holds_type(conn: Connection, record_id: int, kind: at.AssociationType) -> bool:
    code, type_id = kind.key
    return (
        conn.scalar(
            select(ra.c.to_id)
            .where(ra.c.from_id == record_id, ra.c.category == code, ra.c.type_id == type_id)
            .limit(1)
        )
        is not None
    )


def move_on_merge(
    rt: Runtime,
    conn: Connection,
    caller: Caller,
    object_type: ObjectType,
    merged_id: int,
    primary_id: int,
) -> None:
    """A merge hands the merged record's associations to the surviving record, as HubSpot does.

    Associations between the two records themselves are dropped, not turned into a loop.
    """
    held = conn.execute(
        select(ra.c.to_id, ra.c.to_object_type_id, ra.c.category, ra.c.type_id).where(
            ra.c.from_id == merged_id
        )
    ).all()
    if not held:
        return
    linker = Linker(rt, conn, caller)
    by_target: dict[tuple[int, str], list[tuple[int, int]]] = {}
    for to_id, to_type, category, type_id in held:
        by_target.setdefault((to_id, to_type), []).append((category, type_id))
    for (to_id, to_type), keys in by_target.items():
        to_ot = object_types.resolve(conn, caller.hub_id, to_type)
        linker.unlink_all(object_type, merged_id, to_ot, to_id)
        if to_id == primary_id:
            continue
        kinds = [t for t in linker.defs.between(object_type.id, to_ot.id) if t.key in set(keys)]
        # The survivor keeps its own primary association, if it has one.
        kinds = [t for t in kinds if not (t.primary and _holds_type(conn, primary_id, t))]
        linker.link(object_type, primary_id, to_ot, to_id, kinds)
    linker.finish()
