"""Periodic work driven by the server clock: purging what was archived long enough ago,
and audit rows past their retention."""

from __future__ import annotations

import logging

from localspot.domain import audit, property_groups, property_purge, record_lifecycle, schemas
from localspot.runtime import Runtime

log = logging.getLogger(__name__)


def purge(rt: Runtime) -> int:
    """Deletes for good whatever was archived ``purge_after_days`` ago (SPEC Part B18)."""
    with rt.store.write() as conn:
        now, days = rt.clock.now(), rt.settings.purge_after_days
        records_purged = record_lifecycle.purge_archived(conn, rt.clock.millis(), days)
        purged = property_purge.purge_archived(conn, now, days)
        schemas.forget_purged_properties(conn, purged)
        property_groups.purge_archived(conn, now, days)
    with rt.store.write() as conn:
        pruned = audit.prune(conn, rt.clock.millis(), rt.settings.audit_retention_days)
    if pruned:
        log.info("pruned audit rows", extra={"fields": {"count": pruned}})
    if purged or records_purged:
        log.info(
            "purged archived definitions and records",
            extra={"fields": {"properties": len(purged), "records": records_purged}},
        )
    return len(purged) + records_purged
