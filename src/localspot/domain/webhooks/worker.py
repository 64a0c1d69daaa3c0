"""The delivery worker: claims due batches, POSTs them signed, records the outcome.

It runs inside ``localspot serve`` (started from the app's lifespan) and as ``localspot worker``
processes; any number of them may share one store (see ``delivery.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid

import httpx
import orjson

from localspot.runtime import Runtime
from localspot.store.engine import WouldWait

from . import delivery, events, signing

log = logging.getLogger(__name__)

USER_AGENT = "LocalSpot-Webhooks/1.0"


class Worker:
    def __init__(self, rt: Runtime, name: str | None = None) -> None:
        self.rt = rt
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._in_flight: set[asyncio.Task[None]] = set()
        # Outcomes waiting to be recorded with the next claim.
        self._finished: list[delivery.Outcome] = []
        # Set when there may be work: events committed in this process, a delivery finished.
        self._wake = asyncio.Event()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        settings = self.rt.settings
        timeout = httpx.Timeout(settings.webhook_timeout_seconds)
        limits = httpx.Limits(max_connections=settings.webhook_worker_concurrency)
        loop = asyncio.get_running_loop()
        stop_waking = events.on_queued(lambda: loop.call_soon_threadsafe(self._wake.set))
        async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
            try:
                while stop is None or not stop.is_set():
                    await self._round(client)
                if self._in_flight:
                    await asyncio.wait(self._in_flight, timeout=settings.webhook_timeout_seconds)
                if self._finished:
                    await asyncio.to_thread(delivery.claim, self.rt, self.name, 0, self._finished)
            finally:
                stop_waking()
                for task in self._in_flight:
                    task.cancel()

    async def _round(self, client: httpx.AsyncClient) -> None:
        capacity = self.rt.settings.webhook_worker_concurrency - len(self._in_flight)
        finished, self._finished = self._finished, []
        # Cleared before the claim: whatever commits or finishes during it wakes the next round.
        self._wake.clear()
        if not finished and (capacity <= 0 or self._nothing_due()):
            batches = []
        else:
            try:
                batches = await asyncio.to_thread(
                    delivery.claim, self.rt, self.name, capacity, finished
                )
            except Exception as exc:  # noqa: BLE001 - a store hiccup must not end the worker
                log.error("webhook claim failed", extra={"fields": {"error": type(exc).__name__}})
                self._finished = finished + self._finished
                batches = []
        for batch in batches:
            task = asyncio.create_task(self._deliver(client, batch))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        if not batches:
            await self._idle()

    def _nothing_due(self) -> bool:
        """Whether the outbox surely holds nothing due, asked on the event loop where the store
        reads there (SQLite, see ``Store.briefly``): the hop to a thread and back was most of
        an idle server's CPU, twenty polls a second. Otherwise, or when unsure, the claim on a
        thread asks again."""
        budget = self.rt.settings.on_loop_ms / 1000
        if not self.rt.store.reads_briefly or budget <= 0:
            return False
        try:
            with self.rt.store.briefly(budget):
                return not delivery.anything_due(self.rt)
        except (WouldWait, Exception):  # noqa: BLE001 - the claim on a thread reports errors
            return False

    async def _idle(self) -> None:
        """Waits for the next poll (events committed by other processes), or less when a
        delivery finished or this process committed events meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.rt.settings.webhook_poll_seconds)

    async def _deliver(self, client: httpx.AsyncClient, batch: delivery.Batch) -> None:
        body = orjson.dumps(batch.body())
        timestamp = self.rt.clock.millis()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **signing.headers(batch.secret, "POST", batch.target_url, body, timestamp),
        }
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        try:
            response = await client.post(batch.target_url, content=body, headers=headers)
            status_code = response.status_code
            outcome = "success" if 200 <= status_code < 300 else "http_error"
        except httpx.TimeoutException as exc:
            outcome, error = "timeout", type(exc).__name__
        except (httpx.HTTPError, OSError) as exc:
            outcome, error = "connection_error", type(exc).__name__
        duration_ms = int((time.perf_counter() - started) * 1000)
        log.info(
            "webhook delivery",
            extra={
                "fields": {
                    "deliveryId": batch.delivery_id,
                    "appId": batch.app.app_id,
                    "portalId": batch.hub_id,
                    "events": len(batch.events),
                    "outcome": outcome,
                    "status": status_code,
                    "ms": duration_ms,
                }
            },
        )
        self._finished.append(delivery.Outcome(batch, outcome, status_code, duration_ms, error))
        self._wake.set()


async def run_in_server(rt: Runtime) -> None:
    """The in-process worker of ``localspot serve``; cancelled with the app."""
    with contextlib.suppress(asyncio.CancelledError):
        await Worker(rt).run()
