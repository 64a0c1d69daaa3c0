"""Reading deliveries and the outbox, for the control plane and the CLI."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from localspot.errors import not_found, validation_error
from localspot.runtime import Runtime
from localspot.store.schema import webhook_deliveries, webhook_events

from .subscriptions import AppRef

EVENT_STATUSES = ("pending", "delivered", "failed", "discarded")
MAX_LIMIT = 500


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise validation_error(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def list_deliveries(rt: Runtime, app: AppRef, limit: int = 100, after: int = 0) -> list[Any]:
    """Newest first; ``after`` is the id of the last delivery of the previous page."""
    d = webhook_deliveries.c
    query = select(webhook_deliveries).where(d.app_kind == app.kind, d.app_id == app.app_id)
    if after:
        query = query.where(d.id < after)
    with rt.store.read() as conn:
        return list(conn.execute(query.order_by(d.id.desc()).limit(_limit(limit))))


def get_delivery(rt: Runtime, delivery_id: int) -> tuple[Any, list[Any]]:
    with rt.store.read() as conn:
        row = conn.execute(
            select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
        ).first()
        if row is None:
            raise not_found(f"No webhook delivery {delivery_id}.")
        rows = conn.execute(
            select(webhook_events)
            .where(webhook_events.c.id.in_(list(row.event_ids)))
            .order_by(webhook_events.c.id)
        )
        return row, list(rows)


def list_events(
    rt: Runtime, app: AppRef, status: str | None = None, limit: int = 100, after: int = 0
) -> list[Any]:
    e = webhook_events.c
    query = select(webhook_events).where(e.app_kind == app.kind, e.app_id == app.app_id)
    if status is not None:
        if status not in EVENT_STATUSES:
            raise validation_error(f"status must be one of {', '.join(EVENT_STATUSES)}")
        query = query.where(e.status == status)
    if after:
        query = query.where(e.id < after)
    with rt.store.read() as conn:
        return list(conn.execute(query.order_by(e.id.desc()).limit(_limit(limit))))


def render_delivery(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "appId": row.app_id,
        "appKind": row.app_kind,
        "portalId": row.hub_id,
        "targetUrl": row.target_url,
        "eventIds": list(row.event_ids),
        "eventCount": row.event_count,
        "attemptNumber": row.attempt_number,
        "worker": row.worker,
        "startedAt": row.started_at_ms,
        "leaseUntil": row.lease_until_ms,
        "finishedAt": row.finished_at_ms,
        "outcome": row.outcome or "in_flight",
        "statusCode": row.status_code,
        "durationMs": row.duration_ms,
        "error": row.error,
    }


def render_event(row: Any) -> dict[str, Any]:
    """An outbox row; its payload holds no sensitive value, only REDACTED."""
    return {
        "eventId": row.id,
        "appId": row.app_id,
        "portalId": row.hub_id,
        "subscriptionId": row.subscription_id,
        "status": row.status,
        "attempts": row.attempts,
        "dueAt": row.due_at_ms,
        "deliveryId": row.delivery_id,
        "createdAt": row.created_at_ms,
        "deliveredAt": row.delivered_at_ms,
        "payload": row.payload,
    }
