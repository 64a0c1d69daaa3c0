"""The free-text ``query`` reads its own index (``query_terms``): it follows every change to
the records it covers and to the properties it looks in."""

from __future__ import annotations

from typing import Any

import httpx

from localspot.testing import App, LocalSpotServer

SEARCH = "/crm/v3/objects/contacts/search"


def _create(http: httpx.Client, path: str, *props: dict[str, str]) -> list[str]:
    response = http.post(
        f"{path}/batch/create", json={"inputs": [{"properties": p} for p in props]}
    )
    assert response.status_code == 201, response.text
    return sorted((r["id"] for r in response.json()["results"]), key=int)


def _found(
    http: httpx.Client, query: str, path: str = "/crm/v3/objects/contacts", **extra: Any
) -> tuple[list[str], int]:
    ids: list[str] = []
    after: str | None = None
    while True:
        body = {"query": query, "limit": 2, **extra, **({"after": after} if after else {})}
        response = http.post(f"{path}/search", json=body)
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [r["id"] for r in page["results"]]
        after = page.get("paging", {}).get("next", {}).get("after")
        if after is None:
            return ids, page["total"]


def test_query_follows_archive_merge_restore_and_legacy_delete(
    server: LocalSpotServer, full_app: App, http: httpx.Client
) -> None:
    path = "/crm/v3/objects/contacts"
    ids = _create(
        http,
        path,
        *({"email": f"q{i}@quarry.org", "lastname": "Quarry"} for i in range(6)),
        {"email": "zed@other.org", "firstname": "Zebulon"},
    )
    kept, archived, deleted, merged, *rest, zed = ids
    # A record matching on several terms and properties still counts once.
    assert _found(http, "quar") == (ids[:6], 6)
    assert _found(http, "quarry.org") == (ids[:6], 6)

    assert http.delete(f"{path}/{archived}").status_code == 204
    assert http.delete(f"/contacts/v1/contact/vid/{deleted}").status_code == 200
    response = http.post(f"{path}/merge", json={"primaryObjectId": zed, "objectIdToMerge": merged})
    assert response.status_code == 200, response.text
    assert _found(http, "quar") == ([kept, *rest, zed], 4)
    assert _found(http, "zebu") == ([zed], 1)

    server.control("POST", f"/accounts/{full_app.hub_id}/objects/contacts/{archived}/restore")
    assert _found(http, "quar") == ([kept, archived, *rest, zed], 5)

    # Rewritten values replace the old terms.
    response = http.patch(f"{path}/{kept}", json={"properties": {"lastname": "Stone"}})
    assert response.status_code == 200, response.text
    assert _found(http, "ston") == ([kept], 1)
    assert _found(http, "quarry") == ([kept, archived, *rest, zed], 5)  # kept's email remains
    assert _found(http, "quarry", sorts=["lastname"])[1] == 5
    response = http.patch(f"{path}/{kept}", json={"properties": {"email": ""}})
    assert response.status_code == 200, response.text
    assert _found(http, "quarry") == ([archived, *rest, zed], 4)


def test_query_follows_the_properties_it_looks_in(http: httpx.Client) -> None:
    response = http.post(
        "/crm/v3/schemas",
        json={
            "name": "boats",
            "labels": {"singular": "Boat", "plural": "Boats"},
            "primaryDisplayProperty": "model",
            "searchableProperties": ["model"],
            "requiredProperties": ["model"],
            "associatedObjects": [],
            "properties": [
                {"name": "model", "label": "Model", "type": "string", "fieldType": "text"},
                {"name": "colour", "label": "Colour", "type": "string", "fieldType": "text"},
            ],
        },
    )
    assert response.status_code == 201, response.text
    type_id = response.json()["objectTypeId"]
    path = f"/crm/v3/objects/{type_id}"
    ids = _create(http, path, {"model": "Dory", "colour": "Teal"}, {"model": "Skiff Teal"})
    assert _found(http, "teal", path) == ([ids[1]], 1)

    response = http.patch(
        f"/crm/v3/schemas/{type_id}", json={"searchableProperties": ["model", "colour"]}
    )
    assert response.status_code == 200, response.text
    assert _found(http, "teal", path) == (ids, 2)

    assert http.delete(f"/crm/v3/properties/{type_id}/colour").status_code == 204
    assert _found(http, "teal", path) == ([ids[1]], 1)


def test_records_a_batch_creates_count_once_per_query(http: httpx.Client) -> None:
    """A batch create writes the index rows of its new records itself (in code point order,
    each after its record's preceding term), rather than deriving them from record_terms: a
    record whose properties share terms, or hold terms beyond ASCII, still counts once."""
    path = "/crm/v3/objects/contacts"
    # The account's first write builds the index; the second batch adds to it.
    [first] = _create(http, path, {"email": "anna@anchor.org", "firstname": "Anna"})
    ids = _create(
        http,
        path,
        {"email": "ana@ébano.org", "firstname": "Ana", "lastname": "Anabel Ånstrom"},
        {"firstname": "Émile", "lastname": "Ebano", "company": "Ébano Ana"},
        {"email": "zoë@an.org", "phone": "+351 555 0100"},
    )
    assert _found(http, "an") == ([first, ids[0], ids[1], ids[2]], 4)
    assert _found(http, "ébano") == ([ids[0], ids[1]], 2)
    assert _found(http, "ebano") == ([ids[1]], 1)
    assert _found(http, "ånstrom") == ([ids[0]], 1)
    assert _found(http, "zoë") == ([ids[2]], 1)
    assert _found(http, "0100") == ([ids[2]], 1)


def test_query_ignores_the_case_of_enumeration_options(http: httpx.Client) -> None:
    """Options keep their case (CONTAINS_TOKEN on them is case-sensitive) but the free-text
    query ignores case everywhere, a ticket's category among its searchable properties."""
    path = "/crm/v3/objects/tickets"
    made = http.post(
        path,
        json={
            "properties": {
                "subject": "Printer on fire",
                "hs_pipeline_stage": "1",
                "hs_ticket_category": "PRODUCT_ISSUE",
            }
        },
    )
    assert made.status_code == 201, made.text
    ticket = made.json()["id"]
    for word in ("PRODUCT_ISSUE", "product_issue", "Prod", "p"):
        assert _found(http, word, path) == ([ticket], 1), word

    response = http.post(
        "/crm/v3/schemas",
        json={
            "name": "pets",
            "labels": {"singular": "Pet", "plural": "Pets"},
            "primaryDisplayProperty": "name",
            "searchableProperties": ["name"],
            "requiredProperties": ["name"],
            "associatedObjects": [],
            "properties": [
                {"name": "name", "label": "Name", "type": "string", "fieldType": "text"},
                {
                    "name": "kind",
                    "label": "Kind",
                    "type": "enumeration",
                    "fieldType": "checkbox",
                    "options": [
                        {"label": "Dog", "value": "Dog"},
                        {"label": "Cat", "value": "cat"},
                        {"label": "DOG", "value": "DOG"},
                    ],
                },
            ],
        },
    )
    assert response.status_code == 201, response.text
    pets = f"/crm/v3/objects/{response.json()['objectTypeId']}"
    ids = _create(http, pets, {"name": "Rex", "kind": "Dog;DOG"}, {"name": "Tom", "kind": "cat"})
    assert _found(http, "dog", pets) == ([], 0)  # kind is not searchable yet
    response = http.patch(
        f"/crm/v3/schemas/{pets.rsplit('/', 1)[1]}", json={"searchableProperties": ["name", "kind"]}
    )
    assert response.status_code == 200, response.text
    assert _found(http, "dog", pets) == ([ids[0]], 1)
    [bella] = _create(http, pets, {"name": "Bella", "kind": "DOG;cat"})
    assert _found(http, "Do", pets) == ([ids[0], bella], 2)
    assert _found(http, "CAT", pets) == ([ids[1], bella], 2)
    # Filters on an option still match it exactly.
    body = {"filters": [{"propertyName": "kind", "operator": "CONTAINS_TOKEN", "value": "dog"}]}
    assert http.post(f"{pets}/search", json=body).json()["total"] == 0
