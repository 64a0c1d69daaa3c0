"""Legacy search (contacts v1 search/query, companies v2 by domain) and SPEC Part B9."""

from __future__ import annotations

import httpx
import pytest

from localspot.testing import App, LocalSpotServer
from tests.conftest import http_client
from tests.legacy_support import (
    CANARY,
    HIGH_CANARY,
    assert_clean,
    define_sensitive,
    scopes_without_sensitive,
    v3_create,
)

SENSITIVE = {"passport_number": CANARY, "diagnosis": HIGH_CANARY}


def _plain_app(server: LocalSpotServer, full_app: App) -> App:
    """A token in the same account without any sensitive scope."""
    return server.new_app(scopes_without_sensitive(), hub_id=full_app.hub_id)


def test_contact_search_refuses_a_token_with_sensitive_scopes(http: httpx.Client) -> None:
    response = http.get("/contacts/v1/search/query", params={"q": "ana"})
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["category"] == "FORBIDDEN"
    assert "v3" in body["message"]


@pytest.mark.parametrize(
    "scope",
    [
        "crm.objects.contacts.sensitive.read.v2",
        "crm.objects.contacts.highly_sensitive.write",
    ],
)
def test_any_one_sensitive_contact_scope_is_enough_to_refuse(
    server: LocalSpotServer, scope: str
) -> None:
    app = server.new_app(["crm.objects.contacts.read", scope])
    with http_client(server, app) as client:
        response = client.get("/contacts/v1/search/query", params={"q": "x"})
    assert response.status_code == 403, response.text
    assert response.json()["category"] == "FORBIDDEN"


def test_contact_search_without_sensitive_scopes_never_reads_sensitive_values(
    server: LocalSpotServer, full_app: App, http: httpx.Client
) -> None:
    define_sensitive(http, "contacts")
    ana = v3_create(
        http, "contacts", {"email": "ana@lima.org", "firstname": "Ana", "lastname": "Lima"}
    )
    v3_create(http, "contacts", {"email": "bea@example.com", "firstname": "Bea", **SENSITIVE})
    v3_create(http, "contacts", {"email": "cid@example.com", "company": "Lima Foods"})

    with http_client(server, _plain_app(server, full_app)) as client:
        found = client.get("/contacts/v1/search/query", params={"q": "lima"})
        assert found.status_code == 200, found.text
        body = found.json()
        assert body["query"] == "lima"
        assert body["total"] == 2
        assert body["has-more"] is False
        assert body["contacts"][0]["vid"] == int(ana)
        assert body["contacts"][0]["properties"]["firstname"]["value"] == "Ana"

        first = client.get("/contacts/v1/search/query", params={"q": "lima", "count": 1}).json()
        assert first["has-more"] is True
        assert first["offset"] == 1
        rest = client.get(
            "/contacts/v1/search/query", params={"q": "lima", "count": 1, "offset": 1}
        ).json()
        assert len(rest["contacts"]) == 1
        assert rest["has-more"] is False

        for q in (CANARY, "passport", HIGH_CANARY.lower()):
            response = client.get("/contacts/v1/search/query", params={"q": q})
            assert response.status_code == 200
            assert response.json()["total"] == 0
        everyone = client.get("/contacts/v1/search/query", params={"q": "example.com"})
        assert everyone.json()["total"] == 2
        assert_clean(everyone)


def test_company_domain_search_follows_b9(
    server: LocalSpotServer, full_app: App, http: httpx.Client
) -> None:
    define_sensitive(http, "companies")
    acme = v3_create(http, "companies", {"name": "Acme", "domain": "acme.io", **SENSITIVE})
    v3_create(http, "companies", {"name": "Other", "domain": "other.io"})
    query = {"limit": 10, "requestOptions": {"properties": ["name", "passport_number"]}}

    refused = http.post("/companies/v2/domains/acme.io/companies", json=query)
    assert refused.status_code == 403, refused.text
    assert refused.json()["category"] == "FORBIDDEN"

    with http_client(server, _plain_app(server, full_app)) as client:
        found = client.post("/companies/v2/domains/ACME.io/companies", json=query)
        assert found.status_code == 200, found.text
        assert_clean(found)
        body = found.json()
        assert [c["companyId"] for c in body["results"]] == [int(acme)]
        assert set(body["results"][0]["properties"]) == {"name"}
        assert body["hasMore"] is False
        assert body["offset"] == {"isPrimary": True, "companyId": int(acme)}
