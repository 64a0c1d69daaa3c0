"""What webhook tests share: an in-process runtime on the server's store, apps wired to a
receiver, and emitting change events the way the records domain does."""

from __future__ import annotations

from typing import Any

import httpx

from localspot.domain.webhooks.events import ChangeEvent, emit
from localspot.runtime import Runtime
from localspot.settings import Settings
from localspot.testing import App, LocalSpotServer


def open_runtime(server: LocalSpotServer) -> Runtime:
    """The server's store, opened in the test process (as a second server process would)."""
    return Runtime.open(Settings(data_dir=server.data_dir, database_url=server.database_url))


def client(server: LocalSpotServer, app: App) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {app.token}"}, timeout=30
    )


def wire(
    server: LocalSpotServer,
    app: App,
    target_url: str,
    subscriptions: list[dict[str, Any]],
    max_concurrent: int = 10,
) -> tuple[str, list[str]]:
    """Settings, active subscriptions and the app secret: (secret, subscription ids)."""
    with client(server, app) as http:
        settings = {
            "targetUrl": target_url,
            "throttling": {"maxConcurrentRequests": max_concurrent},
        }
        assert http.put(f"/webhooks/v3/{app.app_id}/settings", json=settings).status_code == 200
        ids = []
        for sub in subscriptions:
            made = http.post(
                f"/webhooks/v3/{app.app_id}/subscriptions", json={"active": True, **sub}
            )
            assert made.status_code == 201, made.text
            ids.append(made.json()["id"])
    secret = server.control("GET", f"/webhooks/private-apps/{app.app_id}/secret")["secret"]
    return secret, ids


def property_change(
    rt: Runtime, app: App, object_id: int, name: str, value: str | None, **kw: Any
) -> ChangeEvent:
    return ChangeEvent(
        hub_id=app.hub_id,
        object_type_id=kw.pop("object_type_id", "0-1"),
        object_id=object_id,
        kind="propertyChange",
        occurred_at_ms=rt.clock.millis(),
        change_source=kw.pop("change_source", "API"),
        source_id=kw.pop("source_id", str(app.app_id)),
        property_name=name,
        property_value=value,
        **kw,
    )


def emit_now(rt: Runtime, events: list[ChangeEvent]) -> None:
    with rt.store.write() as conn:
        emit(conn, events)
