"""The total of a one-word ``query`` stays exact through every kind of write.

Words of up to four characters take their total from counts the store keeps beside the query
index (``query_prefix_counts``), longer ones count the index itself. Random creates, updates,
clears, archives, restores, merges and GDPR deletions run here, and after each round every
prefix of every name is searched and checked against the records read back by listing.
"""

from __future__ import annotations

import random
import sqlite3
from typing import Any

import httpx

from localspot.testing import App, LocalSpotServer

PATH = "/crm/v3/objects/contacts"
# Few letters, so that names share prefixes of every length, within a record as across them.
NAMES = ["ab", "aba", "abba", "abbot", "abbott", "ba", "bab", "babs", "baba", "b", "ca", "abc"]


def _name(rng: random.Random) -> str:
    return rng.choice(NAMES) + rng.choice(["", "", rng.choice(NAMES)])


def _props(rng: random.Random) -> dict[str, str]:
    return {"firstname": _name(rng), "lastname": _name(rng)}


def _live(http: httpx.Client) -> dict[str, list[str]]:
    """Every live contact's names, read by listing (which no query index serves)."""
    found: dict[str, list[str]] = {}
    params: dict[str, Any] = {"limit": 100, "properties": "firstname,lastname"}
    while True:
        page = http.get(PATH, params=params).json()
        for r in page["results"]:
            p = r["properties"]
            found[r["id"]] = [(p.get(n) or "").lower() for n in ("firstname", "lastname")]
        after = page.get("paging", {}).get("next", {}).get("after")
        if after is None:
            return found
        params["after"] = after


def _check_totals(http: httpx.Client) -> None:
    live = _live(http)
    prefixes = {n[:k] for names in live.values() for n in names for k in range(1, len(n) + 1)}
    for word in sorted(prefixes | {"zz", "abbotts"}):
        expected = sorted(
            (i for i, names in live.items() if any(n.startswith(word) for n in names)), key=int
        )
        response = http.post(f"{PATH}/search", json={"query": word, "limit": 100})
        assert response.status_code == 200, response.text
        page = response.json()
        assert (word, page["total"]) == (word, len(expected))
        assert (word, [r["id"] for r in page["results"]]) == (word, expected)


def _store_rows(server: LocalSpotServer, sql: str, hub_id: int) -> set[tuple[Any, ...]]:
    if server.database_url:
        import psycopg

        with psycopg.connect(server.database_url) as conn:
            return {tuple(r) for r in conn.execute(sql.replace("?", "%s"), (hub_id,))}
    with sqlite3.connect(server.data_dir / "localspot.db") as conn:
        return {tuple(r) for r in conn.execute(sql, (hub_id,))}


def _kept_and_recounted(server: LocalSpotServer, hub_id: int) -> tuple[set[Any], set[Any]]:
    """The counts as the writes kept them, and as counted afresh from the index's rows (the
    way the migration that added them counts)."""
    kept = _store_rows(
        server,
        "SELECT prefix, SUM(records) FROM query_prefix_counts WHERE hub_id = ? "
        "AND object_type_id = '0-1' GROUP BY prefix HAVING SUM(records) <> 0",
        hub_id,
    )
    recounted: set[Any] = set()
    for k in range(1, 5):
        recounted |= _store_rows(
            server,
            f"SELECT substr(term, 1, {k}), count(*) FROM query_terms WHERE hub_id = ? "
            f"AND object_type_id = '0-1' AND length(term) >= {k} AND (prev_term IS NULL "
            f"OR substr(prev_term, 1, {k}) <> substr(term, 1, {k})) GROUP BY 1",
            hub_id,
        )
    return kept, recounted


def test_query_totals_stay_exact_through_every_write(
    server: LocalSpotServer, full_app: App, http: httpx.Client
) -> None:
    rng = random.Random(4)
    response = http.post(
        f"{PATH}/batch/create", json={"inputs": [{"properties": _props(rng)} for _ in range(30)]}
    )
    assert response.status_code == 201, response.text
    live = [r["id"] for r in response.json()["results"]]
    archived: list[str] = []
    _check_totals(http)

    for _ in range(6):
        for _ in range(8):
            action = rng.choice(["create", "update", "clear", "archive", "restore", "merge"])
            if action == "create":
                response = http.post(PATH, json={"properties": _props(rng)})
                assert response.status_code == 201, response.text
                live.append(response.json()["id"])
            elif action == "update":
                inputs = [{"id": i, "properties": _props(rng)} for i in rng.sample(live, 3)]
                response = http.post(f"{PATH}/batch/update", json={"inputs": inputs})
                assert response.status_code == 200, response.text
            elif action == "clear":
                name = rng.choice(["firstname", "lastname"])
                response = http.patch(f"{PATH}/{rng.choice(live)}", json={"properties": {name: ""}})
                assert response.status_code == 200, response.text
            elif action == "archive":
                gone = live.pop(rng.randrange(len(live)))
                assert http.delete(f"{PATH}/{gone}").status_code == 204
                archived.append(gone)
            elif action == "restore" and archived:
                back = archived.pop(rng.randrange(len(archived)))
                server.control(
                    "POST", f"/accounts/{full_app.hub_id}/objects/contacts/{back}/restore"
                )
                live.append(back)
            elif action == "merge":
                primary, merged = rng.sample(live, 2)
                response = http.post(
                    f"{PATH}/merge", json={"primaryObjectId": primary, "objectIdToMerge": merged}
                )
                assert response.status_code == 200, response.text
                # The merged pair lives on under a new id.
                live = [i for i in live if i not in (primary, merged)] + [response.json()["id"]]
        gone = live.pop(rng.randrange(len(live)))
        response = http.post(f"{PATH}/gdpr-delete", json={"objectId": gone})
        assert response.status_code == 204, response.text
        _check_totals(http)
    kept, recounted = _kept_and_recounted(server, full_app.hub_id)
    assert kept == recounted and len(kept) > 10
