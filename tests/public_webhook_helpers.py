"""What the public-app webhook tests share: an app installed through the OAuth flow, its
developer's API key, wiring with hubspot-api-client, and contact writes in the account."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import hubspot
from hubspot.utils.signature import Signature
from hubspot.webhooks import SettingsChangeRequest, SubscriptionCreateRequest, ThrottlingSettings

from localspot.scopes import all_scopes
from localspot.testing import App, LocalSpotServer
from tests.oauth_helpers import PublicApp, exchange, install, new_public_app, new_user
from tests.webhook_helpers import client
from tests.webhook_receiver import Received

READ = "crm.objects.contacts.read"


@dataclass
class Installed:
    app: PublicApp
    developer_key: str
    hub_id: int
    access_token: str
    writer: App  # a private app in the same account that makes the changes


def developer_key(server: LocalSpotServer, app: PublicApp) -> str:
    made = server.control("POST", f"/developers/{app.raw['developerId']}/api-key")
    return str(made["apiKey"])


def install_into(server: LocalSpotServer, app: PublicApp, hub_id: int | None = None) -> tuple:
    """Installs ``app`` through the consent pages and the token endpoint, by a Super admin of a
    new Enterprise account (or of ``hub_id``): (hub id, access token)."""
    hub_id, email = new_user(server, hub_id=hub_id)
    code = install(server, app, email, [READ])
    tokens = exchange(server, app, code)
    assert tokens.status_code == 200, tokens.text
    return hub_id, tokens.json()["access_token"]


def installed_app(server: LocalSpotServer) -> Installed:
    app = new_public_app(server, [READ])
    hub_id, token = install_into(server, app)
    writer = server.new_app(all_scopes(), hub_id=hub_id)
    return Installed(app, developer_key(server, app), hub_id, token, writer)


def developer_api(server: LocalSpotServer, key: str) -> Any:
    """hubspot-api-client's webhooks API, authenticated with a developer key (``hapikey``)."""
    return hubspot.HubSpot(api_key=key, host=server.url).webhooks


def wire_public(
    server: LocalSpotServer, app_id: int, key: str, target_url: str, names: list[str]
) -> list[str]:
    """Settings and active contact propertyChange subscriptions, through the developer key."""
    api = developer_api(server, key)
    api.settings_api.configure(
        app_id,
        SettingsChangeRequest(
            target_url=target_url, throttling=ThrottlingSettings(max_concurrent_requests=10)
        ),
    )
    ids = []
    for name in names:
        made = api.subscriptions_api.create(
            app_id,
            SubscriptionCreateRequest(
                event_type="contact.propertyChange", property_name=name, active=True
            ),
        )
        ids.append(made.id)
    return ids


def sensitive_property(server: LocalSpotServer, writer: App, name: str) -> None:
    with client(server, writer) as http:
        made = http.post(
            "/crm/v3/properties/contacts",
            json={
                "name": name,
                "label": name,
                "type": "string",
                "fieldType": "text",
                "groupName": "contactinformation",
                "dataSensitivity": "sensitive",
            },
        )
        assert made.status_code == 201, made.text


def new_contact(server: LocalSpotServer, writer: App) -> int:
    with client(server, writer) as http:
        made = http.post(
            "/crm/v3/objects/contacts",
            json={"properties": {"email": f"c-{uuid.uuid4().hex[:12]}@example.test"}},
        )
        assert made.status_code == 201, made.text
        return int(made.json()["id"])


def patch_contact(server: LocalSpotServer, writer: App, contact_id: int, **values: str) -> None:
    with client(server, writer) as http:
        done = http.patch(f"/crm/v3/objects/contacts/{contact_id}", json={"properties": values})
        assert done.status_code == 200, done.text


def signatures(request: Received, secret: str, url: str) -> tuple[bool, bool]:
    """Whether the v1 and the v3 signature of a delivery verify with ``secret``, by
    hubspot-api-client's own helper."""
    body = request.body.decode()
    v1 = Signature.is_valid(
        signature=request.headers["x-hubspot-signature"],
        client_secret=secret,
        request_body=body,
        signature_version="v1",
    )
    v3 = Signature.is_valid(
        signature=request.headers["x-hubspot-signature-v3"],
        client_secret=secret,
        request_body=body,
        http_uri=url,
        http_method="POST",
        signature_version="v3",
        timestamp=request.headers["x-hubspot-request-timestamp"],
    )
    return v1, v3
