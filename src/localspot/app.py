"""The ASGI application: every face's routes, the error bodies and the request log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Lifespan

from localspot.domain import keys, maintenance
from localspot.domain.webhooks import worker as webhook_worker
from localspot.faces import (
    associations_v4,
    control,
    control_apps,
    control_forms,
    control_protection,
    control_webhooks,
    form_submissions,
    forms_v3,
    legacy_contacts,
    legacy_objects,
    legacy_properties,
    oauth,
    objects_v3,
    pipelines_v3,
    properties_v3,
    schemas_v3,
    search_v3,
    webhooks_v3,
)
from localspot.faces.http import RequestMiddleware
from localspot.faces.routing import IndexedRouter
from localspot.runtime import Runtime

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 3600
KEYS_EVERY_SECONDS = 1.0
# Time a server spends re-encrypting before it lets the loop breathe (requests keep flowing
# meanwhile: each batch is one short transaction).
ROTATION_SLICE_SECONDS = 0.5


class ApiVersionConvertor(Convertor[str]):
    """The date of a date-versioned path, such as ``2026-03``."""

    regex = r"20[0-9]{2}-(?:0[1-9]|1[0-2])"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("apiversion", ApiVersionConvertor())


def _routes() -> list[BaseRoute]:
    return [
        *properties_v3.routes(),
        # Before objects_v3: POST .../{objectType}/search would match /{objectType}/{objectId}.
        *search_v3.routes(),
        *objects_v3.routes(),
        *schemas_v3.routes(),
        *pipelines_v3.routes(),
        *webhooks_v3.routes(),
        *legacy_contacts.routes(),
        *legacy_objects.routes(),
        *legacy_properties.routes(),
        *control.routes(),
        *control_apps.routes(),
        *control_webhooks.routes(),
        *oauth.routes(),
        *forms_v3.routes(),
        *form_submissions.routes(),
        *control_forms.routes(),
        *control_protection.routes(),
        *associations_v4.routes(),
    ]


class _LocalSpot(Starlette):
    """Starlette, with one layer around an indexed router: ``RequestMiddleware`` renders every
    failure (HubSpot's error body, the router's 404 and 405 included), so Starlette's error and
    exception middleware would only add two more wrappers around every request."""

    def __init__(self, routes: list[BaseRoute], lifespan: Lifespan[Starlette]) -> None:
        super().__init__(lifespan=lifespan)
        self.router = IndexedRouter(routes, lifespan=lifespan)

    def build_middleware_stack(self) -> ASGIApp:
        return RequestMiddleware(self.router)


def create_app(runtime: Runtime, background: bool = True) -> Starlette:
    """The server's ASGI app over an opened runtime."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks = []
        if background:
            tasks = [
                asyncio.create_task(_purge_loop(runtime)),
                asyncio.create_task(_keys_loop(runtime)),
            ]
            if runtime.settings.webhook_worker:
                tasks.append(asyncio.create_task(webhook_worker.run_in_server(runtime)))
        yield
        for task in tasks:
            task.cancel()

    app = _LocalSpot(_routes(), lifespan)
    app.state.runtime = runtime
    return app


async def _purge_loop(runtime: Runtime) -> None:
    while True:
        try:
            await asyncio.to_thread(maintenance.purge, runtime)
        except Exception as exc:  # noqa: BLE001 - keep the loop alive; the next run retries
            log.error("purge failed", extra={"fields": {"error": type(exc).__name__}})
        await asyncio.sleep(PURGE_EVERY_SECONDS)


async def _keys_loop(runtime: Runtime) -> None:
    """Follows key rotations made by other processes and does re-encryption work."""
    while True:
        busy = False
        try:
            await asyncio.to_thread(keys.refresh, runtime)
            progress = await asyncio.to_thread(keys.run, runtime, ROTATION_SLICE_SECONDS)
            busy = not (progress.idle or progress.done or progress.settling)
        except Exception as exc:  # noqa: BLE001 - keep the loop alive; the next run retries
            log.error("key rotation step failed", extra={"fields": {"error": type(exc).__name__}})
        await asyncio.sleep(0.01 if busy else KEYS_EVERY_SECONDS)
